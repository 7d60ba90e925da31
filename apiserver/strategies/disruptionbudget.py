"""PodDisruptionBudgets (``pkg/apis/policy/validation``, ``pkg/registry/policy/poddisruptionbudget``).

At most one of ``minAvailable`` and ``maxUnavailable``, each a non-negative number or a percentage
up to 100%; a valid label selector; an ``unhealthyPodEvictionPolicy`` Kubernetes knows. The spec
may change (policy/v1), and status starts with its four counts at zero.
"""

from __future__ import annotations

from apimachinery.models.policy import ALWAYS_ALLOW, IF_HEALTHY_BUDGET
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.strategies.workloads import _int_or_percent
from apiserver.validation import PERCENT_RE, as_dict, invalid_value, not_supported, validate_label_selector


def _amount(spec: Obj, key: str) -> list[Cause]:
    value = spec.get(key)
    causes, magnitude = _int_or_percent(value, f"spec.{key}")
    if not causes and isinstance(value, str) and PERCENT_RE.fullmatch(value) and magnitude > 100:
        causes.append(invalid_value(f"spec.{key}", value, "must not be greater than 100%"))
    return causes


def validate_budget(obj: Obj) -> list[Cause]:
    spec = as_dict(obj.get("spec"))
    causes: list[Cause] = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        causes.append(invalid_value("spec", spec, "minAvailable and maxUnavailable cannot be both set"))
    causes += _amount(spec, "minAvailable") + _amount(spec, "maxUnavailable")
    if spec.get("selector") is not None:
        causes += validate_label_selector(as_dict(spec["selector"]), "spec.selector")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in (IF_HEALTHY_BUDGET, ALWAYS_ALLOW):
        causes.append(not_supported("spec.unhealthyPodEvictionPolicy", policy, (ALWAYS_ALLOW, IF_HEALTHY_BUDGET)))
    return causes


class DisruptionBudgetStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        """An empty PodDisruptionBudgetStatus encodes its four non-omitted counts."""
        obj["status"] = {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_budget(obj)


DISRUPTION_BUDGET = DisruptionBudgetStrategy("PodDisruptionBudget")
