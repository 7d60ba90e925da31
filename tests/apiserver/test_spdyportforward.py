"""kubectl's SPDY port-forward session, driven frame by frame against a fake upstream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from apimachinery import spdy
from apimachinery.errors import ApiError
from apiserver.spdyportforward import SpdySession, Upstream, request_id, validate


class FakeUpstream:
    """An echo upstream: what the client sends comes back; close_write ends it."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.half_closed = False
        self.closed = False
        self.out: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()

    async def send(self, payload: bytes) -> None:
        self.received.append(payload)
        await self.out.put(("data", payload))

    async def close_write(self) -> None:
        self.half_closed = True
        await self.out.put(None)

    async def messages(self) -> AsyncIterator[tuple[str, bytes]]:
        while (item := await self.out.get()) is not None:
            yield item

    async def close(self) -> None:
        self.closed = True


class Client:
    """kubectl's side: encodes frames in, decodes what the session sends out."""

    def __init__(self, *, dial_error: ApiError | None = None, timeout: float = 30.0) -> None:
        self.encoder, self.decoder = spdy.Encoder(), spdy.Decoder()
        self.inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.frames: asyncio.Queue[spdy.Frame] = asyncio.Queue()
        self.upstreams: dict[int, FakeUpstream] = {}
        self.dial_error = dial_error

        async def send(data: bytes) -> None:
            for frame in self.decoder.feed(data):
                await self.frames.put(frame)

        async def dial(port: int) -> Upstream:
            if self.dial_error is not None:
                raise self.dial_error
            self.upstreams[port] = FakeUpstream()
            return self.upstreams[port]

        self.session = SpdySession(send=send, dial=dial, creation_timeout=timeout)
        self.task = asyncio.ensure_future(self.session.run(self.incoming()))

    async def incoming(self) -> AsyncIterator[bytes]:
        while (data := await self.inbox.get()) is not None:
            yield data

    async def put(self, frame: spdy.Frame) -> None:
        await self.inbox.put(self.encoder.encode(frame))

    async def next(self) -> spdy.Frame:
        return await asyncio.wait_for(self.frames.get(), 5)

    async def pair(self, port: int, rid: str | None = "0", first: int = 1) -> None:
        for offset, kind in ((0, "error"), (2, "data")):
            headers = {"streamtype": [kind], "port": [str(port)], **({"requestid": [rid]} if rid else {})}
            await self.put(spdy.SynStream(first + offset, headers))
            assert await self.next() == spdy.SynReply(first + offset, {})

    async def end(self) -> None:
        await self.inbox.put(None)
        await asyncio.wait_for(self.task, 5)


async def test_a_pair_is_forwarded_both_ways_and_half_closed() -> None:
    client = Client()
    await client.pair(80)
    await client.put(spdy.Data(3, b"hello"))
    assert await client.next() == spdy.Data(3, b"hello")
    await client.put(spdy.Data(3, b"", spdy.FLAG_FIN))
    assert await client.next() == spdy.Data(3, b"", spdy.FLAG_FIN)  # the upstream ended: data FIN
    assert await client.next() == spdy.Data(1, b"", spdy.FLAG_FIN)  # then the error stream's
    upstream = client.upstreams[80]
    assert upstream.received == [b"hello"] and upstream.half_closed and upstream.closed
    assert client.session.streams == {} and client.session.pairs == {}  # nothing kept per connection
    await client.end()


async def test_pairs_without_request_ids_are_matched_by_stream_id() -> None:
    client = Client()
    await client.pair(8080, rid=None, first=5)
    await client.put(spdy.Data(7, b"x"))
    assert await client.next() == spdy.Data(7, b"x")
    assert 8080 in client.upstreams
    await client.end()


@pytest.mark.parametrize("headers", [
    pytest.param({"streamtype": ["data"]}, id="no-port"),
    pytest.param({"streamtype": ["data"], "port": ["http"]}, id="bad-port"),
    pytest.param({"port": ["80"]}, id="no-stream-type"),
    pytest.param({"streamtype": ["stdin"], "port": ["80"]}, id="unknown-stream-type"),
])
async def test_a_bad_stream_is_reset(headers: spdy.Headers) -> None:
    client = Client()
    await client.put(spdy.SynStream(1, headers))
    assert await client.next() == spdy.RstStream(1, spdy.RstStatus.CANCEL)
    await client.end()


async def test_pings_are_echoed() -> None:
    client = Client()
    await client.put(spdy.Ping(1))
    assert await client.next() == spdy.Ping(1)
    await client.end()


async def test_an_unreachable_kubelet_is_reported_on_the_error_stream() -> None:
    client = Client(dial_error=ApiError(503, "ServiceUnavailable", "cannot reach the kubelet"))
    await client.pair(80)
    assert await client.next() == spdy.Data(1, b"error forwarding port 80: cannot reach the kubelet")
    assert {await client.next(), await client.next()} == {spdy.Data(1, b"", 1), spdy.Data(3, b"", 1)}
    await client.end()


async def test_a_pair_missing_its_data_stream_times_out() -> None:
    client = Client(timeout=0.05)
    await client.put(spdy.SynStream(1, {"streamtype": ["error"], "port": ["80"], "requestid": ["7"]}))
    assert await client.next() == spdy.SynReply(1, {})
    assert await client.next() == spdy.Data(1, b"(request=7) timed out waiting for streams")
    assert await client.next() == spdy.Data(1, b"", spdy.FLAG_FIN)
    await client.end()


async def test_goaway_ends_the_session_and_every_forward() -> None:
    client = Client()
    await client.pair(80)
    await client.put(spdy.Data(3, b"a"))
    assert await client.next() == spdy.Data(3, b"a")
    await client.put(spdy.GoAway(3))
    await asyncio.wait_for(client.task, 5)
    assert client.upstreams[80].closed


async def test_a_protocol_error_is_answered_with_goaway() -> None:
    client = Client()
    await client.inbox.put(b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01")  # SPDY/2
    assert await client.next() == spdy.GoAway(0, spdy.GoAwayStatus.PROTOCOL_ERROR)
    await asyncio.wait_for(client.task, 5)


@pytest.mark.parametrize(("headers", "want"), [
    pytest.param({"streamtype": ["data"], "port": ["80"]}, ("data", 80), id="data"),
    pytest.param({"streamtype": ["error"], "port": ["65535"]}, ("error", 65535), id="error"),
])
def test_validate(headers: spdy.Headers, want: tuple[str, int]) -> None:
    assert validate(headers) == want


@pytest.mark.parametrize(("headers", "stream_id", "kind", "want"), [
    pytest.param({"requestid": ["4"]}, 9, "data", "4", id="given"),
    pytest.param({}, 1, "error", "1", id="error-stream-own-id"),
    pytest.param({}, 3, "data", "1", id="data-stream-id-minus-two"),
])
def test_request_id(headers: spdy.Headers, stream_id: int, kind: str, want: str) -> None:
    assert request_id(headers, stream_id=stream_id, kind=kind) == want
