"""The API refuses probe and hook hosts that are never the pod (422 naming the field)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from apiserver.app import create_app
from apiserver.probehosts import never_the_pod
from apiserver.store.sqlite import SqliteStore

POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}

NEVER = [("loopback", "127.0.0.1"), ("loopback-range", "127.8.9.10"), ("loopback-v6", "::1"),
         ("bracketed-v6", "[::1]"), ("mapped-loopback", "::ffff:127.0.0.1"), ("localhost", "localhost"),
         ("localhost-upper", "LOCALHOST."), ("sub-localhost", "api.localhost"), ("metadata", "169.254.169.254"),
         ("link-local-v6", "fe80::1"), ("unspecified", "0.0.0.0"), ("unspecified-v6", "::"),
         ("multicast", "224.0.0.1"), ("broadcast", "255.255.255.255")]
LEFT_TO_THE_KUBELET = [("a-private-ip", "10.1.2.3"), ("a-name", "example.com"), ("a-public-ip", "8.8.8.8")]


@pytest.mark.parametrize("host", [h for _, h in NEVER], ids=[i for i, _ in NEVER])
def test_hosts_that_are_never_the_pod(host: str) -> None:
    assert never_the_pod(host) is not None


@pytest.mark.parametrize("host", [h for _, h in LEFT_TO_THE_KUBELET], ids=[i for i, _ in LEFT_TO_THE_KUBELET])
def test_hosts_the_kubelet_decides(host: str) -> None:
    assert never_the_pod(host) is None


def with_handler(where: str, kind: str, host: str, *, list_name: str = "containers") -> dict[str, Any]:
    pod = copy.deepcopy(POD)
    container = pod["spec"]["containers"][0]
    if list_name == "initContainers":
        container = {"name": "init", "image": "busybox", "restartPolicy": "Always"}
        pod["spec"]["initContainers"] = [container]
    handler = {kind: {"port": 80, "host": host}}
    if where.startswith("lifecycle."):
        container["lifecycle"] = {where.split(".")[1]: handler}
    else:
        container[where] = handler
    return pod


FIELDS = [
    ("liveness-http", "livenessProbe", "httpGet", "containers", "spec.containers[0].livenessProbe.httpGet.host"),
    ("readiness-tcp", "readinessProbe", "tcpSocket", "containers", "spec.containers[0].readinessProbe.tcpSocket.host"),
    ("startup-http", "startupProbe", "httpGet", "containers", "spec.containers[0].startupProbe.httpGet.host"),
    ("prestop-http", "lifecycle.preStop", "httpGet", "containers", "spec.containers[0].lifecycle.preStop.httpGet.host"),
    ("sidecar-liveness", "livenessProbe", "httpGet", "initContainers",
     "spec.initContainers[0].livenessProbe.httpGet.host"),
]


@pytest.fixture
def api(tmp_path: Any) -> Any:
    store = SqliteStore(tmp_path / "state.db")
    with TestClient(create_app(store)) as client:
        yield client
    store.close()


@pytest.mark.parametrize(("where", "kind", "list_name", "field"), [f[1:] for f in FIELDS], ids=[f[0] for f in FIELDS])
def test_a_pod_probing_loopback_is_refused_with_422(api: Any, where: str, kind: str, list_name: str,
                                                     field: str) -> None:
    response = api.post("/api/v1/namespaces/default/pods", json=with_handler(where, kind, "127.0.0.1",
                                                                              list_name=list_name))
    assert response.status_code == 422, response.text
    status = response.json()
    assert status["reason"] == "Invalid"
    assert [c["field"] for c in status["details"]["causes"]] == [field]
    assert "must be empty or the pod's own IP" in status["details"]["causes"][0]["message"]
    assert api.get("/api/v1/namespaces/default/pods/p").status_code == 404


def test_a_deployment_template_probing_the_metadata_service_is_refused(api: Any) -> None:
    template = with_handler("livenessProbe", "httpGet", "169.254.169.254")
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
                  "spec": {"selector": {"matchLabels": {"a": "b"}},
                           "template": {"metadata": {"labels": {"a": "b"}}, "spec": template["spec"]}}}
    response = api.post("/apis/apps/v1/namespaces/default/deployments", json=deployment)
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == \
        "spec.template.spec.containers[0].livenessProbe.httpGet.host"


@pytest.mark.parametrize("host", ["", "10.1.2.3"], ids=["empty", "maybe-the-pod"])
def test_other_hosts_pass_validation(api: Any, host: str) -> None:
    """Validation lets them through; Pod Security's baseline refuses any host, so the namespace is privileged."""
    labels = {"pod-security.kubernetes.io/enforce": "privileged"}
    assert api.post("/api/v1/namespaces", json={"metadata": {"name": "ops", "labels": labels}}).status_code == 201
    pod = with_handler("livenessProbe", "httpGet", host)
    pod["metadata"]["namespace"] = "ops"
    assert api.post("/api/v1/namespaces/ops/pods", json=pod).status_code == 201
