"""The PostgreSQL store under faults: a database that refuses connections, a writer stuck
behind another's lock, a poll that hangs. Each fails the request with a Status naming the
cause (never a traceback, never a hang), changes nothing, and the store recovers by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest

from apiserver.store.base import StorageError
from apiserver.store.postgres import PostgresStore
from apiserver.store.postgres_sql import LOCK, WRITE_LOCK
from tests.apiserver import pgcluster

postgres_cluster = pgcluster.postgres_cluster
postgres_url = pgcluster.postgres_url
PODS = "/registry/pods/default/"


def pod(name: str, version: str = "1") -> dict:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"v": version}}


@pytest.fixture
def admin(postgres_cluster: pgcluster.PostgresCluster) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as db:
        yield db


def refuse_connections(admin: psycopg.Connection, url: str, *, refuse: bool) -> None:
    """Close the database to new sessions and end the open ones (or open it again)."""
    name = url.rsplit("/", 1)[1]
    admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if refuse else "true"}')
    if refuse:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


async def test_an_unreachable_database_fails_writes_and_reads_with_503_then_recovers(
    postgres_url: str, admin: psycopg.Connection
) -> None:
    store = PostgresStore(postgres_url)
    try:
        kv = store.create(PODS + "a", pod("a"))
        await store.wait_fresh()
        refuse_connections(admin, postgres_url, refuse=True)
        messages = []
        for _ in range(2):  # first on the ended session, then on a new one the database refuses
            with pytest.raises(StorageError) as refused:
                store.update(PODS + "a", pod("a", "2"), expected_revision=kv.mod_revision)
            assert (refused.value.code, refused.value.reason) == (503, "ServiceUnavailable")
            messages.append(refused.value.message)
        assert "terminating connection" in messages[0]
        assert "not currently accepting connections" in messages[1]
        with pytest.raises(StorageError):
            await store.wait_fresh()  # freshness cannot be promised without the database
        why = await store.health()
        assert why is not None and why.startswith("the store cannot commit writes: polling the log failed")
        assert store.get(PODS + "a") == kv and store.current_revision() == kv.mod_revision

        refuse_connections(admin, postgres_url, refuse=False)
        await asyncio.wait_for(store.wait_fresh(), 5)
        assert await store.health() is None
        assert store.update(PODS + "a", pod("a", "2"), expected_revision=kv.mod_revision).mod_revision > kv.mod_revision
    finally:
        refuse_connections(admin, postgres_url, refuse=False)
        store.close()


async def test_a_write_stuck_behind_another_writers_lock_fails_with_504_and_changes_nothing(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    try:
        kv = store.create(PODS + "a", pod("a"))
        store._db.execute("SET lock_timeout = '200ms'")  # the default 10s, shortened for the test
        with psycopg.connect(postgres_url, autocommit=True) as other, other.transaction():
            other.execute(LOCK, (WRITE_LOCK,))  # another apiserver's write that does not end
            with pytest.raises(StorageError) as late:
                store.update(PODS + "a", pod("a", "2"), expected_revision=kv.mod_revision)
        assert (late.value.code, late.value.reason) == (504, "Timeout")
        assert store.get(PODS + "a") == kv
        await store.wait_fresh()
        assert store.current_revision() == kv.mod_revision
        assert store.update(PODS + "a", pod("a", "2"), expected_revision=kv.mod_revision).mod_revision > kv.mod_revision
    finally:
        store.close()


async def test_a_hanging_poll_fails_wait_fresh_at_its_deadline_and_the_next_one_succeeds(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, fresh_deadline=0.3)
    try:
        await store.wait_fresh()
        with store._poll_lock, pytest.raises(StorageError) as late:  # the next poll waits in its thread
            await store.wait_fresh()
        assert (late.value.code, late.value.reason) == (504, "Timeout")
        store.create(PODS + "a", pod("a"))
        await asyncio.wait_for(store.wait_fresh(), 5)
    finally:
        store.close()
