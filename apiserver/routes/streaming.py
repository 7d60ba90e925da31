"""WebSocket upgrades on the resource API: one route per API prefix, dispatched by subresource.

Starlette matches WebSocket scopes only against WebSocket routes, so the streaming subresources
(``pods/portforward``; exec and attach fit the same table) get routes of their own next to the
HTTP ones in :mod:`apiserver.routes.resources`. Authentication and authorization have already
run (they are ASGI middleware); a refusal here is an HTTP answer carrying the Status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import WebSocket
from starlette.routing import WebSocketRoute

from apimachinery.errors import ApiError
from apiserver.routes.paths import Target, resolve
from apiserver.routes.portforward import deny, portforward_websocket

Handler = Callable[[WebSocket, Target], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    "portforward": portforward_websocket,
}


async def dispatch_websocket(ws: WebSocket, group: str, version: str, path: str) -> None:
    try:
        target = resolve(group, version, path.strip("/").split("/"), ws.url.path)
        handler = HANDLERS.get(target.subresource or "")
        if handler is None or target.name is None:
            raise ApiError(400, "BadRequest", f"{ws.url.path} does not accept a WebSocket upgrade")
        await ws.app.state.store.wait_fresh()
    except ApiError as err:
        await deny(ws, err)
        return
    await handler(ws, target)


async def core_api(ws: WebSocket) -> None:
    await dispatch_websocket(ws, "", ws.path_params["version"], ws.path_params["path"])


async def group_api(ws: WebSocket) -> None:
    params = ws.path_params
    await dispatch_websocket(ws, params["group"], params["version"], params["path"])


routes = [
    WebSocketRoute("/api/{version}/{path:path}", core_api),
    WebSocketRoute("/apis/{group}/{version}/{path:path}", group_api),
]
