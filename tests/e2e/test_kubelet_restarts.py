"""The kubelet's restart behaviour on the real Docker daemon."""

from __future__ import annotations

import signal
import time

import pytest

from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import (
    container_status,
    create,
    docker,
    events_of,
    make_pod,
    pod_containers,
    status,
    wait_node,
    wait_status,
)

pytestmark = pytest.mark.e2e

# Kubernetes' conformance case: fails on its first run, succeeds on its second, loops after that.
COUNTING = ("n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo run $n; "
            "if [ $n -eq 1 ]; then exit 1; elif [ $n -eq 2 ]; then exit 0; else sleep 3600; fi")


def counting_pod(name: str, node: str, policy: str) -> dict:
    container = {"name": "c", "command": ["sh", "-c", COUNTING], "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
    return make_pod(name, node, [container], restartPolicy=policy, volumes=[{"name": "data", "emptyDir": {}}])


def test_restart_policies_conformance(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    for policy in ("Always", "OnFailure", "Never"):
        create(cluster, counting_pod(f"count-{policy.lower()}", node, policy))
    expected = {"always": ("Running", 2), "onfailure": ("Succeeded", 1), "never": ("Failed", 0)}
    for suffix, (phase, restarts) in expected.items():
        st = wait_status(cluster, f"count-{suffix}",
                         lambda s, p=phase, r=restarts: s.get("phase") == p and container_status(s, "c").get("restartCount") == r,
                         f"phase {phase} with restartCount {restarts}")
        cs = container_status(st, "c")
        if phase == "Running":
            assert cs["state"].get("running") and cs["ready"] is True
        else:
            assert cs["state"]["terminated"]["exitCode"] == (0 if phase == "Succeeded" else 1)
    time.sleep(2)  # nothing more happens: the phases and counts are final
    for suffix, (phase, restarts) in expected.items():
        st = status(cluster, f"count-{suffix}")
        assert (st["phase"], container_status(st, "c")["restartCount"]) == (phase, restarts)


def test_back_off_grows_and_shows_crash_loop(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "1", "--restart-backoff-max", "4")
    create(cluster, make_pod("crasher", node, [{"name": "c", "command": ["sh", "-c", "exit 2"]}]))
    seen: dict[int, float] = {}
    crash_loop = False
    deadline = time.monotonic() + 60
    while len(seen) < 5 and time.monotonic() < deadline:
        cs = container_status(status(cluster, "crasher"), "c")
        if cs:
            seen.setdefault(cs["restartCount"], time.monotonic())
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") == "CrashLoopBackOff":
                crash_loop = True
                assert "back-off" in waiting["message"] and cs["lastState"]["terminated"]["exitCode"] == 2
        time.sleep(0.05)
    assert crash_loop, "never saw CrashLoopBackOff"
    assert len(seen) >= 5, seen
    gaps = [seen[i + 1] - seen[i] for i in range(4)]
    # configured 1s, 2s, 4s, 4s (capped): each wait at least its back-off, and it grows
    assert gaps[0] >= 0.8 and gaps[1] >= 1.8 and gaps[2] >= 3.8 and gaps[3] >= 3.8, gaps
    assert gaps[2] > gaps[0] + 2, gaps
    assert gaps[3] < 6.5, gaps
    cluster.wait_for("a BackOff event", lambda: any(e["reason"] == "BackOff" for e in events_of(cluster, "crasher")))


def test_docker_kill_restarts_only_that_container(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    sleeper = {"command": ["sleep", "3600"]}
    create(cluster, make_pod("two", node, [{"name": "a", **sleeper}, {"name": "b", **sleeper}]))
    create(cluster, make_pod("other", node, [{"name": "c", **sleeper}]))
    running = lambda s: s.get("phase") == "Running" and all(c.get("ready") for c in s.get("containerStatuses") or [])  # noqa: E731
    two = wait_status(cluster, "two", running, "Running")
    other = wait_status(cluster, "other", running, "Running")
    victim = container_status(two, "a")["containerID"].split("://")[1]
    docker("kill", victim)
    after = wait_status(cluster, "two", lambda s: container_status(s, "a").get("restartCount") == 1
                        and container_status(s, "a").get("ready"), "container a restarted")
    assert container_status(after, "a")["containerID"] != container_status(two, "a")["containerID"]
    assert container_status(after, "a")["lastState"]["terminated"]["exitCode"] == 137
    assert container_status(after, "b")["containerID"] == container_status(two, "b")["containerID"]
    assert container_status(after, "b")["restartCount"] == 0
    assert after["podIP"] == two["podIP"]
    now_other = status(cluster, "other")
    assert container_status(now_other, "c")["containerID"] == container_status(other, "c")["containerID"]
    assert container_status(now_other, "c")["restartCount"] == 0


def test_kill_9_and_restart_adopts_containers(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    create(cluster, counting_pod("adopt", node, "Always"))
    create(cluster, make_pod("plain", node, [{"name": "a", "command": ["sleep", "3600"]},
                                              {"name": "b", "command": ["sleep", "3600"]}]))
    before = {
        "adopt": wait_status(cluster, "adopt", lambda s: container_status(s, "c").get("restartCount") == 2
                             and s.get("phase") == "Running", "running after two restarts"),
        "plain": wait_status(cluster, "plain", lambda s: s.get("phase") == "Running"
                             and all(c.get("ready") for c in s["containerStatuses"]), "Running"),
    }
    uids = {name: st for name, st in before.items()}
    docker_before = {name: sorted(c["ID"] for c in pod_containers(_uid(cluster, name))) for name in before}
    cluster.kill_kubelet(node, signal.SIGKILL)
    cluster.restart_kubelet(node)
    wait_node(cluster, node)
    time.sleep(4)  # let the new kubelet adopt, relist and report
    for name, st in uids.items():
        now = status(cluster, name)
        for old in st["containerStatuses"]:
            new = container_status(now, old["name"])
            assert (new["containerID"], new["restartCount"]) == (old["containerID"], old["restartCount"]), name
        assert now["podIP"] == st["podIP"]
        # Adopted, not re-created: no container is new (an older exited attempt may be pruned).
        assert set(c["ID"] for c in pod_containers(_uid(cluster, name))) <= set(docker_before[name])


def _uid(cluster: Cluster, name: str) -> str:
    from tests.kubelet.e2e_helpers import get

    pod = get(cluster, name)
    assert pod is not None
    return str(pod["metadata"]["uid"])
