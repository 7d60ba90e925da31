"""Status bodies byte for byte as Kubernetes sends them: key order, ``details``, trailing newline.

Clients compare error bodies (client libraries' tests) and read ``details`` of a 404 without
checking it is there (``kubectl debug``), so every Status leaves the server in one shape.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from apimachinery.errors import ApiError, cause
from apiserver.auth import send_status
from apiserver.watch import _fell_behind

STATUS_KEYS = ["kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code"]
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
BAD_POD = {**POD, "metadata": {"name": "bad"}, "spec": {"containers": [{"name": "c"}]}}

# (id, method, path, body, code, details)
CASES: list[tuple[str, str, str, Any, int, dict[str, Any] | None]] = [
    ("missing-pod", "GET", "/api/v1/namespaces/default/pods/x", None, 404, {"name": "x", "kind": "pods"}),
    ("missing-deployment", "GET", "/apis/apps/v1/namespaces/default/deployments/x", None, 404,
     {"name": "x", "group": "apps", "kind": "deployments"}),
    ("missing-pod-subresource", "PUT", "/api/v1/namespaces/default/pods/x/status", POD, 404,
     {"name": "x", "kind": "pods"}),
    ("missing-namespace", "POST", "/api/v1/namespaces/nope/pods", POD, 404, {"name": "nope", "kind": "namespaces"}),
    ("unknown-resource", "GET", "/api/v1/namespaces/default/widgets", None, 404, {}),
    ("unknown-subresource", "GET", "/api/v1/namespaces/default/pods/p/nosuch", None, 404, {}),
    ("unknown-group", "GET", "/apis/nosuch.io/v1/things", None, 404, {}),
    ("method-not-allowed", "PUT", "/api/v1/namespaces/default/pods", POD, 405, {}),
    ("already-exists", "POST", "/api/v1/namespaces/default/pods", POD, 409, {"name": "p", "kind": "pods"}),
    ("invalid", "POST", "/api/v1/namespaces/default/pods", BAD_POD, 422,
     {"name": "bad", "kind": "Pod",
      "causes": [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].image"}]}),
    ("bad-request", "GET", "/api/v1/namespaces/default/pods?limit=x", None, 400, None),
]


@pytest.mark.parametrize(("method", "path", "body", "code", "details"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_every_error_is_a_status_in_kubernetes_key_order(http: httpx.Client, method: str, path: str, body: Any,
                                                         code: int, details: dict[str, Any] | None) -> None:
    http.post("/api/v1/namespaces/default/pods", json=POD)
    got = http.request(method, path, json=body)
    assert got.status_code == code
    assert got.headers["content-type"] == "application/json"
    assert got.content.endswith(b"}\n") and not got.content.endswith(b"\n\n")
    status = json.loads(got.content)
    expected_keys = [k for k in STATUS_KEYS if k != "details" or details is not None]
    assert list(status) == expected_keys
    assert (status["kind"], status["apiVersion"], status["metadata"], status["status"], status["code"]) == (
        "Status", "v1", {}, "Failure", code)
    assert status.get("details") == details


def test_status_bytes_match_kubernetes_not_found() -> None:
    """What kube-apiserver sends for ``GET pods/x`` (compact, details before code, newline)."""
    err = ApiError(404, "NotFound", 'pods "x" not found', name="x", kind="pods")
    assert err.status_json() == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"x\\" not found",'
        b'"reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}\n'
    )


@pytest.mark.parametrize(("error", "details"), [
    (ApiError(400, "BadRequest", "m"), None),
    (ApiError(401, "Unauthorized", "Unauthorized"), None),
    (ApiError(403, "Forbidden", "forbidden: m"), {}),
    (ApiError(404, "NotFound", "m"), {}),
    (ApiError(405, "MethodNotAllowed", "m"), {}),
    (ApiError(410, "Expired", "m"), None),
    (ApiError(429, "TooManyRequests", "m", retry_after=1), {"retryAfterSeconds": 1}),
    (ApiError(422, "Invalid", "m", name="n", kind="Pod", causes=[cause("f", "msg", "FieldValueInvalid")]),
     {"name": "n", "kind": "Pod", "causes": [{"reason": "FieldValueInvalid", "message": "msg", "field": "f"}]}),
], ids=["400", "401", "403", "404", "405", "410", "429", "422-causes-in-go-order"])
def test_details_as_kubernetes_constructors_fill_them(error: ApiError, details: dict[str, Any] | None) -> None:
    status = error.status()
    assert status.get("details") == details
    assert list(status)[-1] == "code"
    if details is not None:
        assert list(json.loads(error.status_json())["details"]) == list(details)


def test_middleware_statuses_have_the_same_bytes() -> None:
    """Statuses sent below the app (authentication, body limits) use the same encoding."""
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    error = ApiError(401, "Unauthorized", "Unauthorized")
    asyncio.run(send_status(send, error))
    assert sent[0]["status"] == 401
    assert sent[1]["body"] == error.status_json()
    assert dict(sent[0]["headers"])[b"content-length"] == str(len(error.status_json())).encode()


TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
WORKLOAD_SPEC = {"selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE}
CREATED = [
    ("service", "/api/v1/namespaces/default/services",
     {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
      "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}, {"loadBalancer": {}}),
    ("deployment", "/apis/apps/v1/namespaces/default/deployments",
     {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": WORKLOAD_SPEC}, {}),
    ("replicaset", "/apis/apps/v1/namespaces/default/replicasets",
     {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"}, "spec": WORKLOAD_SPEC},
     {"replicas": 0}),
    ("pod", "/api/v1/namespaces/default/pods", POD, {"phase": "Pending", "qosClass": "BestEffort"}),
    ("namespace", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}},
     {"phase": "Active"}),
]


@pytest.mark.parametrize(("path", "body", "status"), [c[1:] for c in CREATED], ids=[c[0] for c in CREATED])
def test_created_objects_answer_the_status_kubernetes_starts_them_with(
    http: httpx.Client, path: str, body: dict[str, Any], status: dict[str, Any]
) -> None:
    """What Go encodes for the zero status each kind's PrepareForCreate sets."""
    created = http.post(path, json={**body, "status": {"junk": True}})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == status
    assert http.get(f"{path}/{body['metadata']['name']}").json()["status"] == status


def test_a_watch_error_event_is_one_line_holding_the_status_in_kubernetes_order() -> None:
    line = _fell_behind(None)
    assert line.endswith(b"}\n") and line.count(b"\n") == 1
    event = json.loads(line)
    assert list(event) == ["type", "object"] and event["type"] == "ERROR"
    assert list(event["object"]) == [k for k in STATUS_KEYS if k != "details"]
    assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")


@pytest.mark.parametrize(("method", "path", "code", "message"), [
    ("GET", "/api/v1/namespaces/default/widgets", 404, "the server could not find the requested resource"),
    ("GET", "/apis/nosuch.io", 404, "the server could not find the requested resource"),
    ("GET", "/apis/nosuch.io/v1", 404, "the server could not find the requested resource"),
    ("GET", "/openapi/v3/apis/nosuch.io/v1", 404, "the server could not find the requested resource"),
    ("PUT", "/api/v1/namespaces/default/pods", 405, "the server does not allow this method on the requested resource"),
    ("GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", 405,
     "the server does not allow this method on the requested resource"),
], ids=["resource", "group", "group-version", "openapi", "collection-put", "review-get"])
def test_generic_404_and_405_are_worded_as_kubernetes_words_them(http: httpx.Client, method: str, path: str,
                                                                  code: int, message: str) -> None:
    got = http.request(method, path, json={} if method == "PUT" else None)
    assert (got.status_code, got.json()["message"], got.json()["details"]) == (code, message, {})
