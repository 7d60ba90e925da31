"""Nodes: a kubelet registers its node with a status; allocatable defaults to capacity; taints."""

from __future__ import annotations

import copy

from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import (
    as_dict,
    as_dicts,
    enum_value,
    label_key_errors,
    required,
    required_name,
)


def _default_node(node: Obj) -> None:
    status = node.get("status")
    if isinstance(status, dict) and status.get("allocatable") is None and status.get("capacity") is not None:
        status["allocatable"] = copy.deepcopy(status["capacity"])


def _validate_node(node: Obj) -> list[Cause]:
    causes: list[Cause] = []
    for i, taint in enumerate(as_dicts(as_dict(node.get("spec")).get("taints"))):
        path = f"spec.taints[{i}]"
        causes += required_name(f"{path}.key", taint.get("key"), label_key_errors)
        if not taint.get("effect"):
            causes.append(required(f"{path}.effect"))
        causes += enum_value(taint, "effect", path, ("NoExecute", "NoSchedule", "PreferNoSchedule"))
    return causes


class NodeStrategy(Strategy):
    keeps_status_on_create = True

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default_node(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_node(obj)


STRATEGY = NodeStrategy("Node")
