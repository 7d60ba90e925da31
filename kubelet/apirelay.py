"""The API server as pods see it: ``kubernetes.default.svc`` on the node network, relayed by the kubelet.

Pods live on the node's Docker bridge network; the API server usually listens on 127.0.0.1,
which from inside a pod is the pod itself. Until Services have real ClusterIPs, the kubelet
bridges the gap itself, in a way that needs no kernel rules and no change to the server:

* it listens on the host's address on the pod network (the bridge gateway), port 443 where it
  may bind it, else a free port, and relays each TCP connection to the API server as raw
  bytes. TLS runs end to end between the pod and the API server: the relay sees only
  ciphertext, holds no credential and authenticates nobody, so a pod gets exactly the
  identity of the token it presents;
* every pod's sandbox maps the ``kubernetes`` Service's names (``kubernetes``,
  ``kubernetes.default``, ``kubernetes.default.svc``, ``...svc.cluster.local``) to that
  address in its ``/etc/hosts``, and its containers get ``KUBERNETES_SERVICE_HOST=
  kubernetes.default.svc`` and the port, plus the docker-link-style ``KUBERNETES_PORT*``
  variables Kubernetes sets. The host is a name, not the gateway IP, because the server's
  certificate (made before any node network existed) names the Service's DNS names: an
  in-cluster client verifying it with the projected ``ca.crt`` accepts it.

It is bounded: at most ``max_connections`` relayed connections at once (more wait in the
listen backlog), each closed when either side closes. Only an ``https://host:port`` API
server is relayed; a kubelet reaching the server over a Unix socket offers pods no API.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from apimachinery.serviceaccounts import KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_NAMES

log = logging.getLogger(__name__)

SERVICE_PORT = 443
MAX_CONNECTIONS = 256
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class InClusterApi:
    """Where pods of this node reach the API server."""

    address: str  # the host's address on the pod network
    port: int

    def extra_hosts(self) -> dict[str, str]:
        """``/etc/hosts`` entries of every pod's sandbox."""
        return {name: self.address for name in KUBERNETES_SERVICE_NAMES}

    def env(self) -> dict[str, str]:
        """The variables Kubernetes gives every container for the ``kubernetes`` Service."""
        host, port = KUBERNETES_SERVICE_HOST, str(self.port)
        url = f"tcp://{host}:{port}"
        prefix = f"KUBERNETES_PORT_{port}_TCP"
        return {
            "KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port, "KUBERNETES_SERVICE_PORT_HTTPS": port,
            "KUBERNETES_PORT": url, prefix: url, f"{prefix}_PROTO": "tcp", f"{prefix}_PORT": port,
            f"{prefix}_ADDR": host,
        }


def upstream_of(server_url: str) -> tuple[str, int] | None:
    """``https://host:port`` -> (host, port); anything else (a Unix socket, plain HTTP) -> None."""
    parts = urlsplit(server_url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    return parts.hostname, parts.port or 443


class ApiRelay:
    def __init__(self, *, upstream: tuple[str, int], max_connections: int = MAX_CONNECTIONS) -> None:
        self.upstream = upstream
        self.slots = asyncio.Semaphore(max_connections)
        self.server: asyncio.Server | None = None
        self.active: set[asyncio.Task[None]] = set()

    async def start(self, address: str, *, port: int = SERVICE_PORT) -> InClusterApi:
        """Listen on ``address``:443, or on a free port when 443 is taken or not ours to bind."""
        try:
            self.server = await asyncio.start_server(self._accept, address, port)
        except OSError as err:
            if err.errno not in (errno.EACCES, errno.EADDRINUSE, errno.EPERM):
                raise
            self.server = await asyncio.start_server(self._accept, address, 0)
        bound = int(self.server.sockets[0].getsockname()[1])
        log.info("relaying %s:%d to the API server at %s:%d", address, bound, *self.upstream)
        return InClusterApi(address=address, port=bound)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.active):
            task.cancel()
        await asyncio.gather(*self.active, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.active.add(task)
        try:
            async with self.slots:
                await self._relay(reader, writer)
        finally:
            self.active.discard(task)
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.upstream), timeout=10)
        except (OSError, TimeoutError) as err:
            log.warning("cannot reach the API server at %s:%d for a pod: %s", *self.upstream, err)
            return
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then half-close the other side (TLS close_notify passes through)."""
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
