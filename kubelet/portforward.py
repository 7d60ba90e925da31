"""``/portForward/{namespace}/{pod}``: the kubelet end of ``pods/portforward``, inside the pod's network.

The API server terminates whatever its client speaks (kubectl's SPDY tunnel, the Python
client's WebSocket) and dials this endpoint with one protocol: Kubernetes' kubelet WebSocket
port-forward (``?port=80&port=8080``, :mod:`apimachinery.portforward`), v4 or v5 (v5 adds the
close signal that half-closes a port's connection).

Each port is one TCP connection to ``127.0.0.1:<port>`` *inside the pod's network namespace*, as
Kubernetes does: a server listening on the pod's loopback only is reachable. The socket is
created by a dedicated, short-lived thread that enters the sandbox's namespace
(``/proc/<pid>/ns/net``) with ``setns``; a socket keeps the namespace it was created in, so the
thread then hands it to the event loop and ends. No event-loop or pool thread ever changes
namespace. A connection that carries no message either way for the kubelet's
``--streaming-connection-idle-timeout`` is closed, as an idle exec or attach is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect

from apimachinery import portforward as pf
from apimachinery.errors import ApiError, bad_request
from kubelet import naming
from kubelet.runtime.base import ContainerInfo, ContainerState
from kubelet.server import LogResolver, NodeLogs, not_on_this_node
from kubelet.streams import DEFAULT_IDLE_TIMEOUT, Idleness, deny

CLONE_NEWNET = 0x40000000
CONNECT_TIMEOUT = 10.0
READ_CHUNK = 256 * 1024
#: messages from the client waiting for a slow pod connection, per port (backpressure beyond)
QUEUE_DEPTH = 64

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


def _connect_there(netns: str, port: int, timeout: float) -> socket.socket:
    """In the calling (dedicated) thread: enter ``netns``, connect, come back."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(netns, os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            return _connect_loopback(port, timeout)
        finally:
            _setns(own)
    finally:
        os.close(own)


def _connect_loopback(port: int, timeout: float) -> socket.socket:
    """``localhost:port``: IPv4 first, then IPv6, as a pod's ``localhost`` means both."""
    error: OSError | None = None
    for host in ("127.0.0.1", "::1"):
        try:
            return socket.create_connection((host, port), timeout=timeout)
        except OSError as err:
            error = error or err
    assert error is not None
    raise error


def connect_in_netns(netns: str, port: int, *, timeout: float = CONNECT_TIMEOUT) -> concurrent.futures.Future[socket.socket]:
    """A connection to ``localhost:port`` of the network namespace at ``netns``, made by a thread of its own."""
    result: concurrent.futures.Future[socket.socket] = concurrent.futures.Future()

    def work() -> None:
        try:
            result.set_result(_connect_there(netns, port, timeout))
        except BaseException as err:  # noqa: BLE001 - handed to the waiting coroutine
            result.set_exception(err)

    threading.Thread(target=work, name=f"netns-connect-{port}", daemon=True).start()
    return result


def running_sandbox(found: list[ContainerInfo], uid: str | None) -> ContainerInfo | None:
    """The pod's newest running sandbox container."""
    sandboxes = [c for c in found if naming.is_sandbox(c) and c.state is ContainerState.RUNNING
                 and (uid is None or naming.pod_uid_of(c) == uid)]
    return max(sandboxes, key=naming.attempt_of, default=None)


async def pod_netns(where: NodeLogs, namespace: str, pod: str) -> str:
    """``/proc/<pid>/ns/net`` of the pod's sandbox, or a 400 Status when the pod is not running here."""
    labels = {**naming.node_labels(where.node), naming.POD_NAMESPACE: namespace, naming.POD_NAME: pod}
    found = await where.run(where.runtime.list_containers, labels)
    uid = where.pod.metadata.uid if where.pod is not None else None
    sandbox = running_sandbox(found, uid)
    info = await where.run(where.runtime.inspect_container, sandbox.id) if sandbox is not None else None
    if info is None or info.pid is None:
        raise bad_request(f'pod "{pod}" in namespace "{namespace}" has no running sandbox on this node')
    return f"/proc/{info.pid}/ns/net"


def choose_protocol(offered: list[str]) -> str | None:
    """v5 when offered (half-close), else v4; no subprotocol at all means v4 too, as in Kubernetes."""
    for protocol in (pf.V5_PROTOCOL, pf.V4_PROTOCOL):
        if protocol in offered:
            return protocol
    if offered:
        raise bad_request(f"none of the offered subprotocols is supported: {', '.join(offered)}")
    return None


@dataclass
class PortStream:
    """One forwarded port of a WebSocket: its channels, its pod connection, what the client sent."""

    index: int
    port: int
    inbox: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_DEPTH))

    @property
    def data(self) -> int:
        return pf.data_channel(self.index)

    @property
    def error(self) -> int:
        return pf.error_channel(self.index)


class Forwarding:
    """One accepted WebSocket: the ports' connections, relayed until all of them ended."""

    def __init__(self, ws: WebSocket, *, netns: str, ports: list[int], pod: str, uid: str,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 connect: Callable[[str, int], concurrent.futures.Future[socket.socket]] = connect_in_netns) -> None:
        self.ws, self.netns, self.pod, self.uid, self.connect = ws, netns, pod, uid, connect
        self.streams = [PortStream(i, port) for i, port in enumerate(ports)]
        self.send_lock = asyncio.Lock()
        self.idle = Idleness(idle_timeout)

    async def send(self, channel: int, payload: bytes) -> None:
        self.idle.touch()
        async with self.send_lock:
            await self.ws.send_bytes(pf.frame(channel, payload))

    async def run(self) -> None:
        for stream in self.streams:
            await self.send(stream.data, pf.port_bytes(stream.port))
            await self.send(stream.error, pf.port_bytes(stream.port))
        reader: asyncio.Future[Any] = asyncio.create_task(self.read_client())
        ports: asyncio.Future[Any] = asyncio.gather(*(self.forward(s) for s in self.streams))
        idle: asyncio.Future[Any] = asyncio.create_task(self.idle.expired())
        try:
            await asyncio.wait({reader, ports, idle}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            idle.cancel()
            ports.cancel()
            with contextlib.suppress(BaseException):
                await ports
        with contextlib.suppress(Exception):
            await self.ws.close(1000)

    async def read_client(self) -> None:
        by_channel = {s.data: s for s in self.streams}
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await self.ws.receive_bytes()
                if not message:
                    continue
                self.idle.touch()
                channel, payload = pf.split(message)
                if channel == pf.CLOSE_CHANNEL and payload and payload[0] in by_channel:
                    await by_channel[payload[0]].inbox.put(None)
                elif channel in by_channel and payload:
                    await by_channel[channel].inbox.put(payload)

    async def forward(self, stream: PortStream) -> None:
        try:
            sock = await asyncio.wrap_future(self.connect(self.netns, stream.port))
            sock.setblocking(False)
            reader, writer = await asyncio.open_connection(sock=sock)
        except OSError as err:
            await self.send(stream.error, self.failure(stream.port, err).encode())
            return
        to_pod = asyncio.create_task(self.to_pod(stream, writer))
        try:
            while chunk := await reader.read(READ_CHUNK):
                await self.send(stream.data, chunk)
        except OSError as err:
            await self.send(stream.error, self.failure(stream.port, err).encode())
        finally:
            to_pod.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def to_pod(self, stream: PortStream, writer: asyncio.StreamWriter) -> None:
        while (payload := await stream.inbox.get()) is not None:
            writer.write(payload)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    def failure(self, port: int, err: OSError) -> str:
        """Kubernetes' wording of a port that could not be forwarded."""
        return f"error forwarding port {port} to pod {self.pod}, uid {self.uid}: {err}"


def install(app: FastAPI, *, resolve: LogResolver, idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> None:
    """Add the port-forward endpoint to the kubelet's API; a connection that carries nothing
    either way for ``idle_timeout`` seconds is closed, as an idle exec is."""

    @app.websocket("/portForward/{namespace}/{pod}")
    async def port_forward(ws: WebSocket, namespace: str, pod: str) -> None:
        try:
            ports = pf.parse_ports(ws.query_params.getlist("port"))
            protocol = choose_protocol(list(ws.scope.get("subprotocols") or []))
            where = resolve(namespace, pod)
            if where is None:
                raise not_on_this_node(namespace, pod)
            netns = await pod_netns(where, namespace, pod)
        except ApiError as err:
            await deny(ws, err)
            return
        await ws.accept(subprotocol=protocol)
        uid = where.pod.metadata.uid if where.pod is not None and where.pod.metadata.uid else ""
        await Forwarding(ws, netns=netns, ports=ports, pod=pod, uid=uid, idle_timeout=idle_timeout).run()
