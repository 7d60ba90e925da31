"""The sync loop: workers per pod uid, runtime events, and orphans found by a relist."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

from apimachinery.timeutil import FakeClock
from kubelet import naming
from kubelet.pause import PAUSE_IMAGE
from kubelet.podmanager import PodManager
from kubelet.runtime.base import ContainerInfo, ContainerRuntimeError, ContainerSpec, RuntimeEvent
from kubelet.runtime.fake import FakeRuntime
from tests.kubelet.harness import IMAGE, NODE, make_context, make_pod


async def settle(manager: PodManager) -> None:
    for _ in range(50):
        await asyncio.sleep(0.01)


async def test_pod_event_starts_a_worker_that_runs_the_pod() -> None:
    ctx, runtime, api, _ = make_context()
    manager = PodManager(ctx)
    manager.on_pod(api.put(make_pod()))
    await settle(manager)
    assert api.pod("default/web").status.phase == "Running"
    await manager.stop()


async def test_pods_of_other_nodes_are_ignored() -> None:
    ctx, runtime, api, _ = make_context()
    manager = PodManager(ctx)
    pod = make_pod()
    pod.spec.node_name = "elsewhere"
    manager.on_pod(api.put(pod))
    await settle(manager)
    assert manager.workers == {} and runtime.list_containers({}) == []


async def test_relist_removes_orphans_but_never_foreign_containers() -> None:
    ctx, runtime, api, _ = make_context()
    orphan_labels = naming.container_labels(node=NODE, pod=naming.PodRef("default", "gone", "dead-uid"),
                                            container="app", attempt=0, init=False)
    orphan = runtime.create_container(ContainerSpec(name="orphan", image=IMAGE, labels=orphan_labels))
    foreign = runtime.create_container(ContainerSpec(name="foreign", image=IMAGE, labels={"someone": "else"}))
    other_node = runtime.create_container(ContainerSpec(
        name="other-node", image=IMAGE, labels={**orphan_labels, naming.NODE: "node-b"}))
    for cid in (orphan, foreign, other_node):
        runtime.start_container(cid)
    manager = PodManager(ctx)
    await manager.relist()
    await settle(manager)
    assert runtime.inspect_container(orphan) is not None, "no orphans before the desired pods are known"
    manager.ready = True
    await manager.relist()
    await settle(manager)
    assert runtime.inspect_container(orphan) is None
    assert runtime.inspect_container(foreign) is not None and runtime.inspect_container(other_node) is not None
    await manager.stop()


async def test_runtime_die_event_wakes_the_pod_worker() -> None:
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    manager = PodManager(ctx)
    manager.on_pod(api.put(make_pod()))
    await settle(manager)
    pump = asyncio.create_task(manager.pump_events())
    await asyncio.sleep(0.1)
    app = runtime.list_containers({naming.CONTAINER: "app"})[0]
    runtime.exit(app.id, 1)
    for _ in range(100):
        await asyncio.sleep(0.02)
        statuses = api.pod("default/web").status.container_statuses
        if statuses[0].restart_count == 1 and statuses[0].state.running is not None:
            break
    assert api.pod("default/web").status.container_statuses[0].restart_count == 1
    pump.cancel()
    await asyncio.gather(pump, return_exceptions=True)
    await manager.stop()



class _Either(threading.Event):
    """Set when either of two events is: the caller's stop, or the daemon going away."""

    def __init__(self, first: threading.Event, second: threading.Event) -> None:
        super().__init__()
        self.first, self.second = first, second

    def is_set(self) -> bool:
        return self.first.is_set() or self.second.is_set()


class AwayRuntime(FakeRuntime):
    """A fake runtime whose daemon can go away (a dockerd restart): open event streams end and
    every call fails until it is back."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.away = threading.Event()

    def events(self, labels: dict[str, str], stop: threading.Event) -> Iterator[RuntimeEvent]:
        if self.away.is_set():
            raise ContainerRuntimeError("cannot watch container events: the daemon is away")
        return super().events(labels, _Either(stop, self.away))

    def list_containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        if self.away.is_set():
            raise ContainerRuntimeError("cannot list containers: the daemon is away")
        return super().list_containers(labels)


async def test_event_pump_outlives_a_runtime_restart_and_relists_what_it_missed() -> None:
    clock = FakeClock()
    runtime = AwayRuntime(images=[IMAGE, PAUSE_IMAGE], clock=clock.time)
    ctx, _, api, _ = make_context(runtime=runtime, clock=clock, backoff_initial=0)
    manager = PodManager(ctx)
    manager.ready = True
    manager.on_pod(api.put(make_pod()))
    await settle(manager)
    pump = asyncio.create_task(manager.pump_events())
    await asyncio.sleep(0.1)
    runtime.away.set()  # the stream ends; resubscribing and relisting fail for a while
    app = FakeRuntime.list_containers(runtime, {naming.CONTAINER: "app"})[0]
    runtime.exit(app.id, 1)  # unseen: no stream is open
    await asyncio.sleep(1.5)
    assert not pump.done(), "the pump must survive a runtime that is away"
    runtime.away.clear()
    for _ in range(150):
        await asyncio.sleep(0.02)
        if api.pods["default/web"].status.container_statuses[0].restart_count == 1:
            break
    assert api.pods["default/web"].status.container_statuses[0].restart_count == 1
    pump.cancel()
    await asyncio.gather(pump, return_exceptions=True)
    await manager.stop()
