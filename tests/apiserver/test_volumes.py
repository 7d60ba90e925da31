"""Which volumes a pod may declare: the sources the kubelet serves, with Kubernetes' rules, 422 naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apiserver.volumes import MODE_MESSAGE
from tests.apiserver.serviceaccount_app import App, serviceaccount_app

PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    with serviceaccount_app(tmp_path) as app:
        yield app


def pod(*volumes: dict[str, Any], mounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    container = {"name": "c", "image": "busybox", "volumeMounts": mounts or []}
    return {"metadata": {"name": "web"},
            "spec": {"automountServiceAccountToken": False, "containers": [container], "volumes": list(volumes)}}


def volume(**source: Any) -> dict[str, Any]:
    return {"name": "v", **source}


ITEMS = {"items": [{"key": "a", "path": "dir/a", "mode": 0o400}, {"key": "b", "path": "b"}]}
ACCEPTED = [
    pytest.param(volume(configMap={"name": "cfg"}), id="config-map-all-keys"),
    pytest.param(volume(configMap={"name": "cfg", "defaultMode": 0o440, "optional": True, **ITEMS}),
                 id="config-map-items-modes"),
    pytest.param(volume(secret={"secretName": "s", "defaultMode": 0, **ITEMS}), id="secret-mode-zero"),
    pytest.param(volume(downwardAPI={"defaultMode": 0o777, "items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "tier", "fieldRef": {"fieldPath": "metadata.labels['tier']"}},
        {"path": "notes", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}},
        {"path": "cpu", "resourceFieldRef": {"containerName": "c", "resource": "requests.cpu", "divisor": "1m"}},
    ]}), id="downward-api"),
    pytest.param(volume(projected={"defaultMode": 0o600, "sources": [
        {"configMap": {"name": "cfg", "items": [{"key": "a", "path": "a"}]}},
        {"secret": {"name": "s", "optional": True}},
        {"downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        {"serviceAccountToken": {"path": "token", "audience": "vault"}},
    ]}), id="projected-all-sources"),
]


@pytest.mark.parametrize("body", ACCEPTED)
def test_the_sources_the_kubelet_writes_are_accepted(app: App, body: dict[str, Any]) -> None:
    response = app.post(PODS, pod(body))
    assert response.status_code == 201, response.text


def test_a_claim_volume_is_accepted(app: App) -> None:
    response = app.post(PODS, pod(volume(persistentVolumeClaim={"claimName": "data", "readOnly": True})))
    assert response.status_code == 201, response.text


def test_sub_paths_are_accepted(app: App) -> None:
    response = app.post(PODS, pod(volume(configMap={"name": "cfg"}), {"name": "scratch", "emptyDir": {}}, mounts=[
        {"name": "v", "mountPath": "/etc/nginx/nginx.conf", "subPath": "nginx.conf"},
        {"name": "scratch", "mountPath": "/data", "subPathExpr": "$(POD_NAME)/data"}]))
    assert response.status_code == 201, response.text


REFUSED = [
    pytest.param(pod(volume(nfs={"server": "n", "path": "/"})), "spec.volumes[0].nfs",
                 'Unsupported value: "nfs": supported values: "configMap", "downwardAPI", "emptyDir", "hostPath", '
                 '"persistentVolumeClaim", "projected", "secret"', id="nfs"),
    pytest.param(pod(volume(persistentVolumeClaim={})), "spec.volumes[0].persistentVolumeClaim.claimName",
                 "Required value", id="claim-without-name"),
    pytest.param(pod(volume(configMap={})), "spec.volumes[0].configMap.name", "Required value", id="no-name"),
    pytest.param(pod(volume(secret={"defaultMode": 0o400})), "spec.volumes[0].secret.secretName",
                 "Required value", id="no-secret-name"),
    pytest.param(pod(volume(configMap={"name": "c", "defaultMode": 0o1000})), "spec.volumes[0].configMap.defaultMode",
                 MODE_MESSAGE, id="mode-too-big"),
    pytest.param(pod(volume(secret={"secretName": "s", "defaultMode": -1})), "spec.volumes[0].secret.defaultMode",
                 MODE_MESSAGE, id="mode-negative"),
    pytest.param(pod(volume(configMap={"name": "c", "items": [{"key": "k", "path": "p", "mode": 512}]})),
                 "spec.volumes[0].configMap.items[0].mode", MODE_MESSAGE, id="item-mode"),
    pytest.param(pod(volume(configMap={"name": "c", "items": [{"key": "k", "path": "/etc/p"}]})),
                 "spec.volumes[0].configMap.items[0].path", "must be a relative path", id="absolute-path"),
    pytest.param(pod(volume(secret={"secretName": "s", "items": [{"key": "k", "path": "a/../../p"}]})),
                 "spec.volumes[0].secret.items[0].path", "must not contain '..'", id="dot-dot"),
    pytest.param(pod(volume(secret={"secretName": "s", "items": [{"key": "k", "path": "..data"}]})),
                 "spec.volumes[0].secret.items[0].path", "must not start with '..'", id="writer-names"),
    pytest.param(pod(volume(configMap={"name": "c", "items": [{"key": "k", "path": "p"}, {"key": "j", "path": "p"}]})),
                 "spec.volumes[0].configMap.items[1].path", "conflicting duplicate paths", id="duplicate-path"),
    pytest.param(pod(volume(configMap={"name": "c", "items": [{"path": "p"}]})),
                 "spec.volumes[0].configMap.items[0].key", "Required value", id="no-key"),
    pytest.param(pod(volume(downwardAPI={"items": [{"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}}]})),
                 "spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath", 'Unsupported value: "status.podIP"',
                 id="downward-field"),
    pytest.param(pod(volume(downwardAPI={"items": [{"path": "c", "resourceFieldRef": {
        "containerName": "c", "resource": "limits.cpu", "divisor": "1Mi"}}]})),
                 "spec.volumes[0].downwardAPI.items[0].resourceFieldRef.divisor",
                 "only divisor's values 1m and 1 are supported with the cpu resource", id="cpu-divisor"),
    pytest.param(pod(volume(downwardAPI={"items": [{"path": "c", "resourceFieldRef": {
        "containerName": "c", "resource": "limits.gpu"}}]})),
                 "spec.volumes[0].downwardAPI.items[0].resourceFieldRef.resource", 'Unsupported value: "limits.gpu"',
                 id="resource-name"),
    pytest.param(pod(volume(projected={"sources": [{"secret": {"name": "s", "items": [{"key": "k", "path": "t"}]}},
                                                   {"serviceAccountToken": {"path": "t"}}]})),
                 "spec.volumes[0].projected.sources[1].serviceAccountToken.path", "conflicting duplicate paths",
                 id="projected-duplicate"),
    pytest.param(pod(volume(emptyDir={}), mounts=[{"name": "v", "mountPath": "/d", "subPath": "/etc"}]),
                 "spec.containers[0].volumeMounts[0].subPath", "must be a relative path", id="sub-path-absolute"),
    pytest.param(pod(volume(emptyDir={}), mounts=[{"name": "v", "mountPath": "/d", "subPath": "a/../.."}]),
                 "spec.containers[0].volumeMounts[0].subPath", "must not contain '..'", id="sub-path-dot-dot"),
    pytest.param(pod(volume(emptyDir={}), mounts=[{"name": "v", "mountPath": "/d", "subPathExpr": "../$(X)"}]),
                 "spec.containers[0].volumeMounts[0].subPathExpr", "must not contain '..'", id="sub-path-expr"),
    pytest.param(pod(volume(emptyDir={}), mounts=[{"name": "v", "mountPath": "/d", "subPath": "a",
                                                   "subPathExpr": "b"}]),
                 "spec.containers[0].volumeMounts[0].subPathExpr", "subPathExpr and subPath are mutually exclusive",
                 id="both-sub-paths"),
]


@pytest.mark.parametrize(("body", "field", "message"), REFUSED)
def test_volumes_the_kubelet_cannot_serve_are_refused(app: App, body: dict[str, Any], field: str,
                                                      message: str) -> None:
    response = app.post(PODS, body)
    assert response.status_code == 422, response.text
    causes = response.json()["details"]["causes"]
    assert [c["field"] for c in causes] == [field]
    assert message in causes[0]["message"]


def test_deployment_templates_are_checked_too(app: App) -> None:
    template = pod(volume(configMap={"name": "c", "defaultMode": 0o1777}))
    template["metadata"] = {"labels": {"app": "x"}}
    deployment = {"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}}
    response = app.post("/apis/apps/v1/namespaces/default/deployments", deployment)
    assert response.status_code == 422
    assert [c["field"] for c in response.json()["details"]["causes"]] == [
        "spec.template.spec.volumes[0].configMap.defaultMode"]
