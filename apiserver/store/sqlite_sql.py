"""The statements of :mod:`apiserver.store.sqlite`, the write transaction, and what a failed
commit means as a Status.

Kept apart, as :mod:`apiserver.store.postgres_sql` is, so the store reads as the protocol it
implements.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Iterator

from apiserver.store.base import StorageError, insufficient_storage, storage_unavailable

Row = tuple[int, str, int, int, int, int, str]  # id, name, created, deleted, create_rev, prev, value

KEY_END = "\xff"  # ``prefix + KEY_END`` bounds a prefix range

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

INSERT = (
    "INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)

# The newest revision ever written: AUTOINCREMENT's counter moves in the inserting transaction
# and survives compaction of the newest rows.
SEQUENCE = "SELECT seq FROM sqlite_sequence WHERE name = 'log'"

LIST_AT = (
    "SELECT l.name, l.value, l.create_revision, l.id, l.deleted FROM log l JOIN ("
    " SELECT MAX(id) AS mid FROM log WHERE name > ? AND name >= ? AND name < ? AND id <= ?"
    " GROUP BY name) m ON l.id = m.mid WHERE l.deleted = 0 ORDER BY l.name"
)

LIVE = (
    "SELECT l.name, l.value, l.create_revision, l.id FROM log l JOIN ("
    " SELECT MAX(id) AS mid FROM log GROUP BY name) m ON l.id = m.mid WHERE l.deleted = 0"
)

REPLAY = (
    "SELECT l.id, l.name, l.created, l.deleted, l.create_revision, l.value, p.id, p.value"
    " FROM log l LEFT JOIN log p ON p.id = l.prev_revision"
    " WHERE l.id > ? AND l.name >= ? AND l.name < ? ORDER BY l.id"
)

COMPACT = [
    "DELETE FROM log WHERE id IN (SELECT prev_revision FROM log WHERE id > ? AND id <= ? AND prev_revision > 0)",
    "DELETE FROM log WHERE id > ? AND id <= ? AND deleted = 1",
]
SET_META = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    """A connection with the store's pragmas. ``secure_delete`` zeroes the bytes of deleted rows
    and freed pages, so a deleted or compacted Secret does not linger in the file."""
    if path != ":memory:":
        restrict_files(path)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA secure_delete = ON")
    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    if path != ":memory:":
        db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA synchronous = {synchronous}")
    return db


def restrict_files(path: str) -> None:
    """The database and its ``-wal`` / ``-shm`` files readable by their owner only: created 0600
    (SQLite gives the other two the database file's mode), and tightened if an older server
    left them 0644."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
    for name in (path, f"{path}-wal", f"{path}-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(name, 0o600)


def scalar(db: sqlite3.Connection, sql: str, params: tuple[object, ...] = ()) -> int:
    row = db.execute(sql, params).fetchone()
    return int(row[0] or 0) if row else 0


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction; rolled back (if SQLite has not done so already) on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # SQLITE_FULL and SQLITE_IOERR may have rolled it back already
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise


def commit_error(err: BaseException) -> StorageError:
    """The Status for a failed commit: 507 when the disk is full, 503 otherwise."""
    if isinstance(err, StorageError):
        return err
    code = getattr(err, "sqlite_errorcode", None)
    primary = code & 0xFF if code is not None else None
    if primary == sqlite3.SQLITE_FULL or (isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)):
        return insufficient_storage(str(err))
    if primary == sqlite3.SQLITE_IOERR:
        return storage_unavailable(f"I/O error: {err}")
    return storage_unavailable(f"{type(err).__name__}: {err}")
