"""Node registration and heartbeat of a real kubelet."""

from __future__ import annotations

import os

import pytest

from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import wait_node

pytestmark = pytest.mark.e2e
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"


def test_node_registers_heartbeats_and_comes_back_after_deletion(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1")
    wait_node(cluster, node)
    with cluster.http() as h:
        status = h.get(f"/api/v1/nodes/{node}").json()["status"]
        assert status["capacity"]["cpu"] == str(os.cpu_count()) and status["capacity"]["pods"] == "110"
        assert status["capacity"]["memory"].endswith("Ki") and status["allocatable"] == status["capacity"]
        assert {a["type"]: a["address"] for a in status["addresses"]}["InternalIP"] == "127.0.0.1"
        assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] > 0
        info = status["nodeInfo"]
        assert info["containerRuntimeVersion"].startswith("docker://") and info["kubeletVersion"]
        assert info["osImage"] and info["kernelVersion"] and info["architecture"]
        ready = next(c for c in status["conditions"] if c["type"] == "Ready")
        assert ready["reason"] == "KubeletReady"
        # The Node is registered (and Ready) just before its Lease is first written.
        first = cluster.wait_for("the node's lease", lambda: (
            (r := h.get(f"{LEASES}/{node}")).status_code == 200 and r.json()["spec"]), timeout=15)
        assert first["holderIdentity"] == node and first["leaseDurationSeconds"] == 40
        cluster.wait_for("a lease renewal", lambda: h.get(f"{LEASES}/{node}").json()["spec"]["renewTime"]
                         != first["renewTime"], timeout=15)
        uid = h.get(f"/api/v1/nodes/{node}").json()["metadata"]["uid"]
        assert h.delete(f"/api/v1/nodes/{node}").status_code == 200

        def registered_again() -> bool:
            response = h.get(f"/api/v1/nodes/{node}")
            return response.status_code == 200 and response.json()["metadata"]["uid"] != uid

        cluster.wait_for("the node registered again", registered_again, timeout=20)
    wait_node(cluster, node)
