"""Per-kind strategies: every served kind has one, and the pure rules they carry (binding, scale)."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apiserver import strategies
from apiserver.strategies import pod, workloads
from apiserver.strategies.base import Strategy

POD = {"metadata": {"name": "p", "uid": "u1"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}


@pytest.mark.parametrize("rt", [rt for rt in res.RESOURCES if not rt.is_review and not rt.is_read_only],
                         ids=lambda rt: rt.kind)
def test_every_served_kind_has_its_own_strategy(rt: res.ResourceType) -> None:
    strategy = strategies.for_kind(rt.kind)
    assert type(strategy) is not Strategy and strategy.kind == rt.kind


@pytest.mark.parametrize(
    ("pod_changes", "body", "code", "message"),
    [
        pytest.param({}, {"target": {}}, 422, "target.name: Required value", id="no-target"),
        pytest.param({}, [], 422, "target.name: Required value", id="not-an-object"),
        pytest.param({}, {"target": {"name": "n1"}, "metadata": {"uid": "other"}}, 409, "does not match", id="uid"),
        pytest.param({"spec": {"nodeName": "n0"}}, {"target": {"name": "n1"}}, 409, 'assigned to node "n0"',
                     id="already-bound"),
        pytest.param({"metadata": {"name": "p", "deletionTimestamp": "2026-01-01T00:00:00Z"}},
                     {"target": {"name": "n1"}}, 409, "is being deleted", id="terminating"),
    ],
)
def test_binding_is_refused_as_kubernetes_refuses_it(
    pod_changes: dict[str, Any], body: Any, code: int, message: str
) -> None:
    current = {**POD, **pod_changes}
    with pytest.raises(ApiError) as raised:
        pod.bind(current, body, now="2026-01-01T00:00:00Z")
    assert raised.value.code == code and message in raised.value.message


def test_binding_sets_the_node_and_the_scheduled_condition_on_a_copy() -> None:
    bound = pod.bind(POD, {"target": {"name": "n1"}}, now="2026-01-01T00:00:00Z")
    assert bound["spec"]["nodeName"] == "n1" and "nodeName" not in POD["spec"]
    assert bound["status"]["conditions"] == [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
    ]


@pytest.mark.parametrize(
    ("scale", "code"),
    [
        pytest.param({"spec": {"replicas": 2**31}}, 400, id="beyond-int32"),
        pytest.param({"spec": {"replicas": -1}}, 422, id="negative"),
        pytest.param({"spec": {"replicas": "3"}}, 422, id="not-an-integer"),
        pytest.param("three", 400, id="not-an-object"),
    ],
)
def test_scale_replicas_are_an_int32_of_at_least_zero(scale: Any, code: int) -> None:
    with pytest.raises(ApiError) as raised:
        workloads.replicas_of_scale(scale, "web")
    assert raised.value.code == code


@pytest.mark.parametrize(
    ("resources", "qos"),
    [
        pytest.param({}, "BestEffort", id="none"),
        pytest.param({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}},
                     "Guaranteed", id="equal"),
        pytest.param({"requests": {"cpu": "1"}}, "Burstable", id="requests-only"),
    ],
)
def test_a_new_pod_starts_pending_with_its_qos_class(resources: dict[str, Any], qos: str) -> None:
    new = {**POD, "spec": {"containers": [{"name": "c", "image": "i", "resources": resources}]}}
    strategies.for_kind("Pod").prepare_for_create(new)
    assert new["status"] == {"phase": "Pending", "qosClass": qos}
