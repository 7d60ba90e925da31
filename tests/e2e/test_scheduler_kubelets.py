"""The scheduler in a whole cluster with real kubelets on Docker: spreading, node selectors, cordons."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e.cluster import Cluster
from tests.scheduler.e2e_helpers import (
    create_pod,
    get_pod,
    node_of,
    node_ready,
    patch_node,
    pod_manifest,
    pod_scheduled,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("docker_cleanup")]


def start_nodes(cluster: Cluster, *bases: str) -> list[str]:
    names = [cluster.start_kubelet(base) for base in bases]
    with cluster.http() as http:
        for name in names:
            cluster.wait_for(f"node {name} Ready", lambda n=name: node_ready(http, n), timeout=60)
    return names


def test_pods_spread_across_three_nodes(cluster: Cluster) -> None:
    nodes = start_nodes(cluster, "node-1", "node-2", "node-3")
    with cluster.http() as http:
        for i in range(6):
            create_pod(http, pod_manifest(f"spread-{i}"))
        names = [f"spread-{i}" for i in range(6)]
        cluster.wait_for("all six pods bound", lambda: all(node_of(http, n) for n in names), timeout=30)
        assert Counter(node_of(http, n) for n in names) == {node: 2 for node in nodes}
        cluster.wait_for("all six pods Running",
                         lambda: all(get_pod(http, n).get("status", {}).get("phase") == "Running" for n in names),
                         timeout=90)


def test_node_selector_waits_until_a_node_is_labelled(cluster: Cluster) -> None:
    (node,) = start_nodes(cluster, "node-1")
    with cluster.http() as http:
        create_pod(http, pod_manifest("picky", node_selector={"disktype": "ssd"}))

        def unschedulable() -> bool:
            cond = pod_scheduled(http, "picky")
            return cond is not None and cond.get("reason") == "Unschedulable"

        cluster.wait_for("the Unschedulable verdict", unschedulable, timeout=30)
        cond = pod_scheduled(http, "picky")
        assert cond is not None and cond["status"] == "False"
        assert cond["message"] == "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
        assert get_pod(http, "picky")["status"]["phase"] == "Pending"
        patch_node(http, node, {"metadata": {"labels": {"disktype": "ssd"}}})
        cluster.wait_for("the pod bound to the labelled node", lambda: node_of(http, "picky") == node, timeout=30)


def test_cordoned_node_gets_nothing(cluster: Cluster) -> None:
    cordoned, open_node = start_nodes(cluster, "node-1", "node-2")
    with cluster.http() as http:
        patch_node(http, cordoned, {"metadata": {"labels": {"e2e-cordoned": "yes"}}, "spec": {"unschedulable": True}})
        # a canary that only the cordoned node could take shows when the scheduler has seen the cordon
        create_pod(http, pod_manifest("canary", node_selector={"e2e-cordoned": "yes"}))
        expected = ("0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                    "1 node(s) were unschedulable.")
        cluster.wait_for("the canary refused by the cordon",
                         lambda: (pod_scheduled(http, "canary") or {}).get("message") == expected, timeout=30)
        names = [f"cordon-{i}" for i in range(4)]
        for name in names:
            create_pod(http, pod_manifest(name))
        cluster.wait_for("all pods bound", lambda: all(node_of(http, n) for n in names), timeout=30)
        assert {node_of(http, n) for n in names} == {open_node}
        assert node_of(http, "canary") is None
