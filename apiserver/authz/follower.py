"""Follow store prefixes into in-memory views: list once, then apply every event as it commits.

Authorization reads its roles, bindings and pods from memory, not from the store, so a decision
costs a few dictionary lookups. The watch is opened before the list, so nothing committed in
between is missed; applying an event is idempotent (a view keeps the newest revision per key),
so what the list already holds is harmless to see again. :meth:`Follower.catch_up` drains what
has been published without waiting: the authorizer calls it before every decision, and a write
the store acknowledged (to any client) is published before the acknowledgement, so the next
request sees it. A watch that is cut off (overflow, store reload) is re-listed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from apiserver.store.base import KeyValue, Store, StoreEvent, Watch, WatchClosedError

log = logging.getLogger(__name__)

IDLE_WAIT = 5.0  # seconds the background drain waits for an event before looking again


class View(Protocol):
    """What a followed prefix feeds: a key's new value (None: deleted) at a revision."""

    def put(self, key: str, value: dict[str, Any] | None, revision: int) -> None: ...

    def reset(self) -> None: ...


class _Polling(Watch, Protocol):
    def poll(self) -> StoreEvent | None: ...


@dataclass
class _Followed:
    prefix: str
    view: View
    watch: _Polling | None = None


class Follower:
    def __init__(self, store: Store, views: Sequence[tuple[str, View]]) -> None:
        self.store = store
        self._followed = [_Followed(prefix, view) for prefix, view in views]

    def start(self) -> None:
        for followed in self._followed:
            self._relist(followed)

    def _relist(self, followed: _Followed) -> None:
        if followed.watch is not None:
            followed.watch.close()
        followed.watch = cast(_Polling, self.store.watch(followed.prefix, after_revision=0))
        followed.view.reset()
        listed = self.store.list(followed.prefix)
        for kv in listed.items:
            followed.view.put(kv.key, kv.value, kv.mod_revision)

    def catch_up(self) -> bool:
        """Apply every published event; True when any view changed."""
        changed = False
        for followed in self._followed:
            changed |= self._drain(followed)
        return changed

    def _drain(self, followed: _Followed) -> bool:
        changed = False
        while True:
            if followed.watch is None:
                self._relist(followed)
                changed = True
            assert followed.watch is not None
            try:
                event = followed.watch.poll()
            except WatchClosedError:
                log.info("watch of %s ended; listing again", followed.prefix)
                followed.watch = None
                continue
            if event is None:
                return changed
            _apply(followed.view, event)
            changed = True

    async def run(self, on_change: Callable[[], None]) -> None:
        """Keep the views current while no request asks (so watch queues never fill up), and
        call ``on_change`` here, in the background, after the first view changed."""
        first = self._followed[0]
        changed = True
        while True:
            if changed:
                on_change()
            changed = False
            try:
                if first.watch is None:
                    self._relist(first)
                    changed = True
                else:
                    event = await first.watch.next(IDLE_WAIT)
                    if event is not None:
                        _apply(first.view, event)
                        changed = True
            except WatchClosedError:
                first.watch = None
            changed |= self._drain(first)
            for followed in self._followed[1:]:
                self._drain(followed)

    def close(self) -> None:
        for followed in self._followed:
            if followed.watch is not None:
                followed.watch.close()
                followed.watch = None


def _apply(view: View, event: StoreEvent) -> None:
    kv: KeyValue = event.kv
    view.put(kv.key, None if event.type == "DELETED" else kv.value, kv.mod_revision)
