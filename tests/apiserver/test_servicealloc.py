"""The allocator of ClusterIPs and node ports, on a real (SQLite) store: ranges, random picks
above the static band, exhaustion, owners, and the repair loop."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apiserver.registry import Registry
from apiserver.servicealloc.allocator import (
    AllocatedError,
    Allocator,
    Book,
    NotInRangeError,
    Owner,
    RangeFullError,
)
from apiserver.servicealloc.ranges import IPRange, PortRange, ServiceRanges
from apiserver.servicealloc.repair import AllocationRepair
from apiserver.servicealloc.storage import IP_PREFIX, NODE_PORT_PREFIX, ServiceStorage, ip_address_record
from apiserver.store.base import KeyValue, insufficient_storage
from apiserver.store.sqlite import SqliteStore

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
WEB, API = Owner("default", "web"), Owner("default", "api")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "state.db")
    yield s
    s.close()


def ip_allocator(store: SqliteStore, cidr: str, seed: int = 1) -> Allocator:
    book = Book(store, prefix=IP_PREFIX, record=ip_address_record, clock=lambda: NOW)
    return Allocator(IPRange.parse(cidr), book, rng=random.Random(seed))


@pytest.mark.parametrize(
    ("cidr", "size", "band", "first"),
    [("10.96.0.0/12", 2**20 - 2, 256, "10.96.0.1"), ("10.0.0.0/28", 14, 13, "10.0.0.1"),
     ("192.168.0.0/24", 254, 16, "192.168.0.1")],
    ids=["default", "small", "slash24"],
)
def test_ip_ranges_leave_out_network_and_broadcast(cidr: str, size: int, band: int, first: str) -> None:
    r = IPRange.parse(cidr)
    assert (r.size, r.band, r.first) == (size, band, first)
    assert r.offset(str(r.network.network_address)) is None
    assert r.offset(str(r.network.broadcast_address)) is None
    assert r.offset(first) == 0 and r.name(0) == first


@pytest.mark.parametrize("bad", ["10.96.0.1/12", "fd00::/108", "10.0.0.0/31", "nonsense"])
def test_bad_service_cidrs_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        IPRange.parse(bad)


@pytest.mark.parametrize(
    ("text", "base", "size"), [("30000-32767", 30000, 2768), ("30000+10", 30000, 11), ("8080", 8080, 1)]
)
def test_port_ranges_parse_as_kubernetes_does(text: str, base: int, size: int) -> None:
    assert (PortRange.parse(text).base, PortRange.parse(text).size) == (base, size)


@pytest.mark.parametrize("bad", ["32767-30000", "0-10", "30000-70000", "a-b"])
def test_bad_port_ranges_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        PortRange.parse(bad)


def test_random_allocation_avoids_the_static_band_and_never_repeats(store: SqliteStore) -> None:
    allocator = ip_allocator(store, "10.0.0.0/24")  # 254 addresses, the lowest 16 kept for static use
    got = [allocator.allocate_next(WEB) for _ in range(238)]
    assert len(set(got)) == 238
    assert all(IPRange.parse("10.0.0.0/24").offset(ip) >= 16 for ip in got)  # type: ignore[operator]
    assert got[:5] != sorted(got[:5])  # random, not sequential
    assert IPRange.parse("10.0.0.0/24").offset(allocator.allocate_next(WEB)) < 16  # type: ignore[operator]


def test_a_full_range_says_so_and_a_released_address_is_free_again(store: SqliteStore) -> None:
    allocator = ip_allocator(store, "10.0.0.0/29")  # 6 addresses
    got = {allocator.allocate_next(WEB) for _ in range(6)}
    assert got == {f"10.0.0.{i}" for i in range(1, 7)}
    with pytest.raises(RangeFullError):
        allocator.allocate_next(WEB)
    allocator.release("10.0.0.3", WEB)
    assert allocator.allocate_next(API) == "10.0.0.3"


def test_a_specific_address_is_checked_against_range_and_holders(store: SqliteStore) -> None:
    allocator = ip_allocator(store, "10.96.0.0/12")
    allocator.allocate("10.96.0.10", WEB)
    with pytest.raises(AllocatedError):
        allocator.allocate("10.96.0.10", API)
    with pytest.raises(AllocatedError):
        allocator.allocate("10.96.0.10", API, dry_run=True)
    with pytest.raises(NotInRangeError):
        allocator.allocate("10.0.0.1", WEB)
    with pytest.raises(NotInRangeError):
        allocator.allocate("10.111.255.255", WEB)  # the broadcast address


def test_only_the_holder_releases(store: SqliteStore) -> None:
    allocator = ip_allocator(store, "10.96.0.0/12")
    allocator.allocate("10.96.0.10", WEB)
    allocator.release("10.96.0.10", API)
    assert allocator.book.holder("10.96.0.10") == WEB
    allocator.release("10.96.0.10", WEB)
    assert allocator.book.holder("10.96.0.10") is None


def test_dry_run_reserves_nothing(store: SqliteStore) -> None:
    allocator = ip_allocator(store, "10.0.0.0/29")
    allocator.allocate_next(WEB, dry_run=True)
    allocator.allocate("10.0.0.2", WEB, dry_run=True)
    assert allocator.book.taken() == set()


def test_two_allocators_on_one_store_never_hand_out_the_same_address(store: SqliteStore) -> None:
    """Two apiservers with the same random sequence: the store's create settles every pick."""
    a, b = ip_allocator(store, "10.0.0.0/28", seed=7), ip_allocator(store, "10.0.0.0/28", seed=7)
    got = [(a if i % 2 else b).allocate_next(WEB) for i in range(14)]
    assert len(set(got)) == 14


def service(name: str, ip: str, node_port: int = 0) -> dict[str, object]:
    spec: dict[str, object] = {"type": "NodePort" if node_port else "ClusterIP", "clusterIP": ip,
                               "ports": [{"port": 80, "nodePort": node_port} if node_port else {"port": 80}]}
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}


def test_repair_frees_orphans_after_the_grace_and_reserves_what_services_hold(store: SqliteStore) -> None:
    clock = [NOW]
    storage = ServiceStorage(store, ServiceRanges(), clock=lambda: clock[0])
    repair = AllocationRepair(store, storage, clock=lambda: clock[0], grace=timedelta(seconds=60))
    storage.ips.allocate("10.96.0.50", Owner("default", "gone"))  # its Service was never stored
    storage.ips.allocate("10.96.0.51", WEB)  # web holds another address now
    store.create("/registry/services/default/web", service("web", "10.96.0.52", node_port=30080))
    first = repair.repair()
    assert (first.released, first.reserved) == (0, 2)  # young orphans kept; web's address and port reserved
    assert storage.ips.book.holder("10.96.0.52") == WEB and storage.ports.book.holder("30080") == WEB
    clock[0] = NOW + timedelta(seconds=61)
    second = repair.repair()
    assert (second.released, second.reserved) == (2, 0)
    assert storage.ips.book.taken() == {"10.96.0.52"}
    assert storage.ports.book.taken() == {"30080"}
    assert store.get(NODE_PORT_PREFIX + "30080") is not None


class FailingServiceWrites(SqliteStore):
    """A store whose writes of Services fail (a full disk, a lost commit), after the reservations."""

    def create(self, key: str, value: dict[str, Any]) -> KeyValue:
        if key.startswith("/registry/services/"):
            raise insufficient_storage("no space left on device")
        return super().create(key, value)

    def update(self, key: str, value: dict[str, Any], *, expected_revision: int) -> KeyValue:
        if key.startswith("/registry/services/"):
            raise insufficient_storage("no space left on device")
        return super().update(key, value, expected_revision=expected_revision)


def test_a_write_that_fails_after_reserving_gives_everything_back(tmp_path: Path) -> None:
    store = FailingServiceWrites(tmp_path / "state.db")
    reg = Registry(store)
    reg.ensure_system_namespaces()
    body = {"metadata": {"name": "web"}, "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}
    with pytest.raises(ApiError) as err:
        reg.create(res.SERVICES, "default", body)
    assert err.value.code == 507
    assert store.list(IP_PREFIX).items == [] and store.list(NODE_PORT_PREFIX).items == []
    store.close()


def test_an_update_that_fails_gives_back_what_it_reserved_and_keeps_what_it_had(tmp_path: Path) -> None:
    store = FailingServiceWrites(tmp_path / "state.db")
    reg = Registry(store)
    reg.ensure_system_namespaces()
    SqliteStore.create(store, "/registry/services/default/web", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.20", "ports": [{"port": 80}]}})
    ServiceStorage(store, ServiceRanges(), clock=lambda: NOW).ips.allocate("10.96.0.20", WEB)
    new = {"metadata": {"name": "web"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    with pytest.raises(ApiError):
        reg.update(res.SERVICES, "default", "web", new)
    assert [kv.key for kv in store.list(IP_PREFIX).items] == [IP_PREFIX + "10.96.0.20"]
    assert store.list(NODE_PORT_PREFIX).items == []
    store.close()


def test_a_refused_create_writes_nothing(store: SqliteStore) -> None:
    reg = Registry(store)
    reg.ensure_system_namespaces()
    reg.create(res.SERVICES, "default", {"metadata": {"name": "a"},
                                         "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}})
    before = store.current_revision()
    clash = {"metadata": {"name": "b"}, "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}
    with pytest.raises(ApiError) as err:
        reg.create(res.SERVICES, "default", clash)
    assert err.value.code == 422 and store.current_revision() == before


def test_repair_gives_services_stored_before_allocation_their_values(store: SqliteStore) -> None:
    storage = ServiceStorage(store, ServiceRanges(), clock=lambda: NOW)
    repair = AllocationRepair(store, storage, clock=lambda: NOW)
    legacy = {"metadata": {"name": "old", "namespace": "default", "generation": 1},
              "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    store.create("/registry/services/default/old", legacy)
    half = {"metadata": {"name": "half", "namespace": "default"},  # its ClusterIP reserved long ago
            "spec": {"type": "NodePort", "clusterIP": "10.96.0.77", "ports": [{"port": 80}]}}
    store.create("/registry/services/default/half", half)
    ServiceStorage(store, ServiceRanges(), clock=lambda: NOW - timedelta(days=1)).ips.allocate(
        "10.96.0.77", Owner("default", "half"))
    store.create("/registry/services/default/ext", {"metadata": {"name": "ext", "namespace": "default"},
                                                    "spec": {"type": "ExternalName", "externalName": "a.b"}})
    assert repair.repair().completed == 2
    assert storage.ips.book.holder("10.96.0.77") == Owner("default", "half")
    spec = store.get("/registry/services/default/old").value["spec"]  # type: ignore[union-attr]
    assert spec["clusterIPs"] == [spec["clusterIP"]] and storage.ips.book.holder(spec["clusterIP"]) == Owner("default", "old")
    assert storage.ports.book.holder(str(spec["ports"][0]["nodePort"])) == Owner("default", "old")
    again = repair.repair()
    assert (again.completed, again.reserved, again.released) == (0, 0, 0)
