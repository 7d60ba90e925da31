"""Required node affinity, as the scheduler's filter and the DaemonSet controller both read it."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.nodeaffinity import node_matches


def _required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def _expr(key: str, op: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": op, "values": list(values)}


@pytest.mark.parametrize(("selector", "affinity", "labels", "name", "matches"), [
    pytest.param(None, None, {}, "n1", True, id="nothing-asked"),
    pytest.param({"disk": "ssd"}, None, {"disk": "ssd"}, "n1", True, id="selector"),
    pytest.param({"disk": "ssd"}, None, {"disk": "hdd"}, "n1", False, id="selector-mismatch"),
    pytest.param(None, _required({"matchFields": [_expr("metadata.name", "In", "n1")]}), {}, "n1", True,
                 id="pinned-by-name"),
    pytest.param(None, _required({"matchFields": [_expr("metadata.name", "In", "n1")]}), {}, "n2", False,
                 id="pinned-elsewhere"),
    pytest.param(None, _required({"matchExpressions": [_expr("zone", "In", "a")]},
                                 {"matchFields": [_expr("metadata.name", "In", "n2")]}), {}, "n2", True,
                 id="terms-are-ored"),
    pytest.param(None, _required({"matchExpressions": [_expr("zone", "In", "a")],
                                  "matchFields": [_expr("metadata.name", "In", "n1")]}), {"zone": "b"}, "n1", False,
                 id="requirements-are-anded"),
    pytest.param(None, _required({"matchFields": [_expr("spec.unschedulable", "In", "true")]}), {}, "n1", False,
                 id="other-fields-select-nothing"),
    pytest.param(None, _required(), {}, "n1", False, id="no-terms-select-nothing"),
])
def test_node_matches(selector: dict[str, str] | None, affinity: dict[str, Any] | None, labels: dict[str, str],
                      name: str, matches: bool) -> None:
    assert node_matches(selector, affinity, labels=labels, node_name=name) is matches
