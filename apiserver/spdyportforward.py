"""kubectl's port-forward session: SPDY/3.1 streams in, one upstream connection per stream pair out.

kubectl opens one SPDY connection (tunnelled in WebSocket binary messages) and, for every local
connection, two streams carrying the headers ``streamType`` (``error`` then ``data``), ``port`` and
``requestID``: the pair. The server answers each SYN_STREAM with a SYN_REPLY at once (kubectl's
``CreateStream`` waits for it), and forwards a complete pair: the data stream both ways, the
error stream from the server only, for a message such as ``error forwarding port 80 ...``.
What Kubernetes' kubelet does (``pkg/kubelet/cri/streaming/portforward/httpstream.go``) is kept:
a stream with a missing or bad header is reset, a pair missing its second stream after
``creation_timeout`` is reported on its error stream, a missing ``requestID`` (old clients) is
derived from the stream id.

Ends: the client's FIN on a data stream half-closes the upstream (the pod's connection sees EOF
and may still answer); the upstream's end FINs both streams, after which kubectl resets them.
PINGs are echoed; SETTINGS, WINDOW_UPDATE and HEADERS change nothing (kubectl's spdystream
does no flow control). The session is I/O-free apart from ``send``, the frames it reads, and
``dial``, so it is tested without sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from apimachinery import portforward as pf
from apimachinery import spdy
from apimachinery.errors import ApiError

log = logging.getLogger(__name__)

STREAM_CREATION_TIMEOUT = 30.0  # the kubelet's default streamCreationTimeout
QUEUE_DEPTH = 64


class Upstream(Protocol):
    """One forwarded connection to the pod's port (the kubelet's WebSocket, for the API server)."""

    async def send(self, payload: bytes) -> None: ...

    async def close_write(self) -> None: ...

    def messages(self) -> AsyncIterator[tuple[str, bytes]]:
        """``("data" | "error", payload)`` from the pod's side, until the connection ended."""
        ...

    async def close(self) -> None: ...


Dial = Callable[[int], Awaitable[Upstream]]


@dataclass
class Stream:
    id: int
    kind: str
    port: int
    inbox: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_DEPTH))
    finished: bool = False  # we sent FIN (or the stream was reset): nothing more goes out on it


@dataclass
class Pair:
    request: str
    data: Stream | None = None
    error: Stream | None = None
    task: asyncio.Task[None] | None = None

    @property
    def complete(self) -> bool:
        return self.data is not None and self.error is not None


def _header(headers: spdy.Headers, name: str) -> str:
    return (headers.get(name) or [""])[0]


def validate(headers: spdy.Headers) -> tuple[str, int]:
    """(stream type, port) of a port-forward stream, or ValueError as the kubelet words it."""
    port_text = _header(headers, pf.PORT_HEADER)
    if not port_text:
        raise ValueError('"port" header is required')
    if not port_text.isdigit() or not 0 < int(port_text) <= 0xFFFF:
        raise ValueError(f'unable to parse "{port_text}" as a port')
    kind = _header(headers, pf.STREAM_TYPE_HEADER)
    if not kind:
        raise ValueError('"streamType" header is required')
    if kind not in (pf.STREAM_TYPE_DATA, pf.STREAM_TYPE_ERROR):
        raise ValueError(f'invalid stream type "{kind}"')
    return kind, int(port_text)


def request_id(headers: spdy.Headers, *, stream_id: int, kind: str) -> str:
    """The pair's id; without the header, old clients' streams are consecutive odd ids (error first)."""
    given = _header(headers, pf.REQUEST_ID_HEADER)
    if given:
        return given
    return str(stream_id if kind == pf.STREAM_TYPE_ERROR else stream_id - 2)


class SpdySession:
    def __init__(self, *, send: Callable[[bytes], Awaitable[None]], dial: Dial,
                 creation_timeout: float = STREAM_CREATION_TIMEOUT) -> None:
        self._send, self.dial, self.creation_timeout = send, dial, creation_timeout
        self.encoder, self.decoder = spdy.Encoder(), spdy.Decoder()
        self.lock = asyncio.Lock()
        self.streams: dict[int, Stream] = {}
        self.pairs: dict[str, Pair] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    async def emit(self, frame: spdy.Frame) -> None:
        async with self.lock:  # header compression state and the byte order are one sequence
            await self._send(self.encoder.encode(frame))

    async def run(self, incoming: AsyncIterator[bytes]) -> None:
        """Serve until the client's bytes end or it says GOAWAY; then end every forward."""
        try:
            async for chunk in incoming:
                for frame in self.decoder.feed(chunk):
                    if not await self.handle(frame):
                        return
        except spdy.SpdyError as err:
            log.info("port-forward session ended by a protocol error: %s", err)
            with contextlib.suppress(Exception):
                await self.emit(spdy.GoAway(max(self.streams, default=0), spdy.GoAwayStatus.PROTOCOL_ERROR))
        finally:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def handle(self, frame: spdy.Frame) -> bool:
        match frame:
            case spdy.SynStream():
                await self.open(frame)
            case spdy.Data():
                await self.received(frame)
            case spdy.RstStream(stream_id):
                self.reset(stream_id)
            case spdy.Ping(ping_id):
                await self.emit(spdy.Ping(ping_id))
            case spdy.GoAway():
                return False
        return True

    async def open(self, frame: spdy.SynStream) -> None:
        try:
            kind, port = validate(frame.headers)
        except ValueError as err:
            log.info("port-forward stream %d refused: %s", frame.stream_id, err)
            await self.emit(spdy.RstStream(frame.stream_id, spdy.RstStatus.CANCEL))
            return
        stream = Stream(frame.stream_id, kind, port)
        self.streams[stream.id] = stream
        await self.emit(spdy.SynReply(stream.id, {}))
        if frame.flags & spdy.FLAG_FIN:
            await stream.inbox.put(None)
        rid = request_id(frame.headers, stream_id=stream.id, kind=kind)
        pair = self.pairs.get(rid)
        if pair is None:
            pair = self.pairs[rid] = Pair(rid)
            self.spawn(self.expire(pair))
        if getattr(pair, kind) is not None:
            await self.write(pair.error, f"error processing stream for request {rid}: {kind} stream already assigned".encode())
            self.streams.pop(stream.id, None)
            await self.emit(spdy.RstStream(stream.id, spdy.RstStatus.CANCEL))
            return
        setattr(pair, kind, stream)
        if pair.complete:
            pair.task = self.spawn(self.forward(pair))

    def spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def expire(self, pair: Pair) -> None:
        await asyncio.sleep(self.creation_timeout)
        if not pair.complete:
            await self.fail(pair, f"(request={pair.request}) timed out waiting for streams")

    async def received(self, frame: spdy.Data) -> None:
        stream = self.streams.get(frame.stream_id)
        if stream is None or stream.kind != pf.STREAM_TYPE_DATA:
            return  # the error stream is the server's to write; unknown streams were reset
        if frame.data:
            await stream.inbox.put(frame.data)
        if frame.fin:
            await stream.inbox.put(None)

    def reset(self, stream_id: int) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream is None:
            return
        stream.finished = True
        for rid, pair in list(self.pairs.items()):
            if stream in (pair.data, pair.error):
                if stream is pair.data and pair.task is not None:
                    pair.task.cancel()
                if all(s is None or s.finished for s in (pair.data, pair.error)):
                    del self.pairs[rid]

    async def forward(self, pair: Pair) -> None:
        assert pair.data is not None and pair.error is not None
        try:
            try:
                upstream = await self.dial(pair.data.port)
            except ApiError as err:
                await self.write(pair.error, f"error forwarding port {pair.data.port}: {err.message}".encode())
                return
            to_pod = asyncio.ensure_future(self.to_pod(pair.data, upstream))
            try:
                async for kind, payload in upstream.messages():
                    await self.write(pair.data if kind == pf.STREAM_TYPE_DATA else pair.error, payload)
            finally:
                to_pod.cancel()
                await upstream.close()
        finally:
            await self.finish(pair)

    async def to_pod(self, stream: Stream, upstream: Upstream) -> None:
        while (payload := await stream.inbox.get()) is not None:
            await upstream.send(payload)
        await upstream.close_write()

    async def write(self, stream: Stream | None, payload: bytes) -> None:
        if stream is not None and not stream.finished and payload:
            await self.emit(spdy.Data(stream.id, payload))

    async def fin(self, stream: Stream | None) -> None:
        if stream is not None and not stream.finished:
            stream.finished = True
            await self.emit(spdy.Data(stream.id, b"", spdy.FLAG_FIN))

    async def finish(self, pair: Pair) -> None:
        """FIN both streams and forget the pair: what the client sends on them now is dropped."""
        for stream in (pair.data, pair.error):
            if stream is not None:
                self.streams.pop(stream.id, None)
        if self.pairs.get(pair.request) is pair:
            del self.pairs[pair.request]
        with contextlib.suppress(Exception):
            await self.fin(pair.data)
            await self.fin(pair.error)

    async def fail(self, pair: Pair, message: str) -> None:
        """Report on the pair's error stream (if it has one) and end the pair."""
        log.info("port-forward: %s", message)
        await self.write(pair.error, message.encode())
        await self.finish(pair)
