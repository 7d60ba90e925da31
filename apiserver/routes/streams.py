"""``pods/exec`` and ``pods/attach``: WebSocket upgrades relayed to the pod's kubelet, message for message.

kubectl (1.30+) and the Python client open a WebSocket offering ``v5.channel.k8s.io`` and older
channel protocols (:mod:`apimachinery.remotecommand`). The API server checks what it can
before dialling, as kube-apiserver's ``streamLocation`` does (the pod exists: 404; the
container is the pod's: 400 ``container c is not valid for pod p``; the pod is on a node: 400),
then opens a WebSocket to the kubelet with the protocols the client offered
(:func:`apiserver.kubeletclient.open_kubelet_websocket`), and only when the kubelet has
accepted, accepts the client's handshake with the protocol the kubelet chose. Every refusal,
the kubelet's included (``container not found ("c")``), is an HTTP Status answered on the
handshake (ASGI's ``websocket.http.response``), which kubectl prints as it prints any Status.

From then on each message is passed on unchanged, in both directions
(:func:`apiserver.routes.relay.relay`), so the framing and the exit status are the kubelet's. A
plain request (no upgrade) gets 400 "Upgrade request required", as kube-apiserver's
upgrade-aware proxy answers it. SPDY is not served: when a
WebSocket handshake is refused, kubectl retries the same request over SPDY and prints what that
attempt got, so the refusal is remembered for a few seconds (per user and request) and given
again to that retry; otherwise a kubelet that is down would read as "Upgrade request required".

Authentication and authorization ran before this module (``create`` on the subresource); the
route table is :mod:`apiserver.routes.streaming`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection

from apimachinery import remotecommand as rc
from apimachinery import resources as res
from apimachinery.errors import ApiError, bad_request
from apiserver.authn.user import user_of
from apiserver.kubeletclient import open_kubelet_websocket
from apiserver.registry import Registry
from apiserver.routes.paths import Target
from apiserver.routes.relay import deny, relay

#: how long a refused handshake is given again to the same request (kubectl's SPDY retry)
REFUSAL_MEMORY = 10.0


def _query(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for key, value in items:
        query.setdefault(key, []).append(value)
    return query


def container_of(pod: dict[str, Any], requested: str | None) -> str:
    """The container meant, by kube-apiserver's rules (the only one when none is named)."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    names = [c["name"] for c in spec.get("containers") or []]
    every = names + [c["name"] for c in spec.get("initContainers") or []] + \
        [c["name"] for c in spec.get("ephemeralContainers") or []]
    if requested:
        if requested not in every:
            raise bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    if len(names) == 1:
        return names[0]
    init = [c["name"] for c in spec.get("initContainers") or []]
    raise bad_request(f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
                      + (f" or one of the init containers: [{' '.join(init)}]" if init else ""))


def locate(registry: Registry, target: Target, query: dict[str, list[str]]) -> tuple[rc.StreamOptions, str, str]:
    """Options, node and container of a stream request, or the Status that refuses it."""
    assert target.name is not None
    options = rc.parse_stream_options(query, exec_=target.subresource == "exec")
    pod = registry.get(res.PODS, target.namespace, target.name)
    container = container_of(pod, options.container)
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise bad_request(f"pod {target.name} does not have a host assigned")
    return options, node, container


async def stream_http(request: Request, target: Target) -> Response:
    """A request that did not upgrade: the checks, then 400 as Kubernetes answers it."""
    await request.app.state.store.wait_fresh()
    locate(request.app.state.registry, target, _query(request.query_params.multi_items()))
    if "upgrade" in request.headers.get("connection", "").lower():
        remembered = _refusals(request.app).recall(_refusal_key(request.scope))
        if remembered is not None:
            raise remembered
    raise bad_request("Upgrade request required")


class Refusals:
    """Recently refused handshakes, so that a client's fallback attempt reads the same Status."""

    def __init__(self, *, ttl: float = REFUSAL_MEMORY, size: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self.recent: OrderedDict[tuple[str, str, str], tuple[float, ApiError]] = OrderedDict()

    def remember(self, key: tuple[str, str, str], error: ApiError) -> None:
        self.recent[key] = (self.clock() + self.ttl, error)
        self.recent.move_to_end(key)
        while len(self.recent) > self.size:
            self.recent.popitem(last=False)

    def recall(self, key: tuple[str, str, str]) -> ApiError | None:
        """The refusal of this request, once, if it is recent."""
        until, error = self.recent.pop(key, (0.0, None))
        return error if error is not None and self.clock() < until else None


def _refusals(app: Any) -> Refusals:
    if not hasattr(app.state, "stream_refusals"):
        app.state.stream_refusals = Refusals()
    refusals: Refusals = app.state.stream_refusals
    return refusals


def _refusal_key(scope: Any) -> tuple[str, str, str]:
    user = user_of(scope)
    return (user.name if user else "", scope["path"], scope.get("query_string", b"").decode("latin-1"))


async def stream_websocket(ws: WebSocket, target: Target) -> None:
    """Dial the kubelet, then accept with the protocol it chose and relay until either side ends."""
    try:
        upstream = await _dial(ws, target)
    except ApiError as err:
        _refusals(ws.app).remember(_refusal_key(ws.scope), err)
        await deny(ws, err)
        return
    try:
        await ws.accept(subprotocol=upstream.subprotocol)
    except BaseException:
        await upstream.close()
        raise
    await relay(ws, upstream)


async def _dial(ws: WebSocket, target: Target) -> ClientConnection:
    offered = ws.scope.get("subprotocols") or []
    rc.negotiate(offered)  # refuse a client that offers only protocols no kubelet speaks
    options, node, container = locate(ws.app.state.registry, target, _query(ws.query_params.multi_items()))
    return await open_kubelet_websocket(
        ws.app.state.registry, ws.app.state.settings.kubelet_tls, node=node,
        path=f"/{target.subresource}/{target.namespace}/{target.name}/{container}", query=options.query(),
        subprotocols=[p for p in offered if p in rc.PROTOCOLS])
