"""HorizontalPodAutoscalers (``pkg/apis/autoscaling/validation``, ``v2/defaults.go``).

Defaults as Kubernetes sets them: minReplicas 1, a cpu target of 80% when no metric is given,
and the default scaling rules filled into a behavior the user wrote partly. Validation keeps the
numbers in Kubernetes' ranges and refuses every metric type but Resource, since podvisor serves
no custom or external metrics API; the target must be a kind with a ``scale`` subresource.
"""

from __future__ import annotations

from apimachinery.models.autoscaling import (
    AVERAGE_VALUE,
    POLICY_PERCENT,
    POLICY_PODS,
    RESOURCE,
    SELECT_DISABLED,
    SELECT_MAX,
    SELECT_MIN,
    UTILIZATION,
)
from apimachinery.quantity import parse_quantity
from apimachinery.resources import RESOURCES
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import as_dict, as_dicts, as_int, invalid_value, not_supported, required

DEFAULT_CPU_UTILIZATION = 80
MAX_STABILIZATION_WINDOW = 3600
MAX_PERIOD_SECONDS = 1800
NO_METRICS_API = "podvisor serves only Resource metrics (cpu, memory): it has no custom or external metrics API"
RESOURCE_NAMES = ("cpu", "memory")


def default_scale_up() -> Obj:
    return {"stabilizationWindowSeconds": 0, "selectPolicy": SELECT_MAX,
            "policies": [{"type": POLICY_PODS, "value": 4, "periodSeconds": 15},
                         {"type": POLICY_PERCENT, "value": 100, "periodSeconds": 15}]}


def default_scale_down() -> Obj:
    """No window: the controller's --horizontal-pod-autoscaler-downscale-stabilization applies."""
    return {"selectPolicy": SELECT_MAX, "policies": [{"type": POLICY_PERCENT, "value": 100, "periodSeconds": 15}]}


def _default_rules(rules: Obj, defaults: Obj) -> Obj:
    out = dict(rules)
    for key, value in defaults.items():
        if out.get(key) is None:
            out[key] = value
    return out


def default_hpa(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": RESOURCE, "resource": {"name": "cpu", "target": {
            "type": UTILIZATION, "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _default_rules(as_dict(behavior.get("scaleUp")), default_scale_up())
        behavior["scaleDown"] = _default_rules(as_dict(behavior.get("scaleDown")), default_scale_down())


def _scalable_kinds() -> dict[str, str]:
    return {rt.kind: rt.api_version for rt in RESOURCES if "scale" in rt.subresources}


def _validate_target(ref: Obj, path: str) -> list[Cause]:
    kinds = _scalable_kinds()
    causes: list[Cause] = []
    kind, name = ref.get("kind"), ref.get("name")
    if not kind:
        causes.append(required(f"{path}.kind"))
    elif kind not in kinds:
        causes.append(not_supported(f"{path}.kind", kind, sorted(kinds)))
    elif ref.get("apiVersion") not in (None, kinds[kind]):
        causes.append(not_supported(f"{path}.apiVersion", ref.get("apiVersion"), [kinds[kind]]))
    if not name:
        causes.append(required(f"{path}.name"))
    elif not isinstance(name, str) or "/" in name or "%" in name or name in (".", ".."):
        causes.append(invalid_value(f"{path}.name", name, "must be a valid object name"))
    return causes


def _validate_target_value(target: Obj, path: str) -> list[Cause]:
    kind = target.get("type")
    if kind == UTILIZATION:
        value = as_int(target.get("averageUtilization"))
        if value is None or value <= 0:
            return [invalid_value(f"{path}.averageUtilization", target.get("averageUtilization"),
                                  "must be greater than 0")]
        return []
    if kind == AVERAGE_VALUE:
        try:
            positive = parse_quantity(target.get("averageValue")) > 0  # type: ignore[arg-type]
        except (TypeError, ValueError):
            positive = False
        return [] if positive else [invalid_value(f"{path}.averageValue", target.get("averageValue"),
                                                  "must be a positive quantity")]
    return [not_supported(f"{path}.type", kind, (AVERAGE_VALUE, UTILIZATION))]


def _validate_metric(metric: Obj, path: str) -> list[Cause]:
    if metric.get("type") != RESOURCE:
        return [invalid_value(f"{path}.type", metric.get("type"), NO_METRICS_API)]
    resource = as_dict(metric.get("resource"))
    if resource.get("name") not in RESOURCE_NAMES:
        return [not_supported(f"{path}.resource.name", resource.get("name"), RESOURCE_NAMES)]
    return _validate_target_value(as_dict(resource.get("target")), f"{path}.resource.target")


def _validate_rules(rules: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    window = rules.get("stabilizationWindowSeconds")
    if window is not None and (as_int(window) is None or not 0 <= window <= MAX_STABILIZATION_WINDOW):
        causes.append(invalid_value(f"{path}.stabilizationWindowSeconds", window,
                                    f"must be between 0 and {MAX_STABILIZATION_WINDOW}"))
    select = rules.get("selectPolicy")
    if select is not None and select not in (SELECT_MAX, SELECT_MIN, SELECT_DISABLED):
        causes.append(not_supported(f"{path}.selectPolicy", select, (SELECT_DISABLED, SELECT_MAX, SELECT_MIN)))
    policies = rules.get("policies")
    if not isinstance(policies, list) or not policies:
        causes.append(required(f"{path}.policies", "must specify at least one Policy"))
    for i, policy in enumerate(as_dicts(policies)):
        causes += _validate_policy(policy, f"{path}.policies[{i}]")
    return causes


def _validate_policy(policy: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if policy.get("type") not in (POLICY_PODS, POLICY_PERCENT):
        causes.append(not_supported(f"{path}.type", policy.get("type"), (POLICY_PERCENT, POLICY_PODS)))
    value = as_int(policy.get("value"))
    if value is None or value <= 0:
        causes.append(invalid_value(f"{path}.value", policy.get("value"), "must be greater than zero"))
    period = as_int(policy.get("periodSeconds"))
    if period is None or not 0 < period <= MAX_PERIOD_SECONDS:
        causes.append(invalid_value(f"{path}.periodSeconds", policy.get("periodSeconds"),
                                    f"must be greater than zero and less than or equal to {MAX_PERIOD_SECONDS}"))
    return causes


def validate_hpa(obj: Obj) -> list[Cause]:
    spec = as_dict(obj.get("spec"))
    causes = _validate_target(as_dict(spec.get("scaleTargetRef")), "spec.scaleTargetRef")
    low, high = as_int(spec.get("minReplicas")), as_int(spec.get("maxReplicas"))
    if low is None or low < 1:
        causes.append(invalid_value("spec.minReplicas", spec.get("minReplicas"), "must be greater than or equal to 1"))
    if high is None or high < 1 or high > 2**31 - 1:
        causes.append(invalid_value("spec.maxReplicas", spec.get("maxReplicas"), "must be greater than 0"))
    elif low is not None and high < low:
        causes.append(invalid_value("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`"))
    for i, metric in enumerate(as_dicts(spec.get("metrics"))):
        causes += _validate_metric(metric, f"spec.metrics[{i}]")
    behavior = as_dict(spec.get("behavior"))
    for key in ("scaleUp", "scaleDown"):
        if behavior.get(key) is not None:
            causes += _validate_rules(as_dict(behavior[key]), f"spec.behavior.{key}")
    return causes


class HorizontalPodAutoscalerStrategy(Strategy):
    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        default_hpa(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_hpa(obj)


STRATEGY = HorizontalPodAutoscalerStrategy("HorizontalPodAutoscaler")
