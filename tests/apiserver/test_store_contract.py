"""The Store contract: every back-end (SQLite, PostgreSQL) passes the same specification.

Writes are followed by ``await store.sync()``, as the apiserver does before answering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from apiserver.store import open_store
from apiserver.store.base import (
    CompactedError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionConflictError,
    StorageError,
    Store,
    StoreEvent,
    Watch,
)
from tests.apiserver import pgcluster

postgres_cluster = pgcluster.postgres_cluster  # the session's server (fixture)
postgres_url = pgcluster.postgres_url  # a fresh database per test (fixture)
PODS = "/registry/pods/default/"
Opener = Callable[[], Store]


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores on one location (a file, a database); every one is closed after the test."""
    target = str(tmp_path / "state.db") if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    opened: list[Store] = []

    def open_() -> Store:
        opened.append(open_store(target))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener()


def pod(name: str, version: str = "1") -> dict:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"v": version}}


async def collect(watch: Watch, count: int, *, timeout: float = 5.0) -> list[StoreEvent]:
    """Read ``count`` events, failing if they do not arrive in time."""
    events: list[StoreEvent] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(events) < count:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"only {len(events)} of {count} events arrived: {[e.revision for e in events]}"
        event = await watch.next(left)
        if event is not None:
            events.append(event)
    return events


async def test_create_then_get_and_list(store: Store) -> None:
    kv = store.create(PODS + "a", pod("a"))
    await store.sync()
    assert kv.create_revision == kv.mod_revision == store.current_revision()
    assert store.get(PODS + "a") == kv
    page = store.list(PODS)
    assert [i.key for i in page.items] == [PODS + "a"]
    assert page.items[0].value == pod("a")
    assert page.revision == kv.mod_revision


async def test_list_is_limited_to_the_prefix_and_in_key_order(store: Store) -> None:
    for key in (PODS + "b", PODS + "a", "/registry/pods/default2/c", "/registry/configmaps/default/d"):
        store.create(key, pod(key))
    await store.sync()
    assert [i.key for i in store.list(PODS).items] == [PODS + "a", PODS + "b"]
    assert store.count("/registry/pods/") == 3


async def test_create_of_an_existing_key_is_key_exists(store: Store) -> None:
    store.create(PODS + "a", pod("a"))
    await store.sync()
    with pytest.raises(KeyExistsError):
        store.create(PODS + "a", pod("a", "2"))


async def test_update_moves_mod_revision_and_keeps_create_revision(store: Store) -> None:
    created = store.create(PODS + "a", pod("a"))
    updated = store.update(PODS + "a", pod("a", "2"), expected_revision=created.mod_revision)
    await store.sync()
    assert updated.mod_revision > created.mod_revision
    assert updated.create_revision == created.create_revision
    assert store.get(PODS + "a") == updated


@pytest.mark.parametrize(
    ("write", "error"),
    [
        pytest.param(lambda s, rev: s.update(PODS + "a", pod("a", "3"), expected_revision=rev), RevisionConflictError,
                     id="update-stale"),
        pytest.param(lambda s, rev: s.delete(PODS + "a", expected_revision=rev), RevisionConflictError,
                     id="delete-stale"),
        pytest.param(lambda s, rev: s.update(PODS + "x", pod("x"), expected_revision=rev), KeyNotFoundError,
                     id="update-missing"),
        pytest.param(lambda s, rev: s.delete(PODS + "x"), KeyNotFoundError, id="delete-missing"),
    ],
)
async def test_writes_against_a_stale_revision_or_missing_key_fail(store: Store, write, error) -> None:
    first = store.create(PODS + "a", pod("a"))
    store.update(PODS + "a", pod("a", "2"), expected_revision=first.mod_revision)
    await store.sync()
    before = store.current_revision()
    with pytest.raises(error):
        write(store, first.mod_revision)
    assert store.current_revision() == before
    assert store.get(PODS + "a").value == pod("a", "2")  # type: ignore[union-attr]


LONE_SURROGATE = {"metadata": {"name": "a", "namespace": "default"}, "data": {"x": "\ud800"}}


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda s, rev: s.create(PODS + "b", LONE_SURROGATE), id="create"),
        pytest.param(lambda s, rev: s.update(PODS + "a", LONE_SURROGATE, expected_revision=rev), id="update"),
        pytest.param(lambda s, rev: s.update(PODS + "a", {"spec": {1j: "not JSON"}}, expected_revision=rev),
                     id="update-not-json"),
    ],
)
async def test_a_write_that_fails_to_encode_changes_nothing_and_does_not_block_sync(
    opener: Opener, write
) -> None:
    store = opener()
    kv = store.create(PODS + "a", pod("a"))
    await store.sync()
    with pytest.raises(StorageError) as failed:
        write(store, kv.mod_revision)
    assert failed.value.code in (400, 500) and "cannot be stored" in failed.value.message
    assert store.current_revision() == kv.mod_revision  # no revision was taken
    assert store.get(PODS + "a") == kv and store.get(PODS + "b") is None
    await asyncio.wait_for(store.sync(), 2.0)  # nothing waits for a revision that never commits
    await asyncio.wait_for(store.wait_fresh(), 2.0)
    after = store.update(PODS + "a", pod("a", "2"), expected_revision=kv.mod_revision)
    await asyncio.wait_for(store.sync(), 2.0)
    assert after.mod_revision == kv.mod_revision + 1
    store.close()
    reopened = opener()  # the log agrees with what memory said
    assert reopened.get(PODS + "a") == after and reopened.get(PODS + "b") is None


async def test_a_healthy_store_reports_no_problem(store: Store) -> None:
    store.create(PODS + "a", pod("a"))
    await store.sync()
    assert await store.health() is None


async def test_update_without_expected_revision_always_applies(store: Store) -> None:
    store.create(PODS + "a", pod("a"))
    kv = store.update(PODS + "a", pod("a", "2"), expected_revision=0)
    await store.sync()
    assert store.get(PODS + "a") == kv


async def test_delete_then_recreate_starts_a_new_life(store: Store) -> None:
    first = store.create(PODS + "a", pod("a"))
    gone = store.delete(PODS + "a", expected_revision=first.mod_revision)
    await store.sync()
    assert gone.value == pod("a") and gone.mod_revision > first.mod_revision
    assert store.get(PODS + "a") is None and store.list(PODS).items == []
    again = store.create(PODS + "a", pod("a", "2"))
    await store.sync()
    assert again.create_revision == again.mod_revision > gone.mod_revision


async def test_list_at_an_older_revision_pages_through_that_snapshot(store: Store) -> None:
    for i in range(5):
        store.create(PODS + f"p{i}", pod(f"p{i}"))
    await store.sync()
    snapshot = store.current_revision()
    store.delete(PODS + "p1")
    store.update(PODS + "p3", pod("p3", "2"), expected_revision=0)
    store.create(PODS + "p5", pod("p5"))
    await store.sync()
    seen, start_after, more = [], "", True
    while more:
        page = store.list(PODS, start_after=start_after, limit=2, revision=snapshot)
        assert page.revision == snapshot
        seen += [(kv.key.rsplit("/", 1)[1], kv.value["spec"]["v"]) for kv in page.items]
        start_after, more = page.items[-1].key, page.more
    assert seen == [(f"p{i}", "1") for i in range(5)]


async def test_watch_replays_after_a_revision_then_streams_without_gaps_or_duplicates(store: Store) -> None:
    store.create(PODS + "a", pod("a"))
    await store.sync()
    start = store.current_revision()
    written = [store.update(PODS + "a", pod("a", str(i)), expected_revision=0).mod_revision for i in range(3)]
    written.append(store.create(PODS + "b", pod("b")).mod_revision)
    await store.sync()
    watch = store.watch(PODS, after_revision=start)
    written.append(store.delete(PODS + "a").mod_revision)
    written += [store.create(PODS + f"c{i}", pod("c")).mod_revision for i in range(3)]
    await store.sync()
    events = await collect(watch, len(written))
    assert [e.revision for e in events] == written
    assert [e.type for e in events] == ["MODIFIED"] * 3 + ["ADDED", "DELETED"] + ["ADDED"] * 3
    assert events[0].prev is not None and events[0].prev.value == pod("a")
    assert events[4].kv.value == pod("a", "2")  # a DELETED event carries the last state
    assert await watch.next(0.3) is None  # and nothing more
    watch.close()


async def test_watch_from_now_sees_only_later_writes_of_its_prefix(store: Store) -> None:
    store.create(PODS + "old", pod("old"))
    await store.sync()
    watch = store.watch(PODS, after_revision=0)
    store.create("/registry/configmaps/default/x", pod("x"))
    new = store.create(PODS + "new", pod("new"))
    await store.sync()
    [event] = await collect(watch, 1)
    assert (event.type, event.kv.key, event.revision) == ("ADDED", PODS + "new", new.mod_revision)
    watch.close()


async def test_an_indexed_watch_sees_the_events_of_its_value_including_moves_in_and_out(store: Store) -> None:
    def on(node: str, name: str) -> dict[str, object]:
        return {**pod(name), "spec": {"nodeName": node}}

    mine = store.watch(PODS, after_revision=0, index=("spec.nodeName", "n1"))
    unscheduled = store.watch(PODS, after_revision=0, index=("spec.nodeName", ""))
    everything = store.watch(PODS, after_revision=0)
    a = store.create(PODS + "a", pod("a"))  # no nodeName: pending
    store.create(PODS + "b", on("n2", "b"))
    moved = store.update(PODS + "a", on("n1", "a"), expected_revision=a.mod_revision)
    store.update(PODS + "b", on("n2", "b2"), expected_revision=0)
    gone = store.delete(PODS + "a")
    await store.sync()
    assert [(e.type, e.revision) for e in await collect(mine, 2)] == [("MODIFIED", moved.mod_revision),
                                                                       ("DELETED", gone.mod_revision)]
    assert [e.revision for e in await collect(unscheduled, 2)] == [a.mod_revision, moved.mod_revision]
    assert len(await collect(everything, 5)) == 5
    assert await mine.next(0.2) is None and await unscheduled.next(0.0) is None
    for watch in (mine, unscheduled, everything):
        watch.close()


async def test_compacted_history_is_gone_for_watch_and_list(store: Store) -> None:
    store.create(PODS + "a", pod("a"))
    await store.sync()
    old = store.current_revision()
    store.update(PODS + "a", pod("a", "2"), expected_revision=0)
    store.create(PODS + "b", pod("b"))
    await store.sync()
    head = store.current_revision()
    assert store.compact(head) == head == store.compacted_revision()
    with pytest.raises(CompactedError):
        store.watch(PODS, after_revision=old)
    with pytest.raises(CompactedError):
        store.list(PODS, revision=old, limit=1)
    assert [kv.value["spec"]["v"] for kv in store.list(PODS).items] == ["2", "1"]  # live state kept


async def test_compaction_drops_superseded_rows_and_tombstones(store: Store) -> None:
    kv = store.create(PODS + "a", pod("a"))
    for i in range(5):
        kv = store.update(PODS + "a", pod("a", str(i)), expected_revision=kv.mod_revision)
    store.create(PODS + "b", pod("b"))
    store.delete(PODS + "b")
    await store.sync()
    store.compact(store.current_revision())
    assert store.history_rows() == 1  # type: ignore[attr-defined]
    assert store.get(PODS + "a") == kv


async def test_revisions_never_go_backwards_after_reopen(opener: Opener) -> None:
    first = opener()
    first.create(PODS + "a", pod("a"))
    first.delete(PODS + "a")  # the newest row is a tombstone...
    await first.sync()
    last = first.current_revision()
    first.compact(last)  # ...which compaction removes
    first.close()
    second = opener()
    assert second.current_revision() >= last
    assert second.compacted_revision() == last
    assert second.get(PODS + "a") is None
    assert second.create(PODS + "b", pod("b")).mod_revision > last


async def test_reopen_restores_the_live_state(opener: Opener) -> None:
    first = opener()
    a = first.create(PODS + "a", pod("a"))
    a = first.update(PODS + "a", pod("a", "2"), expected_revision=a.mod_revision)
    first.create(PODS + "b", pod("b"))
    first.delete(PODS + "b")
    await first.sync()
    first.close()
    second = opener()
    assert second.get(PODS + "a") == a
    assert [kv.key for kv in second.list(PODS).items] == [PODS + "a"]
    with pytest.raises(RevisionConflictError):
        second.update(PODS + "a", pod("a", "3"), expected_revision=a.create_revision)
