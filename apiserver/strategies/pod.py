"""Pods: defaults and admission, the initial status and QoS class, what an update may change,
graceful deletion on a node, and the ``pods/binding`` subresource (``pkg/registry/core/pod``).

Pod-only defaults never touch a pod template: requests from limits, ``enableServiceLinks``,
host ports under ``hostNetwork``, and the ``Priority`` and ``DefaultTolerationSeconds`` admission
plugins. A pod spec's own defaults and validation are shared with the workloads' templates.
"""

from __future__ import annotations

import copy
from typing import Any

from apimachinery.errors import ApiError, cause
from apiserver.defaults import default_pod_spec, dicts, sub, unset, unset_or_zero
from apiserver.restartrules import validate_restart_rules
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.supervisionannotations import pod_annotation_causes
from apiserver.validation import (
    as_dict,
    as_dicts,
    as_int,
    forbidden,
    invalid_value,
    validate_pod_spec,
)
from apiserver.volumes import validate_volumes

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
_SYSTEM_PRIORITIES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}


def _default_pod(pod: Obj, *, toleration_seconds: int) -> None:
    spec = sub(pod, "spec")
    if spec is None:
        return
    default_pod_spec(spec)
    for list_name in ("initContainers", "containers"):
        for container in dicts(spec, list_name):
            _requests_from_limits(container)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork") is True:
        _host_ports_from_container_ports(spec)
    _admit_priority(spec)
    _admit_default_tolerations(spec, seconds=toleration_seconds)


def _requests_from_limits(container: Obj) -> None:
    """A limit without a matching request makes the request equal to the limit (Pods only)."""
    resources = container.get("resources")
    if not isinstance(resources, dict) or not isinstance(limits := resources.get("limits"), dict):
        return
    requests = sub(resources, "requests")
    if requests is not None:
        for name, quantity in limits.items():
            requests.setdefault(name, quantity)


def _host_ports_from_container_ports(spec: Obj) -> None:
    for list_name in ("initContainers", "containers"):
        for container in dicts(spec, list_name):
            for port in dicts(container, "ports"):
                if port.get("containerPort") is not None:
                    unset_or_zero(port, "hostPort", port["containerPort"])


def _admit_priority(spec: Obj) -> None:
    """What the Priority admission plugin resolves when no global default PriorityClass exists."""
    class_name = spec.get("priorityClassName") or ""
    if spec.get("priority") is None and (not class_name or class_name in _SYSTEM_PRIORITIES):
        spec["priority"] = _SYSTEM_PRIORITIES.get(class_name, 0)
    if spec.get("priority") is not None:
        unset(spec, "preemptionPolicy", "PreemptLowerPriority")


def _admit_default_tolerations(spec: Obj, *, seconds: int) -> None:
    """DefaultTolerationSeconds: tolerate not-ready/unreachable NoExecute taints for a while.

    A toleration counts when its key matches (or is empty, i.e. every key) and its effect is
    NoExecute (or empty, i.e. every effect); only the missing ones are added.
    """
    current = spec.get("tolerations")
    if current is not None and not isinstance(current, list):
        return
    tolerations: list[Any] = list(current or [])
    for taint in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        if not any(_tolerates_no_execute(t, taint) for t in tolerations):
            tolerations.append(
                {"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}
            )
    spec["tolerations"] = tolerations


def _tolerates_no_execute(toleration: Any, taint_key: str) -> bool:
    if not isinstance(toleration, dict):
        return False
    key_matches = toleration.get("key") in (None, "", taint_key)
    return key_matches and toleration.get("effect") in (None, "", "NoExecute")


def _validate_pod(pod: Obj) -> list[Cause]:
    spec = as_dict(pod.get("spec"))
    causes = validate_pod_spec(spec, "spec") + validate_volumes(spec, "spec")
    causes += validate_restart_rules(spec, "spec")
    return causes + pod_annotation_causes(as_dict(pod.get("metadata")), spec, "metadata")


_POD_UPDATE_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds`"
)


_POD_MUTABLE_FIELDS = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")


def _validate_pod_update(new: Obj, old: Obj) -> list[Cause]:
    new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    causes = _active_deadline_update(
        new_spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    )
    causes += _tolerations_update(as_dicts(new_spec.get("tolerations")), as_dicts(old_spec.get("tolerations")))
    changed = _changed_paths(
        _immutable_pod_spec(new_spec, old_spec), _immutable_pod_spec(old_spec, old_spec), "spec"
    )
    if changed:
        causes.append(
            forbidden("spec", _POD_UPDATE_MESSAGE + "".join(f"\n  changed: {p}" for p in changed[:10]))
        )
    return causes


def _immutable_pod_spec(spec: Obj, old_spec: Obj) -> Obj:
    """``spec`` without what a pod update may change, images taken from ``old_spec``."""
    masked = {key: copy.deepcopy(value) for key, value in spec.items() if key not in _POD_MUTABLE_FIELDS}
    for list_name in ("containers", "initContainers"):
        old_items = as_dicts(old_spec.get(list_name))
        for i, container in enumerate(masked.get(list_name) or []):
            if isinstance(container, dict) and i < len(old_items):
                container["image"] = old_items[i].get("image")
    return masked


def _changed_paths(new: Any, old: Any, path: str) -> list[str]:
    if isinstance(new, dict) and isinstance(old, dict):
        keys = sorted(set(new) | set(old))
        return [p for k in keys for p in _changed_paths(new.get(k), old.get(k), f"{path}.{k}")]
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [
            p
            for i, (a, b) in enumerate(zip(new, old, strict=True))
            for p in _changed_paths(a, b, f"{path}[{i}]")
        ]
    return [] if new == old else [path]


def _active_deadline_update(new: Any, old: Any) -> list[Cause]:
    """It may be set, or shortened, never lengthened or removed."""
    path = "spec.activeDeadlineSeconds"
    if new is None and old is not None:
        return [invalid_value(path, None, "must not update from a positive integer to nil value")]
    if as_int(new) is not None and as_int(old) is not None and new > old:
        return [invalid_value(path, new, "must be less than or equal to previous value")]
    return []


def _tolerations_update(new: list[Obj], old: list[Obj]) -> list[Cause]:
    """Every existing toleration must survive; only its tolerationSeconds may change."""

    def without_seconds(toleration: Obj) -> Obj:
        return {k: v for k, v in toleration.items() if k != "tolerationSeconds"}

    remaining = [without_seconds(t) for t in new]
    if all(without_seconds(t) in remaining for t in old):
        return []
    return [
        forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")
    ]


def qos_class(pod: Obj) -> str:
    """BestEffort without requests or limits; Guaranteed when every container's cpu and memory
    requests equal their limits; Burstable otherwise."""
    containers = as_dict(pod.get("spec")).get("containers") or []
    requests_any = False
    guaranteed = True
    for container in as_dicts(containers):
        resources = as_dict(container.get("resources"))
        limits, requests = as_dict(resources.get("limits")), as_dict(resources.get("requests"))
        if limits or requests:
            requests_any = True
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits.get(name)) != limits.get(name):
                guaranteed = False
    if not requests_any:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def bind(pod: Obj, body: Any, *, now: str) -> Obj:
    """The pod bound as a ``Binding`` body asks (a copy), or the Status error Kubernetes answers."""
    name = str(as_dict(pod.get("metadata")).get("name") or "")
    target = as_dict(body).get("target") if isinstance(body, dict) else None
    if not isinstance(target, dict) or not target.get("name") or not isinstance(target["name"], str):
        raise ApiError(
            422,
            "Invalid",
            f'Binding "{name}" is invalid: target.name: Required value',
            name=name,
            kind="Binding",
            causes=[cause("target.name", "Required value", "FieldValueRequired")],
        )
    uid = as_dict(as_dict(body).get("metadata")).get("uid")
    if uid and uid != pod["metadata"].get("uid"):
        raise _bind_conflict(
            name, f'Operation cannot be fulfilled on pods/binding "{name}": '
            f"the UID in the binding ({uid}) does not match the pod's"
        )
    if pod["metadata"].get("deletionTimestamp"):
        raise _bind_conflict(name, f"pod {name} is being deleted, cannot be assigned to a host")
    assigned = as_dict(pod.get("spec")).get("nodeName")
    if assigned:
        raise _bind_conflict(name, f'pod {name} is already assigned to node "{assigned}"')
    bound = copy.deepcopy(pod)
    bound.setdefault("spec", {})["nodeName"] = target["name"]
    status = bound.setdefault("status", {})
    conditions = [c for c in as_dicts(status.get("conditions")) if c.get("type") != "PodScheduled"]
    conditions.append({"type": "PodScheduled", "status": "True", "lastTransitionTime": now})
    status["conditions"] = conditions
    return bound


def _bind_conflict(name: str, message: str) -> ApiError:
    return ApiError(409, "Conflict", message, name=name, kind="pods")


class PodStrategy(Strategy):
    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default_pod(obj, toleration_seconds=toleration_seconds)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj)}

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_pod(obj)

    def validate_create(self, obj: Obj) -> list[Cause]:
        """Ephemeral containers join a running pod through their subresource, never at create."""
        if as_dict(obj.get("spec")).get("ephemeralContainers"):
            return [forbidden("spec.ephemeralContainers", "cannot be set on create")]
        return []

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_pod_update(new, old)

    def grace_period(self, obj: Obj, options: Obj) -> int:
        """Pods on a node stop gracefully; unscheduled and finished pods go at once."""
        spec = as_dict(obj.get("spec"))
        phase = as_dict(obj.get("status")).get("phase")
        if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
            return 0
        requested = options.get("gracePeriodSeconds")
        if requested is None:
            requested = spec.get("terminationGracePeriodSeconds", 30)
        return max(0, as_int(requested) or 0)

    def still_held(self, obj: Obj) -> bool:
        """A terminating pod with grace left waits for its kubelet to confirm (grace 0)."""
        return as_dict(obj.get("metadata")).get("deletionGracePeriodSeconds") != 0 and bool(
            as_dict(obj.get("spec")).get("nodeName")
        )


STRATEGY = PodStrategy("Pod")
