"""The scheduler in a real server process, with nodes registered through the API (no kubelets).

Scheduling needs only Node objects, so these run without the node agents; the controller
manager is disabled so nodes that never heartbeat are not marked NotReady mid-test. The last
test runs two standalone ``podvisor scheduler`` processes to show that only the lease holder
binds and that a successor takes over when it stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter

import pytest

from tests.e2e.cluster import Cluster
from tests.scheduler.e2e_helpers import (
    create_pod,
    events,
    get_pod,
    node_of,
    patch_node,
    pod_manifest,
    pod_scheduled,
    register_node,
)

pytestmark = pytest.mark.e2e
LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/podvisor-scheduler"


@pytest.mark.server_args("--disable", "controllers")
def test_spreads_reports_and_reacts_to_node_changes(cluster: Cluster) -> None:
    with cluster.http() as http:
        for name in ("api-a", "api-b", "api-c"):
            register_node(http, name, cpu="2")
        for i in range(6):
            create_pod(http, pod_manifest(f"web-{i}", cpu="100m"))
        names = [f"web-{i}" for i in range(6)]
        cluster.wait_for("six pods bound", lambda: all(node_of(http, n) for n in names), timeout=30)
        assert Counter(node_of(http, n) for n in names) == {"api-a": 2, "api-b": 2, "api-c": 2}
        assert events(http, "web-0", "Scheduled") == [f"Successfully assigned default/web-0 to {node_of(http, 'web-0')}"]

        create_pod(http, pod_manifest("huge", cpu="3"))
        expected = "0/3 nodes are available: 3 Insufficient cpu."
        cluster.wait_for("the verdict", lambda: (pod_scheduled(http, "huge") or {}).get("message") == expected)
        cond = pod_scheduled(http, "huge")
        assert cond is not None and (cond["status"], cond["reason"]) == ("False", "Unschedulable")
        assert get_pod(http, "huge")["status"]["phase"] == "Pending"
        cluster.wait_for("a FailedScheduling event", lambda: expected in events(http, "huge", "FailedScheduling"))

        register_node(http, "api-big", cpu="8")
        cluster.wait_for("the big pod bound to the new node", lambda: node_of(http, "huge") == "api-big", timeout=30)


@pytest.mark.server_args("--disable", "controllers")
def test_selector_then_label_and_cordon(cluster: Cluster) -> None:
    with cluster.http() as http:
        register_node(http, "api-a")
        register_node(http, "api-b")
        patch_node(http, "api-a", {"spec": {"unschedulable": True}})
        create_pod(http, pod_manifest("picky", node_selector={"disktype": "ssd"}))
        expected = ("0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                    "1 node(s) were unschedulable.")
        cluster.wait_for("the verdict", lambda: (pod_scheduled(http, "picky") or {}).get("message") == expected)
        for i in range(4):
            create_pod(http, pod_manifest(f"plain-{i}"))
        cluster.wait_for("plain pods bound", lambda: all(node_of(http, f"plain-{i}") for i in range(4)))
        assert {node_of(http, f"plain-{i}") for i in range(4)} == {"api-b"}  # the cordoned node got nothing
        patch_node(http, "api-b", {"metadata": {"labels": {"disktype": "ssd"}}})
        cluster.wait_for("the picky pod bound", lambda: node_of(http, "picky") == "api-b", timeout=30)


def _start_scheduler(cluster: Cluster, name: str) -> subprocess.Popen[bytes]:
    return cluster._spawn(name, ["scheduler", "--kubeconfig", str(cluster.data_dir / "admin.kubeconfig")])


def _holder(cluster: Cluster) -> str | None:
    with cluster.http() as http:
        response = http.get(LEASE)
        return response.json().get("spec", {}).get("holderIdentity") if response.status_code == 200 else None


@pytest.mark.server_args("--disable", "controllers", "--disable", "scheduler")
def test_only_the_leader_schedules_and_a_standby_takes_over(cluster: Cluster) -> None:
    first = _start_scheduler(cluster, "scheduler-1")
    second: subprocess.Popen[bytes] | None = None
    try:
        leader = cluster.wait_for("a leader", lambda: _holder(cluster), timeout=30)
        assert f"_{first.pid}_" in leader
        second = _start_scheduler(cluster, "scheduler-2")
        with cluster.http() as http:
            register_node(http, "api-a")
            create_pod(http, pod_manifest("before"))
            cluster.wait_for("a pod bound by the leader", lambda: node_of(http, "before") == "api-a", timeout=30)
            os.kill(first.pid, signal.SIGINT)  # graceful: the lease is released on the way out
            first.wait(timeout=15)
            new_leader = cluster.wait_for("the standby leading", lambda: (h := _holder(cluster)) and h != leader and h,
                                          timeout=10)  # well under the 15 s lease: released, not expired
            assert f"_{second.pid}_" in new_leader
            create_pod(http, pod_manifest("after"))
            cluster.wait_for("a pod bound by the new leader", lambda: node_of(http, "after") == "api-a", timeout=30)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=15)
