"""The kubelet's relay from the pod network to the API server, and what pods are told about it."""

from __future__ import annotations

import asyncio
import socket

import pytest

from kubelet.apirelay import ApiRelay, InClusterApi, upstream_of


@pytest.mark.parametrize(
    ("url", "upstream"),
    [
        pytest.param("https://127.0.0.1:6443", ("127.0.0.1", 6443), id="https"),
        pytest.param("https://api.example", ("api.example", 443), id="default-port"),
        pytest.param("http://127.0.0.1:8080", None, id="plain-http"),
        pytest.param("unix:///var/run/podvisor.sock", None, id="unix-socket"),
    ],
)
def test_only_an_https_server_is_relayed(url: str, upstream: tuple[str, int] | None) -> None:
    assert upstream_of(url) == upstream


def test_pods_are_told_the_service_names_and_docker_link_variables() -> None:
    api = InClusterApi(address="172.18.0.1", port=443)
    assert api.extra_hosts() == {name: "172.18.0.1" for name in (
        "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")}
    assert api.env() == {
        "KUBERNETES_SERVICE_HOST": "kubernetes.default.svc", "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": "tcp://kubernetes.default.svc:443",
        "KUBERNETES_PORT_443_TCP": "tcp://kubernetes.default.svc:443", "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "kubernetes.default.svc",
    }


async def upstream_echo() -> tuple[asyncio.Server, int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()  # until the client half-closes
        writer.write(b"echo:" + data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


async def test_bytes_pass_both_ways_and_a_half_close_passes_through() -> None:
    server, port = await upstream_echo()
    relay = ApiRelay(upstream=("127.0.0.1", port))
    api = await relay.start("127.0.0.1", port=0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
        writer.write(b"\x16\x03\x01 client hello")  # opaque bytes: the relay never looks
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 5) == b"echo:\x16\x03\x01 client hello"
        writer.close()
    finally:
        await relay.close()
        server.close()


async def test_a_taken_port_falls_back_to_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        relay = ApiRelay(upstream=("127.0.0.1", 1))
        api = await relay.start("127.0.0.1", port=busy)
        await relay.close()
    assert api.port not in (busy, 0)


async def test_an_unreachable_server_closes_the_pod_connection() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    relay = ApiRelay(upstream=("127.0.0.1", dead))
    api = await relay.start("127.0.0.1", port=0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    finally:
        await relay.close()
