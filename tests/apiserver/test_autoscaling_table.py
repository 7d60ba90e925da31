"""``kubectl get hpa``: the columns and cells Kubernetes' HorizontalPodAutoscaler printer makes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from apiserver.tables import to_table

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def _cpu(target: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "cpu", "target": target}}


def _current(name: str, **current: Any) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": name, "current": current}}


def _row(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    obj = {"metadata": {"name": "web", "creationTimestamp": "2026-11-26T11:58:00Z"}, "spec": spec,
           "status": status or {}}
    table = to_table("HorizontalPodAutoscaler", [obj], resource_version="3", now=NOW)
    names = [c["name"] for c in table["columnDefinitions"]]
    return dict(zip(names, table["rows"][0]["cells"], strict=True))


def test_columns_are_kubectls_and_none_is_wide_only() -> None:
    table = to_table("HorizontalPodAutoscaler", [], resource_version="1", now=NOW)
    definitions = table["columnDefinitions"]
    assert [c["name"] for c in definitions] == ["Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas",
                                                "Age"]
    assert all(c["priority"] == 0 and c["description"] for c in definitions)


def test_cells_of_a_scaled_autoscaler() -> None:
    spec = {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 3,
            "metrics": [_cpu({"type": "Utilization", "averageUtilization": 50})]}
    row = _row(spec, {"currentReplicas": 2, "currentMetrics": [_current("cpu", averageUtilization=97)]})
    assert row == {"Name": "web", "Reference": "Deployment/web", "Targets": "cpu: 97%/50%", "MinPods": "1",
                   "MaxPods": 3, "Replicas": 2, "Age": "2m"}


@pytest.mark.parametrize(
    ("metrics", "current", "expected"),
    [
        ([], [], "<none>"),
        ([_cpu({"type": "Utilization", "averageUtilization": 80})], [], "cpu: <unknown>/80%"),
        ([_cpu({"type": "AverageValue", "averageValue": "200m"})], [_current("cpu", averageValue="150m")],
         "cpu: 150m/200m"),
        ([_cpu({"type": "AverageValue", "averageValue": "200m"})], [], "cpu: <unknown>/200m"),
        ([_cpu({"type": "Utilization"})], [], "cpu: <unknown>/<auto>"),
        ([_cpu({"type": "Utilization", "averageUtilization": 80}),
          {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization",
                                                                          "averageUtilization": 70}}},
          _cpu({"type": "AverageValue", "averageValue": "1"})],
         [_current("cpu", averageUtilization=10), _current("memory", averageUtilization=20)],
         "cpu: 10%/80%, memory: 20%/70% + 1 more..."),
    ],
    ids=["no-metrics", "no-reading-yet", "average-value", "average-value-no-reading", "no-target", "three-metrics"],
)
def test_targets(metrics: list[dict[str, Any]], current: list[dict[str, Any]], expected: str) -> None:
    assert _row({"metrics": metrics}, {"currentMetrics": current})["Targets"] == expected


def test_a_bare_object_still_fills_every_cell() -> None:
    row = _row({})
    assert row["Reference"] == "/" and row["MinPods"] == "<unset>" and row["MaxPods"] == 0
