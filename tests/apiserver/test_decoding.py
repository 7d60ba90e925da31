"""Request decoding as Kubernetes' decoder does it: what is refused (and how), what is reported.

Every refusal is a Status naming the field at fault, and changes nothing in the store.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from apimachinery.logoptions import parse_log_options
from apiserver.admission import MAX_OBJECT_BYTES
from apiserver.jsonbody import decode_json
from tests.apiserver.conftest import RunningServer

CM = "/api/v1/namespaces/default/configmaps"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
PODS = "/api/v1/namespaces/default/pods"
JSON = {"Content-Type": "application/json"}
PATCH_TYPES = (
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/json-patch+json",
)


def _deployment(**spec: Any) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    return {
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template, **spec},
    }


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        pytest.param(b'{"data":{"x":"\\ud800"}}', "data.x", "lone UTF-16 surrogate (\\ud800)", id="lone-high"),
        pytest.param(b'{"data":{"x":"a\\udfff"}}', "data.x", "lone UTF-16 surrogate (\\udfff)", id="lone-low"),
        pytest.param(b'{"data":{"\\ud800":"x"}}', "data.\ud800", "lone UTF-16 surrogate", id="in-a-key"),
        pytest.param(b'{"a":[1,2**0]}', None, "Expecting", id="not-json"),
        pytest.param(b'{"a":"\xff"}', None, "invalid UTF-8 at byte 6", id="invalid-utf8"),
        pytest.param(b'{"a":"\xed\xa0\x80"}', None, "invalid UTF-8", id="utf8-encoded-surrogate"),
        pytest.param(b'{"a":1e400}', None, "out of the float64 range", id="infinite-float"),
        pytest.param(b'{"a":NaN}', None, "NaN is not valid JSON", id="nan"),
        pytest.param(b'{"a":1180591620717411303424}', "a", "into Go value of type int64", id="beyond-int64"),
    ],
)
def test_undecodable_bodies_are_400_naming_the_field(raw: bytes, field: str | None, message: str) -> None:
    with pytest.raises(Exception) as raised:
        decode_json(raw)
    err = raised.value
    assert getattr(err, "code", None) == 400 and message in str(err)
    if field is not None:
        assert [c["field"] for c in err.causes] == [field]  # type: ignore[attr-defined]


def test_a_surrogate_pair_is_one_valid_character() -> None:
    assert decode_json(b'{"a":"\\ud83d\\ude00"}').value == {"a": "\U0001f600"}


def test_duplicate_keys_are_reported_by_path_and_the_last_value_wins() -> None:
    decoded = decode_json(b'{"spec":{"replicas":1,"replicas":3},"items":[{"a":1,"a":2}]}')
    assert decoded.value == {"spec": {"replicas": 3}, "items": [{"a": 2}]}
    assert sorted(decoded.duplicates) == ["items[0].a", "spec.replicas"]


@pytest.mark.parametrize("content_type", ["application/json", *PATCH_TYPES[:3]])
def test_lone_surrogates_are_refused_on_every_write(
    server: RunningServer, http: httpx.Client, content_type: str
) -> None:
    assert http.post(CM, json={"metadata": {"name": "c"}}).status_code == 201
    before = server.store.current_revision()
    body = b'{"metadata":{"name":"c"},"data":{"x":"\\ud800"}}'
    if content_type == "application/json":
        response = http.put(f"{CM}/c", content=body, headers=JSON)
    else:
        response = http.patch(f"{CM}/c", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.json()["details"]["causes"][0]["field"] == "data.x"
    assert server.store.current_revision() == before
    assert http.get(CM).status_code == 200  # and nothing waits behind it


@pytest.mark.parametrize(
    ("mode", "code", "warning"),
    [
        pytest.param(None, 201, 'duplicate field \\"data.x\\"', id="warn-by-default"),
        pytest.param("Warn", 201, 'duplicate field \\"data.x\\"', id="warn"),
        pytest.param("Ignore", 201, None, id="ignore"),
        pytest.param("Strict", 400, None, id="strict"),
    ],
)
def test_duplicate_keys_follow_field_validation(
    http: httpx.Client, mode: str | None, code: int, warning: str | None
) -> None:
    params = {"fieldValidation": mode} if mode else {}
    body = b'{"metadata":{"name":"dup"},"data":{"x":"1","x":"2"}}'
    response = http.post(CM, params=params, content=body, headers=JSON)
    assert response.status_code == code
    assert response.headers.get("warning") == (f'299 - "{warning}"' if warning else None)
    if code == 400:
        assert response.json()["message"] == (
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: '
            'strict decoding error: duplicate field "data.x"'
        )
    else:
        assert response.json()["data"] == {"x": "2"}


@pytest.mark.parametrize(
    ("spec", "code", "field", "message"),
    [
        pytest.param(
            {"replicas": 2**31},
            400,
            "spec.replicas",
            "json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas "
            "of type int32",
            id="replicas-int32",
        ),
        pytest.param({"replicas": 2**70}, 400, "spec.replicas", "Go value of type int64", id="replicas-2^70"),
        pytest.param({"replicas": -1}, 422, "spec.replicas", "must be greater than or equal to 0", id="negative"),
        pytest.param(
            {"revisionHistoryLimit": 2**31}, 400, "spec.revisionHistoryLimit", "of type int32", id="history-int32"
        ),
        pytest.param(
            {"progressDeadlineSeconds": -(2**31) - 1},
            400,
            "spec.progressDeadlineSeconds",
            "of type int32",
            id="deadline-int32",
        ),
        pytest.param(
            {"minReadySeconds": -5}, 422, "spec.minReadySeconds", "must be greater than or equal to 0", id="min-ready"
        ),
    ],
)
def test_integers_out_of_their_width_are_400_negatives_422(
    server: RunningServer, http: httpx.Client, spec: dict[str, Any], code: int, field: str, message: str
) -> None:
    before = server.store.current_revision()
    response = http.post(DEPLOYMENTS, json=_deployment(**spec))
    assert response.status_code == code, response.text
    assert message in response.json()["message"]
    assert field in [c["field"] for c in response.json()["details"]["causes"]]
    assert server.store.current_revision() == before


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        pytest.param(["terminationGracePeriodSeconds"], 2**63, "spec.terminationGracePeriodSeconds", id="grace"),
        pytest.param(["containers", 0, "ports"], [{"containerPort": 2**31}], "spec.containers[0].ports[0]"
                     ".containerPort", id="port"),
        pytest.param(["containers", 0, "livenessProbe"], {"exec": {"command": ["true"]}, "periodSeconds": 2**32},
                     "spec.containers[0].livenessProbe.periodSeconds", id="probe"),
    ],
)
def test_pod_integers_are_checked_against_their_width(
    http: httpx.Client, path: list[Any], value: Any, field: str
) -> None:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "i"}]}
    target: Any = spec
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    response = http.post(PODS, json={"metadata": {"name": "p"}, "spec": spec})
    assert response.status_code == 400, response.text
    assert field in [c["field"] for c in response.json()["details"]["causes"]]


def test_a_pod_with_the_largest_grace_period_deletes_without_overflowing(http: httpx.Client) -> None:
    pod = {"metadata": {"name": "slow"}, "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 2**63 - 1,
                                                   "containers": [{"name": "c", "image": "i"}]}}
    assert http.post(PODS, json=pod).status_code == 201
    deleted = http.delete(f"{PODS}/slow")
    assert deleted.status_code == 200
    assert deleted.json()["metadata"]["deletionTimestamp"] == "9999-12-31T23:59:59Z"


@pytest.mark.parametrize(
    ("query", "body", "code"),
    [
        pytest.param("?gracePeriodSeconds=1180591620717411303424", None, 400, id="query-2^70"),
        pytest.param("?gracePeriodSeconds=soon", None, 400, id="query-not-a-number"),
        pytest.param("", b'{"gracePeriodSeconds":1180591620717411303424}', 400, id="body-2^70"),
        pytest.param("", b'{"preconditions":"x"}', 400, id="preconditions-not-an-object"),
        pytest.param("", b"[1]", 400, id="not-an-object"),
        pytest.param("?gracePeriodSeconds=0", None, 200, id="valid"),
    ],
)
def test_delete_options_are_decoded_as_kubernetes_does(
    http: httpx.Client, query: str, body: bytes | None, code: int
) -> None:
    assert http.post(CM, json={"metadata": {"name": "gone"}}).status_code == 201
    response = http.request("DELETE", f"{CM}/gone{query}", content=body, headers=JSON)
    assert response.status_code == code, response.text
    assert response.json()["kind"] == ("Status" if code != 200 else "ConfigMap")


def test_an_object_over_the_etcd_limit_is_413_and_not_stored(server: RunningServer, http: httpx.Client) -> None:
    labels = {f"k{i}": "v" for i in range(150_000)}
    before = server.store.current_revision()
    response = http.post(CM, json={"metadata": {"name": "huge", "labels": labels}})
    assert response.status_code == 413 and response.json()["reason"] == "RequestEntityTooLarge"
    assert str(MAX_OBJECT_BYTES) in response.json()["message"]
    assert server.store.current_revision() == before


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        pytest.param({"labels": {"a" * 64: "v"}}, "metadata.labels", id="label-name-over-63"),
        pytest.param({"labels": {f"{'a' * 254}/k": "v"}}, "metadata.labels", id="label-prefix-over-253"),
        pytest.param({"labels": {"k": "v" * 64}}, "metadata.labels", id="label-value-over-63"),
        pytest.param({"labels": {"k": "-v"}}, "metadata.labels", id="label-value-syntax"),
        pytest.param({"annotations": {"a/b/c": "v"}}, "metadata.annotations", id="annotation-key-syntax"),
        pytest.param({"annotations": {"k": "x" * (256 * 1024)}}, "metadata.annotations", id="annotations-256k"),
        pytest.param({"name": "Bad_Name"}, "metadata.name", id="name-syntax"),
        pytest.param({"name": "a" * 254}, "metadata.name", id="name-over-253"),
    ],
)
def test_metadata_limits_are_kubernetes(http: httpx.Client, metadata: dict[str, Any], field: str) -> None:
    response = http.post(CM, json={"metadata": {"name": "m", **metadata}})
    assert response.status_code == 422, response.text
    assert field in [c["field"] for c in response.json()["details"]["causes"]]


def test_two_authorization_headers_are_refused(http: httpx.Client) -> None:
    response = http.get(CM, headers=[("Authorization", "Bearer a"), ("Authorization", "Bearer b")])
    assert response.status_code == 400 and response.json()["kind"] == "Status"


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        pytest.param({"sinceSeconds": "99999999999999999999"}, 400, "sinceSeconds", id="since-beyond-int64"),
        pytest.param({"sinceSeconds": "0"}, 422, "sinceSeconds", id="since-zero"),
        pytest.param({"tailLines": "-1"}, 422, "tailLines", id="tail-negative"),
        pytest.param({"limitBytes": "0"}, 422, "limitBytes", id="limit-zero"),
        pytest.param({"limitBytes": "1_000"}, 400, "limitBytes", id="limit-not-decimal"),
        pytest.param({"sinceTime": "yesterday"}, 400, "sinceTime", id="since-time-syntax"),
        pytest.param({"sinceSeconds": "5", "sinceTime": "2026-01-01T00:00:00Z"}, 422, "sinceSeconds", id="both"),
    ],
)
def test_log_options_are_pod_log_options(query: dict[str, str], code: int, field: str) -> None:
    with pytest.raises(Exception) as raised:
        parse_log_options(query)
    assert getattr(raised.value, "code", None) == code
    assert [c["field"] for c in raised.value.causes] == [field]  # type: ignore[attr-defined]


def test_the_largest_since_seconds_means_since_the_beginning() -> None:
    from datetime import UTC, datetime

    options = parse_log_options({"sinceSeconds": str(2**63 - 1), "tailLines": "0", "limitBytes": "1"})
    assert options.since(datetime.now(UTC)) == datetime.min.replace(tzinfo=UTC)


def test_log_options_are_checked_before_the_pod_is_looked_up(http: httpx.Client) -> None:
    response = http.get(f"{PODS}/absent/log", params={"sinceSeconds": "99999999999999999999"})
    assert response.status_code == 400 and "sinceSeconds" in json.dumps(response.json())
