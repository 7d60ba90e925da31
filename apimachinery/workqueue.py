"""A deduplicating, rate-limited work queue of keys, as client-go's, for asyncio.

* A key waiting in the queue is stored once however often it is added.
* A key is never handed to two workers at once: adding a key being processed marks it dirty
  and it is re-queued when the worker calls :meth:`done`.
* Failures retry with per-key exponential back-off (:meth:`add_rate_limited`) until
  :meth:`forget`; ``add_after`` schedules timed re-checks so workers never sleep.
* What happens is told to a :class:`QueueMetrics` (client-go's ``MetricsProvider``): the depth
  after each change, each add, how long a key waited and how long it was worked, each retry.
  The default tells nobody; :mod:`apimachinery.queuemetrics` records them in Prometheus.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)


class ShutDownError(Exception):
    """The queue was shut down; workers should exit."""


class QueueMetrics(Protocol):
    """What a queue reports, as client-go's ``queueMetrics`` (one per named queue)."""

    def depth(self, keys: int) -> None: ...

    def added(self) -> None: ...

    def waited(self, seconds: float) -> None: ...

    def worked(self, seconds: float) -> None: ...

    def retried(self) -> None: ...


class NoMetrics:
    def depth(self, keys: int) -> None:
        pass

    def added(self) -> None:
        pass

    def waited(self, seconds: float) -> None:
        pass

    def worked(self, seconds: float) -> None:
        pass

    def retried(self) -> None:
        pass


class WorkQueue:
    def __init__(self, *, base_delay: float = 0.005, max_delay: float = 300.0, max_retries: int = 15,
                 metrics: QueueMetrics | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retries = max_retries
        self.metrics: QueueMetrics = metrics or NoMetrics()
        self._clock = clock
        self._added_at: dict[str, float] = {}  # key -> when it was added (queue duration)
        self._started_at: dict[str, float] = {}  # key -> when a worker took it (work duration)
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._failures: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._wakeup = asyncio.Condition()
        self._shutdown = False

    def __len__(self) -> int:
        return len(self._queue)

    def use_metrics(self, metrics: QueueMetrics) -> None:
        """Report to ``metrics`` from now on (the controller manager names each controller's queue)."""
        self.metrics = metrics
        metrics.depth(len(self._queue))

    def add(self, key: str) -> None:
        if self._shutdown or key in self._dirty:
            return
        self._dirty.add(key)
        self._added_at.setdefault(key, self._clock())
        self.metrics.added()
        if key not in self._processing:
            self._queue.append(key)
            self.metrics.depth(len(self._queue))
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._wakeup:
            self._wakeup.notify()

    def add_after(self, key: str, delay: float) -> None:
        """Add ``key`` after ``delay`` seconds; an earlier pending schedule wins."""
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        existing = self._timers.get(key)
        if existing is not None and existing.when() <= due:
            return
        if existing is not None:
            existing.cancel()
        self._timers[key] = loop.call_at(due, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: str) -> None:
        failures = self._failures.get(key, 0)
        if failures >= self.max_retries:
            log.warning("dropping %s after %d retries", key, failures)
            self.forget(key)
            return
        self._failures[key] = failures + 1
        self.metrics.retried()
        self.add_after(key, min(self.base_delay * (2**failures), self.max_delay))

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: str) -> int:
        return self._failures.get(key, 0)

    async def get(self) -> str:
        async with self._wakeup:
            while not self._queue:
                if self._shutdown:
                    raise ShutDownError()
                await self._wakeup.wait()
            key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        now = self._clock()
        self.metrics.depth(len(self._queue))
        self.metrics.waited(now - self._added_at.pop(key, now))
        self._started_at[key] = now
        return key

    def done(self, key: str) -> None:
        """Finish processing ``key``; re-queue it if it was added meanwhile. Idempotent."""
        if key not in self._processing:
            return
        self._processing.discard(key)
        started = self._started_at.pop(key, None)
        if started is not None:
            self.metrics.worked(self._clock() - started)
        if key in self._dirty:
            self._queue.append(key)
            self.metrics.depth(len(self._queue))
            asyncio.get_running_loop().create_task(self._notify())

    async def shut_down(self) -> None:
        self._shutdown = True
        self.metrics.depth(0)  # a new leadership term's queue starts from nothing
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        async with self._wakeup:
            self._wakeup.notify_all()


async def run_worker(queue: WorkQueue, sync: Callable[[str], Awaitable[None]], *, name: str = "worker") -> None:
    """Process keys until the queue shuts down: success forgets the key, failure retries it.

    ``done`` runs exactly once per key taken, in ``finally``, also when the worker is cancelled
    (a cancelled sync's key, re-added meanwhile, is queued once for the next worker)."""
    while True:
        try:
            key = await queue.get()
        except ShutDownError:
            return
        try:
            await sync(key)
            queue.forget(key)
        except Exception as err:
            log.warning("%s: sync %s failed (retry %d): %s", name, key, queue.num_requeues(key) + 1, err)
            queue.add_rate_limited(key)
        finally:
            queue.done(key)
