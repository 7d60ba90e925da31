"""What the pod autoscaler observes and reports, as pure functions over the wire models.

The pods of the scale target become :class:`PodSample` rows for the replica calculator (deleted
and failed pods are left out, as Kubernetes' ``groupPods`` does), each metric's reading becomes a
``MetricStatus``, and the conditions AbleToScale / ScalingActive / ScalingLimited are set with
Kubernetes' reasons and messages, keeping ``lastTransitionTime`` while a status holds.
"""

from __future__ import annotations

from apimachinery.conditions import FALSE, TRUE, set_condition
from apimachinery.models.autoscaling import (
    AVERAGE_VALUE,
    RESOURCE,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerStatus,
    MetricSpec,
    MetricStatus,
    MetricValueStatus,
    ResourceMetricStatus,
)
from apimachinery.models.core import Pod
from apimachinery.models.meta import Condition
from apimachinery.quantity import format_bytes, format_cpu_millis
from controllers import podutil
from controllers.podautoscaler_metrics import CPU, amount
from controllers.podautoscaler_replicas import PodSample, Recommendation

FAILED, PENDING = "Failed", "Pending"


def pod_request(pod: Pod, resource: str) -> int | None:
    """The sum of the containers' requests of ``resource``; None when a container requests none."""
    total = 0
    for container in pod.spec.containers:
        requests = (container.resources.requests if container.resources else None) or {}
        if resource not in requests:
            return None
        try:
            total += amount(resource, requests[resource])
        except ValueError:
            return None
    return total


def samples(pods: list[Pod], usage: dict[str, int], resource: str) -> list[PodSample]:
    """The calculator's view of the target's pods; unready means Pending, or not Ready for cpu."""
    out: list[PodSample] = []
    for pod in pods:
        phase = podutil.phase(pod)
        if pod.metadata.deletion_timestamp is not None or phase == FAILED:
            continue
        name = pod.metadata.name or ""
        unready = phase == PENDING or (resource == CPU and not podutil.is_ready(pod))
        out.append(PodSample(name, pod_request(pod, resource), usage.get(name), unready))
    return out


def metric_name(metric: MetricSpec) -> str:
    """How events and conditions name a metric: ``cpu resource utilization (percentage of request)``."""
    resource = metric.resource
    if resource is None:
        return metric.type
    if resource.target.type == AVERAGE_VALUE:
        return f"{resource.name} resource"
    return f"{resource.name} resource utilization (percentage of request)"


def metric_status(metric: MetricSpec, found: Recommendation) -> MetricStatus:
    name = metric.resource.name if metric.resource else ""
    average = format_cpu_millis(found.average) if name == CPU else format_bytes(found.average)
    current = MetricValueStatus(average_value=average, average_utilization=found.utilization)
    return MetricStatus(type=RESOURCE, resource=ResourceMetricStatus(name=name, current=current))


def with_condition(status: HorizontalPodAutoscalerStatus, kind: str, holds: bool, reason: str, message: str, *,
                   now: str) -> None:
    condition = Condition(type=kind, status=TRUE if holds else FALSE, reason=reason, message=message)
    status.conditions = set_condition(status.conditions, condition, now=now)


def next_status(hpa: HorizontalPodAutoscaler) -> HorizontalPodAutoscalerStatus:
    """A copy of the current status to build the next one on (conditions kept for their times)."""
    status = hpa.status.model_copy(deep=True) if hpa.status else HorizontalPodAutoscalerStatus()
    status.observed_generation = hpa.metadata.generation
    return status
