"""The shared store: the kine-style revision log in PostgreSQL, so several apiservers can serve
one cluster (the k3s ``--datastore-endpoint`` model).

Schema: the same log as :mod:`apiserver.store.sqlite` (row id = resourceVersion, unique
``(name, prev_revision)``, tombstones, ``create_revision = 0`` meaning "my own id") plus a
``meta`` table holding the compacted revision. ``value`` is ``text``, not ``jsonb``: jsonb
reorders object keys and refuses ``\\u0000``; the log only stores and returns documents.
``name`` uses the "C" collation so the database orders keys exactly as Python does (paging
with a continue token mixes lists from memory and from the database).

Every apiserver keeps the live state in memory (its watch cache) and a set of watchers, and
keeps both current by **polling** the log for rows after the last id it applied (every 100 ms,
synchronously after each of its own writes, and at the start of every request through
:meth:`PostgresStore.wait_fresh`). Rows are applied strictly in id order, one at a time, and each
applied row is published to the watchers, so every apiserver emits the same events in the same
order, with no gaps and no duplicates.

Ordering. Ids come from a sequence, and two concurrent transactions can commit out of id order:
a poller could see id 10 while id 9 is still in flight, and skipping 9 would lose an event.
kine polls, waits about a second for a missing id, then inserts a "fill" row to take the id
away from a straggler. Here writers are serialized instead: every write transaction first
takes one transaction-level advisory lock and only then draws its id, and PostgreSQL makes a
commit visible *before* it releases the transaction's locks. So a transaction that holds id N
ended (committed and visible, or aborted) before id N+1 was even drawn; whenever a snapshot
shows id N+1, id N is either in it or gone for ever (a rolled-back insert). The poller therefore
never waits and never fills: a hole below a visible id is permanent and simply skipped. The
price is that writes to one database commit one at a time across all apiservers (one short
transaction each), which is ample for a cluster's write rate.

Writes. ``create``/``update``/``delete`` check against the database, not the local cache
(which may be behind another apiserver): a single ``INSERT ... SELECT`` reads the key's latest
row and inserts only when it is absent/deleted (create) or is the expected revision (update,
delete). Zero rows inserted means "exists", "not found" or "conflict"; a unique violation on
``(name, prev_revision)`` (a race the lock makes impossible, kept as the schema's guarantee)
maps the same way. Writes are synchronous: the event loop blocks for one short transaction,
then catches up on the log up to and including the new row, so the writer reads its own write
at once and ``sync()`` has nothing to flush. Durability is PostgreSQL's commit. A failed write
rolled back in the database and changed nothing here; the database's error becomes a Status
(507 when it is out of space, 503 when unreachable, 504 on a lock timeout).

Reading state at an older revision (paging, watch replay) queries the log in one snapshot
together with the compacted revision, so a compaction by another apiserver can never produce a
silently incomplete answer. A poller that finds the log compacted past its own position (it was
stalled for minutes) reloads the live state and ends its watches; clients re-watch or re-list.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import errors as pgerrors

from apiserver.store.base import (
    CompactedError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    RevisionConflictError,
    StorageError,
    StoreEvent,
    insufficient_storage,
    replay_events,
    storage_timeout,
    storage_unavailable,
)
from apiserver.store.encryption import PLAIN, ValueCodec
from apiserver.store.live import LiveReads, LiveState
from apiserver.store.postgres_sql import (
    COMPACT,
    COMPACTED,
    INSERT_CREATE,
    INSERT_DELETE,
    INSERT_UPDATE,
    KEY_END,
    LATEST,
    LIVE,
    LOCK,
    POLL_BATCH,
    REPLAY,
    SCHEMA,
    SNAPSHOT,
    WRITE_LOCK,
    Connection,
    Row,
    connect,
    fetch_after,
    scalar,
)
from apiserver.store.watch_queue import Index, QueueWatch, WatcherSet

POLL_INTERVAL = 0.1
FRESH_DEADLINE = 10.0  # seconds a request waits for a poll of the log before failing with 504
STUCK_AFTER = 2.0  # no poll completed for this long (past the interval) makes /readyz fail

log = logging.getLogger(__name__)





class PostgresStore(LiveReads):
    """Revision log in PostgreSQL shared by any number of apiservers; ``url`` is a libpq URL."""

    def __init__(
        self, url: str, *, poll_interval: float = POLL_INTERVAL, fresh_deadline: float = FRESH_DEADLINE,
        codec: ValueCodec = PLAIN,
    ) -> None:
        self.url = url
        self._codec = codec
        self.poll_interval = poll_interval
        self.fresh_deadline = fresh_deadline
        self._db = connect(self.url)  # the event loop's connection: writes, catch-up, old reads
        self._poll_db: Connection | None = None  # the poller thread's connection, under _poll_lock
        self._poll_lock = threading.Lock()
        self._live = LiveState()
        self._watchers = WatcherSet()
        self._revision = 0
        self._compacted = 0
        self._poller: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._sync_waiters: builtins.list[asyncio.Future[None]] = []
        self._closed = False
        self._last_poll: float | None = None  # loop time of the last poll that reached the database
        self._poll_error: StorageError | None = None
        with self._db.transaction():
            self._db.execute(LOCK, (WRITE_LOCK,))  # CREATE ... IF NOT EXISTS races otherwise
            for statement in SCHEMA:
                self._db.execute(statement)
        try:
            self._load()  # decrypts every live Secret: a wrong or missing key stops here
        except BaseException:
            self._db.close()
            raise

    def _conn(self) -> Connection:
        if self._closed:
            raise storage_unavailable("the store is closed")
        if self._db.closed or self._db.broken:
            self._db = connect(self.url)
        return self._db

    # -- reading ---------------------------------------------------------------------------

    def committed_revision(self) -> int:
        """Every row up to here is applied to the cache and published to the watchers."""
        return self._revision

    def list(self, prefix: str, *, start_after: str = "", limit: int = 0, revision: int = 0) -> ListResult:
        """Objects under ``prefix`` in key order; ``revision`` pins an older snapshot (paging)."""
        if revision > self._revision:
            with database_errors():
                self._catch_up()  # a revision another apiserver served, which this one has not seen yet
        if revision and revision != self._revision:
            return self._list_at(prefix, start_after=start_after, limit=limit, revision=revision)
        items, more = self._live.page(prefix, start_after=start_after, limit=limit)
        return ListResult(items, self._revision, more)

    def _list_at(self, prefix: str, *, start_after: str, limit: int, revision: int) -> ListResult:
        if revision < self._compacted or revision > self._revision:
            raise CompactedError(revision, self._compacted)
        params = {"after": start_after, "lo": prefix, "hi": prefix + KEY_END, "rev": revision,
                  "limit": limit + 1 if limit else None}
        with database_errors():
            db = self._conn()
            with db.transaction():
                db.execute(SNAPSHOT)
                self._check_compacted(db, revision)
                rows = db.execute(LIVE, params).fetchall()
        more = bool(limit) and len(rows) > limit
        items = [KeyValue(r[0], self._codec.decode(r[0], r[1]), r[2] or r[3], r[3]) for r in rows[: limit or None]]
        return ListResult(items, revision, more)

    def _check_compacted(self, db: Connection, revision: int) -> None:
        """Raise CompactedError if any apiserver compacted past ``revision`` (same snapshot)."""
        compacted = scalar(db, COMPACTED)
        self._compacted = max(self._compacted, compacted)
        if revision < compacted:
            raise CompactedError(revision, compacted)

    # -- writing ---------------------------------------------------------------------------

    def create(self, key: str, value: dict[str, Any]) -> KeyValue:
        row, _ = self._write(INSERT_CREATE, {"name": key, "value": self._codec.encode(key, value)}, lost=KeyExistsError)
        if row is None:
            raise KeyExistsError(key)
        return KeyValue(key, value, row[0], row[0])

    def update(self, key: str, value: dict[str, Any], *, expected_revision: int) -> KeyValue:
        params = {"name": key, "value": self._codec.encode(key, value), "expected": expected_revision}
        row, latest = self._write(INSERT_UPDATE, params, lost=RevisionConflictError)
        if row is None:
            raise KeyNotFoundError(key) if latest is None or latest[1] else RevisionConflictError(key)
        return KeyValue(key, value, row[1], row[0])

    def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        params = {"name": key, "expected": expected_revision}
        row, latest = self._write(INSERT_DELETE, params, lost=RevisionConflictError)
        if row is None:
            raise KeyNotFoundError(key) if latest is None or latest[1] else RevisionConflictError(key)
        return KeyValue(key, self._codec.decode(key, row[2]), row[1], row[0])

    def _write(
        self, sql: str, params: dict[str, Any], *, lost: type[Exception]
    ) -> tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]:
        """Run one guarded INSERT under the writers' lock; return (inserted row, latest row).

        The latest row is read (in the same transaction) only when nothing was inserted, to
        tell "not found" from "conflict". Then catch up, so this write is visible at once.
        """
        latest = None
        try:
            db = self._conn()
            with db.transaction():
                db.execute(LOCK, (WRITE_LOCK,))
                row = db.execute(sql, params).fetchone()
                if row is None:
                    latest = db.execute(LATEST, (params["name"],)).fetchone()
        except pgerrors.UniqueViolation:
            raise lost(params["name"]) from None
        except psycopg.Error as err:  # rolled back: nothing changed, the Status names the cause
            raise postgres_error(err) from err
        if row is not None:
            try:
                self._catch_up()
            except psycopg.Error as err:  # the write is durable; the poller applies it later
                log.warning("catching up after a write failed: %s", err)
        return row, latest

    # -- following the log -----------------------------------------------------------------

    def _catch_up(self) -> None:
        """Apply every row committed so far, on the event loop's connection (blocking briefly)."""
        while True:
            compacted, rows = fetch_after(self._conn(), self._revision)
            self._apply_rows(compacted, rows)
            if len(rows) < POLL_BATCH:
                return

    def _apply_rows(self, compacted: int, rows: builtins.list[Row]) -> None:
        """Apply rows after the current revision in id order; holes below a visible id are
        rolled-back inserts (writers are serialized), so they are skipped, never waited for."""
        if compacted > self._revision:
            self._resync(compacted)
            return
        self._compacted = max(self._compacted, compacted)
        for row in rows:
            if row[0] > self._revision:  # a slower poll may return rows a catch-up applied
                self._apply(row)

    def _apply(self, row: Row) -> None:
        rid, name, created, deleted, create_rev, text = row
        prev = None if created else self._live.get(name)
        value = prev.value if deleted and prev is not None else self._codec.decode(name, text)
        kv = KeyValue(name, value, create_rev or rid, rid)
        if deleted:
            self._live.remove(name)
        else:
            self._live.put(kv)
        self._revision = rid
        event = StoreEvent("DELETED" if deleted else ("ADDED" if created else "MODIFIED"), kv, prev)
        self._watchers.publish(event)

    def _resync(self, compacted: int) -> None:
        """The log was compacted past this apiserver's position: reload, end every watch."""
        log.warning("log compacted to %d past this apiserver's revision %d; reloading", compacted, self._revision)
        self._load()
        for watcher in self._watchers:
            watcher.overflow()

    async def sync(self) -> None:
        """Writes commit before they return and are applied at once: nothing to wait for."""
        if self._closed:
            raise storage_unavailable("the store is closed")

    async def wait_fresh(self) -> None:
        """Return once this apiserver has applied every write committed before the call.

        This is freshness across apiservers (a consistent read, as Kubernetes' watch cache
        waits for etcd's current revision): it waits for one poll that started after the call,
        at most ``fresh_deadline`` seconds (504). Concurrent callers share that poll.
        """
        if self._closed:
            raise storage_unavailable("the store is closed")
        self._ensure_poller()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sync_waiters.append(future)
        assert self._wake is not None
        self._wake.set()
        try:
            await asyncio.wait_for(future, self.fresh_deadline)
        except TimeoutError:
            raise storage_timeout(f"the log was not polled within {self.fresh_deadline:g}s") from None

    async def health(self) -> str | None:
        """Why this apiserver cannot serve from the database, or None."""
        if self._closed:
            return "the store is closed"
        self._ensure_poller()
        if self._poll_error is not None:
            return self._poll_error.message
        now = asyncio.get_running_loop().time()
        if self._last_poll is not None and now - self._last_poll > self.poll_interval + STUCK_AFTER:
            return f"the log has not been polled for {now - self._last_poll:.1f}s"
        return None

    def _ensure_poller(self) -> None:
        loop = asyncio.get_running_loop()
        if self._poller is None or self._poller.done() or self._poller.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._sync_waiters = []
            self._poller = loop.create_task(self._poll_loop(self._wake))

    async def _poll_loop(self, wake: asyncio.Event) -> None:
        waiters: builtins.list[asyncio.Future[None]] = []
        try:
            while not self._closed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.poll_interval)
                wake.clear()
                waiters, self._sync_waiters = self._sync_waiters, []
                error = await self._poll_once()
                _release(waiters, error)
        finally:  # cancelled (the loop is ending) or closed: nobody may wait for ever
            if self._poller is asyncio.current_task():
                waiters += self._sync_waiters
            _release(waiters, storage_unavailable("the store is closed"))

    async def _poll_once(self) -> StorageError | None:
        """Fetch in a worker thread (the loop never waits on the network), apply on the loop."""
        if self._last_poll is None:
            self._last_poll = asyncio.get_running_loop().time()
        try:
            while True:
                compacted, rows = await asyncio.to_thread(self._fetch_polled, self._revision)
                self._apply_rows(compacted, rows)
                if len(rows) < POLL_BATCH:
                    break
        except Exception as err:  # the database is unreachable: fail this round, keep polling
            if not self._closed:
                log.warning("polling the log failed: %s", err)
            self._poll_error = storage_unavailable(f"polling the log failed: {err}")
            return self._poll_error
        self._poll_error = None
        self._last_poll = asyncio.get_running_loop().time()
        return None

    def _fetch_polled(self, after: int) -> tuple[int, builtins.list[Row]]:
        with self._poll_lock:
            if self._closed:
                raise storage_unavailable("the store is closed")
            if self._poll_db is None or self._poll_db.closed or self._poll_db.broken:
                self._poll_db = connect(self.url)
            return fetch_after(self._poll_db, after)

    # -- watching --------------------------------------------------------------------------

    def watch(self, prefix: str, *, after_revision: int, index: Index | None = None) -> QueueWatch:
        """Events after ``after_revision`` (0: from now). Raises CompactedError if too old."""
        with contextlib.suppress(RuntimeError):  # no running loop: nothing will be published
            self._ensure_poller()
        if after_revision and after_revision < self._compacted:
            raise CompactedError(after_revision, self._compacted)
        backlog = self._replay(prefix, after_revision) if 0 < after_revision < self._revision else []
        watcher = QueueWatch(
            prefix, backlog, after=max(after_revision, self._revision), on_close=self._watchers.discard, index=index
        )
        self._watchers.add(watcher)
        return watcher

    def _replay(self, prefix: str, after: int) -> builtins.list[StoreEvent]:
        """Rows in (after, current revision] from the log; later ones arrive by polling."""
        with database_errors():
            db = self._conn()
            with db.transaction():
                db.execute(SNAPSHOT)
                self._check_compacted(db, after)
                rows = db.execute(REPLAY, (after, self._revision, prefix, prefix + KEY_END)).fetchall()
        return replay_events(rows, self._codec.decode)

    # -- maintenance -----------------------------------------------------------------------

    def compact(self, revision: int) -> int:
        """Drop history at or below ``revision``, keeping each key's state as of that revision.

        As in the SQLite store, incrementally: predecessors of rows written since the last
        compaction, then tombstones in that window. The window starts at the compacted revision
        recorded in the database (another apiserver may have moved it), under the writers'
        lock so two apiservers never compact the same window at once.
        """
        revision = min(revision, self._revision)
        if revision <= self._compacted:
            return self._compacted
        with database_errors():
            db = self._conn()
            with db.transaction():
                db.execute(LOCK, (WRITE_LOCK,))
                done = scalar(db, COMPACTED)
                if revision > done:
                    for statement in COMPACT:
                        db.execute(statement, {"done": done, "rev": revision})
                    done = revision
        self._compacted = max(self._compacted, done)
        return self._compacted

    def history_rows(self) -> int:
        return scalar(self._conn(), "SELECT COUNT(*) FROM log")

    def close_watches(self) -> None:
        """End every watch stream (clients re-watch from their last revision)."""
        for watcher in self._watchers:
            watcher.close()

    def close(self) -> None:
        if self._closed:
            return
        self.close_watches()
        self._closed = True
        poller = self._poller
        if poller is not None and not poller.done() and not poller.get_loop().is_closed():
            poller.get_loop().call_soon_threadsafe(poller.cancel)
        self._db.close()
        with self._poll_lock:  # a poll in flight in a worker thread finishes first
            if self._poll_db is not None:
                self._poll_db.close()

    # -- loading ---------------------------------------------------------------------------

    def _load(self) -> None:
        """Read the live state, the revision and the compacted revision in one snapshot.

        No write can be in flight *below* the newest visible id (writers are serialized), and
        compaction deletes only rows at or below the compacted revision, so
        ``max(newest id, compacted)`` is at least every revision ever handed out: the revision
        never goes backwards across restarts.
        """
        db = self._conn()
        live = LiveState()
        with db.transaction():
            db.execute(SNAPSHOT)
            compacted = scalar(db, COMPACTED)
            top = scalar(db, "SELECT COALESCE(MAX(id), 0) FROM log")
            params = {"after": "", "lo": "", "hi": KEY_END, "rev": top, "limit": None}
            for name, value, create_rev, rid in db.execute(LIVE, params):
                live.put(KeyValue(name, self._codec.decode(name, value), create_rev or rid, rid))
        self._live = live
        self._compacted = compacted
        self._revision = max(top, compacted)


@contextlib.contextmanager
def database_errors() -> Iterator[None]:
    """Raise what the database refused as a Status (StorageError), not as a traceback."""
    try:
        yield
    except psycopg.Error as err:
        raise postgres_error(err) from err


def postgres_error(err: psycopg.Error) -> StorageError:
    """The Status for a failed write: 507 when the database is out of space, 504 when a lock or
    statement timed out, 503 when the database is unreachable, 500 otherwise."""
    if isinstance(err, pgerrors.DiskFull):
        return insufficient_storage(str(err).strip())
    if isinstance(err, pgerrors.LockNotAvailable | pgerrors.QueryCanceled):
        return storage_timeout(str(err).strip())
    if isinstance(err, psycopg.OperationalError):
        return storage_unavailable(str(err).strip())
    return StorageError(500, "InternalError", f"the store failed: {type(err).__name__}: {str(err).strip()}")


def _release(waiters: builtins.list[asyncio.Future[None]], error: Exception | None) -> None:
    for future in waiters:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
