"""kill -9 of the controller manager and the scheduler, again and again, while a Deployment scales 0→30.

Mirrors Kubernetes' "[Disruptive]" control-plane restart tests (test/e2e/apps/
controller_revision.go and daemon_restart.go: "Controller Manager should not create/delete
replicas across restart", "Scheduler should continue assigning pods to nodes across restart"):
there the daemons are restarted once between two states; here they are SIGKILLed each time the
new leader has just made its first create (or bind) of the scale-up, so every term dies with
writes in flight and its successor starts from a fresh list. A watch on the Deployment's pods
counts every create and delete: the ReplicaSet must never own more than 30 pods, never create
a pod it then deletes, never delete one, and bind each pod once; in the end 30 pods run.

Hollow nodes (``podvisor kubelet --hollow``) run the pods: 30 Docker containers would only add
time, and the kubelet is not under test.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from tests.controllers.e2e_helpers import (
    REPLICASETS,
    PodWatch,
    create_deployment,
    deployment_manifest,
    list_items,
    live_pods,
    rollout_complete,
    scale,
)
from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import wait_node

pytestmark = [pytest.mark.e2e, pytest.mark.server_args("--disable", "controllers", "--disable", "scheduler")]

REPLICAS = 30
ROUNDS = 6
CREATES_BEFORE_KILL = (1, 3, 2, 5)  # per term, cycled: the kill lands inside a slow-start batch
LEASE = "3"  # seconds a killed leader keeps its Lease: the gap each kill costs
COMPONENTS = {"controllers": ("controllers", "--leader-elect-lease-duration", LEASE),
              "scheduler": ("scheduler", "--leader-elect-lease-duration", LEASE)}


def kill_and_restart(cluster: Cluster, name: str) -> None:
    proc = cluster.components[name]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    cluster.start_component(name, *COMPONENTS[name])


def bound(pod: dict[str, Any]) -> str:
    return str(pod["spec"].get("nodeName") or "")


def creates_since(seen: list[tuple[str, dict[str, Any]]], since: int) -> int:
    return sum(1 for kind, _ in seen[since:] if kind == "ADDED")


def binds_since(seen: list[tuple[str, dict[str, Any]]], since: int) -> int:
    earlier = {pod["metadata"]["uid"] for _, pod in seen[:since] if bound(pod)}
    return len({pod["metadata"]["uid"] for _, pod in seen[since:] if bound(pod)} - earlier)


def kill_through_scale_up(cluster: Cluster, watch: PodWatch, timeout: float) -> dict[str, int]:
    """Kill each component as soon as its current term has made its first writes: the controller
    manager after its n-th create, the scheduler after its first bind. Both are watched in one loop,
    so waiting for one never lets the other's term run to the end of the scale-up unkilled."""
    kills = {"controllers": 0, "scheduler": 0}
    term_began = {name: len(watch.snapshot()) for name in kills}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and min(kills.values()) < ROUNDS:
        seen = watch.snapshot()
        if creates_since(seen, 0) >= REPLICAS and binds_since(seen, 0) >= REPLICAS:
            break
        want = CREATES_BEFORE_KILL[kills["controllers"] % len(CREATES_BEFORE_KILL)]
        if kills["controllers"] < ROUNDS and creates_since(seen, term_began["controllers"]) >= want:
            kill_and_restart(cluster, "controllers")
            kills["controllers"] += 1
            term_began["controllers"] = len(watch.snapshot())
        if kills["scheduler"] < ROUNDS and binds_since(seen, term_began["scheduler"]) >= 1:
            kill_and_restart(cluster, "scheduler")
            kills["scheduler"] += 1
            term_began["scheduler"] = len(watch.snapshot())
        time.sleep(0.01)
    return kills


def tally(watch: PodWatch) -> dict[str, Any]:
    """Creates, deletes, the most pods alive at once, and pods bound to more than one node."""
    alive: set[str] = set()
    nodes: dict[str, set[str]] = {}
    counts = {"created": 0, "deleted": 0, "deleting": 0, "most_alive": 0}
    for kind, pod in watch.changes():
        uid = pod["metadata"]["uid"]
        if kind == "ADDED":
            counts["created"] += 1
            alive.add(uid)
        elif kind == "DELETED":
            counts["deleted"] += 1
            alive.discard(uid)
        if pod["metadata"].get("deletionTimestamp"):
            counts["deleting"] += 1
        if bound(pod):
            nodes.setdefault(uid, set()).add(bound(pod))
        counts["most_alive"] = max(counts["most_alive"], len(alive))
    return {**counts, "rebound": [uid for uid, n in nodes.items() if len(n) > 1], "bound": len(nodes)}


def test_control_plane_killed_while_scaling_creates_no_spurious_pod(cluster: Cluster) -> None:
    base = cluster.start_kubelet("hollow", "--hollow", "--hollow-nodes", "3", "--hollow-read-kubeconfig",
                                 str(cluster.data_dir / "admin.kubeconfig"))
    for i in range(3):
        wait_node(cluster, f"{base}-{i}")
    for name, args in COMPONENTS.items():
        cluster.start_component(name, *args)
    began = time.monotonic()
    with cluster.http() as http:
        create_deployment(http, deployment_manifest("web", 0))
        cluster.wait_for("the ReplicaSet", lambda: list_items(http, REPLICASETS, "app=web"), timeout=30)
        watch = PodWatch(cluster, "app=web").start()
        scale(http, "web", REPLICAS)
        kills = kill_through_scale_up(cluster, watch, timeout=90)
        cluster.wait_for(f"{REPLICAS}/{REPLICAS} available", lambda: rollout_complete(http, "web"), timeout=60)
        running = [p for p in live_pods(http, "web") if (p.get("status") or {}).get("phase") == "Running"]
        time.sleep(2)  # a spurious create or delete after the rollout completed would show now
        counts = tally(watch)
    print(f"\ncontroller crash: kill -9 of the controller manager {kills['controllers']} times and the scheduler "
          f"{kills['scheduler']} times while scaling 0→{REPLICAS} ({time.monotonic() - began:.1f}s); watched "
          f"{counts['created']} creates, {counts['deleted']} deletes, {counts['deleting']} deletion marks, at most "
          f"{counts['most_alive']} pods at once, {counts['bound']} pods bound, {len(counts['rebound'])} re-bound; "
          f"{len(running)} Running")
    assert kills["controllers"] >= 3 and kills["scheduler"] >= 2, kills
    assert counts["created"] == REPLICAS and counts["most_alive"] == REPLICAS, counts
    assert counts["deleted"] == 0 and counts["deleting"] == 0, counts
    assert counts["rebound"] == [] and counts["bound"] == REPLICAS, counts
    assert len(running) == REPLICAS
