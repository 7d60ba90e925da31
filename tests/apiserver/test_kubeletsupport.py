"""What no podvisor node can apply is refused with 422 naming the field, even where policy allows it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from apiserver.app import AppSettings, create_app
from apiserver.store.sqlite import SqliteStore

C0 = "spec.containers[0].securityContext"


def pod(*, spec: dict[str, Any] | None = None, context: dict[str, Any] | None = None,
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "podvisor/busybox"}
    if context is not None:
        container["securityContext"] = context
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "annotations": annotations or {}},
            "spec": {"containers": [container], **(spec or {})}}


CASES = [
    ("selinux-pod", pod(spec={"securityContext": {"seLinuxOptions": {"type": "container_t"}}}),
     "spec.securityContext.seLinuxOptions", "FieldValueForbidden"),
    ("selinux-container", pod(context={"seLinuxOptions": {"level": "s0:c1"}}), f"{C0}.seLinuxOptions",
     "FieldValueForbidden"),
    ("windows-options", pod(context={"windowsOptions": {"runAsUserName": "ContainerUser"}}), f"{C0}.windowsOptions",
     "FieldValueForbidden"),
    ("windows-os", pod(spec={"os": {"name": "windows"}}), "spec.os.name", "FieldValueNotSupported"),
    ("seccomp-localhost", pod(context={"seccompProfile": {"type": "Localhost", "localhostProfile": "a.json"}}),
     f"{C0}.seccompProfile.type", "FieldValueForbidden"),
    ("apparmor-localhost", pod(spec={"securityContext": {"appArmorProfile": {"type": "Localhost",
                                                                              "localhostProfile": "p"}}}),
     "spec.securityContext.appArmorProfile.type", "FieldValueForbidden"),
    ("apparmor-localhost-annotation",
     pod(annotations={"container.apparmor.security.beta.kubernetes.io/c": "localhost/p"}),
     "metadata.annotations[container.apparmor.security.beta.kubernetes.io/c]", "FieldValueForbidden"),
    ("user-namespaces", pod(spec={"hostUsers": False}), "spec.hostUsers", "FieldValueForbidden"),
    ("node-wide-sysctl", pod(spec={"securityContext": {"sysctls": [{"name": "vm.swappiness", "value": "1"}]}}),
     "spec.securityContext.sysctls[0].name", "FieldValueForbidden"),
    ("net-sysctl-host-network", pod(spec={"hostNetwork": True, "securityContext": {
        "sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]}}),
     "spec.securityContext.sysctls[0].name", "FieldValueForbidden"),
    ("no-new-privileges-and-privileged", pod(context={"allowPrivilegeEscalation": False, "privileged": True}), C0,
     "FieldValueInvalid"),
    ("no-new-privileges-and-sys-admin", pod(context={"allowPrivilegeEscalation": False,
                                                     "capabilities": {"add": ["CAP_SYS_ADMIN"]}}), C0,
     "FieldValueInvalid"),
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    store = SqliteStore(tmp_path / "state.db")
    with TestClient(create_app(store, AppSettings(compaction_interval=3600))) as test_client:
        body = {"metadata": {"name": "ops", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}
        assert test_client.post("/api/v1/namespaces", json=body).status_code == 201
        yield test_client
    store.close()


@pytest.mark.parametrize(("obj", "field", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_with_the_field_named(client: TestClient, obj: dict[str, Any], field: str, reason: str) -> None:
    response = client.post("/api/v1/namespaces/ops/pods", json=obj)
    assert response.status_code == 422, response.json()
    status = response.json()
    assert status["reason"] == "Invalid"
    assert [(c["field"], c["reason"]) for c in status["details"]["causes"]] == [(field, reason)]
    assert status["message"].startswith(f'Pod "x" is invalid: {field}: ')


def test_workload_templates_are_refused_when_written(client: TestClient) -> None:
    template = pod(context={"seLinuxOptions": {"type": "container_t"}})
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}}, "spec": template["spec"]}}}
    response = client.post("/apis/apps/v1/namespaces/ops/deployments", json=deployment)
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "spec.template.spec.containers[0].securityContext.seLinuxOptions"


def test_what_nodes_apply_is_admitted(client: TestClient) -> None:
    everything = pod(spec={"hostNetwork": True, "hostPID": True, "hostIPC": True, "securityContext": {
        "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 2000, "supplementalGroups": [3000],
        "seccompProfile": {"type": "Unconfined"}}},
        context={"privileged": True, "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
                 "readOnlyRootFilesystem": True, "procMount": "Unmasked", "appArmorProfile": {"type": "Unconfined"}})
    response = client.post("/api/v1/namespaces/ops/pods", json=everything)
    assert response.status_code == 201, response.json()
