"""StatefulSet writes over HTTP: Kubernetes' defaults, ValidateStatefulSet's refusals (a 422
naming the field), the fields an update may not change, the scale subresource and the table."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

SETS = "/apis/apps/v1/namespaces/default/statefulsets"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
CLAIM = {
    "metadata": {"name": "data"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}},
}


def statefulset(name: str = "web", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "replicas": 3,
        "serviceName": "web",
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
        },
    }
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name}, "spec": body}


def fields(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["reason"] == "Invalid" and body["details"]["kind"] == "StatefulSet"
    return [c["field"] for c in body["details"]["causes"]]


def test_a_statefulset_is_stored_with_kubernetes_defaults(http: httpx.Client) -> None:
    created = http.post(SETS, json=statefulset(volumeClaimTemplates=[CLAIM]))
    assert created.status_code == 201, created.text
    body = created.json()
    spec = body["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"partition": 0, "maxUnavailable": 1},
    }
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    assert body["status"] == {"replicas": 0, "availableReplicas": 0}
    assert body["metadata"]["generation"] == 1


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"selector": None}, "spec.selector"),
        ({"selector": {}}, "spec.selector"),
        ({"selector": {"matchLabels": {"app": "db"}}}, "spec.template.metadata.labels"),
        ({"replicas": -1}, "spec.replicas"),
        ({"minReadySeconds": -1}, "spec.minReadySeconds"),
        ({"serviceName": "Not_A_Label"}, "spec.serviceName"),
        ({"podManagementPolicy": "Random"}, "spec.podManagementPolicy"),
        ({"updateStrategy": {"type": "Recreate"}}, "spec.updateStrategy.type"),
        (
            {"updateStrategy": {"type": "OnDelete", "rollingUpdate": {"partition": 1}}},
            "spec.updateStrategy.rollingUpdate",
        ),
        (
            {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}},
            "spec.updateStrategy.rollingUpdate.partition",
        ),
        (
            {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}}},
            "spec.updateStrategy.rollingUpdate.maxUnavailable",
        ),
        (
            {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "150%"}}},
            "spec.updateStrategy.rollingUpdate.maxUnavailable",
        ),
        (
            {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Keep"}},
            "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
        ),
        (
            {"persistentVolumeClaimRetentionPolicy": {"whenScaled": "Forget"}},
            "spec.persistentVolumeClaimRetentionPolicy.whenScaled",
        ),
        ({"ordinals": {"start": -1}}, "spec.ordinals.start"),
        (
            {"volumeClaimTemplates": [{"metadata": {}, "spec": CLAIM["spec"]}]},
            "spec.volumeClaimTemplates[0].metadata.name",
        ),
        (
            {
                "volumeClaimTemplates": [
                    {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Mi"}}}}
                ]
            },
            "spec.volumeClaimTemplates[0].spec.accessModes",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_invalid_statefulsets_are_refused_naming_the_field(
    http: httpx.Client, spec: dict[str, Any], field: str
) -> None:
    body = statefulset()
    for key, value in spec.items():
        if value is None:
            body["spec"].pop(key)
        else:
            body["spec"][key] = value
    assert field in fields(http.post(SETS, json=body))


def test_a_template_restart_policy_other_than_always_is_refused(http: httpx.Client) -> None:
    body = statefulset()
    body["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert "spec.template.spec.restartPolicy" in fields(http.post(SETS, json=body))


def test_containers_may_mount_a_claim_template_but_no_unknown_volume(http: httpx.Client) -> None:
    body = statefulset(volumeClaimTemplates=[CLAIM])
    body["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/data"}
    ]
    assert http.post(SETS, json=body).status_code == 201
    typo = copy.deepcopy(body)
    typo["metadata"]["name"] = "typo"
    typo["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "dta", "mountPath": "/data"}
    ]
    assert any(
        f.startswith("spec.template.spec.containers[0].volumeMounts")
        for f in fields(http.post(SETS, json=typo))
    )


@pytest.mark.parametrize(
    ("change", "allowed"),
    [
        ({"replicas": 5}, True),
        ({"updateStrategy": {"type": "OnDelete"}}, True),
        ({"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"}}, True),
        ({"minReadySeconds": 3}, True),
        ({"podManagementPolicy": "Parallel"}, False),
        ({"serviceName": "other"}, False),
        ({"volumeClaimTemplates": [CLAIM]}, False),
        ({"selector": {"matchLabels": {"app": "web", "tier": "x"}}}, False),
    ],
    ids=[
        "replicas",
        "updateStrategy",
        "retention",
        "minReadySeconds",
        "podManagementPolicy",
        "serviceName",
        "volumeClaimTemplates",
        "selector",
    ],
)
def test_only_kubernetes_mutable_fields_may_change(
    http: httpx.Client, change: dict[str, Any], allowed: bool
) -> None:
    created = http.post(SETS, json=statefulset("mut")).json()
    created["spec"].update(change)
    if "selector" in change:
        created["spec"]["template"]["metadata"]["labels"] = {"app": "web", "tier": "x"}
    resp = http.put(f"{SETS}/mut", json=created)
    if allowed:
        assert resp.status_code == 200, resp.text
    else:
        assert fields(resp) == ["spec"]


def test_scale_subresource_and_printer_columns(http: httpx.Client) -> None:
    assert http.post(SETS, json=statefulset("sc")).status_code == 201
    scale = http.get(f"{SETS}/sc/scale").json()
    assert (
        scale["kind"] == "Scale"
        and scale["spec"]["replicas"] == 3
        and scale["status"]["selector"] == "app=web"
    )
    scale["spec"]["replicas"] = 1
    assert http.put(f"{SETS}/sc/scale", json=scale).status_code == 200
    assert http.get(f"{SETS}/sc").json()["spec"]["replicas"] == 1
    table = http.get(f"{SETS}/sc", headers=TABLE).json()
    assert [c["name"] for c in table["columnDefinitions"]][:3] == ["Name", "Ready", "Age"]
    assert table["rows"][0]["cells"][:2] == ["sc", "0/1"]


def test_a_status_write_keeps_spec_and_a_spec_change_bumps_generation(http: httpx.Client) -> None:
    created = http.post(SETS, json=statefulset("st")).json()
    created["status"] = {
        "replicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "observedGeneration": 1,
        "currentRevision": "st-abc",
        "updateRevision": "st-abc",
    }
    written = http.put(f"{SETS}/st/status", json=created)
    assert written.status_code == 200, written.text
    assert written.json()["status"]["readyReplicas"] == 3
    again = written.json()
    again["spec"]["replicas"] = 4
    assert http.put(f"{SETS}/st", json=again).json()["metadata"]["generation"] == 2
