"""A node's kubelet metrics scraped through the API server's node proxy, on the real Docker daemon."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import container_status, create, docker, get, make_pod, wait_node, wait_status

pytestmark = pytest.mark.e2e

BASE = "kubeletmetrics2-node"
REFUSED = ["exec/default/sleeper/c?command=id", "run/default/sleeper/c", "containerLogs/default/sleeper/c",
           "metrics/../containerLogs/default/sleeper/c", "%2e%2e/containerLogs/default/sleeper/c",
           "metrics%2F..%2FcontainerLogs", "stats%2fsummary", "metrics?x=1", "", "pods"]


def scrape(cluster: Cluster, node: str, path: str = "metrics") -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with cluster.http() as h:
        response = h.get(f"/api/v1/nodes/{node}/proxy/{path}")
    assert response.status_code == 200, response.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(series: dict[Any, float], name: str, **labels: str) -> float:
    return series.get((name, tuple(sorted(labels.items()))), 0.0)


def raw_get(cluster: Cluster, path: str, token: str | None = None) -> httpx.Response:
    """GET a path exactly as written (no dot-segment removal or re-encoding by the client)."""
    headers = {"Authorization": f"Bearer {token or cluster.token}"}
    with httpx.Client(verify=str(cluster.data_dir / "ca.crt"), timeout=30) as client:
        request = client.build_request("GET", cluster.url, headers=headers)
        request.url = request.url.copy_with(raw_path=path.encode())
        return client.send(request)


def test_pod_start_restart_and_runtime_series_move(cluster: Cluster) -> None:
    node = cluster.start_kubelet(BASE, "--restart-backoff-initial", "0")
    wait_node(cluster, node)
    before = scrape(cluster, node)
    assert value(before, "kubelet_pod_start_sli_duration_seconds_count") == 0
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 1}
    create(cluster, make_pod("sleeper", node, [{"name": "c", "command": ["sleep", "3600"], "readinessProbe": probe}]))
    running = wait_status(cluster, "sleeper", lambda s: s.get("phase") == "Running", "Running")

    started = cluster.wait_for("the pod start SLI observed", lambda: (
        s if value(s := scrape(cluster, node), "kubelet_pod_start_sli_duration_seconds_count") == 1 else None))
    assert value(started, "kubelet_running_pods") == 1
    assert value(started, "kubelet_running_containers", container_state="running") >= 1
    assert value(started, "kubelet_pod_start_duration_seconds_count") == 1
    assert value(started, "kubelet_runtime_operations_total", operation_type="start_container") >= 2
    uid = get(cluster, "sleeper")["metadata"]["uid"]  # type: ignore[index]
    probe_labels = {"probe_type": "Readiness", "result": "successful", "container": "c", "pod": "sleeper",
                    "namespace": "default", "pod_uid": uid}
    cluster.wait_for("a probe result counted", lambda: value(scrape(cluster, node, "metrics/probes"),
                                                            "prober_probe_total", **probe_labels) >= 1)

    docker("kill", container_status(running, "c")["containerID"].split("://")[1])
    wait_status(cluster, "sleeper", lambda s: container_status(s, "c").get("restartCount") == 1
                and container_status(s, "c").get("ready"), "container c restarted")
    after = cluster.wait_for("the restart counted", lambda: (
        s if value(s := scrape(cluster, node), "podvisor_container_restarts_total", reason="Error") == 1 else None))
    assert (value(after, "kubelet_runtime_operations_total", operation_type="start_container")
            > value(started, "kubelet_runtime_operations_total", operation_type="start_container"))
    assert value(after, "kubelet_pod_start_sli_duration_seconds_count") == 1  # once per pod
    assert value(after, "kubelet_running_pods") == 1


def test_node_proxy_needs_nodes_proxy_and_serves_only_read_only_paths(cluster: Cluster) -> None:
    node = cluster.start_kubelet(BASE)
    wait_node(cluster, node)
    viewer = cluster.service_account_token("viewer", "view")
    denied = raw_get(cluster, f"/api/v1/nodes/{node}/proxy/metrics", viewer)
    assert denied.status_code == 403 and denied.json()["kind"] == "Status"
    assert "nodes/proxy" in denied.json()["message"]
    admin = cluster.service_account_token("scraper", "system:kubelet-api-admin")
    allowed = raw_get(cluster, f"/api/v1/nodes/{node}/proxy/metrics", admin)
    assert allowed.status_code == 200 and "kubelet_running_pods" in allowed.text
    health = raw_get(cluster, f"/api/v1/nodes/{node}/proxy/healthz")
    assert health.status_code == 200 and health.text == "ok"
    for path in REFUSED:
        response = raw_get(cluster, f"/api/v1/nodes/{node}/proxy/{path}")
        assert response.status_code == 403, (path, response.text)
        body = response.json()
        assert body["kind"] == "Status" and "read-only paths" in body["message"], (path, body)
    missing = raw_get(cluster, "/api/v1/nodes/kubeletmetrics2-nowhere/proxy/metrics")
    assert missing.status_code == 404 and missing.json()["kind"] == "Status"


def test_a_kubelet_that_is_down_is_a_503(cluster: Cluster) -> None:
    node = cluster.start_kubelet(BASE)
    wait_node(cluster, node)
    cluster.kill_kubelet(node)
    response = raw_get(cluster, f"/api/v1/nodes/{node}/proxy/metrics")
    assert response.status_code == 503 and response.json()["kind"] == "Status"


def test_hollow_nodes_each_answer_with_their_own_metrics(cluster: Cluster) -> None:
    base = cluster.start_kubelet("kubeletmetrics2-hollow", "--hollow", "--hollow-nodes", "2",
                                 "--hollow-read-kubeconfig", str(cluster.data_dir / "admin.kubeconfig"))
    nodes = [f"{base}-{i}" for i in range(2)]
    for node in nodes:
        wait_node(cluster, node)
    create(cluster, make_pod("h0", nodes[0], [{"name": "c", "image": "anything/at-all:7"}]))
    wait_status(cluster, "h0", lambda s: s.get("phase") == "Running", "Running on a hollow node")
    cluster.wait_for("h0 counted on its node", lambda: value(scrape(cluster, nodes[0]), "kubelet_running_pods") == 1)
    assert value(scrape(cluster, nodes[1]), "kubelet_running_pods") == 0


def test_kubectl_get_raw_reads_the_node_metrics(cluster: Cluster) -> None:
    node = cluster.start_kubelet(BASE)
    wait_node(cluster, node)
    done = subprocess.run(["kubectl", "--kubeconfig", str(cluster.data_dir / "admin.kubeconfig"), "get", "--raw",
                           f"/api/v1/nodes/{node}/proxy/metrics"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert any(f.name == "kubelet_running_pods" for f in text_string_to_metric_families(done.stdout))
