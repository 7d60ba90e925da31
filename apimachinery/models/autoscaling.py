"""autoscaling/v2 HorizontalPodAutoscaler: keep a workload's replicas where its pods' usage meets a target.

The pod autoscaler controller reads the target's ``scale`` subresource and the pods' usage from
the resource metrics API (``metrics.k8s.io``), and writes the new replica count back through
``scale``. Only ``Resource`` metrics (cpu, memory) exist here: podvisor serves no custom or
external metrics API, so the other metric types are refused at validation.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import Int32, Int64, K8sModel, TypedObject
from apimachinery.models.meta import Condition, ObjectMeta

#: Metric source types; only RESOURCE is served.
RESOURCE, PODS, OBJECT, EXTERNAL, CONTAINER_RESOURCE = "Resource", "Pods", "Object", "External", "ContainerResource"
#: Metric target types.
UTILIZATION, AVERAGE_VALUE, VALUE = "Utilization", "AverageValue", "Value"
#: Scaling policy types and select policies.
POLICY_PODS, POLICY_PERCENT = "Pods", "Percent"
SELECT_MAX, SELECT_MIN, SELECT_DISABLED = "Max", "Min", "Disabled"
#: Status conditions and their reasons (``pkg/controller/podautoscaler``).
ABLE_TO_SCALE, SCALING_ACTIVE, SCALING_LIMITED = "AbleToScale", "ScalingActive", "ScalingLimited"
SUCCEEDED_GET_SCALE, FAILED_GET_SCALE, FAILED_UPDATE_SCALE = "SucceededGetScale", "FailedGetScale", "FailedUpdateScale"
READY_FOR_NEW_SCALE, SUCCEEDED_RESCALE = "ReadyForNewScale", "SucceededRescale"
SCALE_DOWN_STABILIZED, SCALE_UP_STABILIZED = "ScaleDownStabilized", "ScaleUpStabilized"
VALID_METRIC_FOUND, FAILED_GET_RESOURCE_METRIC = "ValidMetricFound", "FailedGetResourceMetric"
INVALID_SELECTOR, SCALING_DISABLED = "InvalidSelector", "ScalingDisabled"
TOO_FEW_REPLICAS, TOO_MANY_REPLICAS, DESIRED_WITHIN_RANGE = "TooFewReplicas", "TooManyReplicas", "DesiredWithinRange"
SCALE_UP_LIMIT, SCALE_DOWN_LIMIT = "ScaleUpLimit", "ScaleDownLimit"


class CrossVersionObjectReference(K8sModel):
    kind: str = ""
    name: str = ""
    api_version: str | None = None


class MetricTarget(K8sModel):
    type: str = ""
    """Utilization, AverageValue or Value."""
    value: str | None = None
    average_value: str | None = None
    average_utilization: Int32 | None = None
    """Percent of the pods' requests."""


class ResourceMetricSource(K8sModel):
    name: str = ""
    """cpu or memory."""
    target: MetricTarget = Field(default_factory=MetricTarget)


class MetricSpec(K8sModel):
    type: str = ""
    resource: ResourceMetricSource | None = None


class HPAScalingPolicy(K8sModel):
    type: str = ""
    """Pods or Percent."""
    value: Int32 = 0
    period_seconds: Int32 = 0


class HPAScalingRules(K8sModel):
    stabilization_window_seconds: Int32 | None = None
    select_policy: str | None = None
    policies: list[HPAScalingPolicy] | None = None


class HorizontalPodAutoscalerBehavior(K8sModel):
    scale_up: HPAScalingRules | None = None
    scale_down: HPAScalingRules | None = None


class HorizontalPodAutoscalerSpec(K8sModel):
    scale_target_ref: CrossVersionObjectReference = Field(default_factory=CrossVersionObjectReference)
    min_replicas: Int32 | None = None
    max_replicas: Int32 = 0
    metrics: list[MetricSpec] | None = None
    behavior: HorizontalPodAutoscalerBehavior | None = None


class MetricValueStatus(K8sModel):
    value: str | None = None
    average_value: str | None = None
    average_utilization: Int32 | None = None


class ResourceMetricStatus(K8sModel):
    name: str = ""
    current: MetricValueStatus = Field(default_factory=MetricValueStatus)


class MetricStatus(K8sModel):
    type: str = ""
    resource: ResourceMetricStatus | None = None


class HorizontalPodAutoscalerStatus(K8sModel):
    observed_generation: Int64 | None = None
    last_scale_time: str | None = None
    current_replicas: Int32 = 0
    desired_replicas: Int32 = 0
    current_metrics: list[MetricStatus] | None = None
    conditions: list[Condition] | None = None


class HorizontalPodAutoscaler(TypedObject):
    """Scales ``spec.scaleTargetRef`` between minReplicas and maxReplicas to meet its metrics."""

    API_VERSION: ClassVar[str] = "autoscaling/v2"
    KIND: ClassVar[str] = "HorizontalPodAutoscaler"
    api_version: str = "autoscaling/v2"
    kind: str = "HorizontalPodAutoscaler"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: HorizontalPodAutoscalerSpec = Field(default_factory=HorizontalPodAutoscalerSpec)
    status: HorizontalPodAutoscalerStatus | None = None
