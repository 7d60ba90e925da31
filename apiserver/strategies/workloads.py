"""Deployments and ReplicaSets: defaults, a selector that matches the template, the rollout
strategy, an immutable selector, and the ``scale`` subresource (``pkg/registry/apps``).
"""

from __future__ import annotations

from typing import Any

from apimachinery.errors import ApiError, cause
from apimachinery.selectors import selector_from_model, selector_to_string
from apiserver.defaults import default_pod_spec, sub, unset
from apiserver.restartrules import validate_restart_rules
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.supervisionannotations import deployment_annotation_causes, pod_annotation_causes
from apiserver.validation import (
    FIELD_IMMUTABLE,
    PERCENT_FMT,
    PERCENT_MSG,
    PERCENT_RE,
    as_dict,
    as_int,
    at_least,
    forbidden,
    invalid_value,
    not_supported,
    regex_error,
    required,
    validate_annotations,
    validate_label_selector,
    validate_labels,
    validate_pod_spec,
)
from apiserver.volumes import validate_volumes


def default_template(spec: Obj) -> None:
    template = sub(spec, "template")
    if template is not None and (pod_spec := sub(template, "spec")) is not None:
        default_pod_spec(pod_spec)


def _default_deployment(deployment: Obj) -> None:
    """apps/v1 SetDefaults_Deployment; a missing selector stays missing (validation rejects it)."""
    spec = sub(deployment, "spec")
    if spec is None:
        return
    unset(spec, "replicas", 1)
    strategy = sub(spec, "strategy")
    if strategy is not None:
        unset(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate" and (rolling := sub(strategy, "rollingUpdate")) is not None:
            unset(rolling, "maxUnavailable", "25%")
            unset(rolling, "maxSurge", "25%")
    unset(spec, "revisionHistoryLimit", 10)
    unset(spec, "progressDeadlineSeconds", 600)
    default_template(spec)


def _default_replica_set(replica_set: Obj) -> None:
    spec = sub(replica_set, "spec")
    if spec is not None:
        unset(spec, "replicas", 1)
        default_template(spec)


def _validate_workload(kind: str, obj: Obj) -> list[Cause]:
    """What Deployments and ReplicaSets share: replicas, a non-empty selector and a matching template."""
    spec = as_dict(obj.get("spec"))
    causes = at_least(spec, "replicas", "spec", 0) + at_least(spec, "minReadySeconds", "spec", 0)
    selector = spec.get("selector")
    if selector is None:
        causes.append(required("spec.selector"))
    else:
        selector_causes = validate_label_selector(as_dict(selector), "spec.selector")
        if not as_dict(selector).get("matchLabels") and not as_dict(selector).get("matchExpressions"):
            # Kubernetes words it so for ReplicaSets too.
            selector_causes.append(
                invalid_value("spec.selector", selector, "empty selector is invalid for deployment")
            )
        causes += selector_causes
        if not selector_causes:
            causes += _template_matches_selector(as_dict(spec.get("template")), as_dict(selector))
    causes += validate_template(kind, as_dict(spec.get("template")), "spec.template")
    return causes


def _template_matches_selector(template: Obj, selector: Obj) -> list[Cause]:
    labels = as_dict(as_dict(template.get("metadata")).get("labels"))
    try:
        matches = selector_from_model(selector).matches(labels)
    except ApiError:
        return []  # an invalid selector is reported on spec.selector already
    if matches:
        return []
    return [invalid_value("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")]


def validate_template(kind: str, template: Obj, path: str) -> list[Cause]:
    metadata = as_dict(template.get("metadata"))
    causes = validate_labels(metadata.get("labels"), f"{path}.metadata.labels")
    causes += validate_annotations(metadata.get("annotations"), f"{path}.metadata.annotations")
    spec = as_dict(template.get("spec"))
    causes += pod_annotation_causes(metadata, spec, f"{path}.metadata")
    causes += validate_pod_spec(spec, f"{path}.spec") + validate_volumes(spec, f"{path}.spec")
    causes += validate_restart_rules(spec, f"{path}.spec")
    if spec.get("restartPolicy") in ("OnFailure", "Never"):
        causes.append(not_supported(f"{path}.spec.restartPolicy", spec["restartPolicy"], ("Always",)))
    if spec.get("activeDeadlineSeconds") is not None:
        message = f"activeDeadlineSeconds in {kind} is not Supported"
        causes.append(forbidden(f"{path}.spec.activeDeadlineSeconds", message))
    return causes


def _validate_deployment_spec(spec: Obj) -> list[Cause]:
    causes = _validate_strategy(as_dict(spec.get("strategy")), "spec.strategy")
    causes += at_least(spec, "revisionHistoryLimit", "spec", 0)
    deadline = as_int(spec.get("progressDeadlineSeconds"))
    if deadline is not None:
        causes += at_least(spec, "progressDeadlineSeconds", "spec", 0)
        if deadline <= (as_int(spec.get("minReadySeconds")) or 0):
            causes.append(
                invalid_value("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")
            )
    return causes


def _validate_strategy(strategy: Obj, path: str) -> list[Cause]:
    strategy_type, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    if strategy_type == "Recreate":
        if rolling is None:
            return []
        return [
            forbidden(f"{path}.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
        ]
    if strategy_type == "RollingUpdate":
        if rolling is None:
            return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
        return _validate_rolling_update(as_dict(rolling), f"{path}.rollingUpdate")
    if strategy_type is None:
        return [required(f"{path}.type")]
    return [not_supported(f"{path}.type", strategy_type, ("Recreate", "RollingUpdate"))]


def _validate_rolling_update(rolling: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    amounts: dict[str, int] = {}
    for key in ("maxUnavailable", "maxSurge"):
        errors, amounts[key] = _int_or_percent(rolling.get(key), f"{path}.{key}")
        causes += errors
    if amounts["maxUnavailable"] == 0 and amounts["maxSurge"] == 0:
        causes.append(
            invalid_value(
                f"{path}.maxUnavailable", rolling.get("maxUnavailable"), "may not be 0 when `maxSurge` is 0"
            )
        )
    unavailable = rolling.get("maxUnavailable")
    if (
        isinstance(unavailable, str)
        and PERCENT_RE.fullmatch(unavailable)
        and amounts["maxUnavailable"] > 100
    ):
        causes.append(invalid_value(f"{path}.maxUnavailable", unavailable, "must not be greater than 100%"))
    return causes


def _int_or_percent(value: Any, path: str) -> tuple[list[Cause], int]:
    """Problems with a non-negative int or ``"N%"``, and its magnitude (absent counts as 0)."""
    if value is None:
        return [], 0
    if isinstance(value, str):
        if not PERCENT_RE.fullmatch(value):
            return [invalid_value(path, value, regex_error(PERCENT_MSG, PERCENT_FMT, "1%", "93%"))], -1
        return [], int(value[:-1])
    number = as_int(value)
    if number is None:
        return [invalid_value(path, value, "must be an integer or percentage (e.g '5%')")], -1
    if number < 0:
        return [invalid_value(path, number, "must be greater than or equal to 0")], number
    return [], number


def _validate_selector_update(new: Obj, old: Obj) -> list[Cause]:
    new_selector, old_selector = as_dict(new.get("spec")).get("selector"), as_dict(old.get("spec")).get("selector")
    if new_selector == old_selector:
        return []
    return [invalid_value("spec.selector", new_selector, FIELD_IMMUTABLE)]


def scale_of(obj: Obj) -> Obj:
    """The ``autoscaling/v1`` Scale a workload shows on its ``scale`` subresource."""
    meta = as_dict(obj.get("metadata"))
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    selector = spec.get("selector")
    if obj.get("kind") == "ReplicationController":  # an equality selector: a plain label map
        selector = {"matchLabels": selector} if selector else None
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
        },
        "spec": {"replicas": as_int(spec.get("replicas")) or 0},
        "status": {
            "replicas": as_int(status.get("replicas")) or 0,
            "selector": selector_to_string(selector),
        },
    }


def replicas_of_scale(scale: Any, name: str) -> int:
    """``spec.replicas`` of a Scale body: an int32 (400 otherwise, as decoding) and at least 0 (422)."""
    if not isinstance(scale, dict):
        raise ApiError(400, "BadRequest", "the body of the request must be a Scale object")
    replicas = as_dict(scale.get("spec")).get("replicas")
    number = as_int(replicas)
    if number is not None and not -(2**31) <= number < 2**31:
        message = f"json: cannot unmarshal number {number} into Go struct field ScaleSpec.spec.replicas of type int32"
        raise ApiError(
            400,
            "BadRequest",
            f'Scale in version "v1" cannot be handled as a Scale: {message}',
            causes=[cause("spec.replicas", message)],
        )
    if number is None or number < 0:
        problem = invalid_value("spec.replicas", replicas, "must be greater than or equal to 0")
        raise ApiError(
            422,
            "Invalid",
            f'Scale.autoscaling "{name}" is invalid: spec.replicas: {problem["message"]}',
            name=name,
            kind="Scale",
            group="autoscaling",
            causes=[problem],
        )
    return number


class DeploymentStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        """Status starts as Go encodes an empty DeploymentStatus (every field omitted): ``{}``."""
        obj["status"] = {}

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default_deployment(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        causes = _validate_workload("Deployment", obj)
        causes += _validate_deployment_spec(as_dict(obj.get("spec")))
        return causes + deployment_annotation_causes(as_dict(obj.get("metadata")))

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_selector_update(new, old)


class ReplicaSetStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        """An empty ReplicaSetStatus encodes its one non-omitted field: ``{"replicas": 0}``."""
        obj["status"] = {"replicas": 0}

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default_replica_set(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_workload("ReplicaSet", obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_selector_update(new, old)


DEPLOYMENT = DeploymentStrategy("Deployment")
REPLICA_SET = ReplicaSetStrategy("ReplicaSet")
