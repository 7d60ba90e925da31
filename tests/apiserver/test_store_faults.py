"""The SQLite store under faults: a commit that fails (the database is full), a commit that
hangs (another connection holds the write lock), a value that cannot be encoded, a second
writer. The store never wedges: the failed writers get a Status naming the cause, memory is
rolled back to what the log holds, readers go on, and writes work again once the cause is gone.

A full disk is SQLite's own ``SQLITE_FULL``, produced by capping the database's page count on
the store's writer connection (``tests/faults/test_disk_full.py`` fills a real filesystem).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from apiserver.store import sqlite as sqlite_store
from apiserver.store.base import StorageError, StoreLockedError, WatchOverflowError
from apiserver.store.sqlite import SqliteStore
from tests.apiserver.conftest import RunningServer

PODS = "/registry/pods/default/"
BIG = "x" * 20_000  # needs new pages: fails once the database may not grow
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pod(name: str, data: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"v": data}}


def fill(store: SqliteStore) -> None:
    """Let the database grow no more: every later write that needs a page fails with SQLITE_FULL."""
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")


def free(store: SqliteStore) -> None:
    store._db.execute("PRAGMA max_page_count = 1073741823")


def live(store: SqliteStore) -> dict[str, tuple[int, int, Any]]:
    return {kv.key: (kv.create_revision, kv.mod_revision, kv.value) for kv in store.list(PODS).items}


def durable(path: Path) -> dict[str, tuple[int, int, Any]]:
    """The latest live row of every key, read from the file by a connection of its own."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT l.name, l.create_revision, l.id, l.value FROM log l JOIN (SELECT MAX(id) AS mid FROM log"
            " GROUP BY name) m ON l.id = m.mid WHERE l.deleted = 0 AND l.name >= ? AND l.name < ?",
            (PODS, PODS + "\xff"),
        ).fetchall()
    return {name: (create or rid, rid, json.loads(value)) for name, create, rid, value in rows}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(db_path)
    yield opened
    opened.close()


async def wait_for_commit_in_flight(store: SqliteStore) -> None:
    for _ in range(1000):
        if store._commit_started is not None:
            return
        await asyncio.sleep(0)
    raise AssertionError("the committer never started")


async def test_a_failed_commit_fails_its_writer_with_507_and_changes_nothing(store: SqliteStore, db_path: Path) -> None:
    kept = store.create(PODS + "kept", pod("kept"))
    await store.sync()
    fill(store)
    store.create(PODS + "lost", pod("lost", BIG))
    with pytest.raises(StorageError) as failed:
        await store.sync()
    assert (failed.value.code, failed.value.reason) == (507, "InsufficientStorage")
    assert "database or disk is full" in failed.value.message
    assert store.get(PODS + "lost") is None
    assert store.current_revision() == store.committed_revision() == kept.mod_revision
    assert live(store) == durable(db_path)


async def test_writes_staged_during_a_failed_commit_are_undone_and_their_revisions_reused(
    store: SqliteStore, db_path: Path
) -> None:
    a = store.create(PODS + "a", pod("a"))
    b = store.create(PODS + "b", pod("b"))
    await store.sync()
    fill(store)
    store.update(PODS + "a", pod("a", BIG), expected_revision=a.mod_revision)
    await wait_for_commit_in_flight(store)
    store.delete(PODS + "b")  # staged on top of the doomed update: checked against lost state
    store.create(PODS + "c", pod("c"))
    with pytest.raises(StorageError):
        await store.sync()
    assert live(store) == durable(db_path) == {
        PODS + "a": (a.create_revision, a.mod_revision, pod("a")),
        PODS + "b": (b.create_revision, b.mod_revision, pod("b")),
    }
    free(store)
    again = store.create(PODS + "c", pod("c"))
    await store.sync()
    assert again.mod_revision == b.mod_revision + 1  # the undone revisions are handed out again
    assert live(store) == durable(db_path)


async def test_readers_waiting_behind_a_failed_commit_go_on_with_the_durable_state(store: SqliteStore) -> None:
    store.create(PODS + "a", pod("a"))
    await store.sync()
    fill(store)
    store.create(PODS + "lost", pod("lost", BIG))
    reader = asyncio.create_task(store.wait_fresh())
    writer = asyncio.create_task(store.sync())
    done, _ = await asyncio.wait([reader, writer], timeout=5)
    assert done == {reader, writer}
    assert reader.exception() is None
    assert isinstance(writer.exception(), StorageError)
    assert store.get(PODS + "lost") is None and store.get(PODS + "a") is not None


async def test_a_watch_started_on_undone_writes_is_ended_while_others_stream_on(store: SqliteStore) -> None:
    kv = store.create(PODS + "a", pod("a"))
    await store.sync()
    steady = store.watch(PODS, after_revision=kv.mod_revision)
    fill(store)
    store.create(PODS + "lost", pod("lost", BIG))
    doomed = store.watch(PODS, after_revision=0)  # "from now" is the undone revision
    with pytest.raises(StorageError):
        await store.sync()
    with pytest.raises(WatchOverflowError):
        await doomed.next(1.0)
    free(store)
    later = store.create(PODS + "b", pod("b"))
    await store.sync()
    event = await steady.next(2.0)
    assert event is not None and (event.type, event.kv.key, event.revision) == ("ADDED", PODS + "b", later.mod_revision)
    assert await steady.next(0.05) is None  # the undone write never reached it
    steady.close()


async def test_health_names_the_failure_until_a_write_can_commit_again(db_path: Path) -> None:
    clock = Clock()
    store = SqliteStore(db_path, clock=clock)
    try:
        fill(store)
        store.create(PODS + "lost", pod("lost", BIG))
        with pytest.raises(StorageError):
            await store.sync()
        why = await store.health()
        assert why is not None and why.startswith("the last commit failed") and "full" in why
        free(store)
        clock.now += sqlite_store.PROBE_INTERVAL  # the next check probes the database
        assert await store.health() is None
        store.create(PODS + "b", pod("b", BIG))
        await store.sync()
    finally:
        store.close()


async def test_a_stuck_commit_fails_requests_after_the_deadline_instead_of_hanging(db_path: Path) -> None:
    clock = Clock()
    store = SqliteStore(db_path, commit_deadline=0.3, clock=clock)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: the store's commit waits
        kv = store.create(PODS + "a", pod("a"))
        with pytest.raises(StorageError) as late:
            await store.sync()
        assert (late.value.code, late.value.reason) == (504, "Timeout")
        clock.now += sqlite_store.STUCK_AFTER + 0.5
        why = await store.health()
        assert why is not None and why.startswith("a commit has been in flight")
        clock.now += 1.0  # past the deadline: new requests fail at once instead of queueing
        with pytest.raises(StorageError) as refused:
            store.create(PODS + "b", pod("b"))
        assert refused.value.code == 503
        with pytest.raises(StorageError):
            await store.wait_fresh()
        blocker.execute("ROLLBACK")
        for _ in range(500):
            if await store.health() is None:
                break
            await asyncio.sleep(0.01)
        await asyncio.wait_for(store.sync(), 2.0)
        assert store.get(PODS + "a") == kv and store.get(PODS + "b") is None  # the late write completed
    finally:
        blocker.close()
        store.close()


def test_a_second_store_on_the_same_file_fails_naming_the_holder(db_path: Path) -> None:
    first = SqliteStore(db_path)
    try:
        with pytest.raises(StoreLockedError) as locked:
            SqliteStore(db_path)
        assert locked.value.pid == os.getpid()
        assert str(db_path) in str(locked.value)
    finally:
        first.close()
    SqliteStore(db_path).close()  # the lock went with its holder


# -- over HTTP -----------------------------------------------------------------------------


def configmap(name: str, value: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": {"v": value}}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("POST", CONFIGMAPS, b'{"metadata": {"name": "bad"}, "data": {"x": "\\ud800"}}', id="create"),
        pytest.param("PATCH", CONFIGMAPS + "/good", b'{"data": {"x": "\\ud800"}}', id="patch"),
        pytest.param("PUT", CONFIGMAPS + "/good", b'{"metadata": {"name": "good"}, "data": {"x": "\\ud800"}}',
                     id="replace"),
    ],
)
def test_a_lone_surrogate_is_refused_and_the_api_keeps_answering(
    http: httpx.Client, method: str, path: str, body: bytes
) -> None:
    assert http.post(CONFIGMAPS, json=configmap("good")).status_code == 201
    content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
    refused = http.request(method, path, content=body, headers={"Content-Type": content_type}, timeout=5)
    assert refused.status_code == 400 and refused.json()["kind"] == "Status"
    assert http.get(CONFIGMAPS + "/good", timeout=5).json()["data"] == {"v": "1"}
    assert http.post(CONFIGMAPS, json=configmap("after"), timeout=5).status_code == 201


def test_a_full_store_answers_507_serves_reads_reports_unready_and_recovers(
    server: RunningServer, http: httpx.Client
) -> None:
    store = server.store
    assert isinstance(store, SqliteStore)
    assert http.post(CONFIGMAPS, json=configmap("kept")).status_code == 201
    assert http.get("/readyz").text == "ok"
    fill(store)
    full = http.post(CONFIGMAPS, json=configmap("lost", BIG))
    assert full.status_code == 507
    assert full.json()["reason"] == "InsufficientStorage" and "full" in full.json()["message"]
    assert http.get(CONFIGMAPS + "/kept").status_code == 200
    assert [i["metadata"]["name"] for i in http.get(CONFIGMAPS).json()["items"]] == ["kept"]
    ready = http.get("/readyz")
    assert ready.status_code == 503
    assert "[+]ping ok" in ready.text and "[-]etcd failed: the last commit failed" in ready.text
    assert ready.text.rstrip().endswith("readyz check failed")
    assert http.get("/readyz/etcd").status_code == 503
    assert http.get("/readyz", params={"exclude": "etcd"}).status_code == 200
    assert http.get("/livez").text == "ok" and http.get("/healthz").status_code == 200
    free(store)
    for _ in range(50):  # the readiness probe tries a write once a second
        if http.get("/readyz").status_code == 200:
            break
        time.sleep(0.1)
    assert http.get("/readyz", params={"verbose": "1"}).text == "[+]ping ok\n[+]etcd ok\nreadyz check passed\n"
    assert http.post(CONFIGMAPS, json=configmap("lost", BIG)).status_code == 201
