"""A store-independent watch: an unbounded-until-overflow queue of events in revision order.

A store creates one per subscriber with the history it replayed, then calls :meth:`publish`
for every later event in revision order; the watch drops what the subscriber already has, so a
replay and the live stream can overlap without duplicates. ``on_close`` lets the store forget
the subscriber.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from apiserver.store.base import StoreEvent, WatchClosedError, WatchOverflowError

WATCH_QUEUE_LIMIT = 50_000


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
    ) -> None:
        self.prefix = prefix
        self._on_close = on_close
        self._limit = limit
        self._queue: asyncio.Queue[StoreEvent | None] = asyncio.Queue()
        for event in backlog:
            self._queue.put_nowait(event)
        self._after = max([after, *(e.revision for e in backlog)])
        self._overflowed = False
        self._closed = False

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
