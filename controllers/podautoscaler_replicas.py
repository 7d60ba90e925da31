"""The pod autoscaler's replica calculator: how many pods would bring usage to its target.

Kubernetes' ``ReplicaCalculator`` (``pkg/controller/podautoscaler/replica_calculator.go``), pure:
the controller hands in one :class:`PodSample` per pod of the scale target (deleted and failed
pods already left out) and gets a replica count back, or :class:`MetricError`.

The rule is ``desired = ceil(current_pods * usage / target)``, where usage is the sum of the
ready pods' usage over the sum of their requests (a Utilization target) or their average usage
(an AverageValue target), and a ratio within ``tolerance`` (10%) of 1 changes nothing.
Pods that cannot be measured are counted conservatively, so that they never cause a move:

* a pod without metrics counts as using 100% of its request (its target) when the others would
  scale down, and as using nothing when they would scale up;
* an unready pod (Pending, or not Ready for a cpu metric) counts as using nothing, and only
  when the others would scale up;
* if counting them flips the direction, or lands within the tolerance, nothing changes.

Kubernetes also treats a cpu pod as unready for its first minutes after start
(``--horizontal-pod-autoscaler-cpu-initialization-period``); podvisor uses the Ready condition alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

TOLERANCE = 0.1  # kube-controller-manager's --horizontal-pod-autoscaler-tolerance
NO_METRICS = "did not receive metrics for targeted pods (pods might be unready)"
NO_MATCHING_METRICS = "no metrics returned matched known pods"


class MetricError(Exception):
    """The metric cannot be computed; the message says why, as Kubernetes words it."""


@dataclass(frozen=True)
class PodSample:
    """One pod of the target as the calculator sees it."""

    name: str
    request: int | None  # sum of its containers' requests (millicores or bytes); None: a container has none
    usage: int | None = None  # from the metrics API; None: no metrics for this pod
    unready: bool = False  # Pending, or not Ready (cpu only)


@dataclass(frozen=True)
class Recommendation:
    replicas: int
    utilization: int | None  # percent of request, for Utilization targets
    average: int  # the measured pods' average usage (millicores or bytes)


def utilization_replicas(samples: list[PodSample], *, resource: str, current_replicas: int, target: int,
                         tolerance: float = TOLERANCE) -> Recommendation:
    """Replicas for an ``averageUtilization`` target (percent of the pods' requests)."""
    metrics = _measured(samples)
    requests = _requests(samples, resource)

    def ratio(usage: Mapping[str, int]) -> float:
        return _utilization(usage, requests)[0] / target

    replicas = _replicas(samples, metrics, ratio=ratio, down_fill=lambda s: requests[s.name],
                         current_replicas=current_replicas, tolerance=tolerance)
    utilization, average = _utilization(metrics, requests)
    return Recommendation(replicas, utilization, average)


def average_value_replicas(samples: list[PodSample], *, current_replicas: int, target: int,
                           tolerance: float = TOLERANCE) -> Recommendation:
    """Replicas for an ``averageValue`` target (usage per pod, millicores or bytes)."""
    metrics = _measured(samples)

    def ratio(usage: Mapping[str, int]) -> float:
        return sum(usage.values()) / len(usage) / target

    replicas = _replicas(samples, metrics, ratio=ratio, down_fill=lambda s: target,
                         current_replicas=current_replicas, tolerance=tolerance)
    return Recommendation(replicas, None, sum(metrics.values()) // len(metrics))


def _measured(samples: list[PodSample]) -> dict[str, int]:
    metrics = {s.name: s.usage for s in samples if not s.unready and s.usage is not None}
    if not metrics:
        raise MetricError(NO_METRICS)
    return metrics


def _requests(samples: list[PodSample], resource: str) -> dict[str, int]:
    for sample in samples:
        if sample.request is None:
            raise MetricError(f"missing request for {resource} in pod {sample.name}")
    return {s.name: s.request or 0 for s in samples}


def _utilization(usage: Mapping[str, int], requests: Mapping[str, int]) -> tuple[int, int]:
    """Whole percent of the summed requests (truncated, as Kubernetes does), and the average usage."""
    measured = [name for name in usage if name in requests]
    requested = sum(requests[name] for name in measured)
    if requested <= 0:
        raise MetricError(NO_MATCHING_METRICS)
    used = sum(usage[name] for name in measured)
    return used * 100 // requested, used // len(measured)


def _replicas(samples: list[PodSample], metrics: dict[str, int], *, ratio: Callable[[Mapping[str, int]], float],
              down_fill: Callable[[PodSample], int], current_replicas: int, tolerance: float) -> int:
    first = ratio(metrics)
    unready = [s for s in samples if s.unready]
    missing = [s for s in samples if not s.unready and s.usage is None]
    with_unready = bool(unready) and first > 1.0
    if not with_unready and not missing:
        if abs(1.0 - first) <= tolerance:
            return current_replicas
        return math.ceil(first * len(metrics))
    filled = dict(metrics)
    for sample in missing:
        filled[sample.name] = down_fill(sample) if first < 1.0 else 0
    if with_unready:
        filled.update({s.name: 0 for s in unready})
    second = ratio(filled)
    if abs(1.0 - second) <= tolerance or (first < 1.0 < second) or (first > 1.0 > second):
        return current_replicas
    proposed = math.ceil(second * len(filled))
    if (second < 1.0 and proposed > current_replicas) or (second > 1.0 and proposed < current_replicas):
        return current_replicas
    return proposed
