"""The connection limits uvicorn lacks, with kube-apiserver's values: a deadline for the request
headers, a cap on their size, a maximum connection count.

kube-apiserver's HTTP server reads headers for at most 32 s (``ReadHeaderTimeout``), accepts at
most 1 MiB of them (``MaxHeaderBytes``) and closes idle connections after 90 s
(``IdleTimeout``). uvicorn has only the idle timeout: a client that connects and sends its
headers a byte a minute (slowloris) holds a connection forever, and httptools buffers headers
of any size. This protocol adds both, and refuses connections beyond ``max_connections`` as
they arrive, so requests on established connections still get through (uvicorn's own
``limit_concurrency`` answers every request with a plain-text 503 once the count is reached).
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from dataclasses import dataclass
from typing import Any

from apimachinery.errors import ApiError
from apiserver.auth import RAW_UPGRADE

log = logging.getLogger("podvisor.server")

REQUEST_HEADER_TIMEOUT = 32.0  # kube-apiserver's ReadHeaderTimeout
MAX_HEADER_BYTES = 1 << 20  # its MaxHeaderBytes
KEEP_ALIVE_TIMEOUT = 90  # its IdleTimeout
MAX_CONNECTIONS = 10_000
FD_RESERVE = 256  # descriptors kept for the store, the Docker socket, logs


@dataclass(frozen=True)
class HttpLimits:
    header_timeout: float = REQUEST_HEADER_TIMEOUT
    max_header_bytes: int = MAX_HEADER_BYTES
    max_connections: int = MAX_CONNECTIONS


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard one (as Go programs do since Go 1.19), so
    thousands of watch connections fit; returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def connection_cap(wanted: int, fd_limit: int) -> int:
    """``wanted`` connections, or as many as the descriptors allow."""
    return max(1, min(wanted, fd_limit - FD_RESERVE))


def http_protocol(limits: HttpLimits) -> Any:
    """uvicorn's ``http`` setting: the guarded httptools protocol, or h11 where httptools is missing
    (h11 enforces the header size itself, through ``h11_max_incomplete_event_size``)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "h11"

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        """Closes a connection that does not finish its headers in time or sends too many."""

        _header_timer: asyncio.TimerHandle | None = None
        _header_bytes = 0
        _refused = False  # answered and closing: the rest of what the client sends is ignored

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                log.warning("refused a connection: %d open (limit %d)", len(self.connections) - 1,
                            limits.max_connections)
                transport.abort()
                return
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if not self._refused:
                super().data_received(data)

        def on_message_begin(self) -> None:
            if self._refused:
                return
            super().on_message_begin()
            self._header_bytes = 0
            self._arm_header_timer()

        def on_url(self, url: bytes) -> None:
            if self._within_header_limit(len(url)):
                super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            if self._within_header_limit(len(name) + len(value)):
                super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._cancel_header_timer()
            if not self._refused:
                super().on_headers_complete()
                upgrade = self._get_upgrade()
                if upgrade is not None and upgrade != b"websocket" and "path" in self.scope:
                    self.scope.setdefault("extensions", {})[RAW_UPGRADE] = {"takeover": self._take_over}

        def _unsupported_upgrade_warning(self) -> None:
            if self._get_upgrade() == b"websocket":
                super()._unsupported_upgrade_warning()
            # other upgrades (SPDY/3.1) reach the app, which takes the connection over or refuses

        def _take_over(self, headers: list[tuple[bytes, bytes]]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            """Answer 101 and hand the connection's bytes to the app (kubectl's SPDY/3.1 upgrade).

            uvicorn then forgets the connection: the request counts as answered, and the
            transport belongs to an ``asyncio`` stream pair until the app closes it."""
            assert self.cycle is not None
            self.cycle.response_started = self.cycle.response_complete = True
            self.connections.discard(self)
            if self.timeout_keep_alive_task is not None:
                self.timeout_keep_alive_task.cancel()
                self.timeout_keep_alive_task = None
            head = b"HTTP/1.1 101 Switching Protocols\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in headers)
            self.transport.write(head + b"\r\n")
            reader = asyncio.StreamReader(limit=1 << 20)
            protocol = asyncio.StreamReaderProtocol(reader)
            self.transport.set_protocol(protocol)
            protocol.connection_made(self.transport)
            self.transport.resume_reading()
            return reader, asyncio.StreamWriter(self.transport, protocol, reader, asyncio.get_running_loop())

        def on_body(self, body: bytes) -> None:
            if not self._refused:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self._refused:
                super().on_message_complete()

        def _within_header_limit(self, size: int) -> bool:
            self._header_bytes += size
            if self._refused or self._header_bytes <= limits.max_header_bytes:
                return not self._refused
            self._refuse(431, "RequestHeaderFieldsTooLarge",
                         f"the request headers are larger than {limits.max_header_bytes} bytes")
            return False

        def _arm_header_timer(self) -> None:
            self._cancel_header_timer()
            self._header_timer = self.loop.call_later(limits.header_timeout, self._headers_too_slow)

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self._refused and not self.transport.is_closing():
                self._refuse(408, "Timeout", f"the request headers took longer than {limits.header_timeout:g}s")

        def _refuse(self, code: int, reason: str, message: str) -> None:
            self._refused = True
            self._cancel_header_timer()
            body = json.dumps(ApiError(code, reason, message).status()).encode()
            head = (f"HTTP/1.1 {code} {reason}\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode()
            self.transport.write(head + body)
            self.transport.close()

    return GuardedHttpToolsProtocol


def websocket_protocol() -> Any:
    """uvicorn's ``ws`` setting: its websockets protocol, reading ``Sec-WebSocket-Protocol`` as
    Kubernetes' clients write it.

    kubectl offers ``SPDY/3.1+portforward.k8s.io`` for port-forward; ``/`` is not a token
    character of RFC 6455's grammar, and the websockets library refuses the whole handshake with
    400 (kubectl then gives up its WebSocket tunnel). Go's servers split the header on commas,
    and so does uvicorn when it hands the offers to the app, which alone picks one: the
    library's own (strict) parsing is skipped.
    """
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    class KubernetesWebSocketProtocol(WebSocketsSansIOProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.conn.process_subprotocol = lambda _headers: None  # type: ignore[method-assign,assignment]

    return KubernetesWebSocketProtocol
