"""A ReplicationController on a real cluster (server + two kubelets on Docker): its containers run,
a deleted pod is replaced, it scales through its scale subresource, and its pods go with it."""

from __future__ import annotations

import pytest

from tests.controllers.e2e_helpers import (
    BUSYBOX,
    MERGE,
    PODS,
    containers_of,
    is_ready,
    live_pods,
    node_condition,
)
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("docker_cleanup")]

RCS = "/api/v1/namespaces/default/replicationcontrollers"
SLEEPER = "trap 'exit 0' TERM; while true; do sleep 0.5; done"


def manifest(name: str, replicas: int) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": name},
            "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": name}}, "spec": {
                "terminationGracePeriodSeconds": 2,
                "containers": [{"name": "main", "image": BUSYBOX, "command": ["sh", "-c", SLEEPER]}]}}}}


def test_replication_controller_of_two_on_real_kubelets(cluster: Cluster) -> None:
    nodes = [cluster.start_kubelet(f"node-{i}", "--restart-backoff-initial", "0") for i in (1, 2)]
    with cluster.http() as http:
        for name in nodes:
            cluster.wait_for(f"node {name} Ready", lambda n=name: node_condition(http, n) == "True", timeout=60)
        made = http.post(RCS, json=manifest("legacy", 2))
        assert made.status_code == 201, made.text

        def ready(n: int) -> bool:
            pods = live_pods(http, "legacy")
            status = http.get(f"{RCS}/legacy").json().get("status") or {}
            return len(pods) == n and all(is_ready(p) for p in pods) and status.get("readyReplicas") == n

        cluster.wait_for("2 ready", lambda: ready(2), timeout=90)
        assert {p["spec"]["nodeName"] for p in live_pods(http, "legacy")} == set(nodes)  # spread
        cluster.wait_for("2 containers", lambda: len(containers_of("legacy")) == 2, timeout=60)

        victim = live_pods(http, "legacy")[0]["metadata"]["name"]
        assert http.delete(f"{PODS}/{victim}").status_code == 200
        cluster.wait_for("replaced", lambda: ready(2) and victim not in {
            p["metadata"]["name"] for p in live_pods(http, "legacy")}, timeout=90)

        scaled = http.patch(f"{RCS}/legacy/scale", json={"spec": {"replicas": 1}}, headers=MERGE)
        assert scaled.status_code == 200, scaled.text
        cluster.wait_for("1 ready", lambda: ready(1), timeout=60)
        cluster.wait_for("1 container", lambda: len(containers_of("legacy")) == 1, timeout=60)

        assert http.delete(RCS + "/legacy", params={"propagationPolicy": "Background"}).status_code == 200
        cluster.wait_for("pods gone", lambda: not live_pods(http, "legacy"), timeout=60)
        cluster.wait_for("containers gone", lambda: not containers_of("legacy"), timeout=60)
