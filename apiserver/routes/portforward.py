"""``pods/{name}/portforward``: what kubectl and the Python client send, relayed to the pod's kubelet.

Clients speak one of two protocols; the API server terminates both and dials the kubelet with
one, Kubernetes' kubelet WebSocket port-forward (:mod:`apimachinery.portforward`), so the kubelet
implements only that:

- kubectl 1.37 offers ``SPDY/3.1+portforward.k8s.io``: a SPDY/3.1 connection inside WebSocket
  binary messages (:mod:`apiserver.spdyportforward`). Each stream pair becomes one kubelet
  WebSocket for its port, in v5 so that kubectl's half-close reaches the pod.
- the Python client offers ``v5.channel.k8s.io, v4.channel.k8s.io`` with ``?ports=8080,9090``;
  Kubernetes answers v4 for port-forward, and so does podvisor. The frames are already the
  kubelet's: they are relayed as they are over one kubelet WebSocket with the same ports.

kubectl falls back to a direct ``Upgrade: SPDY/3.1`` POST (``X-Stream-Protocol-Version:
portforward.k8s.io``) when the WebSocket upgrade fails, or always with
``KUBECTL_PORT_FORWARD_WEBSOCKETS=false``. uvicorn has no ASGI way to switch an HTTP connection
to another protocol, so the server's HTTP protocol (:mod:`podvisor.serving`) offers the request
an extension (:data:`apiserver.auth.RAW_UPGRADE`) that answers 101 and hands over the
connection's bytes, after authentication and authorization ran as for any request; the same
SPDY session then runs on them. A plain request (or a server without that extension) gets
Kubernetes' 400 ``Upgrade request required``, after the pod lookup (404 for a missing pod, 400
for one without a node or not running).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request, Response, WebSocket
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from apimachinery import portforward as pf
from apimachinery import resources as res
from apimachinery.errors import ApiError, bad_request
from apiserver.auth import RAW_UPGRADE
from apiserver.kubeletclient import KubeletTls, open_kubelet_websocket
from apiserver.registry import Registry
from apiserver.routes.paths import Target
from apiserver.routes.relay import deny, relay
from apiserver.spdyportforward import Dial, SpdySession, Upstream

log = logging.getLogger(__name__)


def forwardable_node(pod: dict[str, Any]) -> str:
    """The node of a pod whose ports can be forwarded, or the 400 Kubernetes gives."""
    name = pod["metadata"]["name"]
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise bad_request(f"pod {name} does not have a host assigned")
    phase = (pod.get("status") or {}).get("phase") or "Pending"
    if phase != "Running":
        raise bad_request(f"unable to forward port because pod is not running. Current status={phase}")
    return str(node)


def _pod_node(registry: Registry, target: Target) -> str:
    assert target.name is not None
    return forwardable_node(registry.get(res.PODS, target.namespace, target.name))


#: the 101 answer to kubectl's direct SPDY upgrade
SPDY_UPGRADE_HEADERS = [(b"Connection", b"Upgrade"), (b"Upgrade", b"SPDY/3.1"),
                        (b"X-Stream-Protocol-Version", pf.SPDY_PROTOCOL.encode())]


class _Answered(Response):
    """The response of a request whose connection was taken over: nothing more to send."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        return None


async def portforward_http(request: Request, target: Target) -> Response:
    """kubectl's direct ``Upgrade: SPDY/3.1`` (its fallback), where the server can hand over the
    connection; any other plain request gets Kubernetes' answer once the pod is found."""
    registry: Registry = request.app.state.registry
    node = _pod_node(registry, target)
    takeover = ((request.scope.get("extensions") or {}).get(RAW_UPGRADE) or {}).get("takeover")
    if takeover is None or request.headers.get("upgrade", "").lower() != "spdy/3.1":
        raise bad_request("Upgrade request required")
    offered = [p.strip() for v in request.headers.getlist("x-stream-protocol-version") for p in v.split(",")]
    if offered and pf.SPDY_PROTOCOL not in offered:
        raise bad_request(f"unable to upgrade: unable to negotiate protocol: client supports {offered}, "
                          f"server accepts {[pf.SPDY_PROTOCOL]}")
    reader, writer = takeover(SPDY_UPGRADE_HEADERS)

    async def send(data: bytes) -> None:
        writer.write(data)
        await writer.drain()

    try:
        dial = _dialer(registry, request.app.state.settings.kubelet_tls, node=node, target=target)
        await SpdySession(send=send, dial=dial).run(_stream_bytes(reader))
    finally:
        writer.close()
    return _Answered()


async def _stream_bytes(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(1 << 18):
            yield chunk


def _dialer(registry: Registry, tls: KubeletTls | None, *, node: str, target: Target) -> Dial:
    """One kubelet WebSocket per forwarded connection, in v5 so half-closes reach the pod."""
    path = f"/portForward/{target.namespace}/{target.name}"

    async def dial(port: int) -> Upstream:
        return KubeletPort(await open_kubelet_websocket(registry, tls, node=node, path=path,
                                                        query={"port": [str(port)]}, subprotocols=[pf.V5_PROTOCOL]))

    return dial


class KubeletPort:
    """One port's connection through the kubelet's WebSocket (channels 0 and 1)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, payload: bytes) -> None:
        await self.ws.send(pf.frame(pf.data_channel(0), payload))

    async def close_write(self) -> None:
        await self.ws.send(pf.close_frame(pf.data_channel(0)))

    async def messages(self) -> AsyncIterator[tuple[str, bytes]]:
        seen: set[int] = set()
        with contextlib.suppress(ConnectionClosed):
            async for message in self.ws:
                if not isinstance(message, bytes) or not message:
                    continue
                channel, payload = pf.split(message)
                if channel not in seen:  # the port, announced once per channel
                    seen.add(channel)
                    continue
                yield (pf.STREAM_TYPE_DATA if channel == pf.data_channel(0) else pf.STREAM_TYPE_ERROR), payload

    async def close(self) -> None:
        await self.ws.close()


def choose_protocol(offered: list[str]) -> str | None:
    if pf.SPDY_TUNNEL_PROTOCOL in offered:
        return pf.SPDY_TUNNEL_PROTOCOL
    if pf.V4_PROTOCOL in offered:
        return pf.V4_PROTOCOL
    if offered:
        raise bad_request(f"unable to upgrade: none of the requested subprotocols is supported: {', '.join(offered)}")
    return None  # no subprotocol: v4 binary framing, as the kubelet reads it


async def portforward_websocket(ws: WebSocket, target: Target) -> None:
    registry: Registry = ws.app.state.registry
    tls: KubeletTls | None = ws.app.state.settings.kubelet_tls
    path = f"/portForward/{target.namespace}/{target.name}"
    kubelet: ClientConnection | None = None
    try:
        node = _pod_node(registry, target)
        protocol = choose_protocol(list(ws.scope.get("subprotocols") or []))
        if protocol != pf.SPDY_TUNNEL_PROTOCOL:
            ports = pf.parse_ports(ws.query_params.getlist("ports"), name="ports")
            kubelet = await open_kubelet_websocket(registry, tls, node=node, path=path,
                                                   query={"port": [str(p) for p in ports]},
                                                   subprotocols=[pf.V4_PROTOCOL])
    except ApiError as err:
        await deny(ws, err)
        return
    await ws.accept(subprotocol=protocol)
    if kubelet is not None:
        await relay(ws, kubelet)
        return

    dial = _dialer(registry, tls, node=node, target=target)
    await SpdySession(send=ws.send_bytes, dial=dial).run(_client_bytes(ws))
    with contextlib.suppress(Exception):
        await ws.close()


async def _client_bytes(ws: WebSocket) -> AsyncIterator[bytes]:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes"):
            yield message["bytes"]
