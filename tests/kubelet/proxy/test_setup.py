"""When a node runs its service proxy, and what it says when it cannot; stale UDP flows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from apimachinery.informer import InformerCache
from apimachinery.models.core import Service
from apimachinery.models.discovery import EndpointSlice
from kubelet.proxy.conntrack import stale_flows
from kubelet.proxy.nft import Nft
from kubelet.proxy.plan import Backend, PortPlan
from kubelet.proxy.setup import PROXY_UNAVAILABLE, alive_for, nodeport_addresses, start_service_proxy
from tests.kubelet.harness import make_context

fake_nft = Path(__file__).with_name("fake-nft")


async def start(**cfg: object) -> tuple[object, list[tuple[str, str, str]]]:
    ctx, *_ = make_context()
    ctx.cfg = replace(ctx.cfg, **cfg)  # type: ignore[arg-type]
    events: list[tuple[str, str, str]] = []
    proxy = await start_service_proxy(ctx, services=InformerCache(Service), slices=InformerCache(EndpointSlice),
                                      event=lambda *e: events.append(e), nft=Nft(binary=str(fake_nft)))
    return proxy, events


async def test_hollow_nodes_and_proxy_mode_none_run_no_proxy() -> None:
    assert (await start(hollow=True)) == (None, [])
    assert (await start(proxy_mode="none")) == (None, [])


async def test_a_missing_nft_is_reported_on_the_node_not_fatal() -> None:
    ctx, *_ = make_context()
    events: list[tuple[str, str, str]] = []
    proxy = await start_service_proxy(ctx, services=InformerCache(Service), slices=InformerCache(EndpointSlice),
                                      event=lambda *e: events.append(e), nft=Nft(binary="no-such-nft"))
    assert proxy is None
    [(type_, reason, message)] = events
    assert (type_, reason) == ("Warning", PROXY_UNAVAILABLE) and "nft" in message


async def test_an_nft_that_refuses_is_reported() -> None:
    ctx, *_ = make_context()
    events: list[tuple[str, str, str]] = []
    proxy = await start_service_proxy(ctx, services=InformerCache(Service), slices=InformerCache(EndpointSlice),
                                      event=lambda *e: events.append(e), nft=Nft(binary="/bin/false"))
    assert proxy is None and [e[1] for e in events] == [PROXY_UNAVAILABLE]


async def test_a_pod_network_without_a_bridge_on_this_host_is_reported() -> None:
    proxy, events = await start()  # the fake runtime's networks have no bridge interface
    assert proxy is None
    assert [e[1] for e in events] == [PROXY_UNAVAILABLE] and "no bridge interface" in events[0][2]


@pytest.mark.parametrize(("address", "expected"), [
    ("127.0.0.1", ()), ("0.0.0.0", ()), ("192.0.2.2", ("192.0.2.2",)), ("node.example", ()), ("fd00::2", ()),
])
def test_nodeport_addresses(address: str, expected: tuple[str, ...]) -> None:
    assert nodeport_addresses(address) == expected


def udp(*ips: str, node_port: int | None = None, name: str = "dns") -> PortPlan:
    return PortPlan(namespace="default", service=name, port_name="", protocol="udp", cluster_ip="10.96.0.10",
                    port=53, endpoints=tuple(Backend(ip, 5353) for ip in ips), node_port=node_port)


@pytest.mark.parametrize(("before", "after", "expected"), [
    ([udp("10.0.0.1", "10.0.0.2")], [udp("10.0.0.1")],
     [["-D", "-p", "udp", "--orig-dst", "10.96.0.10", "--dst-nat", "10.0.0.2"]]),
    ([udp("10.0.0.1", node_port=30053)], [udp(node_port=30053)],
     [["-D", "-p", "udp", "--orig-dst", "10.96.0.10", "--dst-nat", "10.0.0.1"],
      ["-D", "-p", "udp", "--dport", "30053", "--dst-nat", "10.0.0.1"]]),
    ([udp()], [udp("10.0.0.1")], [["-D", "-p", "udp", "--orig-dst", "10.96.0.10"]]),
    ([udp("10.0.0.1")], [], [["-D", "-p", "udp", "--orig-dst", "10.96.0.10", "--dst-nat", "10.0.0.1"]]),
    ([udp("10.0.0.1")], [udp("10.0.0.1")], []),
    ([replace(udp("10.0.0.1"), protocol="tcp")], [], []),
], ids=["endpoint-removed", "node-port-endpoint-removed", "first-endpoint", "service-removed", "unchanged", "tcp"])
def test_stale_udp_flows(before: list[PortPlan], after: list[PortPlan], expected: list[list[str]]) -> None:
    assert stale_flows(before, after) == expected


@pytest.mark.parametrize(("network", "resync", "expected"), [("", 5.0, 0), ("shared", 5.0, 50), ("shared", 1.0, 30)])
def test_rules_expire_only_on_a_shared_network(network: str, resync: float, expected: int) -> None:
    assert alive_for(network, resync) == expected
