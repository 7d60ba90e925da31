"""Interactive streams into containers (exec and attach): one blocking session object per stream.

The runtime hands back a :class:`StreamSession`; the kubelet's WebSocket handler
(:mod:`kubelet.streams`) drives it from threads of its own, so a session may block on every call.
Docker gives a hijacked socket: raw bytes with a terminal, otherwise its multiplexed framing (an
8-byte header ``[stream, 0, 0, 0, size (big-endian uint32)]`` before each payload), which
:class:`FrameDemuxer` splits without I/O. Closing stdin is a half-close of that socket (what
``docker exec -i`` does on EOF). This module does not import the docker SDK.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import struct
from collections.abc import Callable, Iterator
from typing import Any, Protocol

#: Docker's stream numbers in multiplexed frames, the same as the channel numbers of exec
STDOUT, STDERR = 1, 2
_HEADER = struct.Struct(">BxxxL")
_READ_SIZE = 32 * 1024


class StreamSession(Protocol):
    """One exec or attach. Every call may block."""

    def read(self) -> tuple[int, bytes] | None:
        """The next output chunk as (1 stdout | 2 stderr, data); None when the output ended."""
        ...

    def write(self, data: bytes) -> None:
        """Send bytes to the process's stdin."""
        ...

    def close_stdin(self) -> None:
        """End the process's input (EOF), keep reading its output."""
        ...

    def resize(self, *, width: int, height: int) -> None:
        """Resize the terminal (tty sessions)."""
        ...

    def exit_code(self) -> int | None:
        """After the output ended: the command's exit code (exec), None for attach."""
        ...

    def close(self) -> None:
        """Release the connection; the output ends."""
        ...


class FrameDemuxer:
    """Splits Docker's multiplexed stream: feed bytes, get (stream, payload) pieces as they complete."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        out: list[tuple[int, bytes]] = []
        while len(self._buffer) >= _HEADER.size:
            stream, size = _HEADER.unpack_from(self._buffer)
            if len(self._buffer) < _HEADER.size + size:
                break
            payload = bytes(self._buffer[_HEADER.size:_HEADER.size + size])
            del self._buffer[:_HEADER.size + size]
            if payload:
                out.append((STDERR if stream == STDERR else STDOUT, payload))
        return out


class SocketStream:
    """A session over the runtime's hijacked socket (Docker's ``exec_start``/``attach`` socket)."""

    def __init__(self, sock: Any, *, tty: bool, resize: Callable[[int, int], None],
                 exit_code: Callable[[], int | None], closes_stdin: bool = True) -> None:
        self._holder = sock  # keeps the HTTP response (and so the connection) alive
        self._sock: socket.socket = getattr(sock, "_sock", sock)
        self._demux = None if tty else FrameDemuxer()
        self._pending: list[tuple[int, bytes]] = []
        self._resize = resize
        self._exit_code = exit_code
        self._closes_stdin = closes_stdin

    def read(self) -> tuple[int, bytes] | None:
        while not self._pending:
            try:
                data = self._sock.recv(_READ_SIZE)
            except OSError:
                return None
            if not data:
                return None
            self._pending = [(STDOUT, data)] if self._demux is None else self._demux.feed(data)
        return self._pending.pop(0)

    def write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def close_stdin(self) -> None:
        """End the input; a session that must not close it (see ``closes_stdin``) just stops writing."""
        if not self._closes_stdin:
            return
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)

    def resize(self, *, width: int, height: int) -> None:
        self._resize(width, height)

    def exit_code(self) -> int | None:
        return self._exit_code()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._holder.close()


class EchoStream:
    """The fake runtime's session: stdin comes back on stdout (``cat``), exit code 0."""

    def __init__(self, *, output: bytes = b"") -> None:
        self._chunks: queue.Queue[bytes | None] = queue.Queue()
        if output:
            self._chunks.put(output)
        self.resized: list[tuple[int, int]] = []

    def read(self) -> tuple[int, bytes] | None:
        chunk = self._chunks.get()
        return None if chunk is None else (STDOUT, chunk)

    def write(self, data: bytes) -> None:
        self._chunks.put(data)

    def close_stdin(self) -> None:
        self._chunks.put(None)

    def resize(self, *, width: int, height: int) -> None:
        self.resized.append((width, height))

    def exit_code(self) -> int | None:
        return 0

    def close(self) -> None:
        self._chunks.put(None)


def drain(session: StreamSession) -> Iterator[tuple[int, bytes]]:
    """Every output chunk of a session until it ends."""
    while (chunk := session.read()) is not None:
        yield chunk
