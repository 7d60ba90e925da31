"""OpenAPI v3: the index and documents ``kubectl apply`` checks before it writes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from apimachinery.resources import RESOURCES, advertised_group_versions
from apiserver import discovery, openapi

METHODS = ("get", "put", "patch", "post", "delete")
SERVED = [
    ("", "v1", "api/v1"),
    ("apps", "v1", "apis/apps/v1"),
    ("coordination.k8s.io", "v1", "apis/coordination.k8s.io/v1"),
    ("authentication.k8s.io", "v1", "apis/authentication.k8s.io/v1"),
    ("rbac.authorization.k8s.io", "v1", "apis/rbac.authorization.k8s.io/v1"),
    ("authorization.k8s.io", "v1", "apis/authorization.k8s.io/v1"),
    ("node.podvisor.io", "v1", "apis/node.podvisor.io/v1"),
    ("discovery.k8s.io", "v1", "apis/discovery.k8s.io/v1"),
    ("batch", "v1", "apis/batch/v1"),
    ("policy", "v1", "apis/policy/v1"),
    ("storage.k8s.io", "v1", "apis/storage.k8s.io/v1"),
    ("networking.k8s.io", "v1", "apis/networking.k8s.io/v1"),
    ("autoscaling", "v2", "apis/autoscaling/v2"),
    ("metrics.k8s.io", "v1beta1", "apis/metrics.k8s.io/v1beta1"),
]


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, m, item[m]) for path, item in doc["paths"].items() for m in METHODS if m in item]


def document(group: str, version: str) -> dict[str, Any]:
    doc = openapi.openapi_v3_document(group, version)
    assert doc is not None
    return doc


def test_index_has_one_entry_per_served_group_version() -> None:
    index = openapi.openapi_v3_index()
    assert sorted(index["paths"]) == sorted(key for _, _, key in SERVED)
    advertised = {("", v) for v in discovery.api_versions("x")["versions"]} | {
        (g["name"], v["version"]) for g in discovery.api_group_list()["groups"] for v in g["versions"]
    }
    assert advertised == set(advertised_group_versions())  # everything advertised is in the index


@pytest.mark.parametrize(("group", "version", "key"), SERVED)
def test_index_url_hashes_the_document_it_points_at(group: str, version: str, key: str) -> None:
    url = openapi.openapi_v3_index()["paths"][key]["serverRelativeURL"]
    path, _, query = url.partition("?hash=")
    assert path == f"/openapi/v3/{key}"
    canonical = json.dumps(document(group, version), sort_keys=True, separators=(",", ":")).encode()
    assert query == hashlib.sha512(canonical).hexdigest().upper()
    assert openapi.openapi_v3_document_at(path.removeprefix("/openapi/v3/")) == document(group, version)


@pytest.mark.parametrize(("group", "version"), [("autoscaling", "v1"), ("apps", "v2"), ("", "v2")])
def test_unserved_group_version_has_no_document(group: str, version: str) -> None:
    assert openapi.openapi_v3_document(group, version) is None


@pytest.mark.parametrize("path", ["", "api", "apis/apps", "apis/apps/v1/extra", "version"])
def test_document_at_rejects_other_paths(path: str) -> None:
    assert openapi.openapi_v3_document_at(path) is None


@pytest.mark.parametrize(("group", "version", "key"), SERVED)
def test_document_envelope(group: str, version: str, key: str) -> None:
    doc = document(group, version)
    assert doc["openapi"] == "3.0.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["components"]["schemas"]  # kubectl builds strategic merge patches from them


@pytest.mark.parametrize(("group", "version", "key"), SERVED)
def test_every_operation_carries_its_gvk(group: str, version: str, key: str) -> None:
    for path, method, op in operations(document(group, version)):
        gvk = op["x-kubernetes-group-version-kind"]
        assert set(gvk) == {"group", "version", "kind"}, (path, method)
        assert op["x-kubernetes-action"], (path, method)
        assert op["operationId"], (path, method)


@pytest.mark.parametrize(("group", "version", "key"), SERVED)
def test_write_operations_accept_field_validation(group: str, version: str, key: str) -> None:
    for path, method, op in operations(document(group, version)):
        names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        if method in ("put", "patch") or (method == "post" and op["x-kubernetes-action"] == "post"):
            assert {"fieldValidation", "fieldManager", "dryRun"} <= names, (path, method)


@pytest.mark.parametrize("rt", RESOURCES, ids=lambda rt: rt.kind)
def test_kubectl_apply_finds_a_strategic_patch_with_field_validation(rt: Any) -> None:
    """What kubectl's query-param verifier and patcher look for, kind by kind."""
    doc = document(rt.group, rt.version)
    wanted = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    patches = [
        op for _, m, op in operations(doc) if m == "patch" and op["x-kubernetes-group-version-kind"] == wanted
    ]
    assert patches
    for op in patches:
        assert {"name": "fieldValidation", "in": "query"}.items() <= next(
            p for p in op["parameters"] if p["name"] == "fieldValidation"
        ).items()
        assert "application/strategic-merge-patch+json" in op["requestBody"]["content"]


@pytest.mark.parametrize(
    ("path", "method", "operation_id", "kind"),
    [
        (
            "/apis/apps/v1/namespaces/{namespace}/deployments",
            "post",
            "createAppsV1NamespacedDeployment",
            "Deployment",
        ),
        (
            "/apis/apps/v1/namespaces/{namespace}/deployments",
            "delete",
            "deleteAppsV1CollectionNamespacedDeployment",
            "Deployment",
        ),
        (
            "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
            "patch",
            "patchAppsV1NamespacedDeployment",
            "Deployment",
        ),
        (
            "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
            "patch",
            "patchAppsV1NamespacedDeploymentScale",
            "Scale",
        ),
        ("/apis/apps/v1/deployments", "get", "listAppsV1DeploymentForAllNamespaces", "Deployment"),
        ("/api/v1/namespaces/{namespace}/pods/{name}/log", "get", "readCoreV1NamespacedPodLog", "Pod"),
        (
            "/api/v1/namespaces/{namespace}/pods/{name}/binding",
            "post",
            "createCoreV1NamespacedPodBinding",
            "Binding",
        ),
        (
            "/api/v1/namespaces/{namespace}/pods/{name}/eviction",
            "post",
            "createCoreV1NamespacedPodEviction",
            "Eviction",
        ),
        (
            "/api/v1/namespaces/{namespace}/pods/{name}/exec",
            "post",
            "connectPostCoreV1NamespacedPodExec",
            "PodExecOptions",
        ),
        ("/api/v1/nodes/{name}/status", "patch", "patchCoreV1NodeStatus", "Node"),
        ("/api/v1/namespaces/{name}", "delete", "deleteCoreV1Namespace", "Namespace"),
        (
            "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}",
            "put",
            "replaceCoordinationV1NamespacedLease",
            "Lease",
        ),
    ],
)
def test_operations_are_named_like_kubernetes(path: str, method: str, operation_id: str, kind: str) -> None:
    group = path.split("/")[2] if path.startswith("/apis/") else ""
    op = document(group, "v1")["paths"][path][method]
    assert op["operationId"] == operation_id
    assert op["x-kubernetes-group-version-kind"]["kind"] == kind


def test_paths_follow_resources_and_discovery() -> None:
    core = document("", "v1")["paths"]
    assert "delete" not in core["/api/v1/namespaces"]  # no deletecollection for namespaces, as discovery says
    assert "/api/v1/nodes/{name}" in core and "/api/v1/namespaces/{namespace}/nodes" not in core
    assert [p["name"] for p in core["/api/v1/namespaces/{namespace}/pods/{name}"]["parameters"]] == [
        "name",
        "namespace",
        "pretty",
    ]
    log = core["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]
    assert {"follow", "tailLines", "container", "previous", "timestamps", "sinceSeconds"} <= {
        p["name"] for p in log["parameters"]
    }
    assert "text/plain" in log["responses"]["200"]["content"]


def test_documents_are_cached_but_callers_get_their_own_copy() -> None:
    first = document("apps", "v1")
    first["paths"].clear()
    assert document("apps", "v1")["paths"]


def test_served_document_is_cached_by_hash(http: httpx.Client) -> None:
    url = http.get("/openapi/v3").json()["paths"]["apis/apps/v1"]["serverRelativeURL"]
    current = http.get(url)
    assert current.status_code == 200 and current.headers["content-type"] == "application/json"
    assert current.json() == document("apps", "v1")
    assert current.headers["cache-control"] == "public, immutable" and current.headers["expires"]
    etag = current.headers["etag"]
    assert etag == f'"{url.partition("?hash=")[2]}"'
    assert http.get(url, headers={"If-None-Match": etag}).status_code == 304
    unhashed = http.get("/openapi/v3/apis/apps/v1")
    assert unhashed.status_code == 200 and unhashed.headers["cache-control"] == "no-cache, private"
    stale = http.get("/openapi/v3/apis/apps/v1?hash=0BAD", follow_redirects=False)
    assert stale.status_code == 301 and stale.headers["location"] == url


@pytest.mark.parametrize(
    "path", ["/openapi/v3/apis/apps/v2", "/openapi/v3/apis/apps", "/openapi/v3/version", "/openapi/v2"]
)
def test_unknown_document_is_a_404_status(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404 and response.json()["kind"] == "Status"
