"""Work queue metrics in Prometheus, under client-go's names, labels and buckets.

One :class:`WorkqueueMetrics` per process registry holds the families; :meth:`for_queue` gives
each named queue its view (``name`` is the queue's name, as client-go's
``NewNamedRateLimitingQueue`` labels it). Families live as long as the registry, queues do not:
the controller manager builds fresh queues every leadership term and names them again, so the
counters keep counting across terms and the depth restarts from what the new queue holds.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# client-go's ExponentialBuckets(10e-9, 10, 10): 10 ns .. 10 s, ten decades
DURATION_BUCKETS = tuple(1e-8 * 10**i for i in range(10))


class WorkqueueMetrics:
    """The ``workqueue_*`` families on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.depth = Gauge("workqueue_depth", "Current depth of workqueue", ["name"], registry=registry)
        self.adds = Counter("workqueue_adds", "Total number of adds handled by workqueue", ["name"],
                            registry=registry)
        self.queue_duration = Histogram(
            "workqueue_queue_duration_seconds", "How long in seconds an item stays in workqueue before being "
            "requested.", ["name"], buckets=DURATION_BUCKETS, registry=registry,
        )
        self.work_duration = Histogram(
            "workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes.",
            ["name"], buckets=DURATION_BUCKETS, registry=registry,
        )
        self.retries = Counter("workqueue_retries", "Total number of retries handled by workqueue", ["name"],
                               registry=registry)

    def for_queue(self, name: str) -> NamedQueueMetrics:
        return NamedQueueMetrics(self, name)


class NamedQueueMetrics:
    """One queue's series (an :class:`apimachinery.workqueue.QueueMetrics`)."""

    def __init__(self, families: WorkqueueMetrics, name: str) -> None:
        self._depth = families.depth.labels(name)
        self._adds = families.adds.labels(name)
        self._queue_duration = families.queue_duration.labels(name)
        self._work_duration = families.work_duration.labels(name)
        self._retries = families.retries.labels(name)

    def depth(self, keys: int) -> None:
        self._depth.set(keys)

    def added(self) -> None:
        self._adds.inc()

    def waited(self, seconds: float) -> None:
        self._queue_duration.observe(seconds)

    def worked(self, seconds: float) -> None:
        self._work_duration.observe(seconds)

    def retried(self) -> None:
        self._retries.inc()
