"""A deduplicating, rate-limited work queue of keys, as client-go's, for asyncio.

* A key waiting in the queue is stored once however often it is added.
* A key is never handed to two workers at once: adding a key being processed marks it dirty
  and it is re-queued when the worker calls :meth:`done`.
* Failures retry with per-key exponential back-off (:meth:`add_rate_limited`) until
  :meth:`forget`; ``add_after`` schedules timed re-checks so workers never sleep.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class ShutDownError(Exception):
    """The queue was shut down; workers should exit."""


class WorkQueue:
    def __init__(self, *, base_delay: float = 0.005, max_delay: float = 300.0, max_retries: int = 15) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retries = max_retries
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._failures: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._wakeup = asyncio.Condition()
        self._shutdown = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: str) -> None:
        if self._shutdown or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
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
        return key

    def done(self, key: str) -> None:
        """Finish processing ``key``; re-queue it if it was added meanwhile. Idempotent."""
        if key not in self._processing:
            return
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            asyncio.get_running_loop().create_task(self._notify())

    async def shut_down(self) -> None:
        self._shutdown = True
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
