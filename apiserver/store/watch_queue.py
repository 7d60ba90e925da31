"""A store-independent watch: an unbounded-until-overflow queue of events in revision order.

A store creates one per subscriber with the history it replayed, then calls :meth:`publish`
for every later event in revision order; the watch drops what the subscriber already has, so a
replay and the live stream can overlap without duplicates. ``on_close`` lets the store forget
the subscriber.

:class:`WatcherSet` is a store's set of subscribers. A watch that pins an indexed field to one
value (a kubelet's ``spec.nodeName=<node>``, a named watch's ``metadata.name=<name>``) is only
offered the events whose object had or has that value, as the Kubernetes watch cache's indexed
triggers do: with a thousand kubelets watching pods, an event wakes one watcher, not all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

from apimachinery.selectors import field_value
from apiserver.store.base import StoreEvent, WatchClosedError, WatchOverflowError

WATCH_QUEUE_LIMIT = 50_000
YIELD_EVERY = 32  # events a busy watch takes in a row before letting other tasks run
INDEXED_FIELDS = ("metadata.name", "spec.nodeName")

Index = tuple[str, str]  # (one of INDEXED_FIELDS, the value the watcher wants)


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
        self._limit = limit
        self._queue: asyncio.Queue[StoreEvent | None] = asyncio.Queue()
        for event in backlog:
            self._queue.put_nowait(event)
        self._after = max([after, *(e.revision for e in backlog)])
        self._overflowed = False
        self._closed = False
        self._without_yield = 0

    def publish(self, event: StoreEvent) -> None:
        if self._closed or event.revision <= self._after:
            return
        if self._queue.qsize() >= self._limit:
            self.overflow()
            return
        self._queue.put_nowait(event)

    def overflow(self) -> None:
        """End the watch with WatchOverflowError: the subscriber re-watches from its last revision."""
        self._overflowed = True
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._on_close(self)
            self._queue.put_nowait(None)

    async def next(self, timeout: float) -> StoreEvent | None:
        """The next event, or None when ``timeout`` passes first. Raises WatchClosedError."""
        if not self._queue.empty():  # a busy watch: no timer and no task per event,
            self._without_yield += 1
            if self._without_yield >= YIELD_EVERY:  # but other tasks still get their turns
                self._without_yield = 0
                await asyncio.sleep(0)
            event = self._queue.get_nowait()
        else:
            self._without_yield = 0
            try:
                event = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                return None
        if event is None:
            self._queue.put_nowait(None)  # stay closed for later calls
            raise WatchOverflowError(self.prefix) if self._overflowed else WatchClosedError(self.prefix)
        return event

    async def __aiter__(self) -> AsyncIterator[StoreEvent]:
        while True:
            event = await self._queue.get()
            if event is None:
                if self._overflowed:
                    raise WatchOverflowError(self.prefix)
                return
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
