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

Store methods run on the event-loop thread (which serialises them and makes subscribe-then-
replay atomic); only the committer thread touches the writer connection, under a lock.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from apimachinery import jsonio
from apiserver.store.base import (
    CompactedError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    RevisionConflictError,
    StoreEvent,
    replay_events,
)
from apiserver.store.live import LiveReads, LiveState
from apiserver.store.watch_queue import Index, QueueWatch, WatcherSet

SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_name_id ON log (name, id);
CREATE UNIQUE INDEX IF NOT EXISTS log_name_prev ON log (name, prev_revision);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


log = logging.getLogger(__name__)





Row = tuple[int, str, int, int, int, int, str]  # id, name, created, deleted, create_rev, prev, value


class SqliteStore(LiveReads):
    """Revision log on SQLite; ``path=":memory:"`` gives a throwaway store for tests."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.path = str(path)
        self._db = self._connect(synchronous)
        self._db.executescript(SCHEMA)
        self._reader = self._db if self.path == ":memory:" else self._connect(synchronous)
        self._write_lock = threading.Lock()
        self._live = LiveState()
        self._watchers = WatcherSet()
        self._revision = self._load_revision()
        self._committed = self._revision
        self._compacted = self._meta("compacted")
        self._pending: builtins.list[tuple[Row, StoreEvent]] = []
        self._pending_tombstones: dict[str, int] = {}
        self._waiters: builtins.list[tuple[int, asyncio.Future[None]]] = []
        self._wakeup: asyncio.Event | None = None
        self._committer: asyncio.Task[None] | None = None
        self._failed: BaseException | None = None
        self._load_live()

    def _connect(self, synchronous: str) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        if self.path != ":memory:":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {synchronous}")
        return db

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
        sql = (
            "SELECT l.name, l.value, l.create_revision, l.id, l.deleted FROM log l JOIN ("
            " SELECT MAX(id) AS mid FROM log WHERE name > ? AND name >= ? AND name < ? AND id <= ?"
            " GROUP BY name) m ON l.id = m.mid WHERE l.deleted = 0 ORDER BY l.name"
        )
        params: builtins.list[Any] = [start_after, prefix, prefix + "\xff", revision]
        if limit:
            sql += " LIMIT ?"
            params.append(limit + 1)
        rows = self._reader.execute(sql, params).fetchall()
        more = bool(limit) and len(rows) > limit
        items = [KeyValue(r[0], jsonio.loads(r[1]), r[2] or r[3], r[3]) for r in rows[: limit or None]]
        return ListResult(items, revision, more)

    # -- writing ---------------------------------------------------------------------------

    def create(self, key: str, value: dict[str, Any]) -> KeyValue:
        if self.get(key) is not None:
            raise KeyExistsError(key)
        prev = self._pending_tombstones.get(key) or self._latest_row_id(key)
        rev = self._stage(key, value, created=True, deleted=False, create_revision=0, prev=prev)
        kv = KeyValue(key, value, rev, rev)
        self._apply(StoreEvent("ADDED", kv, None))
        return kv

    def update(self, key: str, value: dict[str, Any], *, expected_revision: int) -> KeyValue:
        old = self.get(key)
        if old is None:
            raise KeyNotFoundError(key)
        if expected_revision and old.mod_revision != expected_revision:
            raise RevisionConflictError(key)
        rev = self._stage(
            key, value, created=False, deleted=False, create_revision=old.create_revision, prev=old.mod_revision
        )
        kv = KeyValue(key, value, old.create_revision, rev)
        self._apply(StoreEvent("MODIFIED", kv, old))
        return kv

    def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        old = self.get(key)
        if old is None:
            raise KeyNotFoundError(key)
        if expected_revision and old.mod_revision != expected_revision:
            raise RevisionConflictError(key)
        rev = self._stage(
            key, old.value, created=False, deleted=True, create_revision=old.create_revision, prev=old.mod_revision
        )
        self._pending_tombstones[key] = rev
        kv = KeyValue(key, old.value, old.create_revision, rev)
        self._apply(StoreEvent("DELETED", kv, old))
        return kv

    def _stage(
        self, key: str, value: dict[str, Any], *, created: bool, deleted: bool, create_revision: int, prev: int
    ) -> int:
        if self._failed is not None:
            raise RuntimeError("the store cannot write: an earlier commit failed") from self._failed
        rev = self._revision + 1
        self._revision = rev
        row: Row = (rev, key, int(created), int(deleted), create_revision, prev, jsonio.dumps_text(value))
        self._pending.append((row, _PLACEHOLDER))
        return rev

    def _apply(self, event: StoreEvent) -> None:
        """Make the write visible to readers at once; watchers hear of it after the commit."""
        row, _ = self._pending[-1]
        self._pending[-1] = (row, event)
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

    async def sync(self) -> None:
        """Return once every write made so far is durable (or raise if committing failed)."""
        if self._failed is not None:
            raise RuntimeError("the store cannot write: an earlier commit failed") from self._failed
        if self._committed >= self._revision:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((self._revision, future))
        await future

    async def _commit_loop(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await asyncio.to_thread(self._write_batch, [row for row, _ in batch])
                except BaseException as err:  # the log and memory disagree now: stop writing
                    log.critical("commit failed; the apiserver stops accepting writes: %s", err)
                    self._failed = err
                    self._release_waiters(error=err)
                    raise
                self._committed = batch[-1][0][0]
                self._publish([event for _, event in batch])
                self._release_waiters()

    def _write_batch(self, rows: builtins.list[Row]) -> None:
        with self._write_lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def flush_blocking(self) -> None:
        """Commit pending writes on the calling thread (no event loop running)."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._write_batch([row for row, _ in batch])
        self._committed = batch[-1][0][0]
        self._publish([event for _, event in batch])

    def _publish(self, events: builtins.list[StoreEvent]) -> None:
        for key in [k for k, rev in self._pending_tombstones.items() if rev <= self._committed]:
            del self._pending_tombstones[key]
        for event in events:
            self._watchers.publish(event)

    def _release_waiters(self, *, error: BaseException | None = None) -> None:
        keep = []
        for revision, future in self._waiters:
            if future.done():
                continue
            if error is not None:
                future.set_exception(RuntimeError(f"commit failed: {error}"))
            elif revision <= self._committed:
                future.set_result(None)
            else:
                keep.append((revision, future))
        self._waiters = keep

    # -- watching --------------------------------------------------------------------------

    def watch(self, prefix: str, *, after_revision: int, index: Index | None = None) -> QueueWatch:
        """Events after ``after_revision`` (0: from now). Raises CompactedError if too old."""
        if after_revision and after_revision < self._compacted:
            raise CompactedError(after_revision, self._compacted)
        backlog = self._replay(prefix, after_revision) if after_revision else []
        watcher = QueueWatch(prefix, backlog, after=after_revision or self._revision, on_close=self._unsubscribe,
                             index=index)
        self._watchers.add(watcher)
        return watcher

    def _unsubscribe(self, watcher: QueueWatch) -> None:
        self._watchers.discard(watcher)

    def _replay(self, prefix: str, after: int) -> builtins.list[StoreEvent]:
        if after >= self._committed:
            return []
        rows = self._reader.execute(
            "SELECT l.id, l.name, l.created, l.deleted, l.create_revision, l.value, p.id, p.value"
            " FROM log l LEFT JOIN log p ON p.id = l.prev_revision"
            " WHERE l.id > ? AND l.name >= ? AND l.name < ? ORDER BY l.id",
            (after, prefix, prefix + "\xff"),
        ).fetchall()
        return replay_events(rows)

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
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "DELETE FROM log WHERE id IN (SELECT prev_revision FROM log"
                    " WHERE id > ? AND id <= ? AND prev_revision > 0)",
                    window,
                )
                self._db.execute("DELETE FROM log WHERE id > ? AND id <= ? AND deleted = 1", window)
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('compacted', ?)", (revision,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("PRAGMA incremental_vacuum")
        self._compacted = revision
        return revision

    def history_rows(self) -> int:
        return int(self._reader.execute("SELECT COUNT(*) FROM log").fetchone()[0])

    def close_watches(self) -> None:
        """End every watch stream (clients re-watch from their last revision): used on shutdown
        so open streams finish cleanly instead of being cut off."""
        for watcher in self._watchers:
            watcher.close()

    def close(self) -> None:
        if self._pending and self._failed is None:
            self.flush_blocking()
        for watcher in self._watchers:
            watcher.close()
        if self._reader is not self._db:
            self._reader.close()
        self._db.close()

    # -- loading ---------------------------------------------------------------------------

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _load_revision(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'log'").fetchone()
        return int(row[0]) if row else 0

    def _latest_row_id(self, key: str) -> int:
        row = self._reader.execute("SELECT MAX(id) FROM log WHERE name = ?", (key,)).fetchone()
        return int(row[0] or 0)

    def _load_live(self) -> None:
        rows = self._db.execute(
            "SELECT l.name, l.value, l.create_revision, l.id FROM log l JOIN ("
            " SELECT MAX(id) AS mid FROM log GROUP BY name) m ON l.id = m.mid WHERE l.deleted = 0"
        )
        for name, value, create_rev, rid in rows:
            self._live.put(KeyValue(name, jsonio.loads(value), create_rev or rid, rid))


_PLACEHOLDER = StoreEvent("ADDED", KeyValue("", {}, 0, 0), None)
