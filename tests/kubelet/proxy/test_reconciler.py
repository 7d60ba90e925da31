"""The proxy's control loop: nothing before the caches sync, one write per burst, retries, resyncs."""

from __future__ import annotations

import asyncio
from typing import Any

from apimachinery.informer import InformerCache
from apimachinery.models.core import Service
from apimachinery.models.discovery import EndpointSlice
from kubelet.proxy.nft import Applier, Nft, NftError
from kubelet.proxy.reconciler import FAILED_TO_SYNC, ServiceProxy
from kubelet.proxy.rules import NodeFacts, Ruleset
from tests.kubelet.proxy.fixtures import endpoint_slice, ep, service


class RecordingApplier(Applier):
    def __init__(self, failures: int = 0) -> None:
        super().__init__(Nft(binary="false"))
        self.calls: list[Ruleset] = []
        self.failures = failures

    def sync(self, ruleset: Ruleset) -> bool:
        self.calls.append(ruleset)
        if self.failures:
            self.failures -= 1
            raise NftError("transaction refused")
        return True


def raw(obj: Any) -> dict[str, Any]:
    return dict(obj.model_dump(by_alias=True, exclude_none=True))


def proxy_with(applier: Applier, **kw: Any) -> tuple[ServiceProxy, InformerCache[Service], InformerCache[EndpointSlice]]:
    services: InformerCache[Service] = InformerCache(Service)
    slices: InformerCache[EndpointSlice] = InformerCache(EndpointSlice)
    proxy = ServiceProxy(services=services, slices=slices, node=NodeFacts(node="n1", bridge="br-0123456789ab"),
                         applier=applier, hairpin=False, **kw)
    proxy.start()
    return proxy, services, slices


async def until(check: Any, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_nothing_is_written_before_both_caches_know_everything() -> None:
    applier = RecordingApplier()
    proxy, services, slices = proxy_with(applier, debounce=0.01, resync=10)
    task = asyncio.create_task(proxy.run())
    try:
        services.replace_raw([raw(service("web"))])
        await asyncio.sleep(0.1)
        assert applier.calls == []  # a restarted kubelet keeps the old table until then
        slices.replace_raw([raw(endpoint_slice("web", [ep("172.18.0.3")]))])
        await until(lambda: len(applier.calls) == 1)
        assert "dnat to 172.18.0.3:8080" in applier.calls[0].script()
    finally:
        task.cancel()


async def test_a_burst_of_changes_is_one_sync_carrying_the_last_state() -> None:
    applier = RecordingApplier()
    proxy, services, slices = proxy_with(applier, debounce=0.1, resync=10)
    services.replace_raw([raw(service("web"))])
    slices.replace_raw([])
    task = asyncio.create_task(proxy.run())
    try:
        await until(lambda: len(applier.calls) == 1)
        for i in range(10):
            slices.apply_raw("MODIFIED", raw(endpoint_slice("web", [ep(f"172.18.0.{i + 2}")])))
        await until(lambda: len(applier.calls) == 2)
        await asyncio.sleep(0.2)
        assert len(applier.calls) == 2
        assert "dnat to 172.18.0.11:8080" in applier.calls[1].script()
    finally:
        task.cancel()


async def test_a_failed_write_is_retried_and_the_kernel_is_checked_every_resync() -> None:
    applier = RecordingApplier(failures=3)
    events: list[tuple[str, str, str]] = []
    proxy, services, slices = proxy_with(applier, debounce=0.01, resync=0.2, event=lambda *e: events.append(e))
    services.replace_raw([])
    slices.replace_raw([])
    task = asyncio.create_task(proxy.run())
    try:
        await until(lambda: len(applier.calls) == 4, timeout=4)  # three failures, each retried with back-off
        assert [e[1] for e in events] == [FAILED_TO_SYNC]  # said once on the Node
        await until(lambda: len(applier.calls) >= 6, timeout=2)  # then a check every resync
    finally:
        task.cancel()
