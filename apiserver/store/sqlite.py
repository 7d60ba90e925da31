"""The default store: a kine-style revision log in SQLite, with the live state cached in memory.

Schema (one table, one row per revision; the row id *is* the resourceVersion):

    log(id, name, created, deleted, create_revision, prev_revision, value)

* An update inserts a new row whose ``prev_revision`` is the row it replaces; the unique index on
  ``(name, prev_revision)`` turns a lost race into a constraint violation, i.e. 409 Conflict.
* A delete inserts a tombstone row (``deleted = 1``) carrying the last value, so watchers and
  revision-consistent lists see it.
* ``AUTOINCREMENT`` guarantees ids are never reused, even after compaction removed the newest
  rows' predecessors: the revision counter never goes backwards.
* A creating row stores ``create_revision = 0`` meaning "my own id", so every write is a single
  INSERT (one fsync, atomic under ``kill -9``).

The latest non-deleted row of every key is also kept in memory (the apiserver's watch cache), so
gets and lists at the current revision never touch the disk. Lists at an older revision (paging
with a continue token) read the log.

Group commit. A write is checked and applied to the in-memory state at once (so the next
request sees it and optimistic concurrency stays exact), and its row joins a batch. A committer
task writes each batch in one transaction, in a worker thread so the event loop never waits for
``fsync`` (WAL mode, ``synchronous=FULL``). Callers ``await store.sync()`` before acknowledging a
write, and watchers get events only after their batch committed: nothing a client was told, and
no event a watcher saw, can be lost to ``kill -9``. Under concurrency many writes share one
fsync; a single writer pays one fsync per write, as before.

Failure. A write whose value cannot be encoded fails before it takes a revision, so it
changes nothing. A commit that fails (a full disk, an I/O error) rolls back in the database;
the store then rolls its memory back too: the failed batch and every write staged on top of
it are undone in reverse order (each event carries the state it replaced), their revisions
are handed out again, and their writers' ``sync()`` fails with a Status naming the cause (507
for a full disk). That is safe because nobody saw those revisions: watchers hear only of
committed batches, a response is sent only after ``sync()`` (which covers everything the
request read, as handlers do not await between reading and answering), and a watch started on
the undone state is ended so its client re-watches. Readers that were only waiting to read
(``wait_fresh()``) go on with the durable state. Nothing stays broken: the next write tries
again, and ``/readyz`` probes the database until a write can commit.

A commit that hangs (a stuck device) makes waiting requests fail after ``commit_deadline``
(504), and once it has hung that long, new requests fail at once (503) instead of queueing.

Store methods run on the event-loop thread (which serialises them and makes subscribe-then-
replay atomic); only the committer thread touches the writer connection, under a lock. The
database is held with an exclusive lock (:mod:`apiserver.store.lock`): one writer per file.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apiserver.store.base import (
    CompactedError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    RevisionConflictError,
    StorageError,
    StoreEvent,
    replay_events,
    storage_timeout,
    storage_unavailable,
)
from apiserver.store.encryption import PLAIN, ValueCodec
from apiserver.store.live import LiveReads, LiveState
from apiserver.store.lock import DataLock
from apiserver.store.sqlite_sql import (
    COMPACT,
    INSERT,
    KEY_END,
    LIST_AT,
    LIVE,
    REPLAY,
    SCHEMA,
    SEQUENCE,
    SET_META,
    Row,
    commit_error,
    connect,
    scalar,
    transaction,
)
from apiserver.store.waiters import Waiters
from apiserver.store.watch_queue import Index, QueueWatch, WatcherSet

COMMIT_DEADLINE = 10.0  # seconds a request waits for its commit before failing with 504
STUCK_AFTER = 2.0  # a commit in flight longer makes /readyz fail (kube-apiserver's etcd check timeout)
PROBE_INTERVAL = 1.0  # after a failed commit, /readyz tries a write at most this often

log = logging.getLogger(__name__)

Staged = tuple[Row, StoreEvent]


class SqliteStore(LiveReads):
    """Revision log on SQLite; ``path=":memory:"`` gives a throwaway store for tests."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        commit_deadline: float = COMMIT_DEADLINE,
        clock: Callable[[], float] = time.monotonic,
        codec: ValueCodec = PLAIN,
    ) -> None:
        self.path = str(path)
        self._codec = codec
        self.commit_deadline = commit_deadline
        self._clock = clock
        self._lock = DataLock(self.path) if self.path != ":memory:" else None
        try:
            self._db = connect(self.path, synchronous)
            self._db.executescript(SCHEMA)
            self._reader = self._db if self.path == ":memory:" else connect(self.path, synchronous)
        except BaseException:
            self._release_lock()
            raise
        self._write_lock = threading.Lock()
        self._live = LiveState()
        self._watchers = WatcherSet()
        self._revision = scalar(self._db, SEQUENCE)
        self._committed = self._revision
        self._compacted = scalar(self._db, "SELECT value FROM meta WHERE key = 'compacted'")
        self._pending: builtins.list[Staged] = []
        self._pending_tombstones: dict[str, int] = {}
        self._waiters = Waiters()
        self._unsettled: dict[QueueWatch, int] = {}  # watchers started on writes not yet committed
        self._wakeup: asyncio.Event | None = None
        self._committer: asyncio.Task[None] | None = None
        self._commit_started: float | None = None
        self._last_failure: tuple[float, StorageError] | None = None
        self._last_probe = 0.0
        self.on_commit: Callable[[int], None] | None = None  # told each batch's size once durable (metrics)
        try:
            self._load_live()  # decrypts every live Secret: a wrong or missing key stops here
        except BaseException:
            self._reader.close()
            self._db.close()
            self._release_lock()
            raise

    # -- reading ---------------------------------------------------------------------------

    def committed_revision(self) -> int:
        return self._committed

    def list(self, prefix: str, *, start_after: str = "", limit: int = 0, revision: int = 0) -> ListResult:
        """Objects under ``prefix`` in key order; ``revision`` pins an older snapshot (paging)."""
        if revision and revision != self._revision:
            return self._list_at(prefix, start_after=start_after, limit=limit, revision=revision)
        items, more = self._live.page(prefix, start_after=start_after, limit=limit)
        return ListResult(items, self._revision, more)

    def _list_at(self, prefix: str, *, start_after: str, limit: int, revision: int) -> ListResult:
        if revision < self._compacted:
            raise CompactedError(revision, self._compacted)
        if revision > self._committed:
            raise CompactedError(revision, self._compacted)  # not durable yet: the client re-lists
        sql = LIST_AT
        params: builtins.list[Any] = [start_after, prefix, prefix + KEY_END, revision]
        if limit:
            sql += " LIMIT ?"
            params.append(limit + 1)
        rows = self._reader.execute(sql, params).fetchall()
        more = bool(limit) and len(rows) > limit
        items = [KeyValue(r[0], self._codec.decode(r[0], r[1]), r[2] or r[3], r[3]) for r in rows[: limit or None]]
        return ListResult(items, revision, more)

    # -- writing ---------------------------------------------------------------------------
    # Each write checks and encodes first, and only then takes a revision: a write that fails
    # before _stage() changed nothing.

    def create(self, key: str, value: dict[str, Any]) -> KeyValue:
        if self.get(key) is not None:
            raise KeyExistsError(key)
        text = self._encode(key, value)
        prev = self._pending_tombstones.get(key) or scalar(self._reader, "SELECT MAX(id) FROM log WHERE name = ?", (key,))
        rev = self._revision + 1
        kv = KeyValue(key, value, rev, rev)
        self._stage((rev, key, 1, 0, 0, prev, text), StoreEvent("ADDED", kv, None))
        return kv

    def update(self, key: str, value: dict[str, Any], *, expected_revision: int) -> KeyValue:
        old = self._current(key, expected_revision)
        text = self._encode(key, value)
        rev = self._revision + 1
        kv = KeyValue(key, value, old.create_revision, rev)
        self._stage((rev, key, 0, 0, old.create_revision, old.mod_revision, text), StoreEvent("MODIFIED", kv, old))
        return kv

    def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        old = self._current(key, expected_revision)
        text = self._encode(key, old.value)
        rev = self._revision + 1
        kv = KeyValue(key, old.value, old.create_revision, rev)
        self._pending_tombstones[key] = rev
        self._stage((rev, key, 0, 1, old.create_revision, old.mod_revision, text), StoreEvent("DELETED", kv, old))
        return kv

    def _current(self, key: str, expected_revision: int) -> KeyValue:
        old = self.get(key)
        if old is None:
            raise KeyNotFoundError(key)
        if expected_revision and old.mod_revision != expected_revision:
            raise RevisionConflictError(key)
        return old

    def _encode(self, key: str, value: dict[str, Any]) -> str:
        self._refuse_if_stuck()
        return self._codec.encode(key, value)

    def _stage(self, row: Row, event: StoreEvent) -> None:
        """Take the row's revision and make the write visible to readers at once; watchers
        hear of it after the commit."""
        self._revision = row[0]
        self._pending.append((row, event))
        if event.type == "DELETED":
            self._live.remove(event.kv.key)
        else:
            self._live.put(event.kv)
        self._kick()

    # -- committing ------------------------------------------------------------------------

    def _kick(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush_blocking()  # no event loop (start-up, scripts): commit right away
            return
        if self._committer is None or self._committer.done() or self._committer.get_loop() is not loop:
            self._wakeup = asyncio.Event()
            self._committer = loop.create_task(self._commit_loop())
        assert self._wakeup is not None
        self._wakeup.set()

    async def wait_fresh(self) -> None:
        """Return once the live state holds only durable writes (rolled-back ones are undone)."""
        await self._wait(strict=False)

    async def sync(self) -> None:
        """Return once every write made so far is durable; raise if one was rolled back."""
        await self._wait(strict=True)

    async def _wait(self, *, strict: bool) -> None:
        self._refuse_if_stuck()
        target = self._revision
        if self._committed >= target:
            return
        future = self._waiters.add(target, strict=strict)
        self._kick()  # the committer of an earlier event loop may be gone
        try:
            await asyncio.wait_for(future, self.commit_deadline)
        except TimeoutError:
            late = f"revision {target} was not committed within {self.commit_deadline:g}s"
            raise storage_timeout(f"{late}; the write may still complete" if strict else late) from None

    def _refuse_if_stuck(self) -> None:
        """Once a commit has hung past the deadline, fail at once instead of queueing behind it."""
        started = self._commit_started
        if started is not None and self._clock() - started > self.commit_deadline:
            raise storage_unavailable(f"a commit has been in flight for {self._clock() - started:.0f}s")

    async def _commit_loop(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending, []
                self._commit_started = self._clock()
                try:
                    await asyncio.to_thread(self._write_batch, [row for row, _ in batch])
                except asyncio.CancelledError:  # the event loop is ending
                    self._waiters.fail_all(storage_unavailable("the apiserver is shutting down"))
                    raise
                except Exception as err:
                    self._recover(batch, err)
                    continue
                finally:
                    self._commit_started = None
                self._settle(batch)

    def _write_batch(self, rows: builtins.list[Row]) -> None:
        with self._write_lock, transaction(self._db):
            self._db.executemany(INSERT, rows)

    def flush_blocking(self) -> None:
        """Commit pending writes on the calling thread (no event loop running)."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            self._write_batch([row for row, _ in batch])
        except Exception as err:
            error = self._recover(batch, err)
            if error is not None:
                raise error from err
            return
        self._settle(batch)

    def _settle(self, batch: builtins.list[Staged]) -> None:
        """The batch is durable: publish it and wake whoever waited for it."""
        self._committed = batch[-1][0][0]
        self._last_failure = None
        for key in [k for k, rev in self._pending_tombstones.items() if rev <= self._committed]:
            del self._pending_tombstones[key]
        for _, event in batch:
            self._watchers.publish(event)
        for watcher in [w for w, after in self._unsettled.items() if after <= self._committed]:
            del self._unsettled[watcher]
        self._waiters.committed(self._committed)
        if self.on_commit is not None:
            self.on_commit(len(batch))

    def _recover(self, batch: builtins.list[Staged], err: Exception) -> StorageError | None:
        """A commit failed: bring memory back to what the log holds; return the failure."""
        durable = self._durable_revision()
        if durable >= batch[-1][0][0]:  # COMMIT reported an error, yet the rows are in the log
            log.warning("commit reported %s, but its rows are durable", err)
            self._settle(batch)
            return None
        error = commit_error(err)
        lost, self._pending = batch + self._pending, []  # later writes were checked against lost ones
        log.error("commit of revisions %d-%d failed and was rolled back: %s", lost[0][0][0], lost[-1][0][0], err)
        if durable == self._committed:
            self._undo(lost)
            ended = [w for w, after in self._unsettled.items() if after > durable]
        else:  # the log is not where memory thought: read it again, every watcher re-lists
            log.error("the log ends at revision %d, not %d: reloading", durable, self._committed)
            self._live = LiveState()
            self._load_live()
            ended = builtins.list(self._watchers)
        self._revision = self._committed = durable
        self._pending_tombstones = {k: rev for k, rev in self._pending_tombstones.items() if rev <= durable}
        self._unsettled = {}
        for watcher in ended:
            watcher.overflow()  # it started on undone writes (a watch list may hold them): re-list
        self._last_failure = (self._clock(), error)
        self._last_probe = self._clock()  # /readyz probes again a while after the failure
        self._waiters.rolled_back(durable, error)
        return error

    def _undo(self, lost: builtins.list[Staged]) -> None:
        for _, event in reversed(lost):
            if event.prev is None:
                self._live.remove(event.kv.key)
            else:
                self._live.put(event.prev)

    def _durable_revision(self) -> int:
        """The newest revision in the log, as a fresh reader sees it."""
        try:
            return scalar(self._reader, SEQUENCE)
        except sqlite3.Error as err:  # an error from COMMIT means it did not happen
            log.error("reading the log back failed, taking the failed commit as rolled back: %s", err)
            return self._committed

    # -- health ----------------------------------------------------------------------------

    async def health(self) -> str | None:
        """Why the store cannot serve, or None: a commit hanging, or the last one failed and
        a probe write (at most once a second) still fails."""
        started = self._commit_started
        if started is not None and self._clock() - started > STUCK_AFTER:
            return f"a commit has been in flight for {self._clock() - started:.1f}s"
        failure = self._last_failure
        if failure is None:
            return None
        if self._clock() - self._last_probe >= PROBE_INTERVAL:
            self._last_probe = self._clock()
            if await asyncio.to_thread(self._probe) and self._last_failure is failure:
                self._last_failure = None
                return None
        when, error = failure
        return f"the last commit failed {self._clock() - when:.1f}s ago: {error.message}"

    def _probe(self) -> bool:
        """Can the database take a write now? Writes a row of the meta table, not of the log."""
        if not self._write_lock.acquire(timeout=1.0):
            return False
        try:
            with transaction(self._db):
                self._db.execute(SET_META, ("probe", int(self._clock())))
            return True
        except sqlite3.Error as err:
            log.info("probe write failed: %s", err)
            return False
        finally:
            self._write_lock.release()

    # -- watching --------------------------------------------------------------------------

    def watch(self, prefix: str, *, after_revision: int, index: Index | None = None) -> QueueWatch:
        """Events after ``after_revision`` (0: from now). Raises CompactedError if too old."""
        if after_revision and after_revision < self._compacted:
            raise CompactedError(after_revision, self._compacted)
        backlog = self._replay(prefix, after_revision) if after_revision else []
        after = after_revision or self._revision
        watcher = QueueWatch(prefix, backlog, after=after, on_close=self._unsubscribe, index=index)
        self._watchers.add(watcher)
        if after > self._committed:
            self._unsettled[watcher] = after
        return watcher

    def _unsubscribe(self, watcher: QueueWatch) -> None:
        self._watchers.discard(watcher)
        self._unsettled.pop(watcher, None)

    def _replay(self, prefix: str, after: int) -> builtins.list[StoreEvent]:
        if after >= self._committed:
            return []
        rows = self._reader.execute(REPLAY, (after, prefix, prefix + KEY_END)).fetchall()
        return replay_events(rows, self._codec.decode)

    # -- maintenance -----------------------------------------------------------------------

    def compact(self, revision: int) -> int:
        """Drop history at or below ``revision``, keeping each key's state as of that revision.

        Incremental: only rows written since the last compaction can supersede older rows, so
        we delete the predecessors of rows in (compacted, revision] and then the tombstones in
        that window. Reads at revisions >= ``revision`` still see a consistent snapshot. Only
        committed history is compacted.
        """
        revision = min(revision, self._committed)
        if revision <= self._compacted:
            return self._compacted
        window = (self._compacted, revision)
        with self._write_lock:
            try:
                with transaction(self._db):
                    for statement in COMPACT:
                        self._db.execute(statement, window)
                    self._db.execute(SET_META, ("compacted", revision))
            except sqlite3.Error as err:
                raise commit_error(err) from err
            self._compacted = revision
            try:
                self._db.execute("PRAGMA incremental_vacuum")
            except sqlite3.Error as err:  # the rows are gone; their pages are returned next time
                log.warning("incremental vacuum failed: %s", err)
        self._truncate_wal()
        return revision

    def _truncate_wal(self) -> None:
        """Old page images (deleted rows included) stay in the WAL until it is reused: copy it
        into the database and truncate it, so they leave the disk now. It syncs the disk, so
        with an event loop running it is done in a worker thread."""
        if self.path == ":memory:":
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._checkpoint()
            return
        loop.run_in_executor(None, self._checkpoint)

    def _checkpoint(self) -> None:
        with self._write_lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as err:  # the next compaction tries again
                log.warning("WAL checkpoint failed: %s", err)

    def history_rows(self) -> int:
        return int(self._reader.execute("SELECT COUNT(*) FROM log").fetchone()[0])

    def close_watches(self) -> None:
        """End every watch stream (clients re-watch from their last revision): used on shutdown
        so open streams finish cleanly instead of being cut off."""
        for watcher in self._watchers:
            watcher.close()

    def close(self) -> None:
        if self._pending:
            try:
                self.flush_blocking()
            except StorageError as err:  # never acknowledged: their sync() had not returned
                log.error("writes not committed at close: %s", err)
        self.close_watches()
        if not self._write_lock.acquire(timeout=self.commit_deadline):  # a commit in flight finishes first
            log.error("a commit is still in flight after %gs; closing without waiting", self.commit_deadline)
            self._release_lock()
            return
        try:
            if self._reader is not self._db:
                self._reader.close()
            if self.path != ":memory:":  # a compaction's checkpoint may not have run yet: old pages leave now
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
        finally:
            self._write_lock.release()
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()

    # -- loading ---------------------------------------------------------------------------

    def _load_live(self) -> None:
        for name, value, create_rev, rid in self._reader.execute(LIVE):
            self._live.put(KeyValue(name, self._codec.decode(name, value), create_rev or rid, rid))

