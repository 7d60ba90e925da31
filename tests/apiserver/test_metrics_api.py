"""The metrics API (metrics.k8s.io/v1beta1) served from the provider's samples, in-process.

The samples are fed to the provider's storage as the scraper would, two Summary API answers
ten seconds apart, so every figure below is computed by hand from the counters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from apimachinery import resources as res
from apiserver.app import AppSettings, create_app
from apiserver.authn.tokens import StaticTokens
from apiserver.store.sqlite import SqliteStore
from tests.apiserver.authz_cluster import RBAC, USERS, headers, role_binding

BASE = "/apis/metrics.k8s.io/v1beta1"
T0 = 1_800_000_000.0
MIB = 1024 * 1024


def cpu(ts: float, cores_seconds: float) -> dict[str, Any]:
    from kubelet.summary import rfc3339
    return {"time": rfc3339(ts), "usageCoreNanoSeconds": round(cores_seconds * 1e9)}


def summary(node: str, ts: float, *, node_cpu: float, pods: dict[str, dict[str, float]]) -> dict[str, Any]:
    """A Summary API answer: each pod's containers with their cumulative CPU seconds; memory fixed."""
    entries = []
    for pod, containers in pods.items():
        entries.append({"podRef": {"name": pod, "namespace": "team", "uid": f"uid-{pod}"}, "containers": [
            {"name": name, "cpu": cpu(ts, used), "memory": {"workingSetBytes": 10 * MIB}}
            for name, used in containers.items()]})
    return {"node": {"nodeName": node, "cpu": cpu(ts, node_cpu), "memory": {"workingSetBytes": 1000 * MIB}},
            "pods": entries}


def make_app(tmp_path: Path, **settings: Any) -> Any:
    authn = StaticTokens({f"token-{k}": u for k, u in USERS.items()})
    app = create_app(SqliteStore(tmp_path / "state.db"), AppSettings(authenticator=authn, compaction_interval=3600,
                                                                     **settings))
    registry = app.state.registry
    registry.create(res.NAMESPACES, None, {"metadata": {"name": "team"}})
    registry.create(res.ROLEBINDINGS, "team", role_binding("view-binding", "view-user", "view"))
    registry.create(res.CLUSTERROLEBINDINGS, None, role_binding("reader", "edit-user", "system:aggregated-metrics-reader"))
    for node in ("n1", "n2"):
        registry.create(res.NODES, None, {"metadata": {"name": node, "labels": {"zone": node}}})
    for pod, labels in (("burn", {"app": "burn"}), ("idle", {"app": "idle"}), ("new", {"app": "new"})):
        registry.create(res.PODS, "team", {"metadata": {"name": pod, "labels": labels}, "spec": {
            "nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}})
    app.state.metrics_clock = lambda: T0 + 20
    return app


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = make_app(tmp_path)
    storage = app.state.metrics_storage
    storage.store("n1", summary("n1", T0, node_cpu=100, pods={"burn": {"c": 1, "d": 2}, "idle": {"c": 1}}), now=T0)
    storage.store("n1", summary("n1", T0 + 10, node_cpu=115, pods={
        "burn": {"c": 6, "d": 2.5}, "idle": {"c": 1.001}, "new": {"c": 1}}), now=T0 + 10)
    storage.store("n2", summary("n2", T0 + 10, node_cpu=5, pods={}), now=T0 + 10)  # one sample: no rate yet
    return TestClient(app)


def get(client: TestClient, path: str, who: str = "root") -> Any:
    return client.get(BASE + path, headers=headers(who))


def test_node_metrics_have_the_kubernetes_shape(client: TestClient) -> None:
    body = get(client, "/nodes").json()
    assert body["kind"] == "NodeMetricsList" and body["apiVersion"] == "metrics.k8s.io/v1beta1"
    [n1] = body["items"]  # n2 has a single sample: no rate, not listed
    assert n1["kind"] == "NodeMetrics"
    assert n1["metadata"]["name"] == "n1" and n1["metadata"]["labels"] == {"zone": "n1"}
    assert n1["usage"] == {"cpu": "1500m", "memory": "1000Mi"}
    assert (n1["timestamp"], n1["window"]) == ("2027-01-15T08:00:10Z", "10s")
    assert get(client, "/nodes/n1").json()["usage"] == n1["usage"]


def test_pod_metrics_are_per_container_rates(client: TestClient) -> None:
    body = get(client, "/namespaces/team/pods").json()
    assert body["kind"] == "PodMetricsList"
    pods = {p["metadata"]["name"]: p for p in body["items"]}
    assert set(pods) == {"burn", "idle"}  # "new" has one sample only
    assert pods["burn"]["containers"] == [{"name": "c", "usage": {"cpu": "500m", "memory": "10Mi"}},
                                          {"name": "d", "usage": {"cpu": "50m", "memory": "10Mi"}}]
    assert pods["idle"]["containers"][0]["usage"]["cpu"] == "100u"
    assert pods["burn"]["metadata"]["namespace"] == "team" and pods["burn"]["window"] == "10s"
    assert get(client, "/namespaces/team/pods/burn").json()["containers"] == pods["burn"]["containers"]
    assert {p["metadata"]["name"] for p in get(client, "/pods").json()["items"]} == {"burn", "idle"}


@pytest.mark.parametrize(("query", "names"), [
    pytest.param("labelSelector=app%3Dburn", {"burn"}, id="label"),
    pytest.param("labelSelector=app%20in%20(burn,idle,new)", {"burn", "idle"}, id="set"),
    pytest.param("labelSelector=app!%3Dburn", {"idle"}, id="not"),
    pytest.param("fieldSelector=metadata.name%3Didle", {"idle"}, id="field"),
])
def test_selectors_pick_pods(client: TestClient, query: str, names: set[str]) -> None:
    body = get(client, f"/namespaces/team/pods?{query}").json()
    assert {p["metadata"]["name"] for p in body["items"]} == names


def test_node_label_selector(client: TestClient) -> None:
    assert get(client, "/nodes?labelSelector=zone%3Dn2").json()["items"] == []
    assert [n["metadata"]["name"] for n in get(client, "/nodes?labelSelector=zone%3Dn1").json()["items"]] == ["n1"]


@pytest.mark.parametrize(("method", "path", "code", "reason"), [
    pytest.param("GET", "/nodes/ghost", 404, "NotFound", id="unknown-node"),
    pytest.param("GET", "/nodes/n2", 404, "NotFound", id="node-without-a-rate"),
    pytest.param("GET", "/namespaces/team/pods/ghost", 404, "NotFound", id="unknown-pod"),
    pytest.param("GET", "/namespaces/team/pods/new", 404, "NotFound", id="pod-without-a-rate"),
    pytest.param("GET", "/pods?labelSelector=app%3D%3D%3D", 400, "BadRequest", id="bad-label-selector"),
    pytest.param("GET", "/nodes?fieldSelector=nonsense", 400, "BadRequest", id="bad-field-selector"),
    pytest.param("GET", "/pods?watch=true", 405, "MethodNotAllowed", id="watch-param"),
    pytest.param("GET", "/watch/nodes", 405, "MethodNotAllowed", id="watch-path"),
    pytest.param("POST", "/nodes", 405, "MethodNotAllowed", id="create"),
    pytest.param("DELETE", "/namespaces/team/pods/burn", 405, "MethodNotAllowed", id="delete"),
    pytest.param("GET", "/services", 404, "NotFound", id="unserved-resource"),
])
def test_errors_are_status_objects(client: TestClient, method: str, path: str, code: int, reason: str) -> None:
    response = client.request(method, BASE + path, headers=headers("root"))
    assert response.status_code == code, response.text
    body = response.json()
    assert (body["kind"], body["status"], body["code"], body["reason"]) == ("Status", "Failure", code, reason)


def test_not_found_names_the_metrics_resource(client: TestClient) -> None:
    assert get(client, "/nodes/ghost").json()["message"] == 'nodemetrics.metrics.k8s.io "ghost" not found'
    assert get(client, "/namespaces/team/pods/x").json()["message"] == 'podmetrics.metrics.k8s.io "team/x" not found'


@pytest.mark.parametrize(("who", "path", "allowed"), [
    pytest.param("alice", "/namespaces/team/pods", False, id="no-role"),
    pytest.param("alice", "/nodes", False, id="no-role-nodes"),
    pytest.param("view", "/namespaces/team/pods", True, id="view-in-its-namespace"),
    pytest.param("view", "/namespaces/team/pods/burn", True, id="view-get"),
    pytest.param("view", "/pods", False, id="view-not-cluster-wide"),
    pytest.param("view", "/nodes", False, id="view-no-nodes"),
    pytest.param("edit", "/nodes", True, id="metrics-reader-nodes"),
    pytest.param("edit", "/pods", True, id="metrics-reader-pods"),
    pytest.param("node", "/nodes", False, id="node"),
])
def test_rbac(client: TestClient, who: str, path: str, allowed: bool) -> None:
    response = get(client, path, who)
    assert (response.status_code != 403) == allowed, response.text
    if allowed:
        assert response.status_code == 200


def test_the_reader_role_is_aggregated_into_view(client: TestClient) -> None:
    role = client.get(f"/apis/{RBAC}/v1/clusterroles/system:aggregated-metrics-reader", headers=headers("root")).json()
    assert role["rules"] == [{"verbs": ["get", "list", "watch"], "apiGroups": ["metrics.k8s.io"],
                              "resources": ["pods", "nodes"]}]
    assert role["metadata"]["labels"][f"{RBAC}/aggregate-to-view"] == "true"


def test_watch_by_a_reader_is_method_not_allowed(client: TestClient) -> None:
    assert get(client, "/nodes?watch=1", "edit").status_code == 405


def test_discovery_advertises_the_group(client: TestClient) -> None:
    groups = client.get("/apis", headers=headers("alice")).json()["groups"]
    [metrics] = [g for g in groups if g["name"] == "metrics.k8s.io"]
    assert metrics["preferredVersion"] == {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}
    resources = client.get(BASE, headers=headers("alice")).json()["resources"]
    assert [(r["name"], r["kind"], r["namespaced"], r["verbs"]) for r in resources] == [
        ("nodes", "NodeMetrics", False, ["get", "list"]), ("pods", "PodMetrics", True, ["get", "list"])]
    aggregated = client.get("/apis", headers={**headers("alice"),
                                              "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"})
    [item] = [i for i in aggregated.json()["items"] if i["metadata"].get("name") == "metrics.k8s.io"]
    assert [r["resource"] for r in item["versions"][0]["resources"]] == ["nodes", "pods"]


def test_disabled_provider_answers_service_unavailable(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, metric_resolution=0))
    response = get(client, "/nodes")
    assert response.status_code == 503 and response.json()["reason"] == "ServiceUnavailable"


def test_deleted_pods_and_unscraped_nodes_are_forgotten(client: TestClient) -> None:
    storage = client.app.state.metrics_storage  # type: ignore[attr-defined]
    storage.store("n1", summary("n1", T0 + 20, node_cpu=130, pods={"idle": {"c": 1.002}}), now=T0 + 20)
    assert {p.name for p in storage.pods()} == {"idle"}
    storage.retain({"n2"})
    assert storage.pods() == [] and storage.node("n1") is None


def test_the_api_client_reads_them_as_models(client: TestClient) -> None:
    """What an autoscaler does: typed lists and gets through the shared API client."""
    import asyncio

    from apimachinery.client import ApiClient
    from apimachinery.models.base import unknown_fields
    from apimachinery.models.metrics import NodeMetrics, PodMetrics
    from apimachinery.testing.asgi import StreamingASGITransport

    async def read() -> tuple[list[PodMetrics], NodeMetrics]:
        api = ApiClient("http://apiserver", token="token-root", transport=StreamingASGITransport(client.app))
        try:
            pods, _ = await api.list(PodMetrics, "team", label_selector="app=burn")
            return pods, await api.get(NodeMetrics, "n1")
        finally:
            await api.close()

    pods, n1 = asyncio.run(read())
    assert [(p.metadata.name, [c.usage["cpu"] for c in p.containers]) for p in pods] == [("burn", ["500m", "50m"])]
    assert (n1.usage["cpu"], n1.window) == ("1500m", "10s")
    assert unknown_fields(n1) == [] and unknown_fields(pods[0]) == []
