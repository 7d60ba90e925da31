"""``dockerd`` restarted under a running node: pods come back per their restart policy, by themselves.

Mirrors Kubernetes' node e2e "Container Runtime Restart [Serial] [Disruptive]" and the
"Restart [Serial] [Slow] [Disruptive] Container runtime restart should recover from a runtime
restart" cases (test/e2e_node/restart_test.go, container_manager_test.go): the runtime goes away
with every container on the node and comes back empty-handed, and the kubelet, which is *not*
restarted, must reconnect by itself (its event stream, its relist), re-create the sandboxes and
restart what the restart policy says: Always and OnFailure pods run again with restartCount 1,
a Never pod is Failed, a pod that had already Succeeded stays so. No (container, attempt) may
exist twice, and the Node stays (or returns to) Ready.

The daemon restarted is a private one (``tests/faults/dockerd.py``), never the shared daemon.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.controllers.e2e_helpers import node_condition
from tests.e2e.cluster import Cluster
from tests.faults.dockerd import PrivateDockerd
from tests.kubelet.e2e_helpers import (
    IMAGE,
    container_status,
    create,
    events_of,
    make_pod,
    status,
    wait_node,
    wait_status,
)

pytestmark = pytest.mark.e2e

DOWN_GAP = 3.0  # seconds with no daemon at all, as a supervisor's restart delay
EVENT_DEADLINE = 5.0  # below the kubelet's 10 s relist interval
SLEEP = {"command": ["sleep", "3600"]}
EXPECTED = {  # pod -> (phase after the restart, restartCount of each container)
    "dd-always": ("Running", 1),
    "dd-onfailure": ("Running", 1),
    "dd-never": ("Failed", 0),
    "dd-done": ("Succeeded", 0),
}


@pytest.fixture
def dockerd(busybox_image: str) -> Iterator[PrivateDockerd]:
    daemon = PrivateDockerd()
    try:
        daemon.start()
        daemon.load_image(busybox_image)  # the kubelet imports its own pause image (kubelet/pause.py)
        yield daemon
    finally:
        daemon.destroy()


class ReadyLog:
    """The node's Ready condition, polled in the background: every value seen, in order."""

    def __init__(self, cluster: Cluster, node: str) -> None:
        self.cluster, self.node = cluster, node
        self.seen: list[str | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self.cluster.http() as http:
            while not self._stop.wait(0.2):
                value = node_condition(http, self.node)
                if not self.seen or self.seen[-1] != value:
                    self.seen.append(value)

    def stop(self) -> list[str | None]:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.seen


def pods(node: str) -> list[dict[str, Any]]:
    grace = {"terminationGracePeriodSeconds": 1}
    return [
        make_pod("dd-always", node, [{"name": "a", **SLEEP}, {"name": "b", **SLEEP}], restartPolicy="Always", **grace),
        make_pod("dd-onfailure", node, [{"name": "a", **SLEEP}], restartPolicy="OnFailure", **grace),
        make_pod("dd-never", node, [{"name": "a", **SLEEP}], restartPolicy="Never", **grace),
        make_pod("dd-done", node, [{"name": "a", "command": ["true"]}], restartPolicy="OnFailure", **grace),
    ]


def settled(name: str) -> Any:
    phase, restarts = EXPECTED[name]

    def check(st: dict[str, Any]) -> bool:
        containers = st.get("containerStatuses") or []
        counts_ok = containers and all(c.get("restartCount") == restarts for c in containers)
        ready_ok = phase != "Running" or all(c.get("ready") for c in containers)
        return bool(st.get("phase") == phase and counts_ok and ready_ok)

    return check


def attempts(daemon: PrivateDockerd, uid: str) -> Counter[str]:
    """(container, attempt) -> how many Docker containers carry it, for one pod."""
    out = daemon.docker("ps", "-a", "--filter", f"label=io.podvisor.pod.uid={uid}", "--format",
                        '{{.Label "io.podvisor.container"}}#{{.Label "io.podvisor.attempt"}}').stdout
    return Counter(out.split())


def test_dockerd_restart_brings_pods_back_per_policy(dockerd: PrivateDockerd, cluster: Cluster) -> None:
    node = cluster.node_name("dind")
    # the kubelet adopts the node network it finds: one with a subnet the shared daemon does not use
    dockerd.create_network(f"podvisor-{node}", {"io.podvisor.managed": "true", "io.podvisor.node": node})
    cluster.start_kubelet("dind", "--restart-backoff-initial", "0", "--lease-interval", "2", docker_host=dockerd.host)
    wait_node(cluster, node, timeout=60)
    uids = {pod["metadata"]["name"]: create(cluster, pod)["metadata"]["uid"] for pod in pods(node)}
    before = {}
    for name in ("dd-always", "dd-onfailure", "dd-never"):
        before[name] = wait_status(cluster, name, lambda s: s.get("phase") == "Running"
                                   and all(c.get("ready") for c in s.get("containerStatuses") or []), "Running")
    before["dd-done"] = wait_status(cluster, "dd-done", lambda s: s.get("phase") == "Succeeded", "Succeeded")
    kubelet = cluster.kubelets[node]
    ready = ReadyLog(cluster, node)

    down = dockerd.restart(gap=DOWN_GAP)
    began = time.monotonic()
    after = {name: wait_status(cluster, name, settled(name), f"{EXPECTED[name]} after the dockerd restart", timeout=60)
             for name in EXPECTED}
    recovered = time.monotonic() - began
    cluster.wait_for("the node Ready", lambda: ready.seen and ready.seen[-1] == "True", timeout=30)
    transitions = ready.stop()

    assert kubelet.poll() is None and cluster.kubelets[node] is kubelet, "the kubelet must not have been restarted"
    for name in ("dd-always", "dd-onfailure"):
        for old in before[name]["containerStatuses"]:
            new = container_status(after[name], old["name"])
            assert new["containerID"] != old["containerID"], (name, new)
            assert new["lastState"]["terminated"]["exitCode"] in (137, 143), (name, new)
    never = container_status(after["dd-never"], "a")
    assert never["state"]["terminated"]["exitCode"] in (137, 143), never
    assert container_status(after["dd-done"], "a") == container_status(before["dd-done"], "a")
    assert any(e["reason"] == "SandboxChanged" for e in events_of(cluster, "dd-always"))
    time.sleep(2)  # a late duplicate (a second sync acting on a stale view) would show now
    counted = 0
    for name, uid in uids.items():
        per_attempt = attempts(dockerd, uid)
        assert all(n == 1 for n in per_attempt.values()), (name, per_attempt)
        counted += sum(per_attempt.values())
    assert status(cluster, "dd-always")["phase"] == "Running"

    # reconnected, not merely relisting: a container killed now is restarted on its die event,
    # well before the next periodic relist (10 s) could notice
    victim = container_status(after["dd-always"], "a")["containerID"].split("://", 1)[1]
    killed = time.monotonic()
    dockerd.docker("kill", victim)
    wait_status(cluster, "dd-always", lambda s: container_status(s, "a").get("restartCount") == 2
                and container_status(s, "a").get("ready"), "restarted on its die event", timeout=EVENT_DEADLINE)
    reacted = time.monotonic() - killed
    print(f"\ndockerd restart: daemon down {down:.1f}s (stopping its containers), {len(EXPECTED)} pods settled per "
          f"policy {recovered:.1f}s after it answered again; {counted} containers checked, 0 duplicates; kubelet "
          f"not restarted; node Ready condition seen: {transitions}; a container killed afterwards ran again in "
          f"{reacted:.1f}s")
    assert "False" not in transitions[1:] or transitions[-1] == "True"
    assert IMAGE  # the image the pods run, loaded into the private daemon by the fixture
