"""Secret and ConfigMap writes over HTTP: stringData folded into data, per-type keys, immutability."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

SECRETS = "/api/v1/namespaces/default/secrets"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(name: str = "s", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, **fields}


def causes(resp: httpx.Response) -> list[tuple[str, str]]:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["reason"] == "Invalid"
    return [(c["field"], c["message"]) for c in body["details"]["causes"]]


@pytest.mark.parametrize(
    ("body", "data"),
    [
        (secret(stringData={"a": "b"}), {"a": b64("b")}),
        (secret(data={"a": b64("old"), "c": b64("d")}, stringData={"a": "new"}), {"a": b64("new"), "c": b64("d")}),
        (secret(data={"x": b64("y")}), {"x": b64("y")}),
    ],
    ids=["string-only", "string-wins", "data-only"],
)
def test_string_data_is_stored_as_data_and_never_read_back(
    http: httpx.Client, body: dict[str, Any], data: dict[str, str]
) -> None:
    created = http.post(SECRETS, json=body)
    assert created.status_code == 201, created.text
    for got in (created.json(), http.get(f"{SECRETS}/s").json(), http.get(SECRETS).json()["items"][0]):
        assert got["data"] == data
        assert "stringData" not in got
        assert got["type"] == "Opaque"


@pytest.mark.parametrize(
    ("method", "headers", "body"),
    [
        ("PUT", {}, secret(data={"a": b64("1")}, stringData={"a": "2", "k": "v"})),
        ("PATCH", MERGE_PATCH, {"stringData": {"a": "2", "k": "v"}}),
        ("PATCH", STRATEGIC, {"stringData": {"a": "2", "k": "v"}}),
        ("PATCH", JSON_PATCH, [{"op": "add", "path": "/stringData", "value": {"a": "2", "k": "v"}}]),
    ],
    ids=["put", "merge-patch", "strategic-merge-patch", "json-patch"],
)
def test_every_update_folds_string_data_into_data(
    http: httpx.Client, method: str, headers: dict[str, str], body: Any
) -> None:
    assert http.post(SECRETS, json=secret(data={"a": b64("1")})).status_code == 201
    resp = http.request(method, f"{SECRETS}/s", content=json.dumps(body), headers={
        "Content-Type": "application/json", **headers})
    assert resp.status_code == 200, resp.text
    stored = http.get(f"{SECRETS}/s").json()
    assert stored["data"] == {"a": b64("2"), "k": b64("v")}
    assert "stringData" not in stored and "stringData" not in resp.json()


SA_NAME = {"annotations": {"kubernetes.io/service-account.name": "default"}}
REQUIRED = "Required value"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (secret(type="kubernetes.io/tls", data={"tls.crt": b64("c")}), [("data[tls.key]", REQUIRED)]),
        (secret(type="kubernetes.io/tls"), [("data[tls.crt]", REQUIRED), ("data[tls.key]", REQUIRED)]),
        (secret(type="kubernetes.io/tls", stringData={"tls.crt": "c", "tls.key": "k"}), []),
        (secret(type="kubernetes.io/dockerconfigjson"), [("data[.dockerconfigjson]", REQUIRED)]),
        (secret(type="kubernetes.io/dockerconfigjson", stringData={".dockerconfigjson": "{not json"}),
         [("data[.dockerconfigjson]", "Invalid value")]),
        (secret(type="kubernetes.io/dockerconfigjson", stringData={".dockerconfigjson": '{"auths": {}}'}), []),
        (secret(type="kubernetes.io/dockercfg", data={".dockercfg": b64("[]")}), [("data[.dockercfg]", "Invalid value")]),
        (secret(type="kubernetes.io/dockercfg", data={".dockercfg": b64("{}")}), []),
        (secret(type="kubernetes.io/basic-auth"), [("data[username]", REQUIRED), ("data[password]", REQUIRED)]),
        (secret(type="kubernetes.io/basic-auth", stringData={"password": ""}), []),
        (secret(type="kubernetes.io/ssh-auth", data={"ssh-privatekey": ""}), [("data[ssh-privatekey]", REQUIRED)]),
        (secret(type="kubernetes.io/ssh-auth", stringData={"ssh-privatekey": "k"}), []),
        (secret(type="kubernetes.io/service-account-token"),
         [("metadata.annotations[kubernetes.io/service-account.name]", REQUIRED)]),
        ({**secret(type="kubernetes.io/service-account-token"), "metadata": {"name": "s", **SA_NAME}}, []),
        (secret(type="example.com/custom"), []),
        (secret(data={"a/b": b64("x")}), [("data[a/b]", "Invalid value")]),
        (secret(stringData={"..": "x"}), [("data[..]", "Invalid value")]),
        (secret(stringData={"big": "x" * (1024 * 1024 + 1)}), [("data", "Too long")]),
        (secret(data={"big": b64("x" * (1024 * 1024))}), []),
    ],
    ids=[
        "tls-no-key", "tls-empty", "tls-ok", "dockerconfigjson-missing", "dockerconfigjson-bad-json",
        "dockerconfigjson-ok", "dockercfg-not-object", "dockercfg-ok", "basic-auth-empty",
        "basic-auth-password-only", "ssh-auth-empty-key", "ssh-auth-ok", "sa-token-no-name", "sa-token-ok",
        "custom-type", "bad-key", "dotdot-key", "too-big", "exactly-1mib",
    ],
)
def test_secret_types_require_their_keys(
    http: httpx.Client, body: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    resp = http.post(SECRETS, json=body)
    if not expected:
        assert resp.status_code == 201, resp.text
        return
    got = causes(resp)
    assert [field for field, _ in got] == [field for field, _ in expected]
    assert all(message.startswith(prefix) for (_, message), (_, prefix) in zip(got, expected, strict=True))
    assert http.get(f"{SECRETS}/s").status_code == 404


def test_a_refused_type_message_names_the_field(http: httpx.Client) -> None:
    resp = http.post(SECRETS, json=secret(type="kubernetes.io/tls", data={"tls.crt": b64("c")}))
    assert 'Secret "s" is invalid: data[tls.key]: Required value' in resp.json()["message"]


IMMUTABLE = "field is immutable when `immutable` is set"


@pytest.mark.parametrize(
    ("path", "original", "patch", "expected"),
    [
        (SECRETS, secret(data={"a": b64("1")}, immutable=True), {"data": {"a": b64("2")}}, ["data"]),
        (SECRETS, secret(data={"a": b64("1")}, immutable=True), {"stringData": {"a": "2"}}, ["data"]),
        (SECRETS, secret(data={"a": b64("1")}, immutable=True), {"immutable": False}, ["immutable"]),
        (SECRETS, secret(data={"a": b64("1")}, immutable=True), {"immutable": None}, ["immutable"]),
        (SECRETS, secret(data={"a": b64("1")}), {"type": "example.com/other"}, ["type"]),
        (SECRETS, secret(data={"a": b64("1")}, immutable=True), {"metadata": {"labels": {"t": "a"}}}, []),
        (SECRETS, secret(data={"a": b64("1")}), {"stringData": {"a": "2"}, "immutable": True}, []),
        (CONFIGMAPS, {"metadata": {"name": "s"}, "data": {"k": "v"}, "immutable": True},
         {"data": {"k": "w"}}, ["data"]),
        (CONFIGMAPS, {"metadata": {"name": "s"}, "data": {"k": "v"}, "immutable": True},
         {"binaryData": {"b": b64("x")}}, ["binaryData"]),
        (CONFIGMAPS, {"metadata": {"name": "s"}, "data": {"k": "v"}, "immutable": True},
         {"immutable": False}, ["immutable"]),
        (CONFIGMAPS, {"metadata": {"name": "s"}, "data": {"k": "v"}, "immutable": True},
         {"metadata": {"annotations": {"note": "x"}}}, []),
    ],
    ids=[
        "secret-data", "secret-string-data", "secret-unset-immutable", "secret-drop-immutable", "secret-type",
        "secret-labels", "secret-make-immutable", "cm-data", "cm-binary-data", "cm-unset-immutable",
        "cm-annotations",
    ],
)
def test_immutable_objects_keep_their_data(
    http: httpx.Client, path: str, original: dict[str, Any], patch: dict[str, Any], expected: list[str]
) -> None:
    assert http.post(path, json=original).status_code == 201
    before = http.get(f"{path}/s").json()
    resp = http.patch(f"{path}/s", content=json.dumps(patch), headers=MERGE_PATCH)
    if not expected:
        assert resp.status_code == 200, resp.text
        return
    got = causes(resp)
    assert [field for field, _ in got] == expected
    message = "Invalid value" if expected == ["type"] else f"Forbidden: {IMMUTABLE}"
    assert all(m.startswith(message) for _, m in got)
    assert http.get(f"{path}/s").json() == before


@pytest.mark.parametrize("path", [SECRETS, CONFIGMAPS], ids=["secret", "configmap"])
def test_immutable_objects_may_be_deleted(http: httpx.Client, path: str) -> None:
    assert http.post(path, json={"metadata": {"name": "s"}, "data": {"k": b64("v")}, "immutable": True}).status_code == 201
    assert http.delete(f"{path}/s").status_code == 200
    assert http.get(f"{path}/s").status_code == 404
