"""The real kubectl with Secrets and ConfigMaps: literals stored base64, stringData applied, immutability."""

from __future__ import annotations

import base64
import json

import pytest

from tests.compat.conftest import Kubectl

pytestmark = [pytest.mark.compat, pytest.mark.e2e]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_create_secret_generic_stores_literals_base64(kubectl: Kubectl) -> None:
    kubectl.run("create", "secret", "generic", "literal", "--from-literal=a=b")
    assert kubectl.out("get", "secret", "literal", "-o", "jsonpath={.data.a}") == b64("b")
    assert kubectl.out("get", "secret", "literal", "-o", "jsonpath={.type}") == "Opaque"


def test_apply_with_string_data_reads_back_as_data(kubectl: Kubectl) -> None:
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "applied"},
                "data": {"keep": b64("k")}, "stringData": {"password": "one"}}
    kubectl.apply(manifest)
    manifest["stringData"] = {"password": "two"}
    kubectl.apply(manifest)
    got = kubectl.json("get", "secret", "applied")
    assert got["data"] == {"keep": b64("k"), "password": b64("two")}
    assert "stringData" not in got


def test_a_tls_secret_without_its_key_is_refused(kubectl: Kubectl) -> None:
    manifest = json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls"},
                           "type": "kubernetes.io/tls", "stringData": {"tls.crt": "cert"}})
    done = kubectl.run("apply", "-f", "-", stdin=manifest, rc=1)
    assert "data[tls.key]: Required value" in done.stderr
    kubectl.run("get", "secret", "tls", rc=1)


def test_an_immutable_config_map_refuses_edits_but_takes_labels(kubectl: Kubectl) -> None:
    kubectl.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frozen"},
                   "data": {"k": "v"}, "immutable": True})
    done = kubectl.run("patch", "configmap", "frozen", "-p", '{"data":{"k":"w"}}', rc=1)
    assert "field is immutable when `immutable` is set" in done.stderr
    kubectl.run("label", "configmap", "frozen", "team=a")
    got = kubectl.json("get", "configmap", "frozen")
    assert got["data"] == {"k": "v"} and got["metadata"]["labels"] == {"team": "a"}
    kubectl.run("delete", "configmap", "frozen")
