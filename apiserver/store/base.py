"""The store interface: a revisioned key-value log, as etcd and kine present it.

Every write gets the next global revision; that revision is the object's resourceVersion.
Implementations: :mod:`apiserver.store.sqlite` (default, also used in-memory for tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from apimachinery import jsonio


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: dict[str, Any]
    create_revision: int
    mod_revision: int


@dataclass(frozen=True)
class StoreEvent:
    """One committed change. ``kv`` is the new state (for DELETED: the last state)."""

    type: str  # "ADDED" | "MODIFIED" | "DELETED"
    kv: KeyValue
    prev: KeyValue | None
    # Wire encodings by event type, filled by the first watcher to send it: every other
    # watcher of the same event sends the same bytes instead of encoding the object again.
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


def replay_events(rows: Iterable[Sequence[Any]]) -> list[StoreEvent]:
    """Log rows ``(id, name, created, deleted, create_revision, value, prev id, prev value)``,
    in id order, as the events a watcher replays."""
    events = []
    for rid, name, created, deleted, create_rev, value, pid, pvalue in rows:
        create_rev = create_rev or rid
        prev = KeyValue(name, jsonio.loads(pvalue), create_rev, pid) if pid is not None else None
        kind = "DELETED" if deleted else ("ADDED" if created else "MODIFIED")
        events.append(StoreEvent(kind, KeyValue(name, jsonio.loads(value), create_rev, rid), prev))
    return events


class KeyExistsError(Exception):
    """Create of a key that already exists."""


class KeyNotFoundError(Exception):
    """Update or delete of a key that does not exist."""


class RevisionConflictError(Exception):
    """The key changed since the revision the writer read (optimistic concurrency)."""


class CompactedError(Exception):
    """The requested revision is older than the retained history."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"too old resource version: {requested} ({compacted})")
        self.requested = requested
        self.compacted = compacted


class WatchClosedError(Exception):
    """The watch was closed (store shutting down); clients re-watch from their last revision."""


class WatchOverflowError(WatchClosedError):
    """A watcher fell too far behind; it must re-watch from its last revision."""


@dataclass(frozen=True)
class ListResult:
    items: list[KeyValue]
    revision: int
    more: bool


class Watch(Protocol):
    async def next(self, timeout: float) -> StoreEvent | None: ...

    def close(self) -> None: ...


class Store(Protocol):
    def current_revision(self) -> int: ...

    def committed_revision(self) -> int: ...

    async def sync(self) -> None:
        """Wait until every write made so far is durable."""
        ...

    def compacted_revision(self) -> int: ...

    def get(self, key: str) -> KeyValue | None: ...

    def list(
        self, prefix: str, *, start_after: str = "", limit: int = 0, revision: int = 0
    ) -> ListResult: ...

    def count(self, prefix: str) -> int: ...

    def create(self, key: str, value: dict[str, Any]) -> KeyValue: ...

    def update(self, key: str, value: dict[str, Any], *, expected_revision: int) -> KeyValue: ...

    def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue: ...

    def watch(self, prefix: str, *, after_revision: int, index: tuple[str, str] | None = None) -> Watch:
        """``index``: (field, value) the watcher's selector pins; the store may skip other events."""
        ...

    def compact(self, revision: int) -> int: ...

    def close_watches(self) -> None: ...

    def close(self) -> None: ...
