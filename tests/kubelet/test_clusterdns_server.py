"""The cluster DNS on the wire: dnspython queries to a server on 127.0.0.1, over UDP and TCP."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

import dns.asyncquery
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from apimachinery.models.core import Service
from apimachinery.models.discovery import EndpointSlice
from kubelet.clusterdns.forward import Forwarder
from kubelet.clusterdns.records import StaticCatalog
from kubelet.clusterdns.server import DnsHandler, TcpTransport
from kubelet.clusterdns.serving import ClusterDns

pytestmark = pytest.mark.asyncio
LOCAL = "127.0.0.1"


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((LOCAL, 0))
            port = int(udp.getsockname()[1])
            with socket.socket() as tcp:
                try:
                    tcp.bind((LOCAL, port))
                except OSError:
                    continue
                return port


def catalog() -> StaticCatalog:
    many = EndpointSlice.model_validate(
        {
            "metadata": {
                "name": "big-1",
                "namespace": "demo",
                "labels": {"kubernetes.io/service-name": "big"},
            },
            "endpoints": [{"addresses": [f"172.18.{i // 250}.{i % 250 + 1}"]} for i in range(100)],
        }
    )
    return StaticCatalog(
        items=[
            Service.model_validate(
                {
                    "metadata": {"name": "web", "namespace": "demo"},
                    "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]},
                }
            ),
            Service.model_validate(
                {
                    "metadata": {"name": "big", "namespace": "demo"},
                    "spec": {"clusterIP": "None", "ports": [{"port": 80}]},
                }
            ),
        ],
        slices=[many],
    )


@dataclass
class Running:
    dns: ClusterDns
    task: asyncio.Task[None]

    @property
    def port(self) -> int:
        return self.dns.port

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def start(handler: DnsHandler, *, port: int | None = None, retry: float = 0.05) -> Running:
    server = ClusterDns(handler, LOCAL, port or free_port(), retry_interval=retry)
    running = Running(server, asyncio.create_task(server.run()))
    if port is None:
        await asyncio.wait_for(server.serving.wait(), 5)
    return running


@pytest.fixture
async def upstream() -> AsyncIterator[Running]:
    """A resolver for ``example.``: another server, authoritative there, playing the host's."""
    zone = StaticCatalog(
        items=[
            Service.model_validate(
                {"metadata": {"name": "outside", "namespace": "ns"}, "spec": {"clusterIP": "192.0.2.7"}}
            )
        ]
    )
    running = await start(DnsHandler(zone, Forwarder([]), zone="example"))
    yield running
    await running.stop()


@pytest.fixture
async def server(upstream: Running) -> AsyncIterator[Running]:
    running = await start(DnsHandler(catalog(), Forwarder([(LOCAL, upstream.port)], timeout=1.0)))
    yield running
    await running.stop()


def query(name: str, rdtype: str = "A", **kw: object) -> dns.message.Message:
    return dns.message.make_query(name, dns.rdatatype.from_text(rdtype), **kw)  # type: ignore[arg-type]


async def udp_raw(port: int, payload: bytes, timeout: float = 0.5) -> bytes | None:
    loop = asyncio.get_running_loop()
    received: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            if not received.done():
                received.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(LOCAL, port))
    try:
        transport.sendto(payload)
        return await asyncio.wait_for(received, timeout)
    except TimeoutError:
        return None
    finally:
        transport.close()


async def test_udp_and_tcp_answer_a_cluster_name(server: Running) -> None:
    for ask in (dns.asyncquery.udp, dns.asyncquery.tcp):
        response = await ask(query("web.demo.svc.cluster.local."), LOCAL, port=server.port, timeout=2)
        assert [rd.to_text() for rd in response.answer[0]] == ["10.96.0.10"]
        assert response.flags & dns.flags.AA and response.rcode() == dns.rcode.NOERROR


async def test_a_missing_name_is_nxdomain_with_the_soa(server: Running) -> None:
    response = await dns.asyncquery.udp(
        query("nope.demo.svc.cluster.local."), LOCAL, port=server.port, timeout=2
    )
    assert response.rcode() == dns.rcode.NXDOMAIN and response.authority[0].rdtype == dns.rdatatype.SOA


async def test_an_outside_name_is_forwarded_and_relayed(server: Running) -> None:
    response = await dns.asyncquery.udp(query("outside.ns.svc.example."), LOCAL, port=server.port, timeout=3)
    assert response.rcode() == dns.rcode.NOERROR and [rd.to_text() for rd in response.answer[0]] == [
        "192.0.2.7"
    ]


async def test_an_unreachable_upstream_is_servfail_within_the_timeout() -> None:
    dead = free_port()  # nothing listens there
    running = await start(DnsHandler(catalog(), Forwarder([(LOCAL, dead)], timeout=0.3)))
    try:
        response = await dns.asyncquery.udp(query("example.com."), LOCAL, port=running.port, timeout=3)
        assert response.rcode() == dns.rcode.SERVFAIL
    finally:
        await running.stop()


async def test_beyond_the_concurrency_bound_queries_are_refused(upstream: Running) -> None:
    running = await start(DnsHandler(catalog(), Forwarder([(LOCAL, upstream.port)], max_concurrent=0)))
    try:
        response = await dns.asyncquery.udp(
            query("outside.ns.svc.example."), LOCAL, port=running.port, timeout=2
        )
        assert response.rcode() == dns.rcode.REFUSED and not response.answer
    finally:
        await running.stop()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00" * 5, id="shorter-than-a-header"),
        pytest.param(b"\x12\x34" + b"\xff" * 40, id="garbage"),
        pytest.param(query("web.demo.svc.cluster.local.").to_wire()[:-3], id="cut-question"),
        pytest.param(
            dns.message.make_response(query("web.demo.svc.cluster.local.")).to_wire(), id="a-response"
        ),
    ],
)
async def test_malformed_packets_are_dropped_and_the_server_goes_on(server: Running, payload: bytes) -> None:
    assert await udp_raw(server.port, payload) is None
    good = await udp_raw(server.port, query("web.demo.svc.cluster.local.").to_wire(), timeout=2)
    assert good is not None and dns.message.from_wire(good).answer


async def test_unsupported_requests_get_short_errors(server: Running) -> None:
    two = query("web.demo.svc.cluster.local.")
    two.question.append(query("big.demo.svc.cluster.local.").question[0])
    notify = query("web.demo.svc.cluster.local.")
    notify.set_opcode(dns.opcode.NOTIFY)
    transfer = query("cluster.local.", "AXFR")
    for message, rcode in (
        (two, dns.rcode.FORMERR),
        (notify, dns.rcode.NOTIMP),
        (transfer, dns.rcode.REFUSED),
    ):
        wire = await udp_raw(server.port, message.to_wire(), timeout=2)
        assert (
            wire is not None and len(wire) <= len(message.to_wire()) + 11
        )  # never larger than asked (+ OPT)
        response = dns.message.from_wire(wire, question_only=True)
        assert response.rcode() == rcode and response.id == message.id


async def test_any_gets_the_minimal_rfc8482_answer_and_other_classes_are_refused(server: Running) -> None:
    anything = await dns.asyncquery.udp(
        query("big.demo.svc.cluster.local.", "ANY"), LOCAL, port=server.port, timeout=2
    )
    assert [rd.to_text() for rd in anything.answer[0]] == ['"RFC8482" ""'] and len(anything.to_wire()) < 100
    chaos = dns.message.make_query("web.demo.svc.cluster.local.", dns.rdatatype.A, dns.rdataclass.CH)
    refused = await dns.asyncquery.udp(chaos, LOCAL, port=server.port, timeout=2)
    assert refused.rcode() == dns.rcode.REFUSED and not refused.answer


async def test_an_object_no_record_can_be_made_of_is_servfail_not_a_crash() -> None:
    bad = Service.model_validate(
        {
            "metadata": {"name": "ext", "namespace": "demo"},
            "spec": {"type": "ExternalName", "externalName": "not a name"},
        }
    )
    handler = DnsHandler(StaticCatalog(items=[bad]), Forwarder([]))
    wire = await handler.handle(query("ext.demo.svc.cluster.local.").to_wire(), udp=True)
    assert wire is not None and dns.message.from_wire(wire).rcode() == dns.rcode.SERVFAIL


async def test_a_large_answer_is_truncated_over_udp_and_whole_over_tcp(server: Running) -> None:
    name = "big.demo.svc.cluster.local."
    wire = await udp_raw(server.port, query(name).to_wire(), timeout=2)
    assert wire is not None and len(wire) <= 512
    cut = dns.message.from_wire(wire)
    assert cut.flags & dns.flags.TC and not cut.answer
    edns = await udp_raw(server.port, query(name, use_edns=0, payload=4096).to_wire(), timeout=2)
    assert edns is not None and len(edns) <= 1232  # the client's buffer, capped to avoid fragmentation
    whole = await dns.asyncquery.tcp(query(name), LOCAL, port=server.port, timeout=2)
    assert len(whole.answer[0]) == 100 and not whole.flags & dns.flags.TC


async def test_tcp_carries_several_queries_on_one_connection(server: Running) -> None:
    reader, writer = await asyncio.open_connection(LOCAL, server.port)
    try:
        for name in ("web.demo.svc.cluster.local.", "nope.demo.svc.cluster.local."):
            wire = query(name).to_wire()
            writer.write(struct.pack("!H", len(wire)) + wire)
            (length,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 2))
            assert dns.message.from_wire(await reader.readexactly(length)).question[0].name.to_text() == name
    finally:
        writer.close()


async def test_tcp_connections_are_limited_and_idle_ones_closed() -> None:
    transport = TcpTransport(DnsHandler(catalog(), Forwarder([])), max_connections=2, idle_timeout=0.3)
    tcp = await asyncio.start_server(transport.serve, LOCAL, 0)
    port = tcp.sockets[0].getsockname()[1]
    try:
        held = [await asyncio.open_connection(LOCAL, port) for _ in range(2)]
        await asyncio.sleep(0.05)
        third, _ = await asyncio.open_connection(LOCAL, port)
        assert await asyncio.wait_for(third.read(), 1) == b""  # closed at once
        for reader, _ in held:  # idle: closed after the timeout
            assert await asyncio.wait_for(reader.read(), 2) == b""
    finally:
        tcp.close()


async def test_an_oversized_length_prefix_waits_and_times_out_instead_of_buffering() -> None:
    transport = TcpTransport(DnsHandler(catalog(), Forwarder([])), read_timeout=0.2)
    tcp = await asyncio.start_server(transport.serve, LOCAL, 0)
    port = tcp.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection(LOCAL, port)
        writer.write(struct.pack("!H", 65535) + b"x" * 100)  # promises 64 KiB, sends 100 bytes
        assert await asyncio.wait_for(reader.read(), 2) == b""
        assert transport.open == 0
    finally:
        tcp.close()


async def test_a_second_server_waits_for_the_port_and_takes_over(server: Running) -> None:
    standby = await start(DnsHandler(catalog(), Forwarder([])), port=server.port)
    try:
        await asyncio.sleep(0.2)
        assert not standby.dns.serving.is_set()
        await server.stop()
        await asyncio.wait_for(standby.dns.serving.wait(), 5)
        response = await dns.asyncquery.udp(
            query("web.demo.svc.cluster.local."), LOCAL, port=server.port, timeout=2
        )
        assert response.answer
    finally:
        await standby.stop()
