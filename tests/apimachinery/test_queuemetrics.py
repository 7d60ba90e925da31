"""Work queue metrics move with the work: adds, depth, time waiting, time worked, retries, and a
new queue under the same name (a new leadership term) starts its depth afresh."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from apimachinery.queuemetrics import WorkqueueMetrics
from apimachinery.workqueue import WorkQueue, run_worker

NAME = "deployment"
TIMEOUT = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def sample(registry: CollectorRegistry, metric: str, name: str = NAME) -> float:
    return registry.get_sample_value(metric, {"name": name}) or 0.0


def instrumented(clock: Clock | None = None) -> tuple[WorkQueue, CollectorRegistry]:
    registry = CollectorRegistry()
    queue = WorkQueue(clock=clock or Clock(), metrics=WorkqueueMetrics(registry).for_queue(NAME))
    return queue, registry


async def test_an_add_counts_once_and_shows_in_the_depth() -> None:
    queue, registry = instrumented()
    queue.add("ns/a")
    queue.add("ns/a")  # deduplicated: not an add
    queue.add("ns/b")
    assert sample(registry, "workqueue_adds_total") == 2
    assert sample(registry, "workqueue_depth") == 2


async def test_taking_and_finishing_a_key_records_how_long_it_waited_and_was_worked() -> None:
    clock = Clock()
    queue, registry = instrumented(clock)
    queue.add("ns/a")
    clock.now += 0.25
    key = await queue.get()
    assert sample(registry, "workqueue_depth") == 0
    assert sample(registry, "workqueue_queue_duration_seconds_count") == 1
    assert sample(registry, "workqueue_queue_duration_seconds_sum") == 0.25
    clock.now += 2.0
    queue.done(key)
    assert sample(registry, "workqueue_work_duration_seconds_count") == 1
    assert sample(registry, "workqueue_work_duration_seconds_sum") == 2.0
    queue.done(key)  # idempotent: not worked twice
    assert sample(registry, "workqueue_work_duration_seconds_count") == 1


async def test_a_key_added_while_worked_waits_from_its_add() -> None:
    clock = Clock()
    queue, registry = instrumented(clock)
    queue.add("ns/a")
    key = await queue.get()
    queue.add("ns/a")
    assert sample(registry, "workqueue_depth") == 0  # not waiting: it is being worked
    clock.now += 1.0
    queue.done(key)
    assert sample(registry, "workqueue_depth") == 1
    clock.now += 0.5
    await queue.get()
    assert sample(registry, "workqueue_queue_duration_seconds_sum") == 1.5


async def test_a_failing_sync_counts_retries() -> None:
    queue, registry = instrumented()
    queue.base_delay = 0.001
    failures = 0
    finished = asyncio.Event()

    async def sync(key: str) -> None:
        nonlocal failures
        if failures < 2:
            failures += 1
            raise RuntimeError("conflict")
        finished.set()

    worker = asyncio.create_task(run_worker(queue, sync))
    queue.add("ns/a")
    await asyncio.wait_for(finished.wait(), TIMEOUT)
    await queue.shut_down()
    await asyncio.wait_for(worker, TIMEOUT)
    assert sample(registry, "workqueue_retries_total") == 2
    assert sample(registry, "workqueue_adds_total") == 3
    assert sample(registry, "workqueue_work_duration_seconds_count") == 3


async def test_a_new_queue_under_the_same_name_starts_its_depth_afresh() -> None:
    registry = CollectorRegistry()
    families = WorkqueueMetrics(registry)
    first = WorkQueue(metrics=families.for_queue(NAME))
    first.add("ns/a")
    first.add("ns/b")
    await first.shut_down()  # the leadership term ends with keys still queued
    assert sample(registry, "workqueue_depth") == 0
    second = WorkQueue()
    second.add("ns/c")
    second.use_metrics(families.for_queue(NAME))
    assert sample(registry, "workqueue_depth") == 1
    assert sample(registry, "workqueue_adds_total") == 2  # counters go on across terms


async def test_queues_are_labelled_by_name() -> None:
    registry = CollectorRegistry()
    families = WorkqueueMetrics(registry)
    WorkQueue(metrics=families.for_queue("deployment")).add("ns/a")
    WorkQueue(metrics=families.for_queue("replicaset")).add("ns/a")
    assert sample(registry, "workqueue_adds_total", "deployment") == 1
    assert sample(registry, "workqueue_adds_total", "replicaset") == 1
