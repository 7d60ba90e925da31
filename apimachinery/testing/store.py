"""The fake API's store: a revision log in memory, shaped like the apiserver's.

Objects are kept as encoded JSON without ``metadata.resourceVersion``; one global revision
counter numbers every write, and an object's resourceVersion is the revision of its last write,
added on read - as the SQLite store does. Every write is a :class:`Change` that goes to the
history (watches replay it), to live watchers, and to the fake's informers: at once, or when the
test calls :meth:`FakeStore.deliver` (``auto_deliver=False``, an informer lagging behind).
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from apimachinery import jsonio
from apimachinery.resources import ResourceType
from apimachinery.testing.informers import Change, FakeInformer, Filter

Key = tuple[str | None, str]  # (namespace, name)


def with_revision(obj: dict[str, Any], revision: int) -> dict[str, Any]:
    """The stored value as clients see it: resourceVersion is the revision of its last write."""
    return {**obj, "metadata": {**obj.get("metadata", {}), "resourceVersion": str(revision)}}


@dataclass(frozen=True)
class Row:
    data: bytes  # the object as stored: JSON without metadata.resourceVersion
    revision: int

    def value(self) -> dict[str, Any]:
        obj: dict[str, Any] = jsonio.loads(self.data)
        return obj

    def served(self) -> dict[str, Any]:
        return with_revision(self.value(), self.revision)


@dataclass(frozen=True)
class Logged:
    """A change as the history keeps it: encoded, so a long test's history is not thousands of
    dicts for the garbage collector to walk."""

    type: str
    rt: ResourceType
    revision: int
    old: bytes | None
    new: bytes

    def change(self) -> Change:
        old = jsonio.loads(self.old) if self.old is not None else None
        return Change(self.type, self.rt, old, with_revision(jsonio.loads(self.new), self.revision), self.revision)


@dataclass
class _Watcher:
    rt: ResourceType
    queue: asyncio.Queue[Change] = field(default_factory=asyncio.Queue)


class FakeStore:
    def __init__(self, *, auto_deliver: bool) -> None:
        self.auto_deliver = auto_deliver
        self.revision = 0
        self.history: list[Logged] = []
        self._tables: dict[str, dict[Key, Row]] = {}
        self._undelivered: list[Change] = []
        self._informers: list[FakeInformer[Any]] = []
        self._watchers: list[_Watcher] = []

    # -- reads ---------------------------------------------------------------------------------

    def table(self, rt: ResourceType) -> dict[Key, Row]:
        return self._tables.setdefault(rt.plural, {})

    def row(self, rt: ResourceType, namespace: str | None, name: str) -> Row | None:
        return self.table(rt).get(key_of(rt, namespace, name))

    def current(self, rt: ResourceType, namespace: str | None, filt: Filter | None) -> builtins.list[dict[str, Any]]:
        """Current objects in key order (as the server lists them), optionally filtered."""
        rows = sorted(self.table(rt).items(), key=lambda item: f"{item[0][0] or ''}/{item[0][1]}")
        objs = [row.served() for (ns, _), row in rows if not (rt.namespaced and namespace) or ns == namespace]
        return [o for o in objs if filt is None or filt.matches(o)]

    # -- writes --------------------------------------------------------------------------------

    def commit(self, rt: ResourceType, key: Key, new: dict[str, Any], *, old: dict[str, Any] | None,
               at_once: bool = False) -> Row:
        """Store ``new`` (a dict nobody else holds) at the next revision and publish the change."""
        self.revision += 1
        table = self.table(rt)
        prev = table.get(key)
        row = table[key] = Row(jsonio.dumps(new), self.revision)
        kind = "ADDED" if old is None else "MODIFIED"
        self.history.append(Logged(kind, rt, self.revision, prev.data if prev is not None else None, row.data))
        self._publish(Change(kind, rt, old, with_revision(new, self.revision), self.revision), at_once)
        return row

    def commit_delete(self, rt: ResourceType, key: Key, row: Row, *, at_once: bool = False) -> dict[str, Any]:
        """Remove the object; watchers get its last stored value at the deletion's revision."""
        self.revision += 1
        del self.table(rt)[key]
        gone = Row(row.data, self.revision)
        self.history.append(Logged("DELETED", rt, self.revision, row.data, row.data))
        self._publish(Change("DELETED", rt, row.value(), gone.served(), self.revision), at_once)
        return gone.served()

    # -- delivery ------------------------------------------------------------------------------

    def add_informer(self, informer: FakeInformer[Any]) -> None:
        rt = informer.scope.rt
        informer.sync([(o, int(o["metadata"]["resourceVersion"])) for o in self.current(rt, informer.scope.namespace,
                                                                                        informer.scope)])
        self._informers.append(informer)

    def deliver(self) -> None:
        """Let the informers see every write made so far, in order."""
        pending, self._undelivered = self._undelivered, []
        for change in pending:
            for informer in self._informers:
                informer.observe(change)

    async def changes(self, rt: ResourceType, *, after: int, timeout: float) -> AsyncIterator[Change]:
        """Changes of ``rt`` after revision ``after``, from history then live, for ``timeout`` seconds."""
        watcher = _Watcher(rt)
        self._watchers.append(watcher)
        head = self.revision
        try:
            for logged in [c for c in self.history if c.rt is rt and after < c.revision <= head]:
                yield logged.change()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while (remaining := deadline - loop.time()) > 0:
                try:
                    change = await asyncio.wait_for(watcher.queue.get(), remaining)
                except TimeoutError:
                    return
                if change.revision > head:
                    yield change
        finally:
            self._watchers.remove(watcher)

    def _publish(self, change: Change, at_once: bool) -> None:
        for watcher in self._watchers:
            if watcher.rt is change.rt:
                watcher.queue.put_nowait(change)
        if at_once:
            for informer in self._informers:
                informer.observe(change)
            return
        self._undelivered.append(change)
        if self.auto_deliver:
            self.deliver()


def key_of(rt: ResourceType, namespace: str | None, name: str) -> Key:
    return (namespace if rt.namespaced else None, name)
