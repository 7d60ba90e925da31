"""Several apiservers on one PostgreSQL database: shared state, one order of events, one winner.

Store-level tests open several :class:`PostgresStore` on one database (each is what one
apiserver process holds); the HTTP tests run two real apiservers (uvicorn in threads).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from apiserver.app import AppSettings
from apiserver.store.base import KeyExistsError, KeyNotFoundError, RevisionConflictError, WatchOverflowError
from apiserver.store.postgres import PostgresStore
from apiserver.store.postgres_sql import INSERT_CREATE, LOCK, WRITE_LOCK
from tests.apiserver import pgcluster
from tests.apiserver.conftest import RunningServer
from tests.apiserver.test_store_contract import PODS, collect, pod

postgres_cluster = pgcluster.postgres_cluster  # the session's server (fixture)
postgres_url = pgcluster.postgres_url  # a fresh database per test (fixture)
CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def stores(postgres_url: str) -> Iterator[list[PostgresStore]]:
    """Three stores on one database, as three apiservers would hold them."""
    opened = [PostgresStore(postgres_url) for _ in range(3)]
    yield opened
    for store in opened:
        store.close()


async def test_a_write_through_one_apiserver_reaches_a_watch_on_another_in_order(
    stores: list[PostgresStore],
) -> None:
    a, b, _ = stores
    watch = b.watch(PODS, after_revision=0)
    kv = a.create(PODS + "x", pod("x"))
    written = [kv.mod_revision]
    for i in range(5):
        kv = a.update(PODS + "x", pod("x", str(i)), expected_revision=kv.mod_revision)
        written.append(kv.mod_revision)
    written.append(a.delete(PODS + "x").mod_revision)
    events = await collect(watch, len(written))
    assert [e.revision for e in events] == written
    assert [e.type for e in events] == ["ADDED"] + ["MODIFIED"] * 5 + ["DELETED"]
    assert [e.prev.mod_revision for e in events[1:]] == written[:-1]  # type: ignore[union-attr]


async def test_wait_fresh_makes_every_write_committed_before_it_visible(stores: list[PostgresStore]) -> None:
    a, b, _ = stores
    kv = a.create(PODS + "x", pod("x"))
    await b.wait_fresh()
    assert b.get(PODS + "x") == kv
    assert b.current_revision() == kv.mod_revision


@pytest.mark.parametrize(
    ("write", "error"),
    [
        pytest.param(lambda s, rev: s.update(PODS + "x", pod("x", "b"), expected_revision=rev), RevisionConflictError,
                     id="update"),
        pytest.param(lambda s, rev: s.delete(PODS + "x", expected_revision=rev), RevisionConflictError, id="delete"),
        pytest.param(lambda s, rev: s.create(PODS + "x", pod("x")), KeyExistsError, id="create"),
    ],
)
async def test_a_write_checked_only_against_a_stale_cache_still_loses(stores: list[PostgresStore], write, error) -> None:
    a, b, _ = stores
    kv = a.create(PODS + "x", pod("x"))
    await b.wait_fresh()
    a.update(PODS + "x", pod("x", "a"), expected_revision=kv.mod_revision)
    assert b.get(PODS + "x") == kv  # b has not polled a's update yet: only the database knows
    with pytest.raises(error):
        write(b, kv.mod_revision)


async def test_deleting_what_another_apiserver_deleted_is_not_found(stores: list[PostgresStore]) -> None:
    a, b, _ = stores
    kv = a.create(PODS + "x", pod("x"))
    await b.wait_fresh()
    a.delete(PODS + "x")
    with pytest.raises(KeyNotFoundError):
        b.delete(PODS + "x", expected_revision=kv.mod_revision)


async def test_concurrent_writers_give_every_apiserver_the_same_gapless_order(
    postgres_url: str, stores: list[PostgresStore]
) -> None:
    """Four writer processes' worth of transactions race; both watchers see one total order."""
    w1, w2, _ = stores
    watches = [w.watch(PODS, after_revision=0) for w in (w1, w2)]

    def writer(worker: int) -> list[int]:
        store = PostgresStore(postgres_url)
        try:
            revisions = []
            for i in range(15):
                kv = store.create(PODS + f"w{worker}-{i}", pod("w"))
                kv = store.update(kv.key, pod("w", "2"), expected_revision=kv.mod_revision)
                revisions += [kv.create_revision, kv.mod_revision]
            return revisions
        finally:
            store.close()

    written = sorted(r for rs in await asyncio.gather(*(asyncio.to_thread(writer, w) for w in range(4))) for r in rs)
    seen = [[e.revision for e in await collect(watch, len(written), timeout=20)] for watch in watches]
    assert seen[0] == seen[1] == written


async def test_a_slow_writer_holds_back_later_writers_so_no_event_is_skipped(
    postgres_url: str, stores: list[PostgresStore]
) -> None:
    """A transaction that drew id N and commits late must not let id N+1 become visible first."""
    a, b, _ = stores
    watches = [s.watch(PODS, after_revision=0) for s in (a, b)]
    inserted = threading.Event()

    def slow_writer() -> int:  # one apiserver's write, stretched between its INSERT and COMMIT
        with psycopg.connect(postgres_url, autocommit=True) as db, db.transaction():
            db.execute(LOCK, (WRITE_LOCK,))
            row = db.execute(INSERT_CREATE, {"name": PODS + "slow", "value": json.dumps(pod("slow"))}).fetchone()
            inserted.set()
            time.sleep(0.5)
        assert row is not None
        return int(row[0])

    slow = asyncio.ensure_future(asyncio.to_thread(slow_writer))
    assert await asyncio.to_thread(inserted.wait, 5)
    fast = a.create(PODS + "fast", pod("fast"))
    slow_revision = await slow
    for watch in watches:
        events = await collect(watch, 2)
        assert [(e.kv.key, e.revision) for e in events] == [
            (PODS + "slow", slow_revision),
            (PODS + "fast", fast.mod_revision),
        ]


async def test_a_hole_in_the_ids_is_skipped_without_waiting(postgres_url: str, stores: list[PostgresStore]) -> None:
    """Ids an aborted insert drew never appear; a poller must not wait for them."""
    a, b, _ = stores
    watch = b.watch(PODS, after_revision=0)
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("SELECT nextval('log_id_seq') FROM generate_series(1, 3)")
    kv = a.create(PODS + "x", pod("x"))
    [event] = await collect(watch, 1, timeout=1.0)  # a poller waiting for the hole would miss this
    assert event.revision == kv.mod_revision


async def test_an_apiserver_left_behind_by_compaction_reloads_and_ends_its_watches(postgres_url: str) -> None:
    a = PostgresStore(postgres_url)
    slow = PostgresStore(postgres_url, poll_interval=3600)  # polls only when asked to
    try:
        kv = a.create(PODS + "x", pod("x"))
        watch = slow.watch(PODS, after_revision=0)
        a.update(PODS + "x", pod("x", "2"), expected_revision=kv.mod_revision)
        a.delete(PODS + "x")
        a.create(PODS + "y", pod("y"))
        a.compact(a.current_revision())
        await slow.wait_fresh()
        with pytest.raises(WatchOverflowError):
            await watch.next(1.0)
        assert slow.get(PODS + "x") is None and slow.get(PODS + "y") is not None
        assert slow.current_revision() == a.current_revision()
    finally:
        a.close()
        slow.close()


# -- two real apiservers -------------------------------------------------------------------


@pytest.fixture
def apiservers(postgres_url: str) -> Iterator[list[httpx.Client]]:
    servers = [RunningServer(PostgresStore(postgres_url), AppSettings(compaction_interval=3600)) for _ in range(2)]
    clients = []
    for server in servers:
        server.start()
        clients.append(httpx.Client(base_url=server.url, timeout=10))
    yield clients
    for client, server in zip(clients, servers, strict=True):
        client.close()
        server.stop()


def configmap(name: str, value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}}


def test_a_watch_on_one_apiserver_streams_writes_made_through_the_other(apiservers: list[httpx.Client]) -> None:
    one, other = apiservers
    start = other.get(CM).json()["metadata"]["resourceVersion"]
    written: list[tuple[str, str]] = []
    received: list[dict] = []

    def watch() -> None:
        params = {"watch": "true", "resourceVersion": start, "timeoutSeconds": "10"}
        with other.stream("GET", CM, params=params) as response:
            for line in response.iter_lines():
                if line.strip():
                    received.append(json.loads(line))
                if len(received) == 3:
                    return

    watcher = threading.Thread(target=watch)
    watcher.start()
    created = one.post(CM, json=configmap("shared", "1")).json()
    written.append(("ADDED", created["metadata"]["resourceVersion"]))
    updated = one.put(f"{CM}/shared", json={**created, "data": {"v": "2"}}).json()
    written.append(("MODIFIED", updated["metadata"]["resourceVersion"]))
    deleted = one.delete(f"{CM}/shared")
    assert deleted.status_code == 200
    watcher.join(timeout=15)
    assert [e["type"] for e in received] == ["ADDED", "MODIFIED", "DELETED"]
    assert [(e["type"], e["object"]["metadata"]["resourceVersion"]) for e in received[:2]] == written
    revisions = [int(e["object"]["metadata"]["resourceVersion"]) for e in received]
    assert revisions == sorted(set(revisions))


def test_a_read_on_one_apiserver_sees_a_write_acknowledged_by_the_other(apiservers: list[httpx.Client]) -> None:
    one, other = apiservers
    for i in range(10):
        rv = one.post(CM, json=configmap(f"c{i}", "1")).json()["metadata"]["resourceVersion"]
        got = other.get(f"{CM}/c{i}")
        assert got.status_code == 200 and got.json()["metadata"]["resourceVersion"] == rv


def put_at_once(writes: list[tuple[httpx.Client, dict]], path: str) -> list[int]:
    """PUT every (client, body) from its own thread, released together; the status codes."""
    barrier = threading.Barrier(len(writes))
    codes: list[int] = []

    def put(client: httpx.Client, body: dict) -> None:
        barrier.wait()
        codes.append(client.put(path, json=body).status_code)

    threads = [threading.Thread(target=put, args=write) for write in writes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    return codes


def test_concurrent_conflicting_updates_through_both_give_one_success_and_one_conflict(
    apiservers: list[httpx.Client],
) -> None:
    one, other = apiservers
    for attempt in range(5):
        name = f"race{attempt}"
        base = one.post(CM, json=configmap(name, "0")).json()
        other.get(f"{CM}/{name}")  # both apiservers know the object at the same resourceVersion
        writes = [(client, {**base, "data": {"v": value}}) for client, value in ((one, "one"), (other, "other"))]
        assert sorted(put_at_once(writes, f"{CM}/{name}")) == [200, 409]
        stored = one.get(f"{CM}/{name}").json()
        assert stored["data"]["v"] in ("one", "other")
        assert int(stored["metadata"]["resourceVersion"]) > int(base["metadata"]["resourceVersion"])
