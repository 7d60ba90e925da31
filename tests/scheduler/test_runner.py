"""The wired scheduler (informers, leader election, binding) against a real apiserver on a free port."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from apimachinery.client import ApiClient
from apimachinery.conditions import get_condition
from apimachinery.models.apps import Lease
from apimachinery.models.core import Event, Node, Pod
from apiserver.app import AppSettings
from apiserver.store.sqlite import SqliteStore
from scheduler.runner import run_with_client
from tests.apiserver.conftest import RunningServer
from tests.scheduler.objects import make_node, make_pod


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    srv = RunningServer(SqliteStore(tmp_path / "state.db"), AppSettings(compaction_interval=3600))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[ApiClient]:
    async with ApiClient(server.url) as c:
        yield c


async def register(client: ApiClient, node: Node) -> None:
    created = await client.create(node)
    created.status = node.status
    await client.replace_status(created)


async def wait_until(what: str, check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def placement(client: ApiClient) -> dict[str, str | None]:
    pods, _ = await client.list(Pod, "default")
    return {str(p.metadata.name): p.spec.node_name for p in pods}


@pytest.fixture
async def scheduler(client: ApiClient) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(run_with_client(client, identity="test-scheduler"))
    yield task
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_schedules_spreads_and_reports(client: ApiClient, scheduler: asyncio.Task[None]) -> None:
    for name in ("a", "b", "c"):
        await register(client, make_node(name, cpu="2"))
    for i in range(6):
        await client.create(make_pod(f"web-{i}", cpu="100m", owner_uid="rs-web"))
    await client.create(make_pod("huge", cpu="16"))

    async def settled() -> bool:
        placed = await placement(client)
        return sum(1 for n in placed.values() if n) == 6
    await wait_until("six pods bound", settled)
    assert Counter(n for n in (await placement(client)).values() if n) == {"a": 2, "b": 2, "c": 2}

    async def huge_marked() -> bool:
        pod = await client.get(Pod, "huge", "default")
        cond = get_condition(pod.status.conditions if pod.status else None, "PodScheduled")
        return cond is not None and cond.reason == "Unschedulable"
    await wait_until("the huge pod marked unschedulable", huge_marked)
    pod = await client.get(Pod, "huge", "default")
    cond = get_condition(pod.status.conditions if pod.status else None, "PodScheduled")
    assert cond is not None and cond.message == "0/3 nodes are available: 3 Insufficient cpu."
    events, _ = await client.list(Event, "default")
    reasons = Counter(e.reason for e in events)
    assert reasons["Scheduled"] == 6 and reasons["FailedScheduling"] >= 1
    lease = await client.get(Lease, "podvisor-scheduler", "kube-system")
    assert lease.spec.holder_identity == "test-scheduler"


async def test_pending_pod_is_bound_when_a_fitting_node_registers(client: ApiClient,
                                                                 scheduler: asyncio.Task[None]) -> None:
    await register(client, make_node("small", cpu="1"))
    await client.create(make_pod("big", cpu="2"))

    async def marked() -> bool:
        pod = await client.get(Pod, "big", "default")
        return get_condition(pod.status.conditions if pod.status else None, "PodScheduled") is not None
    await wait_until("the verdict", marked)
    await register(client, make_node("large", cpu="8"))

    async def bound() -> bool:
        return (await placement(client))["big"] == "large"
    await wait_until("binding to the new node", bound)


async def test_throughput_against_the_real_apiserver(client: ApiClient) -> None:
    """Pods created first, then the scheduler started: the time to bind them all, events included."""
    for i in range(20):
        await register(client, make_node(f"n{i:02d}", cpu="64", memory="256Gi", pods=500))
    count = 200
    slots = asyncio.Semaphore(16)

    async def create(i: int) -> None:
        async with slots:
            await client.create(make_pod(f"p{i:04d}", cpu="100m", owner_uid=f"rs{i // 50}"))
    await asyncio.gather(*(create(i) for i in range(count)))
    started = time.monotonic()
    task = asyncio.create_task(run_with_client(client, identity="test-scheduler"))
    try:
        async def all_bound() -> bool:
            pods, _ = await client.list(Pod, "default", field_selector="spec.nodeName=")
            return not pods
        await wait_until("every pod bound", all_bound, timeout=120)
        elapsed = time.monotonic() - started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    print(f"\n{count} pods bound through the real apiserver in {elapsed:.2f}s ({count / elapsed:.0f} pods/s)")
    pods, _ = await client.list(Pod, "default")
    for owner in {p.metadata.owner_references[0].uid for p in pods if p.metadata.owner_references}:
        per_node = Counter(p.spec.node_name for p in pods
                           if p.metadata.owner_references and p.metadata.owner_references[0].uid == owner)
        assert len(per_node) == 20 and max(per_node.values()) - min(per_node.values()) <= 1, per_node
