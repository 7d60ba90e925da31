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


def wait_event(watch: PodWatch, since: int, check: Any, *, timeout: float, count: str) -> bool:
    """Poll the watch until ``check(n)`` holds for n, the creates ("ADDED") or new binds ("bind")
    among the events after index ``since``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = watch.snapshot()
        events = seen[since:]
        if count == "ADDED":
            n = sum(1 for kind, _ in events if kind == "ADDED")
        else:
            earlier = {pod["metadata"]["uid"] for _, pod in seen[:since] if bound(pod)}
            n = len({pod["metadata"]["uid"] for _, pod in events if bound(pod)} - earlier)
        if check(n):
            return True
        time.sleep(0.01)
    return False


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
        kills = {"controllers": 0, "scheduler": 0}
        for round_ in range(ROUNDS):
            since, creates = len(watch.snapshot()), CREATES_BEFORE_KILL[round_ % len(CREATES_BEFORE_KILL)]
            # the controller manager dies right after its n-th create of this term
            if wait_event(watch, since, lambda n, want=creates: n >= want, timeout=20, count="ADDED"):
                kill_and_restart(cluster, "controllers")
                kills["controllers"] += 1
            # the scheduler right after its first bind of this term
            since_bind = len(watch.snapshot())
            if wait_event(watch, since_bind, lambda n: n >= 1, timeout=5, count="bind"):
                kill_and_restart(cluster, "scheduler")
                kills["scheduler"] += 1
            if len(live_pods(http, "web")) >= REPLICAS:
                break
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
