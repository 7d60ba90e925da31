"""A node whose kubelet stops answering: NotReady, tainted, pods replaced elsewhere, no duplicates after."""

from __future__ import annotations

import signal

import pytest

from tests.controllers.e2e_helpers import (
    containers_of,
    create_deployment,
    deployment_manifest,
    live_pods,
    node_condition,
    node_taints,
    rollout_complete,
)
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("docker_cleanup")]

UNREACHABLE = "node.kubernetes.io/unreachable"
# The grace period must outlast a few Lease renewals (Kubernetes keeps a 1:4 ratio, 10 s and
# 40 s), or healthy nodes would flap: the test's short grace comes with a short renewal.
GRACE_PERIOD = "12"
LEASE_INTERVAL = "3"


@pytest.mark.server_args("--node-grace-period", GRACE_PERIOD, "--eviction-timeout", "2")
def test_pods_of_a_silent_node_move_and_do_not_come_back_twice(cluster: Cluster) -> None:
    nodes = [cluster.start_kubelet(f"node-{i}", "--restart-backoff-initial", "0", "--lease-interval", LEASE_INTERVAL)
             for i in (1, 2, 3)]
    replicas = 6
    with cluster.http() as http:
        for name in nodes:
            cluster.wait_for(f"node {name} Ready", lambda n=name: node_condition(http, n) == "True", timeout=60)
        create_deployment(http, deployment_manifest("web", replicas))
        cluster.wait_for("6/6 available", lambda: rollout_complete(http, "web"), timeout=120)
        victim = nodes[0]
        assert any(p["spec"]["nodeName"] == victim for p in live_pods(http, "web"))

        cluster.kill_kubelet(victim, signal.SIGSTOP)
        try:
            cluster.wait_for("the node Unknown", lambda: node_condition(http, victim) == "Unknown", timeout=30)
            cluster.wait_for("the unreachable taint", lambda: UNREACHABLE in node_taints(http, victim), timeout=30)

            def moved() -> bool:
                pods = live_pods(http, "web")
                return len(pods) == replicas and all(p["spec"].get("nodeName") in nodes[1:] for p in pods)

            cluster.wait_for("pods recreated on the other nodes", moved, timeout=60)
            cluster.wait_for("6/6 available again", lambda: rollout_complete(http, "web"), timeout=120)
        finally:
            cluster.kill_kubelet(victim, signal.SIGCONT)

        cluster.wait_for("the node Ready again", lambda: node_condition(http, victim) == "True", timeout=60)
        cluster.wait_for("the taint removed", lambda: UNREACHABLE not in node_taints(http, victim), timeout=30)
        cluster.wait_for("the stale containers stopped", lambda: not containers_of("web", node=victim), timeout=60)
        cluster.wait_for("exactly 6 containers", lambda: len(containers_of("web")) == replicas, timeout=60)
        running = containers_of("web")
        assert len({r["pod"] for r in running}) == replicas  # one container per pod, no duplicates
        assert {r["pod"] for r in running} == {p["metadata"]["name"] for p in live_pods(http, "web")}
