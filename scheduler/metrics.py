"""The scheduler's Prometheus metrics, under kube-scheduler's names, labels and buckets.

``scheduler_schedule_attempts_total{result,profile}`` and
``scheduler_scheduling_attempt_duration_seconds{result,profile}`` count and time each attempt
by its outcome (``scheduled`` once the binding is written, ``unschedulable`` when no node fits,
``error`` when the algorithm or the binding failed); ``profile`` is the scheduler's name, as a
kube-scheduler profile's ``schedulerName``. ``scheduler_pending_pods{queue}`` is read from the
scheduling queue when scraped (``active``, ``backoff``, ``unschedulable``; a gated pod never
enters our queue, so ``gated`` is 0). The registry is handed in: ``podvisor server`` serves it
from the API server's ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

SCHEDULED = "scheduled"
UNSCHEDULABLE = "unschedulable"
ERROR = "error"
# kube-scheduler's ExponentialBuckets(0.001, 2, 15): 1 ms .. ~16 s
ATTEMPT_BUCKETS = tuple(0.001 * 2**i for i in range(15))
QUEUES = ("active", "backoff", "unschedulable")
GATED = "gated"


class QueueStats(Protocol):
    def stats(self) -> dict[str, int]: ...


class SchedulerMetrics(Collector):
    """The families of one scheduler; also the collector of its pending pods."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=False)
        self.attempts = Counter(
            "scheduler_schedule_attempts", "Number of attempts to schedule pods, by the result. 'unschedulable' "
            "means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
            ["result", "profile"], registry=self.registry,
        )
        self.attempt_duration = Histogram(
            "scheduler_scheduling_attempt_duration_seconds", "Scheduling attempt latency in seconds "
            "(scheduling algorithm + binding)", ["result", "profile"], buckets=ATTEMPT_BUCKETS,
            registry=self.registry,
        )
        self._queue: QueueStats | None = None
        self.registry.register(self)

    def track(self, queue: QueueStats) -> None:
        """Report ``queue``'s pods as ``scheduler_pending_pods``."""
        self._queue = queue

    def attempted(self, result: str, *, profile: str, seconds: float) -> None:
        self.attempts.labels(result, profile).inc()
        self.attempt_duration.labels(result, profile).observe(seconds)

    def collect(self) -> Iterator[Metric]:
        if self._queue is None:
            return
        stats = self._queue.stats()
        family = GaugeMetricFamily("scheduler_pending_pods", "Number of pending pods, by the queue type. 'active' "
                                   "means number of pods in activeQ; 'backoff' means number of pods in backoffQ; "
                                   "'unschedulable' means number of pods in unschedulablePods that the scheduler "
                                   "attempted to schedule and failed; 'gated' is the number of unschedulable pods "
                                   "that the scheduler never attempted to schedule because they are gated.",
                                   labels=["queue"])
        for queue in QUEUES:
            family.add_metric([queue], stats.get(queue, 0))
        family.add_metric([GATED], 0)
        yield family
