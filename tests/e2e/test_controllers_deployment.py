"""Deployments on a real cluster (server + three kubelets on Docker): spread, scale, roll, roll back, delete."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.controllers.e2e_helpers import (
    BUSYBOX,
    DEPLOYMENTS,
    REPLICASETS,
    PodWatch,
    containers_of,
    create_deployment,
    deployment_manifest,
    get_deployment,
    list_items,
    live_pods,
    node_condition,
    rollout_complete,
    scale,
    set_image,
    undo,
)
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("docker_cleanup")]

V2 = "podvisor/busybox:v2"


@pytest.fixture
def v2_image(busybox_image: str) -> Iterator[str]:
    """The same image under a second tag: a template change without a registry."""
    subprocess.run(["docker", "tag", busybox_image, V2], check=True, timeout=60)
    yield V2


def start_nodes(cluster: Cluster, count: int = 3) -> list[str]:
    names = [cluster.start_kubelet(f"node-{i}", "--restart-backoff-initial", "0") for i in range(1, count + 1)]
    with cluster.http() as http:
        for name in names:
            cluster.wait_for(f"node {name} Ready", lambda n=name: node_condition(http, n) == "True", timeout=60)
    return names


def test_deployment_spreads_scales_and_is_deleted_with_everything(cluster: Cluster) -> None:
    nodes = start_nodes(cluster)
    with cluster.http() as http:
        create_deployment(http, deployment_manifest("web", 5))
        cluster.wait_for("5/5 available", lambda: rollout_complete(http, "web"), timeout=120)
        status = (get_deployment(http, "web") or {})["status"]
        assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (5, 5, 5)
        spread = Counter(p["spec"]["nodeName"] for p in live_pods(http, "web"))
        assert set(spread) == set(nodes) and max(spread.values()) - min(spread.values()) <= 1
        cluster.wait_for("5 containers", lambda: len(containers_of("web")) == 5, timeout=60)

        scale(http, "web", 8)
        cluster.wait_for("8/8 available", lambda: rollout_complete(http, "web"), timeout=120)
        cluster.wait_for("8 containers", lambda: len(containers_of("web")) == 8, timeout=60)
        scale(http, "web", 2)
        cluster.wait_for("2/2", lambda: rollout_complete(http, "web") and len(live_pods(http, "web")) == 2, timeout=120)
        cluster.wait_for("2 containers", lambda: len(containers_of("web")) == 2, timeout=60)

        response = http.delete(f"{DEPLOYMENTS}/web")
        assert response.status_code == 200, response.text
        cluster.wait_for("ReplicaSets gone", lambda: not list_items(http, REPLICASETS, "app=web"), timeout=60)
        cluster.wait_for("pods gone", lambda: not list_items(http, "/api/v1/namespaces/default/pods", "app=web"),
                         timeout=60)
        cluster.wait_for("containers gone", lambda: not containers_of("web"), timeout=60)


def test_rolling_update_keeps_availability_and_rolls_back(cluster: Cluster, v2_image: str) -> None:
    start_nodes(cluster)
    replicas, max_unavailable = 4, 1
    with cluster.http() as http:
        create_deployment(http, deployment_manifest("roll", replicas, surge=1, unavailable=max_unavailable))
        cluster.wait_for("4/4 available", lambda: rollout_complete(http, "roll"), timeout=120)
        watch = PodWatch(cluster, "app=roll").start()

        set_image(http, "roll", v2_image)
        cluster.wait_for("rolled out to v2", lambda: rollout_complete(http, "roll") and all(
            p["spec"]["containers"][0]["image"] == v2_image for p in live_pods(http, "roll")), timeout=180)
        counts = watch.ready_counts()
        assert len(counts) > watch.listed + 2 * replicas  # the update was seen pod by pod
        assert min(counts[watch.listed - 1:]) >= replicas - max_unavailable, counts
        d = get_deployment(http, "roll") or {}
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
        rss = list_items(http, REPLICASETS, "app=roll")
        assert sorted(rs["spec"]["replicas"] for rs in rss) == [0, replicas]

        undo(http, "roll")
        cluster.wait_for("rolled back to v1", lambda: rollout_complete(http, "roll") and all(
            p["spec"]["containers"][0]["image"] == BUSYBOX for p in live_pods(http, "roll")), timeout=180)
        counts = watch.ready_counts()
        assert min(counts[watch.listed - 1:]) >= replicas - max_unavailable, counts
        by_name = {rs["metadata"]["name"]: rs for rs in list_items(http, REPLICASETS, "app=roll")}
        assert len(by_name) == 2  # the first ReplicaSet was re-used, not recreated
        first = next(rs for rs in by_name.values() if rs["spec"]["template"]["spec"]["containers"][0]["image"] == BUSYBOX)
        assert first["spec"]["replicas"] == replicas
        assert first["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
        cluster.wait_for("only v1 containers", lambda: len(containers_of("roll")) == replicas, timeout=60)
