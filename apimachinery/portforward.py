"""Port-forward over WebSocket channels: the framing of ``v4.channel.k8s.io`` for ``pods/portforward``.

Kubernetes' kubelet (``pkg/kubelet/cri/streaming/portforward/websocket.go``) and the official
Python client agree on this: the ports are the query (``ports=80,8080`` at the API server,
``port=80&port=8080`` at the kubelet); the i-th port gets two channels, data ``2i`` and error
``2i+1``; every binary message starts with its channel byte; the first message the server sends
on each channel is the port as two little-endian bytes. One WebSocket carries one connection per
port and ends when all of them have.

``v4`` cannot say "I have nothing more to send" without closing everything. With
``v5.channel.k8s.io`` (offered by podvisor's own clients) a message ``[255, channel]`` does, as
v5's close signal does for exec: the kubelet then shuts down the write side of that port's
connection in the pod and keeps reading the answer, which is what kubectl's half-closed SPDY
streams need. Shared by the API server, the kubelet and ``podctl port-forward``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from apimachinery.errors import bad_request

V4_PROTOCOL = "v4.channel.k8s.io"
V5_PROTOCOL = "v5.channel.k8s.io"
#: kubectl's WebSocket tunnel of SPDY/3.1 port-forward streams
SPDY_TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
SPDY_PROTOCOL = "portforward.k8s.io"  # X-Stream-Protocol-Version of a SPDY port-forward
CLOSE_CHANNEL = 255

#: SPDY stream headers of a port-forward stream (k8s.io/api/core/v1)
STREAM_TYPE_HEADER = "streamtype"
PORT_HEADER = "port"
REQUEST_ID_HEADER = "requestid"
STREAM_TYPE_DATA = "data"
STREAM_TYPE_ERROR = "error"


def parse_ports(values: Iterable[str], *, name: str = "port") -> list[int]:
    """Ports from repeated and comma-separated query values, refused as the kubelet refuses them."""
    ports: list[int] = []
    raw = list(values)
    if not raw:
        raise bad_request(f'query parameter "{name}" is required')
    for value in raw:
        if not value:
            raise bad_request(f'query parameter "{name}" cannot be empty')
        for part in value.split(","):
            port = int(part) if part.strip().isdigit() else -1
            if port < 0 or port > 0xFFFF:
                raise bad_request(f'unable to parse "{value}" as a port')
            if port < 1:
                raise bad_request(f'port "{value}" must be > 0')
            ports.append(port)
    return ports


def data_channel(index: int) -> int:
    return 2 * index


def error_channel(index: int) -> int:
    return 2 * index + 1


def frame(channel: int, payload: bytes = b"") -> bytes:
    return bytes((channel,)) + payload


def port_bytes(port: int) -> bytes:
    """A channel's first payload: its port, two bytes little-endian."""
    return struct.pack("<H", port)


def port_frame(channel: int, port: int) -> bytes:
    """The first message on a channel: which port it belongs to."""
    return frame(channel, port_bytes(port))


def close_frame(channel: int) -> bytes:
    """v5: the sender will write nothing more on ``channel``."""
    return frame(CLOSE_CHANNEL, bytes((channel,)))


def split(message: bytes) -> tuple[int, bytes]:
    """(channel, payload) of one binary message; an empty message is a protocol error."""
    if not message:
        raise ValueError("empty port-forward message")
    return message[0], message[1:]


def read_port(payload: bytes) -> int:
    if len(payload) != 2:
        raise ValueError(f"the first message of a channel carries a 2-byte port, not {len(payload)} bytes")
    return int(struct.unpack("<H", payload)[0])
