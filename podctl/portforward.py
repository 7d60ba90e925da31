"""``podctl port-forward [pod/]NAME [LOCAL:]REMOTE ...``: local ports to a pod's ports, as kubectl does.

Each local connection is one WebSocket to ``pods/{name}/portforward?ports=REMOTE`` in
``v4.channel.k8s.io`` framing (:mod:`apimachinery.portforward`, the Python client's protocol):
data on channel 0, the kubelet's error message on channel 1, each channel's first message its
port. v4 cannot half-close, so a local client that stops sending keeps its connection until
the pod's side ends it. The lines printed are kubectl's (``Forwarding from 127.0.0.1:8080 -> 80``,
``Handling connection for 8080``), so scripts written for one work with the other.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from apimachinery import portforward as pf
from apimachinery import resources as res
from apimachinery.errors import ApiError
from podctl.errors import PodctlError
from podctl.logs import find_pod
from podctl.session import Session

READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class PortMapping:
    local: int  # 0: any free port
    remote: int


def parse_mapping(text: str) -> PortMapping:
    """``8080:80``, ``:80`` (a free local port) or ``80`` (the same port locally)."""
    local_text, sep, remote_text = text.partition(":")
    if not sep:
        local_text = remote_text = text
    try:
        local = int(local_text) if local_text else 0
        remote = int(remote_text)
    except ValueError:
        raise PodctlError(f"invalid port mapping {text!r}: use [LOCAL:]REMOTE with port numbers") from None
    if not 0 < remote <= 0xFFFF or not 0 <= local <= 0xFFFF:
        raise PodctlError(f"invalid port mapping {text!r}: ports are 1-65535")
    return PortMapping(local, remote)


def listen_hosts(addresses: str) -> list[str]:
    """``--address``: IPs, comma-separated; ``localhost`` is both loopbacks, as in kubectl."""
    hosts: list[str] = []
    for address in filter(None, (a.strip() for a in addresses.split(","))):
        hosts.extend(["127.0.0.1", "::1"] if address == "localhost" else [address])
    if not hosts:
        raise PodctlError("--address names no address to listen on")
    return hosts


async def port_forward(session: Session, target: str, mappings: list[PortMapping], *, hosts: list[str]) -> int:
    pod = await find_pod(session, target)
    phase = (pod.get("status") or {}).get("phase")
    if phase != "Running":
        raise PodctlError(f"unable to forward port because pod is not running. Current status={phase}")
    path = res.PODS.path(pod["metadata"].get("namespace") or session.namespace, pod["metadata"]["name"], "portforward")
    servers = []
    for mapping in mappings:
        for host in hosts:
            try:
                server = await asyncio.start_server(_handler(session, path, mapping), host, mapping.local or None)
            except OSError as err:
                session.output.error(f"Unable to listen on port {mapping.local} at {host}: {err}")
                continue
            servers.append(server)
            local = server.sockets[0].getsockname()[1]
            shown = f"[{host}]" if ":" in host else host
            session.output.line(f"Forwarding from {shown}:{local} -> {mapping.remote}")
    if not servers:
        raise PodctlError("unable to listen on any of the requested ports")
    try:
        await asyncio.Event().wait()  # until interrupted
    finally:
        for server in servers:
            server.close()
    return 0


def _handler(session: Session, path: str, mapping: PortMapping) -> Any:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        local = writer.get_extra_info("sockname")[1]
        session.output.line(f"Handling connection for {local}")
        try:
            await forward_connection(session, path, mapping.remote, reader, writer)
        except ApiError as err:
            session.output.error(f"error: an error occurred forwarding {local} -> {mapping.remote}: {err.message}")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    return handle


async def forward_connection(session: Session, path: str, port: int, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
    """One local connection over its own WebSocket, until the pod's side ends."""
    from websockets.exceptions import ConnectionClosed

    ws = await session.client.open_websocket(path, params={"ports": str(port)}, subprotocols=[pf.V4_PROTOCOL])

    async def upstream() -> None:
        while data := await reader.read(READ_CHUNK):
            await ws.send(pf.frame(pf.data_channel(0), data))

    sending = asyncio.ensure_future(upstream())
    seen: set[int] = set()
    try:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                if not isinstance(message, bytes) or not message:
                    continue  # v4 port-forward is binary only
                channel, payload = pf.split(message)
                if channel not in seen:
                    seen.add(channel)  # the port, announced once per channel
                elif channel == pf.data_channel(0):
                    writer.write(payload)
                    await writer.drain()
                elif payload:
                    raise ApiError(500, "InternalError", payload.decode(errors="replace"))
    finally:
        sending.cancel()
        await ws.close()
