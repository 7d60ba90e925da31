"""kube-scheduler's series move with attempts: a pod bound counts as ``scheduled`` once its binding
is written, one that fits nowhere as ``unschedulable``, a rejected binding as ``error``; pending
pods are counted by the queue they wait in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from scheduler.metrics import SchedulerMetrics
from tests.scheduler.harness import Harness
from tests.scheduler.objects import make_node, make_pod

PROFILE = "default-scheduler"


def attempts(h: Harness, result: str) -> float:
    labels = {"result": result, "profile": PROFILE}
    return h.scheduler.metrics.registry.get_sample_value("scheduler_schedule_attempts_total", labels) or 0.0


def timed(h: Harness, result: str) -> float:
    labels = {"result": result, "profile": PROFILE}
    return h.scheduler.metrics.registry.get_sample_value(
        "scheduler_scheduling_attempt_duration_seconds_count", labels) or 0.0


def pending(h: Harness, queue: str) -> float:
    return h.scheduler.metrics.registry.get_sample_value("scheduler_pending_pods", {"queue": queue}) or 0.0


async def test_a_bound_pod_counts_as_scheduled(harness: Harness) -> None:
    harness.add_node(make_node("n1"))
    harness.create_pod(make_pod("web"))
    assert pending(harness, "active") == 1
    await harness.drain()
    assert (attempts(harness, "scheduled"), attempts(harness, "unschedulable")) == (1, 0)
    assert timed(harness, "scheduled") == 1
    assert pending(harness, "active") == 0


async def test_a_pod_that_fits_nowhere_counts_as_unschedulable_and_waits_there(harness: Harness) -> None:
    harness.add_node(make_node("n1", cpu="1"))
    harness.create_pod(make_pod("big", cpu="2"))
    await harness.drain()
    assert (attempts(harness, "scheduled"), attempts(harness, "unschedulable")) == (0, 1)
    assert timed(harness, "unschedulable") == 1
    assert pending(harness, "unschedulable") == 1
    harness.advance(60)  # the periodic flush tries it again
    await harness.drain()
    assert attempts(harness, "unschedulable") == 2


async def test_a_rejected_binding_counts_as_an_error(harness: Harness) -> None:
    harness.add_node(make_node("n1"))
    harness.api.fail("bind", "pods")
    harness.create_pod(make_pod("web"))
    await harness.drain()
    assert attempts(harness, "error") == 1
    assert pending(harness, "backoff") == 1
    harness.advance(2)
    await harness.drain()
    assert attempts(harness, "scheduled") == 1


def test_the_pending_family_parses_with_every_queue() -> None:
    registry = CollectorRegistry()
    metrics = SchedulerMetrics(registry)
    assert generate_latest(registry).count(b"scheduler_pending_pods") == 0  # no queue yet, no family

    class Queue:
        def stats(self) -> dict[str, int]:
            return {"active": 3, "backoff": 1, "unschedulable": 2, "in_flight": 1}

    metrics.track(Queue())
    [family] = [f for f in text_string_to_metric_families(generate_latest(registry).decode())
                if f.name == "scheduler_pending_pods"]
    assert {s.labels["queue"]: s.value for s in family.samples} == {
        "active": 3, "backoff": 1, "unschedulable": 2, "gated": 0}
