"""The repair loop: reservations and Services agree again (Kubernetes' ``RepairIPAddress``).

Two things can make them disagree. A reservation whose Service is gone or holds something
else: the apiserver stopped between reserving and storing the Service, or a release failed
(the store refused a write); it is deleted once older than :data:`GRACE` (younger ones may
belong to a create still in flight). A Service holding a value with no reservation: data
written before podvisor allocated, or restored without its reservations; the value is
reserved for it, so nobody else gets it. And a Service that should hold a ClusterIP or node
port and holds none (stored before podvisor allocated them) is given them, as if it had just
been created. Several apiservers may run this at once: every step is a create-if-absent, or a
write guarded by the revision it read.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apimachinery.errors import ApiError
from apiserver.servicealloc.allocator import Book, Owner
from apiserver.servicealloc.storage import ServiceStorage, held_ip, held_node_ports, owner_of
from apiserver.store.base import KeyNotFoundError, KeyValue, RevisionConflictError, Store
from apiserver.strategies.service import allocates_node_ports, needs_cluster_ip

log = logging.getLogger(__name__)
SERVICES_PREFIX = "/registry/services/"
GRACE = timedelta(seconds=60)
INTERVAL = 30.0


@dataclass
class RepairResult:
    released: int = 0
    reserved: int = 0
    completed: int = 0


def _all(store: Store, prefix: str) -> list[KeyValue]:
    items: list[KeyValue] = []
    start = ""
    while True:
        page = store.list(prefix, start_after=start, limit=1000)
        items += page.items
        if not page.more or not page.items:
            return items
        start = page.items[-1].key


def _incomplete(service: dict[str, Any]) -> bool:
    spec = service.get("spec") or {}
    if needs_cluster_ip(spec) and not spec.get("clusterIP"):
        return True
    return allocates_node_ports(spec) and any(not p.get("nodePort") for p in spec.get("ports") or [])


def _created(record: KeyValue) -> datetime:
    stamp = (record.value.get("metadata") or {}).get("creationTimestamp") or ""
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


class AllocationRepair:
    def __init__(self, store: Store, storage: ServiceStorage, *, clock: Callable[[], datetime],
                 grace: timedelta = GRACE) -> None:
        self.store = store
        self.storage = storage
        self.clock = clock
        self.grace = grace

    def repair(self) -> RepairResult:
        """One pass. Reservations are read before Services: a Service created in between then
        has its reservation already, and one deleted in between is not seen holding anything."""
        books = (self.storage.ips.book, self.storage.ports.book)
        records = [_all(self.store, book.prefix) for book in books]
        ips: dict[str, Owner] = {}
        ports: dict[str, Owner] = {}
        result = RepairResult()
        for kv in _all(self.store, SERVICES_PREFIX):
            service = kv.value
            if _incomplete(service) and (completed := self._complete(kv)) is not None:
                service = completed
                result.completed += 1
            owner = owner_of(service)
            if (ip := held_ip(service)) is not None:
                self._note(ips, ip, owner)
            for port in held_node_ports(service):
                self._note(ports, str(port), owner)
        for book, held, found in zip(books, (ips, ports), records, strict=True):
            self._reconcile(book, held, found, result)
        return result

    def _complete(self, kv: KeyValue) -> dict[str, Any] | None:
        """Allocate what a Service lacks, as an update of it would: the Service as stored, or
        None when it changed meanwhile (the next pass looks again)."""
        new = copy.deepcopy(kv.value)
        meta = new.setdefault("metadata", {})
        meta["generation"] = int(meta.get("generation") or 1) + 1
        finish = self.storage.begin_update(new, kv.value, dry_run=False)
        try:
            self.store.update(kv.key, new, expected_revision=kv.mod_revision)
        except (KeyNotFoundError, RevisionConflictError):
            finish(False)
            return None
        except BaseException:
            finish(False)
            raise
        finish(True)
        return new

    @staticmethod
    def _note(held: dict[str, Owner], value: str, owner: Owner) -> None:
        other = held.setdefault(value, owner)
        if other != owner:
            log.warning("%s is held by both Service %s/%s and Service %s/%s; recreate one of them",
                        value, other.namespace, other.name, owner.namespace, owner.name)

    def _reconcile(self, book: Book, held: dict[str, Owner], records: list[KeyValue], result: RepairResult) -> None:
        now = self.clock()
        reserved = set()
        for kv in records:
            value = kv.key[len(book.prefix):]
            reserved.add(value)
            if held.get(value) == Owner.of(kv.value) or now - _created(kv) < self.grace:
                continue
            try:
                self.store.delete(kv.key, expected_revision=kv.mod_revision)
                result.released += 1
            except (KeyNotFoundError, RevisionConflictError):
                pass
        for value, owner in held.items():
            if value not in reserved and book.reserve(value, owner):
                result.reserved += 1

    async def run(self, *, interval: float = INTERVAL) -> None:
        while True:
            try:
                result = self.repair()
                if result.released or result.reserved or result.completed:
                    log.info("service allocations repaired: %d released, %d reserved, %d Services completed",
                             result.released, result.reserved, result.completed)
            except ApiError as err:
                log.warning("cannot repair service allocations: %s", err.message)
            await asyncio.sleep(interval)
