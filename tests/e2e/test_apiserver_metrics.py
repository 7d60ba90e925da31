"""``podvisor server``'s ``/metrics`` on a real cluster: the API server's series and those of the
controllers and scheduler running in its process, one scrape, authorised for system:monitoring.

A hollow node (the fake runtime) runs the pods: what is measured here is the control plane."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import wait_node

pytestmark = pytest.mark.e2e

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]
BASE = "apim-hollow"
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "apim-web"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "apim-web"}},
             "template": {"metadata": {"labels": {"app": "apim-web"}},
                          "spec": {"containers": [{"name": "c", "image": "anything/at-all:1"}]}}},
}
ODD_ACCEPT = ["", "*/*", "text/html", "application/json", "application/openmetrics-text; version=9.9.9",
              "application/openmetrics-text;q=0.1, text/plain;q=0.9", ";;;", "text/plain; version=0.0.4; charset=utf-8", "a" * 4000]
ODD_PATHS = ["/metrics?x=1", "/metrics?format=protobuf&name[]=x", "/metrics?%zz", "/metrics/", "/metrics/../x",
             "/metrics/%2e%2e/api", "/metrics%2F..%2Fapi", "/metrics/..%2f..%2fhealthz", "//metrics",
             "/metrics;x", "/metrics/" + "a" * 2000]


def raw_get(cluster: Cluster, path: str, *, token: str | None = None,
            headers: dict[str, str] | None = None) -> httpx.Response:
    """GET a path exactly as written (no dot-segment removal or re-encoding by the client)."""
    sent = {"Authorization": f"Bearer {token or cluster.token}", **(headers or {})}
    with httpx.Client(verify=str(cluster.data_dir / "ca.crt"), timeout=30) as client:
        request = client.build_request("GET", cluster.url, headers=sent)
        request.url = request.url.copy_with(raw_path=path.encode())
        return client.send(request)


def scrape(cluster: Cluster, token: str | None = None) -> Series:
    response = raw_get(cluster, "/metrics", token=token)
    assert response.status_code == 200, response.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def total(series: Series, metric: str, /, **labels: str) -> float:
    return sum(v for (n, lbl), v in series.items() if n == metric and set(labels.items()) <= set(lbl))


def ready_replicas(cluster: Cluster) -> Any:
    with cluster.http() as h:
        return (h.get("/apis/apps/v1/namespaces/default/deployments/apim-web").json().get("status") or {}).get(
            "readyReplicas") == 2


def test_a_deployment_moves_the_apiserver_controller_and_scheduler_series(cluster: Cluster) -> None:
    base = cluster.start_kubelet(BASE, "--hollow", "--hollow-nodes", "1",
                                 "--hollow-read-kubeconfig", str(cluster.data_dir / "admin.kubeconfig"))
    wait_node(cluster, f"{base}-0")
    before = scrape(cluster)
    assert total(before, "apiserver_request_total", verb="POST", resource="deployments") == 0
    with cluster.http() as h:
        created = h.post("/apis/apps/v1/namespaces/default/deployments", json=DEPLOYMENT)
    assert created.status_code == 201, created.text
    cluster.wait_for("the Deployment's two pods ready on the hollow node", lambda: ready_replicas(cluster))
    after = cluster.wait_for("both pods counted as scheduled", lambda: (
        s if total(s := scrape(cluster), "scheduler_schedule_attempts_total", result="scheduled",
                   profile="default-scheduler") >= 2 else None))
    assert total(after, "apiserver_request_total", verb="POST", resource="deployments", code="201") == 1
    assert total(after, "apiserver_request_duration_seconds_count", verb="POST", resource="deployments") == 1
    for queue in ("deployment", "replicaset"):
        assert total(after, "workqueue_adds_total", name=queue) > total(before, "workqueue_adds_total", name=queue)
        assert total(after, "workqueue_work_duration_seconds_count", name=queue) >= 1
    assert total(after, "scheduler_scheduling_attempt_duration_seconds_count", result="scheduled") >= 2
    assert ("scheduler_pending_pods", (("queue", "active"),)) in after
    assert total(after, "apiserver_storage_objects", resource="deployments.apps") == 1
    assert total(after, "etcd_debugging_mvcc_current_revision") > total(before, "etcd_debugging_mvcc_current_revision")
    assert total(after, "podvisor_storage_commit_batch_size_count") > 0


def test_metrics_needs_the_monitoring_role(cluster: Cluster) -> None:
    viewer = cluster.service_account_token("apim-viewer", "view")
    denied = raw_get(cluster, "/metrics", token=viewer)
    assert denied.status_code == 403, denied.text
    assert denied.json()["kind"] == "Status" and denied.json()["reason"] == "Forbidden"
    assert 'cannot get path "/metrics"' in denied.json()["message"]
    prometheus = cluster.service_account_token("apim-prometheus", "system:monitoring")
    assert total(scrape(cluster, prometheus), "apiserver_request_total", code="403") >= 1
    assert raw_get(cluster, "/metrics", token="not-a-token").status_code == 401


def test_odd_accept_headers_and_paths_never_fail_the_server(cluster: Cluster) -> None:
    for accept in ODD_ACCEPT:
        response = raw_get(cluster, "/metrics", headers={"Accept": accept})
        assert response.status_code == 200, (accept, response.text)
        assert response.headers["content-type"].startswith(("text/plain", "application/openmetrics-text"))
    for path in ODD_PATHS:
        response = raw_get(cluster, path)
        assert response.status_code < 500, (path, response.status_code, response.text)
        if response.status_code >= 400:
            assert response.json()["kind"] == "Status", (path, response.text)
    after = scrape(cluster)
    assert total(after, "apiserver_request_total", code="500") == 0
    subresources = {dict(lbl).get("subresource", "") for n, lbl in after if n == "apiserver_request_total"}
    assert not any(".." in s or "%" in s or "aaaa" in s for s in subresources), subresources


def test_kubectl_get_raw_reads_the_metrics(cluster: Cluster) -> None:
    done = subprocess.run(["kubectl", "--kubeconfig", str(cluster.data_dir / "admin.kubeconfig"), "get", "--raw",
                           "/metrics"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    names = {f.name for f in text_string_to_metric_families(done.stdout)}
    assert {"apiserver_request", "workqueue_adds", "scheduler_schedule_attempts", "scheduler_pending_pods"} <= names


@pytest.mark.server_args("--disable-metrics")
def test_disable_metrics_turns_the_path_off(cluster: Cluster) -> None:
    response = raw_get(cluster, "/metrics")
    assert response.status_code == 404, response.text
    assert response.json()["kind"] == "Status" and response.json()["reason"] == "NotFound"
    with cluster.http() as h:  # the rest of the server is unchanged
        assert h.post("/apis/apps/v1/namespaces/default/deployments", json=DEPLOYMENT).status_code == 201
