"""The work queue as a specification: deduplication, one worker per key, cancellation, retries."""

from __future__ import annotations

import asyncio

import pytest

from apimachinery.workqueue import ShutDownError, WorkQueue, run_worker

TIMEOUT = 5.0


async def test_a_key_added_twice_waits_once() -> None:
    queue = WorkQueue()
    queue.add("a")
    queue.add("a")
    assert len(queue) == 1


async def test_a_key_added_while_processed_is_queued_again_once_when_done() -> None:
    queue = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")
    queue.add("a")
    assert len(queue) == 0  # never handed to a second worker meanwhile
    queue.done(key)
    assert len(queue) == 1


async def test_done_twice_queues_the_key_once() -> None:
    queue = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")
    queue.done(key)
    queue.done(key)
    assert len(queue) == 1


async def test_a_cancelled_worker_leaves_a_re_added_key_queued_once() -> None:
    queue = WorkQueue()
    started = asyncio.Event()

    async def sync(key: str) -> None:
        started.set()
        await asyncio.Event().wait()  # until cancelled

    queue.add("a")
    worker = asyncio.create_task(run_worker(queue, sync))
    await asyncio.wait_for(started.wait(), TIMEOUT)
    queue.add("a")  # the object changed while its sync ran
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    assert len(queue) == 1
    assert await asyncio.wait_for(queue.get(), TIMEOUT) == "a"
    assert len(queue) == 0


async def test_a_failed_sync_is_retried_and_a_successful_one_forgotten() -> None:
    queue = WorkQueue(base_delay=0.001)
    attempts: list[str] = []
    succeeded = asyncio.Event()

    async def sync(key: str) -> None:
        attempts.append(key)
        if len(attempts) < 3:
            raise RuntimeError("transient")
        succeeded.set()

    queue.add("a")
    worker = asyncio.create_task(run_worker(queue, sync))
    try:
        await asyncio.wait_for(succeeded.wait(), TIMEOUT)
    finally:
        await queue.shut_down()
        await asyncio.wait_for(worker, TIMEOUT)
    assert attempts == ["a", "a", "a"]
    assert queue.num_requeues("a") == 0


@pytest.mark.parametrize(
    ("failures", "max_retries", "requeued"),
    [
        pytest.param(1, 3, 1, id="first-failure-retries"),
        pytest.param(3, 3, 3, id="up-to-the-limit"),
        pytest.param(4, 3, 0, id="dropped-after-the-limit"),
    ],
)
async def test_rate_limited_retries_stop_at_the_limit(failures: int, max_retries: int, requeued: int) -> None:
    queue = WorkQueue(max_retries=max_retries)
    for _ in range(failures):
        queue.add_rate_limited("a")
    assert queue.num_requeues("a") == requeued
    await queue.shut_down()


async def test_shut_down_wakes_a_waiting_worker() -> None:
    queue = WorkQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)  # let it wait
    await queue.shut_down()
    with pytest.raises(ShutDownError):
        await asyncio.wait_for(getter, TIMEOUT)
