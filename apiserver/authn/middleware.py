"""Authentication as pure ASGI middleware: every HTTP and WebSocket request, before any parsing.

``/healthz``, ``/readyz``, ``/livez`` and ``/version`` need no credentials, as on a kubeadm
cluster; nor does the dashboard's shell under ``/ui`` (it holds no data: the page logs in with a token). Any other request without a valid bearer token gets 401 (a WebSocket handshake is
refused before it is accepted). Two ``Authorization`` headers are refused with 400: which one
would count is ambiguous (a proxy may have added one).
"""

from __future__ import annotations

from apimachinery.errors import ApiError
from apiserver.auth import ASGIApp, Receive, Scope, Send, send_status
from apiserver.authn.tokens import Authenticator
from apiserver.authn.user import UserInfo, set_user

PUBLIC_PATHS = ("/healthz", "/readyz", "/livez", "/version", "/ui")  # /ui: the dashboard's data-free shell


def is_public(path: str) -> bool:
    """A public path or one below it (``/healthz/etcd``, ``/ui/app.js``); ``/uix`` is not public."""
    return any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS)


class Authentication:
    def __init__(self, app: ASGIApp, authenticator: Authenticator | None) -> None:
        self.app = app
        self.authenticator = authenticator  # None disables authentication (tests, in-process)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = [value for name, value in scope["headers"] if name == b"authorization"]
        if len(headers) > 1:
            await refuse(scope, send, ApiError(400, "BadRequest", "the request has more than one Authorization header"))
            return
        if self.authenticator is None:
            await self.app(scope, receive, send)
            return
        user = self.user(headers[0].decode("latin-1") if headers else "")
        if user is None:
            await refuse(scope, send, ApiError(401, "Unauthorized", "Unauthorized"))
            return
        set_user(scope, user)
        await self.app(scope, receive, send)

    def user(self, header: str) -> UserInfo | None:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or self.authenticator is None:
            return None
        return self.authenticator.authenticate(token)


async def refuse(scope: Scope, send: Send, error: ApiError) -> None:
    """A Status for HTTP, and for a WebSocket handshake too where the server can answer one with
    an HTTP response; else a close before accept (the client sees 403)."""
    if scope["type"] == "websocket":
        if "websocket.http.response" in (scope.get("extensions") or {}):
            await send_status(send, error, prefix="websocket.http")
            return
        await send({"type": "websocket.close", "code": 1008, "reason": error.message[:120]})
        return
    await send_status(send, error)
