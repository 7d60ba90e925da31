"""A store-independent watch: a bounded queue of events in revision order.

A store creates one per subscriber with the history it replayed, then calls :meth:`publish`
for every later event in revision order; the watch drops what the subscriber already has, so a
replay and the live stream can overlap without duplicates. ``on_close`` lets the store forget
the subscriber.

A subscriber that falls behind is cut off, as the Kubernetes watch cache closes a cacheWatcher
whose buffer stays full: once the events published but not yet taken exceed ``max_events``, or
their encoded size exceeds ``max_bytes``, the watch drops its queue (memory is released at once)
and ends with :class:`WatchOverflowError`; the client re-lists. The replayed history is not
counted: it was read before the watch started and is bounded by the store's retention.

:class:`WatcherSet` is a store's set of subscribers. A watch that pins an indexed field to one
value (a kubelet's ``spec.nodeName=<node>``, a named watch's ``metadata.name=<name>``) is only
offered the events whose object had or has that value, as the Kubernetes watch cache's indexed
triggers do: with a thousand kubelets watching pods, an event wakes one watcher, not all.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator

from apimachinery.selectors import field_value
from apiserver.store.base import StoreEvent, WatchClosedError, WatchOverflowError

WATCH_QUEUE_LIMIT = 50_000  # events a watcher may fall behind by
WATCH_MAX_BYTES = 32 * 1024 * 1024  # and their encoded size
YIELD_EVERY = 32  # events a busy watch takes in a row before letting other tasks run
TIMER_SLACK = 0.001  # seconds two wake-up times may differ by and still share one timer
WAKE_SLICE = 64  # waiting watchers woken per turn of the event loop
INDEXED_FIELDS = ("metadata.name", "spec.nodeName")

Index = tuple[str, str]  # (one of INDEXED_FIELDS, the value the watcher wants)
Sizer = Callable[[StoreEvent], int]  # an event's size on the wire, for the byte bound


class QueueWatch:
    """Replayed history first, then published events; ``after`` is what the subscriber has."""

    def __init__(
        self,
        prefix: str,
        backlog: list[StoreEvent],
        *,
        after: int,
        on_close: Callable[[QueueWatch], None],
        limit: int = WATCH_QUEUE_LIMIT,
        index: Index | None = None,
    ) -> None:
        self.prefix = prefix
        self.index = index
        self._on_close = on_close
        self._on_overflow: Callable[[], None] | None = None
        self._max_events = limit
        self._max_bytes = 0  # 0: no byte bound
        self._size_of: Sizer | None = None
        self._backlog: deque[StoreEvent] = deque(backlog)
        self._pending: deque[tuple[StoreEvent, int]] = deque()  # published, with their sizes
        self._pending_bytes = 0
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0
        self._after = max([after, *(e.revision for e in backlog)])
        self._overflowed = False
        self._closed = False
        self._without_yield = 0

    def bound(
        self, *, max_events: int, max_bytes: int, size_of: Sizer, on_overflow: Callable[[], None] | None = None
    ) -> None:
        """Cut the watch off once more than ``max_events`` or ``max_bytes`` are waiting."""
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._size_of = size_of
        self._on_overflow = on_overflow

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    def publish(self, event: StoreEvent) -> None:
        if self._closed or event.revision <= self._after:
            return
        size = self._size_of(event) if self._size_of is not None and self._max_bytes else 0
        if len(self._pending) >= self._max_events or (
            self._max_bytes and self._pending_bytes + size > self._max_bytes
        ):
            self.overflow()
            return
        self._pending.append((event, size))
        self._pending_bytes += size
        self._wake()

    def overflow(self) -> None:
        """End the watch with WatchOverflowError: the subscriber must re-list."""
        if self._closed:
            return
        self._overflowed = True
        self._backlog.clear()
        self._pending.clear()
        self._pending_bytes = 0
        self.close()
        if self._on_overflow is not None:
            self._on_overflow()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._on_close(self)
            self._wake()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def poll(self) -> StoreEvent | None:
        """The next queued event without waiting, or None. Raises WatchClosedError once closed
        and drained (WatchOverflowError when cut off)."""
        if self._backlog:
            self._without_yield += 1
            return self._backlog.popleft()
        if self._pending:
            self._without_yield += 1
            event, size = self._pending.popleft()
            self._pending_bytes -= size
            return event
        if self._closed:
            raise WatchOverflowError(self.prefix) if self._overflowed else WatchClosedError(self.prefix)
        return None

    async def next(self, timeout: float) -> StoreEvent | None:
        """The next event, or None when ``timeout`` passes first. Raises WatchClosedError."""
        if self._without_yield >= YIELD_EVERY:  # a busy watch lets other tasks have their turns
            self._without_yield = 0
            await asyncio.sleep(0)
        event = self.poll()
        if event is not None:
            return event
        self._without_yield = 0
        loop = asyncio.get_running_loop()
        self._arm_timer(loop, loop.time() + timeout)
        waiter = self._waiter = loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None
        return self.poll()

    def _arm_timer(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        """A watch loop waits again and again for the same moment (its next bookmark or its
        end), so the timer stays armed across waits: an event costs no timer of its own."""
        if self._timer is not None and abs(self._timer_when - when) <= TIMER_SLACK:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._time_up)
        self._timer_when = when

    def _time_up(self) -> None:
        self._timer = None
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            _waker(self._waiter.get_loop()).add(self._waiter)


class _Waker:
    """Wakes waiting watchers ``WAKE_SLICE`` per turn of the event loop.

    One event may concern thousands of watchers; waking them all at once queues thousands of
    task steps ahead of every other request, so a ``/healthz`` arriving then waits for the
    whole fan-out (80 ms for 2,000 watches). In slices, the loop polls for I/O between them
    and a short request waits for one slice. Watchers woken later find more events queued
    and send them in one chunk.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._scheduled = False

    def add(self, waiter: asyncio.Future[None]) -> None:
        self._waiting.append(waiter)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._run)

    def _run(self) -> None:
        for _ in range(min(WAKE_SLICE, len(self._waiting))):
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
        if self._waiting:
            self._loop.call_soon(self._run)
        else:
            self._scheduled = False


_wakers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Waker] = weakref.WeakKeyDictionary()


def _waker(loop: asyncio.AbstractEventLoop) -> _Waker:
    waker = _wakers.get(loop)
    if waker is None:
        waker = _wakers[loop] = _Waker(loop)
    return waker

    async def __aiter__(self) -> AsyncIterator[StoreEvent]:
        while True:
            try:
                event = await self.next(3600.0)
            except WatchOverflowError:
                raise
            except WatchClosedError:
                return
            if event is not None:
                yield event


class WatcherSet:
    """A store's subscribers; :meth:`publish` offers an event to those it may concern."""

    def __init__(self) -> None:
        self._plain: set[QueueWatch] = set()
        self._indexed: dict[str, dict[str, set[QueueWatch]]] = {path: {} for path in INDEXED_FIELDS}

    def add(self, watcher: QueueWatch) -> None:
        if watcher.index is None:
            self._plain.add(watcher)
        else:
            path, value = watcher.index
            self._indexed[path].setdefault(value, set()).add(watcher)

    def discard(self, watcher: QueueWatch) -> None:
        if watcher.index is None:
            self._plain.discard(watcher)
            return
        path, value = watcher.index
        group = self._indexed[path].get(value)
        if group is not None:
            group.discard(watcher)
            if not group:
                del self._indexed[path][value]

    def __iter__(self) -> Iterator[QueueWatch]:
        """A snapshot: closing a watcher while iterating is allowed."""
        watchers = list(self._plain)
        for by_value in self._indexed.values():
            for group in by_value.values():
                watchers.extend(group)
        return iter(watchers)

    def __len__(self) -> int:
        return len(self._plain) + sum(len(g) for by_value in self._indexed.values() for g in by_value.values())

    def publish(self, event: StoreEvent) -> None:
        key = event.kv.key
        for watcher in list(self._plain):
            if key.startswith(watcher.prefix):
                watcher.publish(event)
        for path, by_value in self._indexed.items():
            if not by_value:
                continue
            values = {field_value(event.kv.value, path)}
            if event.prev is not None:
                values.add(field_value(event.prev.value, path))
            for value in values:
                for watcher in list(by_value.get(value, ())):
                    if key.startswith(watcher.prefix):
                        watcher.publish(event)
