"""Leader election over a Lease: acquire, respect, expire, conflict, step down, release."""

from __future__ import annotations

import asyncio

from apimachinery.leaderelection import LeaderElector
from apimachinery.models.apps import Lease
from apimachinery.testing import FakeApi
from apimachinery.timeutil import FakeClock

NS, NAME = "kube-system", "podvisor-controller-manager"


def elector(client: FakeApi, identity: str, clock: FakeClock | None = None) -> LeaderElector:
    return LeaderElector(client, NS, NAME, identity, clock=clock or FakeClock())


def lease(client: FakeApi) -> Lease:
    found = client.stored(Lease, NAME, NS)
    assert found is not None
    return found


async def test_first_candidate_creates_the_lease() -> None:
    client = FakeApi()
    a = elector(client, "a")
    assert await a.try_acquire_or_renew()
    spec = lease(client).spec
    assert (spec.holder_identity, spec.lease_duration_seconds, spec.lease_transitions) == ("a", 15, 0)
    assert spec.renew_time and spec.renew_time.endswith("Z") and "." in spec.renew_time


async def test_a_held_lease_is_respected_until_it_stops_changing_for_a_lease_duration() -> None:
    client = FakeApi()
    clock_a, clock_b = FakeClock(), FakeClock()
    a, b = elector(client, "a", clock_a), elector(client, "b", clock_b)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    for _ in range(3):  # a keeps renewing: b never gets it
        clock_a.advance(10)
        clock_b.advance(10)
        assert await a.try_acquire_or_renew()
        assert not await b.try_acquire_or_renew()
    clock_b.advance(14)  # a went silent
    assert not await b.try_acquire_or_renew()
    clock_b.advance(2)
    assert await b.try_acquire_or_renew()
    spec = lease(client).spec
    assert (spec.holder_identity, spec.lease_transitions) == ("b", 1)
    assert not await a.try_acquire_or_renew()  # a sees b's fresh renewal


async def test_renewal_keeps_the_acquire_time() -> None:
    client = FakeApi()
    clock = FakeClock()
    a = elector(client, "a", clock)
    await a.try_acquire_or_renew()
    acquired = lease(client).spec.acquire_time
    clock.advance(2)
    await a.try_acquire_or_renew()
    spec = lease(client).spec
    assert spec.acquire_time == acquired and spec.renew_time != acquired


async def test_two_candidates_racing_for_an_expired_lease_cannot_both_win() -> None:
    client = FakeApi()
    clock = FakeClock()
    old = elector(client, "old", FakeClock())
    await old.try_acquire_or_renew()
    a, b = elector(client, "a", clock), elector(client, "b", clock)
    await a.try_acquire_or_renew()
    await b.try_acquire_or_renew()
    clock.advance(16)
    stale = lease(client)  # both read the same expired lease...
    real_get = client.get

    async def get_stale(model, name, namespace=None):  # type: ignore[no-untyped-def]
        return stale.model_copy(deep=True)

    assert await a.try_acquire_or_renew()
    client.get = get_stale  # type: ignore[method-assign]
    assert not await b.try_acquire_or_renew()  # ...but b's write is a stale compare-and-swap
    client.get = real_get  # type: ignore[method-assign]
    assert lease(client).spec.holder_identity == "a"


async def test_run_leads_steps_down_when_the_lease_is_taken_and_releases_on_cancel() -> None:
    client = FakeApi()
    a = LeaderElector(client, NS, NAME, "a", lease_duration=1, renew_deadline=0.5, retry_period=0.02)
    started, stopped = asyncio.Event(), asyncio.Event()
    terms = 0

    async def work() -> None:
        nonlocal terms
        terms += 1
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    runner = asyncio.create_task(a.run(work))
    await asyncio.wait_for(started.wait(), 5)
    assert a.leading
    # someone else takes the lease (e.g. after a long pause of ours)
    taken = lease(client)
    taken.spec.holder_identity = "intruder"
    await client.replace(taken)
    await asyncio.wait_for(stopped.wait(), 5)
    assert not a.leading
    # the intruder never renews: a takes over again once the lease expired
    started.clear()
    await asyncio.wait_for(started.wait(), 5)
    assert terms == 2
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    spec = lease(client).spec
    assert (spec.holder_identity, spec.lease_duration_seconds) == (None, 1)


async def test_run_returns_when_the_work_ends() -> None:
    client = FakeApi()
    a = LeaderElector(client, NS, NAME, "a", retry_period=0.02)
    done: list[bool] = []

    async def work() -> None:
        done.append(True)

    await asyncio.wait_for(a.run(work), 5)
    assert done == [True]
    assert lease(client).spec.holder_identity is None
