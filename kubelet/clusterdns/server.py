"""The cluster DNS on the wire: one handler, a UDP and a TCP transport.

It faces every pod of the network, so it assumes hostile input:

* a datagram that does not parse, that is itself a response (answering it could start a loop
  between two servers), or larger than a DNS message may be, is dropped without a word;
* a query with other than one question gets FORMERR, another opcode NOTIMP, a zone transfer
  or a cluster name of another class than IN REFUSED: short answers, never larger than the
  question; ANY gets the one small HINFO record of RFC 8482 (as CoreDNS's ``any`` plugin), never
  every record of a name, and is not forwarded;
* an answer carries only the records of the asked name (no amplification) and over UDP fits
  the client's size (512 bytes, or its EDNS buffer up to 1232): a larger one is cut with the
  TC flag set, and the client asks again over TCP;
* over TCP at most ``max_connections`` are open (more are closed at once), each waits at most
  ``idle_timeout`` for its next message and ``read_timeout`` for the rest of one, and a message
  is at most its 2-byte length prefix (64 KiB).

Names of the cluster are answered from the catalog (:mod:`.records`, authoritative); other
names go to the :class:`~.forward.Forwarder` and its answer is relayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from kubelet.clusterdns.forward import Forwarder, Overloaded, Unreachable
from kubelet.clusterdns.records import CLUSTER_DOMAIN, Catalog, resolve

log = logging.getLogger(__name__)

UDP_MIN_PAYLOAD = 512
UDP_MAX_PAYLOAD = 1232  # the DNS flag day 2020 recommendation: no IP fragmentation
MAX_MESSAGE = 65535
MAX_TCP_CONNECTIONS = 100
TCP_IDLE_TIMEOUT = 10.0
TCP_READ_TIMEOUT = 5.0
_TRANSFERS = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)


@dataclass
class DnsHandler:
    """Bytes of a query in, bytes of the answer out (None: drop it)."""

    catalog: Catalog
    forwarder: Forwarder
    zone: str = CLUSTER_DOMAIN

    async def handle(self, wire: bytes, *, udp: bool) -> bytes | None:
        """Over UDP the answer fits the client's limit (at least 512 bytes); over TCP 64 KiB."""
        query = _parse(wire)
        if query is None:
            return None
        response = await self.respond(query)
        limit = _udp_limit(query) if udp else MAX_MESSAGE
        return _to_wire(response, query, limit)

    async def respond(self, query: dns.message.Message) -> dns.message.Message:
        if query.opcode() != dns.opcode.QUERY:
            return _error(query, dns.rcode.NOTIMP)
        if len(query.question) != 1:
            return _error(query, dns.rcode.FORMERR)
        question = query.question[0]
        if question.rdtype in _TRANSFERS:
            return _error(query, dns.rcode.REFUSED)
        if question.rdtype == dns.rdatatype.ANY:
            return _minimal_any(query)
        try:
            answer = resolve(question.name, question.rdtype, self.catalog, zone=self.zone)
        except (
            dns.exception.DNSException
        ) as err:  # an object the records cannot be made of (a bad externalName)
            log.warning("cluster DNS: cannot answer %s: %s", question.name, err)
            return _error(query, dns.rcode.SERVFAIL)
        if answer is None:
            return await self._forward(query)
        if question.rdclass != dns.rdataclass.IN:
            return _error(query, dns.rcode.REFUSED)
        response = dns.message.make_response(query, recursion_available=True, our_payload=UDP_MAX_PAYLOAD)
        response.flags |= dns.flags.AA
        response.set_rcode(answer.rcode)
        response.answer.extend(answer.answer)
        response.additional.extend(answer.additional)
        response.authority.extend(answer.authority)
        return response

    async def _forward(self, query: dns.message.Message) -> dns.message.Message:
        try:
            relayed = await self.forwarder.forward(query)
        except Overloaded:
            return _error(query, dns.rcode.REFUSED)
        except Unreachable:
            return _error(query, dns.rcode.SERVFAIL)
        relayed.id = query.id
        return relayed


def _parse(wire: bytes) -> dns.message.Message | None:
    if len(wire) < 12 or len(wire) > MAX_MESSAGE:
        return None
    try:
        query = dns.message.from_wire(wire)
    except Exception:  # noqa: BLE001 - any malformed input, whatever dnspython raises for it
        return None
    if query.flags & dns.flags.QR:
        return None
    return query


def _error(query: dns.message.Message, rcode: dns.rcode.Rcode) -> dns.message.Message:
    response = dns.message.make_response(query, recursion_available=True, our_payload=UDP_MAX_PAYLOAD)
    response.set_rcode(rcode)
    return response


def _minimal_any(query: dns.message.Message) -> dns.message.Message:
    response = _error(query, dns.rcode.NOERROR)
    name = query.question[0].name
    response.answer.append(
        dns.rrset.from_text(name, 8482, dns.rdataclass.IN, dns.rdatatype.HINFO, '"RFC8482" ""')
    )
    return response


def _udp_limit(query: dns.message.Message) -> int:
    if query.edns < 0:
        return UDP_MIN_PAYLOAD
    return max(UDP_MIN_PAYLOAD, min(int(query.payload), UDP_MAX_PAYLOAD))


def _to_wire(response: dns.message.Message, query: dns.message.Message, limit: int) -> bytes | None:
    try:
        return response.to_wire(max_size=limit)
    except dns.exception.TooBig:
        # Cut to the question alone with TC set: a client that gets a partial RRset could
        # take it for the whole, so it gets none and asks again over TCP.
        truncated = _error(query, response.rcode())
        truncated.flags |= dns.flags.TC | (response.flags & dns.flags.AA)
        try:
            return truncated.to_wire(max_size=limit)
        except dns.exception.DNSException:
            return None
    except dns.exception.DNSException as err:
        log.debug("cannot encode the answer to %s: %s", query.question, err)
        return None


class UdpTransport(asyncio.DatagramProtocol):
    """One task per query that is not answered at once; their number is bounded by the forwarder."""

    def __init__(self, handler: DnsHandler) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(data, addr))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = await self.handler.handle(data, udp=True)
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("cluster DNS: UDP error %s", exc)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        for task in self.tasks:
            task.cancel()


@dataclass
class TcpTransport:
    handler: DnsHandler
    max_connections: int = MAX_TCP_CONNECTIONS
    idle_timeout: float = TCP_IDLE_TIMEOUT
    read_timeout: float = TCP_READ_TIMEOUT
    open: int = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.open >= self.max_connections:
            writer.close()
            return
        self.open += 1
        try:
            await self._messages(reader, writer)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.open -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _messages(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            (length,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), self.idle_timeout))
            if length < 12:
                return
            wire = await asyncio.wait_for(reader.readexactly(length), self.read_timeout)
            reply = await self.handler.handle(wire, udp=False)
            if reply is None:
                return  # a malformed message: the stream cannot be trusted to be in step any more
            writer.write(struct.pack("!H", len(reply)) + reply)
            await asyncio.wait_for(writer.drain(), self.read_timeout)
