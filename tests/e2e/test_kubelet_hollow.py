"""Hollow kubelets: several simulated nodes in one process register, heartbeat and run pods without Docker."""

from __future__ import annotations

import pytest

from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import (
    PODS,
    container_status,
    create,
    make_pod,
    wait_gone,
    wait_node,
    wait_status,
)

pytestmark = pytest.mark.e2e


def test_hollow_nodes_register_and_run_pods(cluster: Cluster) -> None:
    base = cluster.start_kubelet("hollow", "--hollow", "--hollow-nodes", "3", "--hollow-read-kubeconfig",
                                 str(cluster.data_dir / "admin.kubeconfig"))
    nodes = [f"{base}-{i}" for i in range(3)]
    for node in nodes:
        wait_node(cluster, node)
    with cluster.http() as h:
        lease = cluster.wait_for("the node lease", lambda: h.get(
            f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{nodes[1]}").json().get("spec"))
        assert lease["holderIdentity"] == nodes[1] and lease["leaseDurationSeconds"] == 40
    for i, node in enumerate(nodes):
        create(cluster, make_pod(f"h{i}", node, [{"name": "c", "image": "anything/at-all:7"}]))
    for i in range(len(nodes)):
        st = wait_status(cluster, f"h{i}", lambda s: s.get("phase") == "Running", "Running on a hollow node")
        assert container_status(st, "c")["ready"] and st["podIP"]
    with cluster.http() as h:
        assert h.get(f"{PODS}/h0/log").status_code == 200
        assert h.delete(f"{PODS}/h1").status_code == 200
    wait_gone(cluster, "h1", timeout=30)
