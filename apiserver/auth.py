"""Body limits as pure ASGI middleware (runs before any parsing), and the ASGI types it shares.

Bodies over the limit are refused with 413 while streaming in, so a huge body is never
buffered or parsed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from apimachinery.errors import ApiError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: scope extension of an HTTP request asking for a non-WebSocket ``Upgrade`` (SPDY/3.1): its
#: ``takeover(headers)`` answers 101 with ``headers`` and returns the connection's byte streams
#: (``asyncio.StreamReader``, ``asyncio.StreamWriter``); the app then sends no response.
RAW_UPGRADE = "podvisor.http.upgrade"


async def send_status(send: Send, error: ApiError, *, prefix: str = "http") -> None:
    """The Status as an HTTP answer; ``prefix="websocket.http"`` answers a WebSocket handshake so."""
    body = error.status_json()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if error.code == 401:
        headers.append((b"www-authenticate", b'Bearer realm="podvisor"'))
    await send({"type": f"{prefix}.response.start", "status": error.code, "headers": headers})
    await send({"type": f"{prefix}.response.body", "body": body})


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 before the app sees them.

    The body is read up front (at most ``limit`` bytes are ever held) and replayed to the app,
    so an oversized body is rejected while streaming in, whatever its Content-Length claims.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await send_status(send, self._too_large())
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await send_status(send, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> ApiError:
        return ApiError(
            413, "RequestEntityTooLarge", f"the request body is larger than the limit of {self.limit} bytes"
        )
