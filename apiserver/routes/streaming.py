"""The pod streaming subresources (exec, attach, portforward): one table, one route per API prefix.

Starlette matches WebSocket scopes only against WebSocket routes, so WebSocket upgrades on the
resource API get routes of their own next to the HTTP ones in :mod:`apiserver.routes.resources`,
and are dispatched here by subresource. Each entry also answers the same path as a plain HTTP
request (a GET or POST that did not upgrade to a WebSocket: kubectl's SPDY attempts, curl):
exec and attach by :mod:`apiserver.routes.streams`, port-forward by
:mod:`apiserver.routes.portforward`. Authentication and authorization have already run (they
are ASGI middleware); a refusal here is an HTTP answer carrying the Status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Response, WebSocket
from starlette.routing import WebSocketRoute

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apiserver.routes import portforward, streams
from apiserver.routes.paths import Target, resolve
from apiserver.routes.relay import deny


@dataclass(frozen=True)
class Streaming:
    """How one subresource answers a WebSocket upgrade, and a request that did not upgrade."""

    websocket: Callable[[WebSocket, Target], Awaitable[None]]
    http: Callable[[Request, Target], Awaitable[Response]]


#: the streaming subresources of pods, by name
SUBRESOURCES: dict[str, Streaming] = {
    "exec": Streaming(streams.stream_websocket, streams.stream_http),
    "attach": Streaming(streams.stream_websocket, streams.stream_http),
    "portforward": Streaming(portforward.portforward_websocket, portforward.portforward_http),
}


def streaming_of(target: Target) -> Streaming | None:
    """The entry of a named pod's subresource, if it streams."""
    if target.rt is not res.PODS or target.name is None or target.subresource is None:
        return None
    return SUBRESOURCES.get(target.subresource)


async def dispatch_websocket(ws: WebSocket, group: str, version: str, path: str) -> None:
    try:
        target = resolve(group, version, path.strip("/").split("/"), ws.url.path)
        entry = streaming_of(target)
        if entry is None:
            raise ApiError(400, "BadRequest", f"{ws.url.path} does not accept a WebSocket upgrade")
        await ws.app.state.store.wait_fresh()
    except ApiError as err:
        await deny(ws, err)
        return
    await entry.websocket(ws, target)


async def core_api(ws: WebSocket) -> None:
    await dispatch_websocket(ws, "", ws.path_params["version"], ws.path_params["path"])


async def group_api(ws: WebSocket) -> None:
    params = ws.path_params
    await dispatch_websocket(ws, params["group"], params["version"], params["path"])


routes = [
    WebSocketRoute("/api/{version}/{path:path}", core_api),
    WebSocketRoute("/apis/{group}/{version}/{path:path}", group_api),
]
