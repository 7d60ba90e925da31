"""The statements of :mod:`apiserver.store.postgres`, and the few helpers that run them.

Kept apart so the store reads as the protocol it implements; every statement that must see one
consistent state is either a single statement (one snapshot in READ COMMITTED) or runs in a
``REPEATABLE READ`` transaction (:data:`SNAPSHOT`).
"""

from __future__ import annotations

from typing import cast

import psycopg
from psycopg.rows import TupleRow

Connection = psycopg.Connection[TupleRow]
Row = tuple[int, str, bool, bool, int, str]  # id, name, created, deleted, create_revision, value

POLL_BATCH = 1000
KEY_END = "\U0010ffff"  # sorts after every character: ``prefix + KEY_END`` bounds a prefix range

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS log (
        id bigserial PRIMARY KEY,
        name text COLLATE "C" NOT NULL,
        created boolean NOT NULL,
        deleted boolean NOT NULL,
        create_revision bigint NOT NULL,
        prev_revision bigint NOT NULL,
        value text NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS log_name_id ON log (name, id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS log_name_prev ON log (name, prev_revision)",
    "CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value bigint NOT NULL)",
]

WRITE_LOCK = 0x706F64766973  # advisory lock key ("podvis") serializing writers of one database
LOCK = "SELECT pg_advisory_xact_lock(%s)"
SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
COMPACTED = "SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'compacted'"
LATEST = "SELECT id, deleted FROM log WHERE name = %s ORDER BY id DESC LIMIT 1"

INSERT_CREATE = """
WITH latest AS (SELECT id, deleted FROM log WHERE name = %(name)s ORDER BY id DESC LIMIT 1)
INSERT INTO log (name, created, deleted, create_revision, prev_revision, value)
SELECT %(name)s, TRUE, FALSE, 0, COALESCE((SELECT id FROM latest), 0), %(value)s
WHERE NOT EXISTS (SELECT 1 FROM latest WHERE NOT deleted)
RETURNING id"""

INSERT_UPDATE = """
WITH latest AS (
    SELECT id, deleted, create_revision FROM log WHERE name = %(name)s ORDER BY id DESC LIMIT 1)
INSERT INTO log (name, created, deleted, create_revision, prev_revision, value)
SELECT %(name)s, FALSE, FALSE, COALESCE(NULLIF(create_revision, 0), id), id, %(value)s FROM latest
WHERE NOT deleted AND %(expected)s IN (0, id)
RETURNING id, create_revision"""

INSERT_DELETE = """
WITH latest AS (
    SELECT id, deleted, create_revision, value FROM log WHERE name = %(name)s ORDER BY id DESC LIMIT 1)
INSERT INTO log (name, created, deleted, create_revision, prev_revision, value)
SELECT %(name)s, FALSE, TRUE, COALESCE(NULLIF(create_revision, 0), id), id, value FROM latest
WHERE NOT deleted AND %(expected)s IN (0, id)
RETURNING id, create_revision, value"""

# One statement, hence one snapshot: the compacted revision and the rows after ``after``.
POLL = """
SELECT m.compacted, l.id, l.name, l.created, l.deleted, l.create_revision, l.value
FROM (SELECT COALESCE(MAX(value), 0) AS compacted FROM meta WHERE key = 'compacted') m
LEFT JOIN LATERAL (SELECT * FROM log WHERE id > %s ORDER BY id LIMIT %s) l ON TRUE
ORDER BY l.id"""

LIVE = """
SELECT name, value, create_revision, id FROM (
    SELECT DISTINCT ON (name) name, value, create_revision, id, deleted FROM log
    WHERE name > %(after)s AND name >= %(lo)s AND name < %(hi)s AND id <= %(rev)s
    ORDER BY name, id DESC) latest
WHERE NOT deleted ORDER BY name LIMIT %(limit)s"""

REPLAY = """
SELECT l.id, l.name, l.created, l.deleted, l.create_revision, l.value, p.id, p.value
FROM log l LEFT JOIN log p ON p.id = l.prev_revision
WHERE l.id > %s AND l.id <= %s AND l.name >= %s AND l.name < %s ORDER BY l.id"""

COMPACT = [
    "DELETE FROM log WHERE id IN (SELECT prev_revision FROM log"
    " WHERE id > %(done)s AND id <= %(rev)s AND prev_revision > 0)",
    "DELETE FROM log WHERE id > %(done)s AND id <= %(rev)s AND deleted",
    "INSERT INTO meta (key, value) VALUES ('compacted', %(rev)s)"
    " ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, EXCLUDED.value)",
]


def connect(url: str) -> Connection:
    db = psycopg.connect(url, autocommit=True, connect_timeout=10)
    db.execute("SET lock_timeout = '10s'")  # a stuck peer fails our write instead of hanging
    return db


def fetch_after(db: Connection, after: int) -> tuple[int, list[Row]]:
    """The compacted revision and up to POLL_BATCH rows after ``after``, in id order."""
    result = db.execute(POLL, (after, POLL_BATCH)).fetchall()
    rows = [cast(Row, tuple(r[1:])) for r in result if r[1] is not None]
    return int(result[0][0]), rows


def scalar(db: Connection, sql: str) -> int:
    row = db.execute(sql).fetchone()
    return int(row[0]) if row else 0
