"""How the API server reaches a kubelet: HTTPS, the kubelet verified, the server's certificate presented.

A kubelet's address comes from its Node's status, which a client could have forged. So the
connection is trusted only if the peer proves, during the TLS handshake and before any byte of
the request leaves, that it holds a certificate from the kubelet-serving CA naming that node: the TLS
server name checked is the node name (every kubelet serving certificate carries it as a DNS
name; :mod:`apiserver.nodejoin`), whatever address is dialled. This is stricter than
kube-apiserver's ``--kubelet-certificate-authority``, which checks the dialled address: a
forged address pointing at another node's kubelet fails here too. Then the subject must be
``system:node:<name>``. The server authenticates with its client certificate
(``apiserver-kubelet-client``), never a bearer token, so a listener that is not the node's
kubelet receives nothing it can reuse.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apiserver.authn.user import NODE_PREFIX
from apiserver.registry import Registry

#: the longest a kubelet may take to accept a streaming connection
KUBELET_DIAL_TIMEOUT = 10.0


@dataclass(frozen=True)
class KubeletTls:
    ca: Path  # the kubelet-serving CA: kubelets' serving certificates chain to it, nothing else does
    cert: Path  # apiserver-kubelet-client.crt
    key: Path

    @cached_property
    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
        ctx.load_cert_chain(str(self.cert), str(self.key))
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def request_extensions(node: str) -> dict[str, Any]:
    """httpx request extensions that make TLS verify the node name instead of the dialled address."""
    return {"sni_hostname": node}


def peer_names_node(peer: dict[str, Any] | None, node: str) -> bool:
    """The verified peer certificate's subject is ``CN=system:node:<node>``."""
    if not peer:
        return False
    common = [value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"]
    return common == [NODE_PREFIX + node]


def kubelet_endpoint(registry: Registry, node_name: str) -> str:
    """``https://host:port`` of a node's kubelet, from its Node's status (a hint: see the module doc)."""
    node = registry.get(res.NODES, None, node_name)
    status = node.get("status") or {}
    port = (((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port"))
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    host = addresses.get("InternalIP") or addresses.get("Hostname")
    if not port or not host:
        raise ApiError(503, "ServiceUnavailable", f"node {node_name} does not publish a kubelet endpoint")
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


async def open_kubelet_websocket(
    registry: Registry,
    tls: KubeletTls | None,
    *,
    node: str,
    path: str,
    query: Mapping[str, str | Sequence[str]] | None = None,
    subprotocols: Sequence[str] = (),
) -> ClientConnection:
    """A WebSocket to ``path`` on a node's kubelet, the peer proven to be that node's kubelet.

    A kubelet's refusal (a Status body on a non-101 answer) is raised as that Status; a kubelet
    that cannot be reached or is not the node's is a 503, as for logs.
    """
    if tls is None:
        raise ApiError(503, "ServiceUnavailable", "this API server has no client certificate for kubelets")
    base = kubelet_endpoint(registry, node).replace("https://", "wss://", 1)
    url = f"{base}{path}" + (f"?{urlencode(query, doseq=True)}" if query else "")
    try:
        ws = await connect(url, ssl=tls.context, server_hostname=node, proxy=None, compression=None,
                           subprotocols=[Subprotocol(p) for p in subprotocols] or None,
                           open_timeout=KUBELET_DIAL_TIMEOUT, ping_interval=None, max_size=None)
    except InvalidStatus as err:
        raise ApiError.from_status(err.response.status_code, decode_body(bytes(err.response.body or b""))) from err
    except (OSError, InvalidHandshake, TimeoutError) as err:
        raise ApiError(503, "ServiceUnavailable", f"cannot reach the kubelet of node {node}: {err}") from err
    ssl_object = ws.transport.get_extra_info("ssl_object")
    if not peer_names_node(ssl_object.getpeercert() if ssl_object is not None else None, node):
        await ws.close()
        raise ApiError(503, "ServiceUnavailable", f"the kubelet endpoint of node {node} is not that node's kubelet")
    return ws


def decode_body(body: bytes) -> Any:
    """A kubelet's error body: its Status, or its text."""
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
