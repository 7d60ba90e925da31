"""Request limits, as pure ASGI middleware: a cap on requests in flight and on watches per identity.

As kube-apiserver's max-in-flight filter (what API Priority and Fairness replaced, with the
same flags and defaults): read-only and mutating requests have separate caps, long-running
requests (watches, container logs) count in neither, and a request over the cap is refused at
once with 429 ``TooManyRequests`` and ``Retry-After: 1``, never queued, so a flood cannot make
the server hold more than the caps' worth of work. Long-running requests are capped per
identity instead: one client opening watches without end cannot take every connection.

The identity is what authentication left in ``scope["state"]``: the user's name (each node,
ServiceAccount and component is a user of its own), else (no authentication) the client's address. The health
endpoints are never limited, so a kubelet or a load balancer always learns the truth.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from apimachinery.errors import ApiError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNLIMITED_PATHS = ("/healthz", "/readyz", "/livez")
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LONG_RUNNING_SUBRESOURCES = ("log", "exec", "attach", "portforward", "proxy")
STREAMING_RESOURCES = ("pods", "nodes", "services")
RETRY_AFTER_SECONDS = 1
IDENTITY_FIELDS = ("user", "username", "role")  # scope["state"] keys, most specific first

MAX_REQUESTS_INFLIGHT = 400  # kube-apiserver's --max-requests-inflight default
MAX_MUTATING_REQUESTS_INFLIGHT = 200  # and --max-mutating-requests-inflight
# Generous: one process simulating a thousand hollow nodes watches as one of them.
MAX_WATCHES_PER_USER = 5000


@dataclass(frozen=True)
class Limits:
    """0 disables a cap, as kube-apiserver's flags do."""

    max_requests_inflight: int = MAX_REQUESTS_INFLIGHT
    max_mutating_requests_inflight: int = MAX_MUTATING_REQUESTS_INFLIGHT
    max_watches_per_user: int = MAX_WATCHES_PER_USER


def is_long_running(scope: Scope) -> bool:
    """Watches (``/watch/...`` or ``?watch=true``) and streaming subresources, as Kubernetes'
    long-running request check."""
    segments = scope["path"].strip("/").split("/")
    version_at = {"api": 1, "apis": 2}.get(segments[0])
    if version_at is not None and segments[version_at + 1 : version_at + 2] == ["watch"]:
        return True  # /api/v1/watch/..., /apis/group/v1/watch/...
    if (
        len(segments) >= 5
        and segments[-1] in LONG_RUNNING_SUBRESOURCES
        and segments[-3] in STREAMING_RESOURCES
        and segments[-4] != "namespaces"  # not a namespace named "pods" holding an object "log"
    ):
        return True
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return any(value.lower() in ("true", "1") for value in query.get("watch", ()))


def identity_of(scope: Scope) -> str:
    state = scope.get("state") or {}
    for field in IDENTITY_FIELDS:
        value = state.get(field)
        if value:
            return str(getattr(value, "name", value))
    client = scope.get("client")
    return f"anonymous@{client[0]}" if client else "anonymous"


class RequestLimits:
    """Counts requests while they run; over a cap, answers 429 without calling the app."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        self.read_only = 0
        self.mutating = 0
        self.watches: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNLIMITED_PATHS):
            await self.app(scope, receive, send)
        elif is_long_running(scope):
            await self._watch(scope, receive, send)
        elif scope["method"] in READ_ONLY_METHODS:
            await self._read_only(scope, receive, send)
        else:
            await self._mutating(scope, receive, send)

    async def _watch(self, scope: Scope, receive: Receive, send: Send) -> None:
        who = identity_of(scope)
        cap = self.limits.max_watches_per_user
        if cap and self.watches[who] >= cap:
            await send_too_many(send, f"too many watches and streams open for {who} (limit {cap})")
            return
        self.watches[who] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.watches[who] -= 1
            if not self.watches[who]:
                del self.watches[who]

    async def _read_only(self, scope: Scope, receive: Receive, send: Send) -> None:
        cap = self.limits.max_requests_inflight
        if cap and self.read_only >= cap:
            await send_too_many(send, "Too many requests, please try again later.")
            return
        self.read_only += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.read_only -= 1

    async def _mutating(self, scope: Scope, receive: Receive, send: Send) -> None:
        cap = self.limits.max_mutating_requests_inflight
        if cap and self.mutating >= cap:
            await send_too_many(send, "Too many requests, please try again later.")
            return
        self.mutating += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.mutating -= 1


async def send_too_many(send: Send, message: str) -> None:
    error = ApiError(429, "TooManyRequests", message, retry_after=RETRY_AFTER_SECONDS)
    body = error.status_json()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
