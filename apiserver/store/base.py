"""The store interface: a revisioned key-value log, as etcd and kine present it.

Every write gets the next global revision; that revision is the object's resourceVersion.
Implementations: :mod:`apiserver.store.sqlite` (default, also used in-memory for tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from apimachinery import jsonio
from apimachinery.errors import ApiError


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: dict[str, Any]
    create_revision: int
    mod_revision: int
    # The object as clients see it, encoded by the first LIST that returns this revision: every
    # later LIST sends the same bytes instead of copying and encoding the object again.
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)


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


Decode = Callable[[str, str], dict[str, Any]]  # (storage key, stored text) -> object


def plain_decode(_: str, text: str) -> dict[str, Any]:
    value: dict[str, Any] = jsonio.loads(text)
    return value


def replay_events(rows: Iterable[Sequence[Any]], decode: Decode = plain_decode) -> list[StoreEvent]:
    """Log rows ``(id, name, created, deleted, create_revision, value, prev id, prev value)``,
    in id order, as the events a watcher replays."""
    events = []
    for rid, name, created, deleted, create_rev, value, pid, pvalue in rows:
        create_rev = create_rev or rid
        prev = KeyValue(name, decode(name, pvalue), create_rev, pid) if pid is not None else None
        kind = "DELETED" if deleted else ("ADDED" if created else "MODIFIED")
        events.append(StoreEvent(kind, KeyValue(name, decode(name, value), create_rev, rid), prev))
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


class StorageError(ApiError):
    """The store could not do its part: the disk is full, a commit failed or is stuck, a value
    cannot be encoded. An :class:`ApiError`, so the apiserver answers with the Status as it is;
    the code tells the client whether retrying can help (507 and 503: once the cause is gone;
    504 after a write: it may still complete)."""


def insufficient_storage(cause: str) -> StorageError:
    return StorageError(507, "InsufficientStorage", f"the store is out of space: {cause}; "
                        "writes fail until space is freed")


def storage_unavailable(cause: str) -> StorageError:
    return StorageError(503, "ServiceUnavailable", f"the store cannot commit writes: {cause}", retry_after=1)


def storage_timeout(cause: str) -> StorageError:
    return StorageError(504, "Timeout", f"the store did not answer in time: {cause}")


def unencodable(err: Exception) -> StorageError:
    """A value JSON cannot carry: a client's lone surrogate (400), or a server bug (500)."""
    if isinstance(err, UnicodeError):
        return StorageError(400, "BadRequest", f"the object cannot be stored: {err}")
    return StorageError(500, "InternalError", f"the object cannot be stored: {type(err).__name__}: {err}")


def encode(value: dict[str, Any]) -> str:
    """The stored text of ``value``; raises StorageError (before anything changed) if it has none."""
    try:
        return jsonio.dumps_text(value)
    except (ValueError, TypeError, RecursionError) as err:  # UnicodeEncodeError is a ValueError
        raise unencodable(err) from None


class StoreLockedError(RuntimeError):
    """Another process holds the store's data: a second writer would corrupt it."""

    def __init__(self, path: str, pid: int | None) -> None:
        holder = f"pid {pid}" if pid else "pid unknown"
        super().__init__(f"{path} is locked by another process ({holder})")
        self.path = path
        self.pid = pid


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

    async def wait_fresh(self) -> None:
        """Wait until reads see only durable state, including every write committed (by any
        apiserver) before the call: the barrier before a request reads. A write rolled back
        meanwhile is gone from the live state, so only a stuck store raises (StorageError)."""
        ...

    async def sync(self) -> None:
        """Wait until every write made so far is durable: the barrier before a request is
        answered. Raises StorageError if one of them was rolled back (a failed commit: the
        cause, e.g. 507 for a full disk) or the store is stuck (504 past its deadline)."""
        ...

    async def health(self) -> str | None:
        """None when the store reads and commits; otherwise what is wrong (for ``/readyz``)."""
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
