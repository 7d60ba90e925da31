"""Which node and pod updates the scheduler reacts to (heartbeats and status writes must not count)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apimachinery.models.core import Node, Pod, Taint
from apimachinery.models.meta import Condition
from scheduler.handlers import node_scheduling_changed, pod_spec_changed
from tests.scheduler.objects import make_node, make_pod


def _heartbeat(n: Node) -> None:
    assert n.status is not None and n.status.conditions
    n.status.conditions[0].last_heartbeat_time = "2030-01-01T00:00:00Z"


def _ready_false(n: Node) -> None:
    assert n.status is not None
    n.status.conditions = [Condition(type="Ready", status="False")]


def _allocatable(n: Node) -> None:
    assert n.status is not None and n.status.allocatable is not None
    n.status.allocatable["cpu"] = "8"


NODE_CHANGES: list[tuple[str, Callable[[Node], None], bool]] = [
    ("heartbeat", _heartbeat, False),
    ("label", lambda n: setattr(n.metadata, "labels", {"disk": "ssd"}), True),
    ("cordon", lambda n: setattr(n.spec, "unschedulable", True), True),
    ("taint", lambda n: setattr(n.spec, "taints", [Taint(key="k", effect="NoSchedule")]), True),
    ("ready", _ready_false, True),
    ("allocatable", _allocatable, True),
    ("annotation", lambda n: setattr(n.metadata, "annotations", {"a": "b"}), False),
]


@pytest.mark.parametrize(("change", "relevant"), [c[1:] for c in NODE_CHANGES], ids=[c[0] for c in NODE_CHANGES])
def test_node_scheduling_changed(change: Callable[[Node], None], relevant: bool) -> None:
    old = make_node("n1")
    new = old.model_copy(deep=True)
    change(new)
    assert node_scheduling_changed(old, new) is relevant


def _status_condition(p: Pod) -> None:
    assert p.status is not None
    p.status.conditions = [Condition(type="PodScheduled", status="False", reason="Unschedulable")]


POD_CHANGES: list[tuple[str, Callable[[Pod], None], bool]] = [
    ("status", _status_condition, False),
    ("resource-version", lambda p: setattr(p.metadata, "resource_version", "99"), False),
    ("node-selector", lambda p: setattr(p.spec, "node_selector", {"disk": "ssd"}), True),
    ("label", lambda p: setattr(p.metadata, "labels", {"app": "x"}), True),
]


@pytest.mark.parametrize(("change", "relevant"), [c[1:] for c in POD_CHANGES], ids=[c[0] for c in POD_CHANGES])
def test_pod_spec_changed(change: Callable[[Pod], None], relevant: bool) -> None:
    old = make_pod("p")
    new = old.model_copy(deep=True)
    change(new)
    assert pod_spec_changed(old, new) is relevant
