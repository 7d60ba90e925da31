"""The client end of an exec or attach stream: local input and terminal in, remote output out.

:func:`open_stream` opens ``pods/<name>/exec`` (or ``attach``) offering ``v5.channel.k8s.io``
first, as kubectl does; :func:`run_stream` moves the bytes until the server closes the stream
and returns the remote exit code read from the status channel. The framing is
:mod:`apimachinery.remotecommand`, the same code the kubelet uses. With v5, the end of local
input is sent as a close of stdin, so ``echo hi | podctl exec -i pod -- cat`` ends; older
protocols cannot say it, as with kubectl.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import os
import signal
import sys
import termios
import threading
import tty
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from apimachinery import remotecommand as rc
from apimachinery import resources as res
from apimachinery.errors import ApiError
from podctl.session import Session

OFFERED = (rc.V5, rc.V4)
_READ_SIZE = 32 * 1024


@dataclass
class StreamIO:
    """Where a stream's bytes come from and go to."""

    stdout: Callable[[bytes], None]
    stderr: Callable[[bytes], None]
    stdin: AsyncIterator[bytes] | None = None
    sizes: AsyncIterator[tuple[int, int]] | None = None  # (width, height) of the local terminal


async def open_stream(session: Session, pod: str, *, subresource: str, options: rc.StreamOptions,
                      namespace: str | None = None) -> ClientConnection:
    query = {name: "true" for name in ("stdin", "stdout", "stderr", "tty") if getattr(options, name)}
    params: dict[str, str | list[str]] = {**query, "container": options.container or ""}
    if options.command:
        params["command"] = list(options.command)
    path = res.PODS.path(namespace or session.namespace, pod, subresource)
    return await session.client.open_websocket(path, params=params, subprotocols=OFFERED)


async def run_stream(ws: ClientConnection, io: StreamIO) -> int:
    """Relay until the server closes; the remote exit code (ApiError for a failed stream)."""
    protocol = rc.negotiate([ws.subprotocol] if ws.subprotocol else [])
    status = bytearray()
    senders = [asyncio.create_task(_send_input(ws, protocol, io.stdin))] if io.stdin is not None else []
    if io.sizes is not None:
        senders.append(asyncio.create_task(_send_sizes(ws, protocol, io.sizes)))
    try:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                decoded = protocol.decode(message)
                if decoded is None:
                    continue
                channel, data = decoded
                if channel == rc.STDOUT:
                    io.stdout(data)
                elif channel == rc.STDERR:
                    io.stderr(data)
                elif channel == rc.ERROR:
                    status += data
    finally:
        for task in senders:
            task.cancel()
        await ws.close()
    if not protocol.status_json and status:
        raise ApiError(500, "InternalError", status.decode(errors="replace"))
    return rc.exit_code_of(bytes(status)) if protocol.status_json else 0


async def _send_input(ws: ClientConnection, protocol: rc.ChannelProtocol, chunks: AsyncIterator[bytes]) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for chunk in chunks:
            await ws.send(protocol.encode(rc.STDIN, chunk))
        if protocol.close_channel:
            await ws.send(protocol.close_message(rc.STDIN))


async def _send_sizes(ws: ClientConnection, protocol: rc.ChannelProtocol,
                      sizes: AsyncIterator[tuple[int, int]]) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for width, height in sizes:
            await ws.send(protocol.resize_message(width=width, height=height))


async def interact(session: Session, pod: str, *, subresource: str, options: rc.StreamOptions) -> int:
    """Open the stream and wire it to this process: its stdin (``options.stdin``), its terminal
    in raw mode and followed in size (``options.tty``), and its stdout/stderr; the exit code."""
    ws = await open_stream(session, pod, subresource=subresource, options=options)
    streams = StreamIO(stdout=writer("stdout"), stderr=writer("stderr"),
                       stdin=read_input(sys.stdin.buffer) if options.stdin else None,
                       sizes=terminal_sizes(sys.stdin.fileno()) if options.tty else None)
    if options.tty and options.stdin:
        with raw_terminal(sys.stdin.fileno()):
            return await run_stream(ws, streams)
    return await run_stream(ws, streams)


def local_terminal(*, wanted: bool, session: Session, quiet: bool = False) -> bool:
    """Whether a TTY can be used: asked for and stdin is a terminal (kubectl's note otherwise)."""
    terminal = wanted and sys.stdin.isatty()
    if wanted and not terminal and not quiet:
        session.output.progress("Unable to use a TTY - input is not a terminal or the right kind of file")
    return terminal


# -- local ends ----------------------------------------------------------------------------


async def read_input(source: BinaryIO) -> AsyncIterator[bytes]:
    """A binary stream's bytes (as they arrive) until EOF, read by a thread so the loop never blocks."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    read = _reader(source)

    def pump() -> None:
        while True:
            try:
                chunk = bytes(read(_READ_SIZE))
            except (OSError, ValueError):
                chunk = b""
            with contextlib.suppress(RuntimeError):  # the loop has ended
                loop.call_soon_threadsafe(queue.put_nowait, chunk)
            if not chunk:
                return

    threading.Thread(target=pump, daemon=True, name="stdin").start()
    while chunk := await queue.get():
        yield chunk


def _reader(source: BinaryIO) -> Callable[[int], bytes]:
    """``os.read`` on a real file: a thread blocked in a buffered reader's lock aborts the
    interpreter at exit, one blocked in ``read(2)`` does not. Else the stream's own ``read1``."""
    try:
        fd = source.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return getattr(source, "read1", source.read)
    return functools.partial(os.read, fd)


async def bytes_source(data: bytes) -> AsyncIterator[bytes]:
    """In-memory input (``podctl cp``), in messages of a bounded size."""
    for start in range(0, len(data), _READ_SIZE):
        yield data[start:start + _READ_SIZE]


async def terminal_sizes(fd: int) -> AsyncIterator[tuple[int, int]]:
    """The terminal's size now and after each SIGWINCH."""
    loop = asyncio.get_running_loop()
    changed: asyncio.Queue[None] = asyncio.Queue()
    loop.add_signal_handler(signal.SIGWINCH, changed.put_nowait, None)
    try:
        while True:
            size = os.get_terminal_size(fd)
            yield size.columns, size.lines
            await changed.get()
    finally:
        loop.remove_signal_handler(signal.SIGWINCH)


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """The local terminal in raw mode (keys go to the remote one) until the stream ends."""
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def writer(stream: str) -> Callable[[bytes], None]:
    """Write and flush bytes to this process's ``stdout`` or ``stderr``."""
    target = sys.stdout.buffer if stream == "stdout" else sys.stderr.buffer

    def write(data: bytes) -> None:
        target.write(data)
        target.flush()

    return write
