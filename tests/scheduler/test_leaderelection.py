"""Lease-based leader election against an in-memory lease store with optimistic concurrency."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, TypeVar, cast

import pytest

from apimachinery.errors import already_exists, conflict, not_found
from apimachinery.models.apps import Lease
from apimachinery.models.base import TypedObject
from apimachinery.timeutil import FakeClock
from scheduler.leaderelection import LeaderElector

T = TypeVar("T", bound=TypedObject)


class FakeLeaseApi:
    """get/create/replace of Leases; a replace with a stale resourceVersion is a 409, as on the server."""

    def __init__(self) -> None:
        self.leases: dict[str, Lease] = {}
        self.rv = itertools.count(1)
        self.writes = 0

    async def get(self, model: type[T], name: str, namespace: str | None = None) -> T:
        lease = self.leases.get(f"{namespace}/{name}")
        if lease is None:
            raise not_found("leases", name, group="coordination.k8s.io")
        return cast(T, lease.model_copy(deep=True))

    async def create(self, obj: T, namespace: str | None = None) -> T:
        lease = cast(Lease, obj).model_copy(deep=True)
        key = f"{namespace}/{lease.metadata.name}"
        if key in self.leases:
            raise already_exists("leases", str(lease.metadata.name))
        return self._store(key, lease)

    async def replace(self, obj: T, *, subresource: str | None = None) -> T:
        lease = cast(Lease, obj).model_copy(deep=True)
        key = f"{lease.metadata.namespace}/{lease.metadata.name}"
        current = self.leases.get(key)
        if current is None:
            raise not_found("leases", str(lease.metadata.name))
        if lease.metadata.resource_version != current.metadata.resource_version:
            raise conflict("leases", str(lease.metadata.name))
        return self._store(key, lease)

    def _store(self, key: str, lease: Lease) -> Any:
        self.writes += 1
        lease.metadata.resource_version = str(next(self.rv))
        self.leases[key] = lease
        return lease.model_copy(deep=True)

    def holder(self) -> str | None:
        lease = self.leases.get("kube-system/podvisor-scheduler")
        return lease.spec.holder_identity if lease else None


@pytest.fixture
def api() -> FakeLeaseApi:
    return FakeLeaseApi()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def elector(api: FakeLeaseApi, clock: FakeClock, identity: str, **kwargs: Any) -> LeaderElector:
    return LeaderElector(api, namespace="kube-system", name="podvisor-scheduler", identity=identity, clock=clock,
                         **kwargs)


async def test_first_candidate_creates_the_lease(api: FakeLeaseApi, clock: FakeClock) -> None:
    a = elector(api, clock, "a")
    assert await a.try_acquire_or_renew()
    lease = api.leases["kube-system/podvisor-scheduler"]
    assert (lease.spec.holder_identity, lease.spec.lease_duration_seconds, lease.spec.lease_transitions) == ("a", 15, 0)
    assert lease.spec.renew_time and lease.spec.renew_time.endswith("Z") and "." in lease.spec.renew_time
    assert a.is_leader


async def test_a_held_lease_is_not_taken_until_it_expires(api: FakeLeaseApi, clock: FakeClock) -> None:
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    clock.advance(14)
    assert not await b.try_acquire_or_renew()
    clock.advance(1)  # 15 s since b saw the record change: expired
    assert await b.try_acquire_or_renew()
    assert api.holder() == "b"
    assert api.leases["kube-system/podvisor-scheduler"].spec.lease_transitions == 1


async def test_renewals_keep_the_lease(api: FakeLeaseApi, clock: FakeClock) -> None:
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    for _ in range(10):
        clock.advance(2)
        assert await a.try_acquire_or_renew()
        assert not await b.try_acquire_or_renew()  # b sees a fresh renewTime each time
    acquired = api.leases["kube-system/podvisor-scheduler"].spec.acquire_time
    assert acquired == api.leases["kube-system/podvisor-scheduler"].spec.acquire_time


async def test_of_two_candidates_racing_for_an_expired_lease_one_wins(api: FakeLeaseApi, clock: FakeClock) -> None:
    a, b, c = elector(api, clock, "a"), elector(api, clock, "b"), elector(api, clock, "c")
    await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew() and not await c.try_acquire_or_renew()
    clock.advance(15)
    replace = api.replace

    async def c_writes_first(obj: Any, **kwargs: Any) -> Any:
        api.replace = replace  # type: ignore[method-assign]
        assert await c.try_acquire_or_renew()
        return await replace(obj, **kwargs)

    api.replace = c_writes_first  # type: ignore[method-assign]
    assert not await b.try_acquire_or_renew()  # its write carried the resourceVersion c replaced
    assert api.holder() == "c" and c.is_leader and not b.is_leader


async def test_release_lets_the_next_candidate_in_at_once(api: FakeLeaseApi, clock: FakeClock) -> None:
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    await a.try_acquire_or_renew()
    assert await a.release()
    assert api.holder() is None and not a.is_leader
    assert await b.try_acquire_or_renew()


async def test_release_does_not_touch_someone_elses_lease(api: FakeLeaseApi, clock: FakeClock) -> None:
    a, b = elector(api, clock, "a"), elector(api, clock, "b")
    await b.try_acquire_or_renew()
    assert not await a.release()
    assert api.holder() == "b"


async def test_run_leads_and_releases_on_cancel(api: FakeLeaseApi) -> None:
    leading = asyncio.Event()

    async def lead() -> None:
        leading.set()
        await asyncio.Event().wait()

    a = LeaderElector(api, namespace="kube-system", name="podvisor-scheduler", identity="a",
                      lease_duration=1.5, renew_deadline=1.0, retry_period=0.05)
    task = asyncio.create_task(a.run(lead))
    await asyncio.wait_for(leading.wait(), 5)
    writes = api.writes
    await asyncio.sleep(0.2)
    assert api.writes > writes  # renewing
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert api.holder() is None


async def test_run_stops_leading_when_another_holder_appears(api: FakeLeaseApi) -> None:
    stopped = asyncio.Event()

    async def lead() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    a = LeaderElector(api, namespace="kube-system", name="podvisor-scheduler", identity="a",
                      lease_duration=30, renew_deadline=20, retry_period=0.05)
    task = asyncio.create_task(a.run(lead))
    try:
        while not a.is_leader:
            await asyncio.sleep(0.01)
        lease = api.leases["kube-system/podvisor-scheduler"].model_copy(deep=True)
        lease.spec.holder_identity = "usurper"
        await api.replace(lease)
        await asyncio.wait_for(stopped.wait(), 5)
        assert api.holder() == "usurper"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
