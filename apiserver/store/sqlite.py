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

Watchers are in-process: a write is committed (fsync in WAL mode with ``synchronous=FULL``)
*before* the event is published, so a watcher never sees a change a crash could lose. All calls
happen on the event-loop thread, which serialises writes and makes subscribe-then-replay atomic.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from apiserver.store.base import (
    CompactedError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    RevisionConflictError,
    StoreEvent,
    WatchClosedError,
    WatchOverflowError,
)

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

WATCH_QUEUE_LIMIT = 50_000


def _bucket(key: str) -> str:
    """``/registry/pods/default/x`` -> ``pods``: the resource a key belongs to."""
    parts = key.split("/", 3)
    return parts[2] if len(parts) > 2 else ""


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


class SqliteWatch:
    """One subscriber: replayed history first, then live events, strictly in revision order."""

    def __init__(self, store: SqliteStore, prefix: str, backlog: list[StoreEvent]) -> None:
        self._store = store
        self.prefix = prefix
        self._queue: asyncio.Queue[StoreEvent | None] = asyncio.Queue()
        for event in backlog:
            self._queue.put_nowait(event)
        self._overflowed = False
        self._closed = False

    def publish(self, event: StoreEvent) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= WATCH_QUEUE_LIMIT:
            self._overflowed = True
            self._queue.put_nowait(None)
            self.close()
            return
        self._queue.put_nowait(event)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._store._unsubscribe(self)
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


class SqliteStore:
    """Revision log on SQLite; ``path=":memory:"`` gives a throwaway store for tests."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(f"PRAGMA synchronous = {synchronous}")
        self._db.executescript(SCHEMA)
        self._live: dict[str, dict[str, KeyValue]] = {}
        self._watchers: set[SqliteWatch] = set()
        self._revision = self._load_revision()
        self._compacted = self._meta("compacted")
        self._load_live()

    # -- reading ---------------------------------------------------------------------------

    def current_revision(self) -> int:
        return self._revision

    def compacted_revision(self) -> int:
        return self._compacted

    def get(self, key: str) -> KeyValue | None:
        return self._live.get(_bucket(key), {}).get(key)

    def count(self, prefix: str) -> int:
        bucket = self._live.get(_bucket(prefix), {})
        return sum(1 for k in bucket if k.startswith(prefix))

    def list(self, prefix: str, *, start_after: str = "", limit: int = 0, revision: int = 0) -> ListResult:
        """Objects under ``prefix`` in key order; ``revision`` pins an older snapshot (paging)."""
        if revision and revision != self._revision:
            return self._list_at(prefix, start_after=start_after, limit=limit, revision=revision)
        bucket = self._live.get(_bucket(prefix), {})
        keys = sorted(k for k in bucket if k.startswith(prefix) and k > start_after)
        more = bool(limit) and len(keys) > limit
        if limit:
            keys = keys[:limit]
        return ListResult([bucket[k] for k in keys], self._revision, more)

    def _list_at(self, prefix: str, *, start_after: str, limit: int, revision: int) -> ListResult:
        if revision < self._compacted:
            raise CompactedError(revision, self._compacted)
        sql = (
            "SELECT l.name, l.value, l.create_revision, l.id, l.deleted FROM log l JOIN ("
            " SELECT MAX(id) AS mid FROM log WHERE name > ? AND name >= ? AND name < ? AND id <= ?"
            " GROUP BY name) m ON l.id = m.mid WHERE l.deleted = 0 ORDER BY l.name"
        )
        params: builtins.list[Any] = [start_after, prefix, prefix + "\xff", revision]
        if limit:
            sql += " LIMIT ?"
            params.append(limit + 1)
        rows = self._db.execute(sql, params).fetchall()
        more = bool(limit) and len(rows) > limit
        items = [KeyValue(r[0], json.loads(r[1]), r[2] or r[3], r[3]) for r in rows[: limit or None]]
        return ListResult(items, revision, more)

    # -- writing ---------------------------------------------------------------------------

    def create(self, key: str, value: dict[str, Any]) -> KeyValue:
        if self.get(key) is not None:
            raise KeyExistsError(key)
        prev = self._latest_row_id(key)  # a tombstone's id, or 0 for a key never seen
        rev = self._insert(key, value, created=True, deleted=False, create_revision=0, prev=prev)
        kv = KeyValue(key, value, rev, rev)
        self._commit_event(StoreEvent("ADDED", kv, None))
        return kv

    def update(self, key: str, value: dict[str, Any], *, expected_revision: int) -> KeyValue:
        old = self.get(key)
        if old is None:
            raise KeyNotFoundError(key)
        if expected_revision and old.mod_revision != expected_revision:
            raise RevisionConflictError(key)
        rev = self._insert(
            key,
            value,
            created=False,
            deleted=False,
            create_revision=old.create_revision,
            prev=old.mod_revision,
        )
        kv = KeyValue(key, value, old.create_revision, rev)
        self._commit_event(StoreEvent("MODIFIED", kv, old))
        return kv

    def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        old = self.get(key)
        if old is None:
            raise KeyNotFoundError(key)
        if expected_revision and old.mod_revision != expected_revision:
            raise RevisionConflictError(key)
        rev = self._insert(
            key,
            old.value,
            created=False,
            deleted=True,
            create_revision=old.create_revision,
            prev=old.mod_revision,
        )
        kv = KeyValue(key, old.value, old.create_revision, rev)
        self._commit_event(StoreEvent("DELETED", kv, old))
        return kv

    def _insert(
        self,
        key: str,
        value: dict[str, Any],
        *,
        created: bool,
        deleted: bool,
        create_revision: int,
        prev: int,
    ) -> int:
        try:
            cur = self._db.execute(
                "INSERT INTO log (name, created, deleted, create_revision, prev_revision, value)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, int(created), int(deleted), create_revision, prev, _dumps(value)),
            )
        except sqlite3.IntegrityError as err:
            raise RevisionConflictError(key) from err
        rev = int(cur.lastrowid or 0)
        self._revision = rev
        return rev

    def _commit_event(self, event: StoreEvent) -> None:
        bucket = self._live.setdefault(_bucket(event.kv.key), {})
        if event.type == "DELETED":
            bucket.pop(event.kv.key, None)
        else:
            bucket[event.kv.key] = event.kv
        for watcher in list(self._watchers):
            if event.kv.key.startswith(watcher.prefix):
                watcher.publish(event)

    # -- watching --------------------------------------------------------------------------

    def watch(self, prefix: str, *, after_revision: int) -> SqliteWatch:
        """Events after ``after_revision`` (0: from now). Raises CompactedError if too old."""
        if after_revision and after_revision < self._compacted:
            raise CompactedError(after_revision, self._compacted)
        backlog = self._replay(prefix, after_revision) if after_revision else []
        watcher = SqliteWatch(self, prefix, backlog)
        self._watchers.add(watcher)
        return watcher

    def _unsubscribe(self, watcher: SqliteWatch) -> None:
        self._watchers.discard(watcher)

    def _replay(self, prefix: str, after: int) -> builtins.list[StoreEvent]:
        if after >= self._revision:
            return []
        rows = self._db.execute(
            "SELECT l.id, l.name, l.created, l.deleted, l.create_revision, l.value, p.id, p.value"
            " FROM log l LEFT JOIN log p ON p.id = l.prev_revision"
            " WHERE l.id > ? AND l.name >= ? AND l.name < ? ORDER BY l.id",
            (after, prefix, prefix + "\xff"),
        ).fetchall()
        events = []
        for rid, name, created, deleted, create_rev, value, pid, pvalue in rows:
            create_rev = create_rev or rid
            prev = KeyValue(name, json.loads(pvalue), create_rev, pid) if pid is not None else None
            kind = "DELETED" if deleted else ("ADDED" if created else "MODIFIED")
            events.append(StoreEvent(kind, KeyValue(name, json.loads(value), create_rev, rid), prev))
        return events

    # -- maintenance -----------------------------------------------------------------------

    def compact(self, revision: int) -> int:
        """Drop history at or below ``revision``, keeping each key's state as of that revision.

        Incremental: only rows written since the last compaction can supersede older rows, so
        we delete the predecessors of rows in (compacted, revision] and then the tombstones in
        that window. Reads at revisions >= ``revision`` still see a consistent snapshot.
        """
        revision = min(revision, self._revision)
        if revision <= self._compacted:
            return self._compacted
        window = (self._compacted, revision)
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
        return int(self._db.execute("SELECT COUNT(*) FROM log").fetchone()[0])

    def close(self) -> None:
        for watcher in list(self._watchers):
            watcher.close()
        self._db.close()

    # -- loading ---------------------------------------------------------------------------

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _load_revision(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'log'").fetchone()
        return int(row[0]) if row else 0

    def _latest_row_id(self, key: str) -> int:
        row = self._db.execute("SELECT MAX(id) FROM log WHERE name = ?", (key,)).fetchone()
        return int(row[0] or 0)

    def _load_live(self) -> None:
        rows = self._db.execute(
            "SELECT l.name, l.value, l.create_revision, l.id FROM log l JOIN ("
            " SELECT MAX(id) AS mid FROM log GROUP BY name) m ON l.id = m.mid WHERE l.deleted = 0"
        )
        for name, value, create_rev, rid in rows:
            self._live.setdefault(_bucket(name), {})[name] = KeyValue(
                name, json.loads(value), create_rev or rid, rid
            )
