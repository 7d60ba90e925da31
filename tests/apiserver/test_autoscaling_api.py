"""HorizontalPodAutoscalers through the API: Kubernetes' defaults, and hostile specs refused with 422."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from apiserver.app import create_app
from apiserver.store.sqlite import SqliteStore

HPAS = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"
HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 3}}


@pytest.fixture
def api(tmp_path: Any) -> Iterator[TestClient]:
    store = SqliteStore(tmp_path / "state.db")
    with TestClient(create_app(store)) as client:
        yield client
    store.close()


def _with(path: list[str], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(HPA)
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return out


def test_create_defaults_min_replicas_and_a_cpu_target(api: TestClient) -> None:
    response = api.post(HPAS, json=HPA)
    assert response.status_code == 201, response.text
    spec = response.json()["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]


def test_a_partial_behavior_gets_the_default_rules(api: TestClient) -> None:
    body = _with(["spec", "behavior"], {"scaleDown": {"stabilizationWindowSeconds": 5}})
    behavior = api.post(HPAS, json=body).json()["spec"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 5
    assert behavior["scaleDown"]["policies"] == [{"type": "Percent", "value": 100, "periodSeconds": 15}]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleUp"]["selectPolicy"] == "Max"


POLICY = {"type": "Pods", "value": 1, "periodSeconds": 15}
HOSTILE = [
    ("min-zero", ["spec", "minReplicas"], 0, "spec.minReplicas"),
    ("max-below-min", ["spec", "minReplicas"], 5, "spec.maxReplicas"),
    ("unknown-kind", ["spec", "scaleTargetRef", "kind"], "Pod", "spec.scaleTargetRef.kind"),
    ("wrong-group", ["spec", "scaleTargetRef", "apiVersion"], "batch/v1", "spec.scaleTargetRef.apiVersion"),
    ("no-name", ["spec", "scaleTargetRef", "name"], "", "spec.scaleTargetRef.name"),
    ("external-metric", ["spec", "metrics"], [{"type": "External", "external": {}}], "spec.metrics[0].type"),
    ("pods-metric", ["spec", "metrics"], [{"type": "Pods", "pods": {}}], "spec.metrics[0].type"),
    ("gpu", ["spec", "metrics"], [{"type": "Resource", "resource": {"name": "gpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}], "spec.metrics[0].resource.name"),
    ("zero-utilization", ["spec", "metrics"], [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 0}}}], "spec.metrics[0].resource.target.averageUtilization"),
    ("negative-window", ["spec", "behavior"], {"scaleDown": {"stabilizationWindowSeconds": -1}},
     "spec.behavior.scaleDown.stabilizationWindowSeconds"),
    ("window-over-an-hour", ["spec", "behavior"], {"scaleUp": {"stabilizationWindowSeconds": 3601}},
     "spec.behavior.scaleUp.stabilizationWindowSeconds"),
    ("policy-period-too-long", ["spec", "behavior"], {"scaleUp": {"policies": [{**POLICY, "periodSeconds": 1801}]}},
     "spec.behavior.scaleUp.policies[0].periodSeconds"),
    ("policy-zero-value", ["spec", "behavior"], {"scaleUp": {"policies": [{**POLICY, "value": 0}]}},
     "spec.behavior.scaleUp.policies[0].value"),
    ("unknown-select", ["spec", "behavior"], {"scaleUp": {"selectPolicy": "Any"}},
     "spec.behavior.scaleUp.selectPolicy"),
]


@pytest.mark.parametrize(("path", "value", "field"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_specs_are_refused_and_nothing_is_stored(api: TestClient, path: list[str], value: Any,
                                                          field: str) -> None:
    response = api.post(HPAS, json=_with(path, value))
    assert response.status_code == 422, response.text
    assert field in [c["field"] for c in response.json()["details"]["causes"]]
    assert api.get(f"{HPAS}/web").status_code == 404


def test_custom_metrics_are_refused_with_the_reason(api: TestClient) -> None:
    response = api.post(HPAS, json=_with(["spec", "metrics"], [{"type": "Object", "object": {}}]))
    assert "no custom or external metrics API" in response.json()["message"]


def test_a_max_beyond_int32_is_a_bad_request(api: TestClient) -> None:
    """As Kubernetes' decoder, an int32 field that overflows is a 400, not a 422 or a 500."""
    assert api.post(HPAS, json=_with(["spec", "maxReplicas"], 2**40)).status_code == 400
    assert api.get(f"{HPAS}/web").status_code == 404
