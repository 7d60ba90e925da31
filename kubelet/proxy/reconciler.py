"""The service proxy's control loop: Services and EndpointSlices in, one nftables table out.

Level-triggered, as every podvisor controller: an informer event only marks the proxy dirty;
a sync re-reads both caches, renders the whole table and lets the applier write it when it
differs. Events are debounced (``debounce``, ~70 ms) so a burst - a Deployment scaling, a
slice rewritten for every pod - costs one transaction. Every ``resync`` seconds the kernel's
table is compared with what was written, so a deleted rule, chain or table comes back.

Nothing is written before both caches have synced: a restarted kubelet leaves the previous
table in place (traffic keeps flowing while it is down) until it knows every Service and
slice, then replaces it in one transaction. Shutdown leaves the table as it is, for the same
reason. A failed write is logged and retried with back-off, never raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from apimachinery.models.core import Service
from apimachinery.models.discovery import EndpointSlice
from kubelet.proxy.conntrack import Conntrack, stale_flows
from kubelet.proxy.hairpin import ensure_hairpin
from kubelet.proxy.nft import STALE_CHAIN_GRACE, Applier, NftError, orphaned_tables, remove_tables
from kubelet.proxy.plan import PortPlan, plan
from kubelet.proxy.rules import NodeFacts, Ruleset, render

log = logging.getLogger(__name__)

DEBOUNCE = 0.07
RESYNC = 5.0
RETRY_INITIAL = 0.5
FAILURES_REPORTED = 3  # consecutive failed syncs before a Warning Event on the Node (once per streak)
FAILED_TO_SYNC = "FailedToSyncServiceRules"
SYNC_WAIT_WARNING = 30.0  # seconds of waiting for the first lists before saying so
ORPHAN_CHECK = 60.0  # seconds between looks for tables of removed pod networks


class Cache(Protocol):
    """The part of an informer the proxy reads."""

    @property
    def has_synced(self) -> bool: ...

    def list(self) -> list[Any]: ...

    def add_handler(self, on_add: Any = None, on_update: Any = None, on_delete: Any = None) -> None: ...


@dataclass
class ServiceProxy:
    services: Cache
    slices: Cache
    node: NodeFacts
    applier: Applier
    api: Callable[[], tuple[str, int] | None] = lambda: None  # this node's API relay, for default/kubernetes
    conntrack: Conntrack = field(default_factory=Conntrack)
    debounce: float = DEBOUNCE
    resync: float = RESYNC
    hairpin: bool = True  # hairpin mode on the bridge's ports (:mod:`kubelet.proxy.hairpin`)
    event: Callable[[str, str, str], None] | None = None  # (type, reason, message) about the Node
    _dirty: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "service-proxy"), init=False)
    _plans: list[PortPlan] = field(default_factory=list, init=False)
    _failures: int = field(default=0, init=False)

    def start(self) -> None:
        """Subscribe to both caches (every change marks the proxy dirty)."""
        for cache in (self.services, self.slices):
            cache.add_handler(lambda _obj: self.changed(), lambda _old, _new: self.changed(),
                              lambda _obj: self.changed())

    def changed(self) -> None:
        self._dirty.set()

    def desired(self) -> tuple[list[PortPlan], Ruleset]:
        services: list[Service] = self.services.list()
        slices: list[EndpointSlice] = self.slices.list()
        plans = plan(services, slices, api=self.api())
        return plans, render(plans, self.node)

    async def run(self) -> None:
        """Sync on every change and every ``resync`` seconds, until cancelled (the table stays)."""
        loop = asyncio.get_running_loop()
        waiting_since = loop.time()
        while not (self.services.has_synced and self.slices.has_synced):
            if loop.time() - waiting_since > SYNC_WAIT_WARNING:
                log.warning("the service proxy of node %s still waits for the lists of Services and EndpointSlices "
                            "(rules left as they are)", self.node.node)
                waiting_since = loop.time()
            await asyncio.sleep(0.05)
        await self._in_thread(self._remove_orphans)
        last_orphan_check = loop.time()
        delay = RETRY_INITIAL
        try:
            while True:
                self._dirty.clear()
                if await self.sync_once():
                    delay = RETRY_INITIAL
                    # chains dropped by this sync are deleted by the next, once the kernel lets go
                    timeout = min(self.resync, STALE_CHAIN_GRACE + 0.1) if self.applier.pending else self.resync
                else:
                    timeout, delay = delay, min(delay * 2, self.resync)
                if loop.time() - last_orphan_check >= ORPHAN_CHECK:
                    await self._in_thread(self._remove_orphans)
                    last_orphan_check = loop.time()
                try:
                    await asyncio.wait_for(self._dirty.wait(), timeout)
                    await asyncio.sleep(self.debounce)  # let the rest of a burst arrive
                except TimeoutError:
                    pass
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def sync_once(self) -> bool:
        """One sync; False when it failed (logged; the caller retries)."""
        plans, ruleset = self.desired()
        try:
            if self.hairpin:
                await self._in_thread(ensure_hairpin, self.node.bridge)
            wrote = await self._in_thread(self.applier.sync, ruleset)
        except NftError as err:
            log.error("cannot write the service rules of node %s: %s", self.node.node, err)
            self._failures += 1
            if self._failures == FAILURES_REPORTED and self.event is not None:
                self.event("Warning", FAILED_TO_SYNC, f"cannot write the service rules: {err}")
            return False
        self._failures = 0
        if wrote:
            log.info("service rules of node %s written (%d service ports)", self.node.node, len(plans))
            await self._in_thread(self.conntrack.flush, stale_flows(self._plans, plans))
        self._plans = plans
        return True

    def _remove_orphans(self) -> None:
        try:
            remove_tables(self.applier.nft, orphaned_tables(self.applier.nft))
        except (NftError, ValueError) as err:
            log.warning("cannot look for nftables tables of removed pod networks: %s", err)

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
