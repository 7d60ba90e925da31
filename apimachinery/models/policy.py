"""policy/v1 PodDisruptionBudget: how many pods of an application a voluntary eviction may take.

The eviction subresource of a pod (``kubectl drain``) consults the budgets that select the pod;
the disruption controller keeps their status (how many pods are healthy, how many may go now).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import Int32, Int64, K8sModel, TypedObject
from apimachinery.models.core import IntOrString
from apimachinery.models.meta import Condition, LabelSelector, ObjectMeta

#: spec.unhealthyPodEvictionPolicy values.
IF_HEALTHY_BUDGET, ALWAYS_ALLOW = "IfHealthyBudget", "AlwaysAllow"
#: The condition the controller and the eviction subresource keep, and its reasons.
DISRUPTION_ALLOWED = "DisruptionAllowed"
SUFFICIENT_PODS, INSUFFICIENT_PODS, SYNC_FAILED = "SufficientPods", "InsufficientPods", "SyncFailed"


class PodDisruptionBudgetSpec(K8sModel):
    """At most one of minAvailable and maxUnavailable; each a number or a percentage."""

    min_available: IntOrString | None = None
    """Pods that must stay available after an eviction: a number or a percentage of the expected pods."""
    max_unavailable: IntOrString | None = None
    """Pods that may be unavailable after an eviction: a number or a percentage of the expected pods."""
    selector: LabelSelector | None = None
    """The pods the budget covers; an empty selector covers every pod of the namespace."""
    unhealthy_pod_eviction_policy: str | None = None
    """IfHealthyBudget (default: unready pods may go only while the budget is met) or AlwaysAllow."""


class PodDisruptionBudgetStatus(K8sModel):
    """What the disruption controller last observed."""

    observed_generation: Int64 | None = None
    disrupted_pods: dict[str, str] | None = None
    """Pods evicted but not yet seen gone, with the time of their eviction."""
    disruptions_allowed: Int32 = 0
    """How many pods may be evicted now."""
    current_healthy: Int32 = 0
    """Covered pods that are ready."""
    desired_healthy: Int32 = 0
    """The least number of ready pods the budget keeps."""
    expected_pods: Int32 = 0
    """Covered pods the owners' scale asks for."""
    conditions: list[Condition] | None = None
    """DisruptionAllowed."""


class PodDisruptionBudget(TypedObject):
    """A PodDisruptionBudget limits how many pods of a set voluntary evictions may take at once."""

    API_VERSION: ClassVar[str] = "policy/v1"
    KIND: ClassVar[str] = "PodDisruptionBudget"
    api_version: str = "policy/v1"
    kind: str = "PodDisruptionBudget"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PodDisruptionBudgetSpec = Field(default_factory=PodDisruptionBudgetSpec)
    """Which pods, and how many must stay or may go."""
    status: PodDisruptionBudgetStatus | None = None
    """The observed state, written by the disruption controller."""
