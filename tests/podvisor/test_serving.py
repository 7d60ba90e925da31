"""The connection limits the server adds to uvicorn: a header deadline (slowloris), a header
size cap, a maximum connection count; each refusal is a Kubernetes Status."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from podvisor.serving import HttpLimits, connection_cap, http_protocol
from tests.e2e.cluster import free_port


async def hello(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(limits: HttpLimits) -> int:
        port = free_port()
        config = uvicorn.Config(hello, host="127.0.0.1", port=port, log_level="error", lifespan="off",
                                http=http_protocol(limits))
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        servers.append((server, thread))
        return port

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def read_all(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def status_of(response: bytes) -> dict[str, Any]:
    return json.loads(response.partition(b"\r\n\r\n")[2])


@pytest.mark.parametrize(
    ("sent", "code", "reason"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n", 408, "Timeout"),  # and then nothing more
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n", 431, "RequestHeaderFieldsTooLarge"),
    ],
    ids=["headers-too-slow", "headers-too-large"],
)
def test_a_request_whose_headers_break_the_limits_is_refused_with_a_status(
    serve: Any, sent: bytes, code: int, reason: str
) -> None:
    port = serve(HttpLimits(header_timeout=0.3, max_header_bytes=4096))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(sent)
        response = read_all(sock)  # ends: the server closed the connection
    assert response.startswith(f"HTTP/1.1 {code} ".encode()), response[:100]
    status = status_of(response)
    assert (status["kind"], status["code"], status["reason"]) == ("Status", code, reason)


def test_a_connection_that_sends_nothing_is_closed_after_the_header_deadline(serve: Any) -> None:
    port = serve(HttpLimits(header_timeout=0.3))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.monotonic()
        assert b" 408 " in read_all(sock)
        assert time.monotonic() - started < 3


def test_requests_within_the_limits_are_served(serve: Any) -> None:
    port = serve(HttpLimits(header_timeout=0.3, max_header_bytes=4096))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for _ in range(2):  # keep-alive: the deadline applies to each request's headers
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(5)
            assert sock.recv(65536).endswith(b"ok")
            time.sleep(0.5)  # longer than the header deadline, between requests


def test_connections_beyond_the_cap_are_refused_as_they_arrive(serve: Any) -> None:
    port = serve(HttpLimits(max_connections=2))
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    try:
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", port)) as extra:
            assert read_all(extra) == b""  # closed without a word
        held[0].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # those already in are still served
        held[0].settimeout(5)
        assert held[0].recv(65536).endswith(b"ok")
    finally:
        for sock in held:
            sock.close()


@pytest.mark.parametrize(("wanted", "fds", "cap"), [(10_000, 1_048_576, 10_000), (10_000, 1024, 768)],
                         ids=["wanted", "descriptor-bound"])
def test_the_connection_cap_fits_the_descriptor_limit(wanted: int, fds: int, cap: int) -> None:
    assert connection_cap(wanted, fds) == cap
