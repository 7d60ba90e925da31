"""kill -9 of a kubelet between a container's create and its start, then a restart: no duplicates.

Mirrors Kubernetes' node e2e "Restart [Serial] [Slow] [Disruptive] Kubelet should correctly
account for terminated pods after restart" and "Kubelet restart ... should not create
duplicate containers" (test/e2e_node/restart_test.go), with the kill aimed at the worst moment:
the test follows Docker's event stream and SIGKILLs the kubelet the instant Docker reports the
``create`` of the round's target container (the sandbox, the init container or an app
container), so the kubelet dies holding a created, never-started container. The restarted
kubelet must find that container by its labels and deterministic name and start it, never
create a second one, and report restartCount 0: nothing ever exited.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from typing import Any

import pytest

from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import create, docker, make_pod, pod_containers, status, wait_node, wait_status

pytestmark = pytest.mark.e2e

TARGETS = ("POD", "init", "a", "b")  # the container whose create triggers the kill, per round
ROUNDS = 8
SPEC_CONTAINERS = len(TARGETS)  # sandbox + init + two app containers


class KillOnCreate:
    """Follows ``docker events`` for one node and SIGKILLs a process at a chosen container's create."""

    def __init__(self, node: str) -> None:
        self.proc = subprocess.Popen(
            ["docker", "events", "--format", "{{json .}}", "--filter", "type=container", "--filter", "event=create",
             "--filter", f"label=io.podvisor.node={node}"],
            stdout=subprocess.PIPE, text=True)
        self._armed: tuple[str, str, int] | None = None  # (pod, container, pid)
        self._lock = threading.Lock()
        self.fired = threading.Event()
        self.victim = ""  # the id of the container whose create fired the kill
        threading.Thread(target=self._read, daemon=True).start()

    def arm(self, pod: str, container: str, pid: int) -> None:
        with self._lock:
            self.fired.clear()
            self._armed = (pod, container, pid)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            attributes = json.loads(line).get("Actor", {}).get("Attributes", {})
            with self._lock:
                if self._armed is None:
                    continue
                pod, container, pid = self._armed
                if (attributes.get("io.podvisor.pod.name"), attributes.get("io.podvisor.container")) != (pod, container):
                    continue
                os.kill(pid, signal.SIGKILL)
                self.victim = json.loads(line)["Actor"]["ID"]
                self._armed = None
                self.fired.set()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


def crash_pod(name: str, node: str) -> dict[str, Any]:
    sleeper = {"command": ["sleep", "3600"]}
    return make_pod(name, node, [{"name": "a", **sleeper}, {"name": "b", **sleeper}],
                    initContainers=[{"name": "init", "command": ["true"]}], terminationGracePeriodSeconds=1)


def running(st: dict[str, Any]) -> bool:
    app = st.get("containerStatuses") or []
    return st.get("phase") == "Running" and len(app) == 2 and all(c.get("ready") for c in app)


def duplicates(uid: str) -> tuple[list[str], Counter[str]]:
    """Containers of the pod sharing a (container, attempt) with another, and attempts per container."""
    rows = pod_containers(uid)
    keys = Counter(_label(r, "io.podvisor.container") + "#" + _label(r, "io.podvisor.attempt") for r in rows)
    per_container = Counter(_label(r, "io.podvisor.container") for r in rows)
    return [k for k, n in keys.items() if n > 1], per_container


def _label(row: dict[str, Any], key: str) -> str:
    for pair in row["Labels"].split(","):
        if pair.startswith(key + "="):
            return pair.split("=", 1)[1]
    return ""


def test_kubelet_killed_between_create_and_start_creates_no_duplicate(cluster: Cluster) -> None:
    node = cluster.start_kubelet("crash", "--restart-backoff-initial", "0")
    wait_node(cluster, node)
    killer = KillOnCreate(node)
    hits, uids, began = Counter[str](), {}, time.monotonic()
    try:
        for round_ in range(ROUNDS):
            target, name = TARGETS[round_ % len(TARGETS)], f"crash-{round_}"
            killer.arm(name, target, cluster.kubelets[node].pid)
            uids[name] = create(cluster, crash_pod(name, node))["metadata"]["uid"]
            assert killer.fired.wait(30), f"round {round_}: no create event for {target}"
            cluster.kubelets[node].wait(timeout=10)
            if docker("inspect", "--format", "{{.State.Status}}", killer.victim) == "created":
                hits[target] += 1  # the kubelet died between this container's create and its start
            cluster.restart_kubelet(node)
            wait_status(cluster, name, running, f"round {round_}: Running after the restart", timeout=45)
    finally:
        killer.close()

    time.sleep(1)  # one more relist window: a late duplicate would show now
    checked = 0
    for name, uid in uids.items():
        dup, per_container = duplicates(uid)
        assert dup == [], f"{name}: duplicate containers {dup}"
        assert per_container == {t: 1 for t in TARGETS}, f"{name}: {per_container}"
        st = status(cluster, name)
        assert running(st), (name, st)
        counts = [c["restartCount"] for c in [*st["containerStatuses"], *st["initContainerStatuses"]]]
        assert counts == [0, 0, 0], (name, counts)
        checked += sum(per_container.values())
    print(f"\nkubelet crash: {ROUNDS} kill -9 rounds in {time.monotonic() - began:.1f}s, killed between create "
          f"and start {sum(hits.values())} times ({dict(hits)}); {checked} containers of {len(uids)} pods checked: "
          f"0 duplicates, every restartCount 0")
    assert sum(hits.values()) >= ROUNDS // 2, f"only {dict(hits)} kills landed between a create and its start"
