"""The scheduling queue on a fake clock: active, backoff, unschedulable, and the moves between them."""

from __future__ import annotations

import asyncio

import pytest

from apimachinery.timeutil import FakeClock
from scheduler.queue import SchedulingQueue


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(clock: FakeClock) -> SchedulingQueue:
    return SchedulingQueue(clock=clock.monotonic)


def pop(queue: SchedulingQueue) -> tuple[str, int]:
    item = queue.pop_nowait()
    assert item is not None
    return item


def test_fifo_and_dedup(queue: SchedulingQueue) -> None:
    for key in ("a", "b", "a"):
        queue.add(key)
    assert [pop(queue)[0], pop(queue)[0]] == ["a", "b"]
    assert queue.pop_nowait() is None


def test_deleted_pod_is_not_popped(queue: SchedulingQueue) -> None:
    queue.add("a")
    queue.add("b")
    queue.delete("a")
    assert pop(queue)[0] == "b"
    assert queue.pop_nowait() is None


def test_unschedulable_waits_for_a_cluster_event_then_its_backoff(queue: SchedulingQueue, clock: FakeClock) -> None:
    queue.add("p")
    key, cycle = pop(queue)
    queue.add_unschedulable(key, cycle)
    clock.advance(0.5)
    queue.flush()
    assert queue.is_unschedulable("p") and queue.pop_nowait() is None
    queue.move_all()
    assert queue.is_backing_off("p")  # 1 s back-off after the first attempt is not over yet
    clock.advance(0.5)
    queue.flush()
    assert pop(queue)[0] == "p"


def test_move_after_backoff_expired_goes_straight_to_active(queue: SchedulingQueue, clock: FakeClock) -> None:
    queue.add("p")
    queue.add_unschedulable(*pop(queue))
    clock.advance(5)
    queue.move_all()
    assert queue.is_active("p")


@pytest.mark.parametrize(("attempts", "expected"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)])
def test_backoff_doubles_to_ten_seconds(queue: SchedulingQueue, attempts: int, expected: float) -> None:
    queue.add("p")
    for _ in range(attempts):
        queue.activate("p")
        key, cycle = pop(queue)
        queue.add_unschedulable(key, cycle)
    assert queue.backoff_duration("p") == expected


def test_parked_pods_are_flushed_after_sixty_seconds(queue: SchedulingQueue, clock: FakeClock) -> None:
    queue.add("p")
    queue.add_unschedulable(*pop(queue))
    clock.advance(59)
    queue.flush()
    assert queue.is_unschedulable("p")
    clock.advance(1)
    queue.flush()
    assert queue.is_active("p")


def test_a_cluster_change_during_the_attempt_is_not_missed(queue: SchedulingQueue, clock: FakeClock) -> None:
    queue.add("p")
    key, cycle = pop(queue)
    queue.move_all()  # e.g. a node was added while "p" was being evaluated against the old list
    queue.add_unschedulable(key, cycle)
    assert not queue.is_unschedulable("p")
    clock.advance(1)
    queue.flush()
    assert queue.is_active("p")


def test_an_update_while_in_flight_retries_after_done(queue: SchedulingQueue) -> None:
    queue.add("p")
    key, _ = pop(queue)
    queue.add(key)
    assert queue.pop_nowait() is None  # never two attempts at once
    queue.done(key)
    assert pop(queue)[0] == "p"


def test_activate_takes_a_parked_pod_out_at_once(queue: SchedulingQueue) -> None:
    queue.add("p")
    queue.add_unschedulable(*pop(queue))
    queue.add("p")  # a status-only update: stays parked
    assert queue.is_unschedulable("p")
    queue.activate("p")  # its spec changed
    assert queue.is_active("p")


async def test_pop_waits_for_an_add(queue: SchedulingQueue) -> None:
    waiter = asyncio.create_task(queue.pop())
    await asyncio.sleep(0)
    assert not waiter.done()
    queue.add("p")
    assert (await asyncio.wait_for(waiter, 1))[0] == "p"
