"""ServiceAccount admission and the projected volumes pods may declare."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apiserver.admissionplugins.serviceaccount import projected_volume
from tests.apiserver.serviceaccount_app import App, serviceaccount_app

PODS = "/api/v1/namespaces/default/pods"
MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def pod(name: str = "web", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}], **spec}
    return {"metadata": {"name": name}, "spec": body}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    with serviceaccount_app(tmp_path) as app:
        app.post("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "default"}})
        yield app


def create(app: App, body: dict[str, Any]) -> dict[str, Any]:
    response = app.post(PODS, body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def token_volumes(created: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in created["spec"].get("volumes", []) if v["name"].startswith("kube-api-access-")]


def test_a_pod_runs_as_default_with_the_token_projected(app: App) -> None:
    created = create(app, pod(initContainers=[{"name": "init", "image": "busybox"}]))
    spec = created["spec"]
    assert spec["serviceAccountName"] == "default" and spec["serviceAccount"] == "default"
    [volume] = token_volumes(created)
    assert re.fullmatch(r"kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}", volume["name"])
    assert volume == projected_volume(volume["name"])
    assert volume["projected"]["sources"] == [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]
    for container in [*spec["initContainers"], *spec["containers"]]:
        assert container["volumeMounts"] == [{"name": volume["name"], "readOnly": True, "mountPath": MOUNT}]


def test_a_missing_service_account_is_refused(app: App) -> None:
    response = app.post(PODS, pod(serviceAccountName="robot"))
    assert response.status_code == 403
    assert response.json()["message"] == (
        'pods "web" is forbidden: error looking up service account default/robot: serviceaccount "robot" not found')
    assert app.get(f"{PODS}/web").status_code == 404


def test_a_named_service_account(app: App) -> None:
    app.post("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "robot"}})
    assert create(app, pod(serviceAccountName="robot"))["spec"]["serviceAccountName"] == "robot"


def test_a_missing_default_service_account_is_created_on_the_spot(app: App) -> None:
    app.post("/api/v1/namespaces", {"metadata": {"name": "fresh"}})
    response = app.post("/api/v1/namespaces/fresh/pods", pod())
    assert response.status_code == 201, response.text
    assert app.get("/api/v1/namespaces/fresh/serviceaccounts/default").status_code == 200


AUTOMOUNT = [
    pytest.param(None, None, True, id="default-mounts"),
    pytest.param(False, None, False, id="pod-opts-out"),
    pytest.param(None, False, False, id="service-account-opts-out"),
    pytest.param(True, False, True, id="pod-overrides-service-account"),
]


@pytest.mark.parametrize(("on_pod", "on_sa", "mounted"), AUTOMOUNT)
def test_automount(app: App, on_pod: bool | None, on_sa: bool | None, mounted: bool) -> None:
    sa: dict[str, Any] = {"metadata": {"name": "robot"}}
    if on_sa is not None:
        sa["automountServiceAccountToken"] = on_sa
    app.post("/api/v1/namespaces/default/serviceaccounts", sa)
    extra: dict[str, Any] = {"serviceAccountName": "robot"}
    if on_pod is not None:
        extra["automountServiceAccountToken"] = on_pod
    created = create(app, pod(**extra))
    assert bool(token_volumes(created)) == mounted
    assert ("volumeMounts" in created["spec"]["containers"][0]) == mounted


def test_a_container_with_its_own_mount_there_keeps_it(app: App) -> None:
    body = pod(volumes=[{"name": "mine", "emptyDir": {}}])
    body["spec"]["containers"].append({"name": "d", "image": "busybox",
                                       "volumeMounts": [{"name": "mine", "mountPath": MOUNT}]})
    created = create(app, body)
    [volume] = token_volumes(created)
    first, second = created["spec"]["containers"]
    assert first["volumeMounts"] == [{"name": volume["name"], "readOnly": True, "mountPath": MOUNT}]
    assert second["volumeMounts"] == [{"name": "mine", "mountPath": MOUNT}]


def test_the_generated_volume_is_valid_when_submitted(app: App) -> None:
    created = create(app, pod())
    again = copy.deepcopy(created)
    again["metadata"] = {"name": "copy"}
    again.pop("status", None)
    assert create(app, again)["spec"]["volumes"] == created["spec"]["volumes"]


def projected(*sources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return pod(automountServiceAccountToken=False,
               volumes=[{"name": "p", "projected": {"sources": list(sources), **extra}}])


CA = {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}
REFUSED = [
    pytest.param(projected({"clusterTrustBundle": {"name": "b", "path": "b"}}),
                 "spec.volumes[0].projected.sources[0].clusterTrustBundle", "Unsupported value", id="trust-bundle"),
    pytest.param(projected({"serviceAccountToken": {"path": "t", "expirationSeconds": 60}}),
                 "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds",
                 "may not specify a duration less than 10 minutes", id="token-under-ten-minutes"),
    pytest.param(projected({"serviceAccountToken": {}}),
                 "spec.volumes[0].projected.sources[0].serviceAccountToken.path", "Required value",
                 id="token-without-path"),
    pytest.param(projected({"serviceAccountToken": {"path": "/etc/t"}}),
                 "spec.volumes[0].projected.sources[0].serviceAccountToken.path", "must be a relative path",
                 id="absolute-path"),
    pytest.param(projected({"serviceAccountToken": {"path": "../t"}}),
                 "spec.volumes[0].projected.sources[0].serviceAccountToken.path", "must not contain '..'",
                 id="dot-dot"),
    pytest.param(projected({"serviceAccountToken": {"path": "ca.crt"}}, CA),
                 "spec.volumes[0].projected.sources[1].configMap.items[0].path", "conflicting duplicate paths",
                 id="duplicate-path"),
    pytest.param(projected({"downwardAPI": {"items": [{"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}}]}}),
                 "spec.volumes[0].projected.sources[0].downwardAPI.items[0].fieldRef.fieldPath",
                 'Unsupported value: "status.podIP"', id="downward-field"),
    pytest.param(projected({"downwardAPI": {"items": [
        {"path": "cpu", "resourceFieldRef": {"resource": "limits.cpu"}}]}}),
                 "spec.volumes[0].projected.sources[0].downwardAPI.items[0].resourceFieldRef.containerName",
                 "Required value", id="resource-field-without-container"),
    pytest.param(projected(CA, defaultMode=0o1000), "spec.volumes[0].projected.defaultMode",
                 "must be a number between 0 and 0777 (octal), both inclusive", id="default-mode"),
]


@pytest.mark.parametrize(("body", "field", "message"), REFUSED)
def test_projected_volumes_the_kubelet_cannot_write_are_refused(app: App, body: dict[str, Any], field: str,
                                                                message: str) -> None:
    response = app.post(PODS, body)
    assert response.status_code == 422, response.text
    causes = response.json()["details"]["causes"]
    assert [c["field"] for c in causes] == [field]
    assert message in causes[0]["message"]


def test_pod_templates_are_checked_too(app: App) -> None:
    template = projected({"clusterTrustBundle": {"name": "b", "path": "b"}})
    template["metadata"] = {"labels": {"app": "x"}}
    deployment = {"metadata": {"name": "d"},
                  "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}}
    response = app.post("/apis/apps/v1/namespaces/default/deployments", deployment)
    assert response.status_code == 422
    assert [c["field"] for c in response.json()["details"]["causes"]] == [
        "spec.template.spec.volumes[0].projected.sources[0].clusterTrustBundle"]
