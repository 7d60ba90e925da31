"""The kubelet's port-forward: connections made inside a pod's network namespace, the sandbox chosen."""

from __future__ import annotations

import concurrent.futures
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from apimachinery import portforward as pf
from kubelet import naming
from kubelet.portforward import Forwarding, choose_protocol, connect_in_netns, install, running_sandbox
from kubelet.runtime.base import ContainerInfo, ContainerState
from kubelet.runtime.fake import FakeRuntime
from kubelet.server import LogResolver, NodeLogs
from kubelet.threads import InlineRunner
from tests.conftest import TEST_LABEL
from tests.kubelet.harness import NODE


def _info(cid: str, *, container: str, uid: str, attempt: int, state: ContainerState) -> ContainerInfo:
    labels = {naming.CONTAINER: container, naming.POD_UID: uid, naming.ATTEMPT: str(attempt),
              naming.SANDBOX: "true" if container == naming.SANDBOX_NAME else "false"}
    return ContainerInfo(id=cid, name=cid, image="i", image_id="i", labels=labels, state=state, exit_code=None,
                         started_at=None, finished_at=None, ip=None)


RUNNING, EXITED = ContainerState.RUNNING, ContainerState.EXITED


@pytest.mark.parametrize(("found", "uid", "want"), [
    pytest.param([_info("a", container="POD", uid="u", attempt=0, state=RUNNING)], "u", "a", id="the-sandbox"),
    pytest.param([_info("a", container="POD", uid="u", attempt=0, state=EXITED),
                  _info("b", container="POD", uid="u", attempt=1, state=RUNNING)], "u", "b", id="the-running-one"),
    pytest.param([_info("a", container="POD", uid="old", attempt=3, state=RUNNING),
                  _info("b", container="POD", uid="u", attempt=0, state=RUNNING)], "u", "b", id="this-pods-uid"),
    pytest.param([_info("a", container="web", uid="u", attempt=0, state=RUNNING)], "u", None, id="not-an-app-container"),
    pytest.param([_info("a", container="POD", uid="u", attempt=0, state=EXITED)], "u", None, id="none-running"),
])
def test_the_pods_running_sandbox_is_chosen(found: list[ContainerInfo], uid: str, want: str | None) -> None:
    chosen = running_sandbox(found, uid)
    assert (chosen.id if chosen else None) == want


@pytest.mark.parametrize(("offered", "chosen"), [
    pytest.param(["v5.channel.k8s.io", "v4.channel.k8s.io"], "v5.channel.k8s.io", id="v5-first"),
    pytest.param(["v4.channel.k8s.io"], "v4.channel.k8s.io", id="v4"),
    pytest.param([], None, id="none-means-v4"),
])
def test_subprotocol(offered: list[str], chosen: str | None) -> None:
    assert choose_protocol(offered) == chosen


def test_an_unknown_subprotocol_is_refused() -> None:
    with pytest.raises(Exception, match="none of the offered subprotocols"):
        choose_protocol(["base64.channel.k8s.io"])


@pytest.fixture
def loopback_server(busybox_image: str, docker_cleanup: None) -> Iterator[tuple[int, str]]:
    """A container whose httpd listens on its own 127.0.0.1 only: (pid, container IP)."""
    script = "mkdir -p /www && echo inside > /www/index.html && exec httpd -f -p 127.0.0.1:8081 -h /www"
    cid = subprocess.run(["docker", "run", "-d", "--label", TEST_LABEL, busybox_image, "sh", "-c", script],
                         capture_output=True, text=True, check=True).stdout.strip()
    pid, ip = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}} {{.NetworkSettings.IPAddress}}", cid],
                             capture_output=True, text=True, check=True).stdout.split()
    yield int(pid), ip


@pytest.mark.e2e
def test_a_pods_loopback_server_is_reached_from_its_namespace(loopback_server: tuple[int, str]) -> None:
    pid, ip = loopback_server
    own = os.readlink("/proc/thread-self/ns/net")
    deadline = time.monotonic() + 10
    while True:
        try:
            sock = connect_in_netns(f"/proc/{pid}/ns/net", 8081).result(10)
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.endswith(b"inside\n")
    assert os.readlink("/proc/thread-self/ns/net") == own  # this thread never left its namespace
    with pytest.raises(OSError):
        socket.create_connection((ip, 8081), timeout=2).close()  # from outside, nothing listens


@pytest.mark.e2e
def test_a_closed_port_is_an_error(loopback_server: tuple[int, str]) -> None:
    pid, _ = loopback_server
    with pytest.raises(ConnectionRefusedError):
        connect_in_netns(f"/proc/{pid}/ns/net", 9).result(10)


def _app(resolve: LogResolver) -> TestClient:
    app = FastAPI()
    install(app, resolve=resolve)
    return TestClient(app)


def _on_this_node(runtime: FakeRuntime) -> LogResolver:
    return lambda ns, name: NodeLogs(node=NODE, runtime=runtime, run=InlineRunner(), pod=None)


@pytest.mark.parametrize(("query", "protocols", "here", "code", "message"), [
    pytest.param("port=80", ["v4.channel.k8s.io"], False, 404, 'pod "web" in namespace "default" is not on this node',
                 id="pod-elsewhere"),
    pytest.param("port=80", ["v4.channel.k8s.io"], True, 400,
                 'pod "web" in namespace "default" has no running sandbox on this node', id="no-sandbox"),
    pytest.param("", ["v4.channel.k8s.io"], True, 400, 'query parameter "port" is required', id="no-port"),
    pytest.param("port=x", ["v4.channel.k8s.io"], True, 400, 'unable to parse "x" as a port', id="bad-port"),
    pytest.param("port=80", ["base64.channel.k8s.io"], True, 400,
                 "none of the offered subprotocols is supported: base64.channel.k8s.io", id="unknown-subprotocol"),
])
def test_the_endpoint_refuses_with_a_status(query: str, protocols: list[str], here: bool, code: int,
                                            message: str) -> None:
    runtime = FakeRuntime(images=["img"])
    http = _app(_on_this_node(runtime) if here else (lambda ns, name: None))
    with pytest.raises(WebSocketDenialResponse) as refused, \
            http.websocket_connect(f"/portForward/default/web?{query}", subprotocols=protocols):
        pass
    assert refused.value.status_code == code
    assert refused.value.json()["message"] == message


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A TCP server on the host's loopback that echoes what it reads."""
    server = socket.create_server(("127.0.0.1", 0))

    def echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def _connect_here(_netns: str, port: int) -> concurrent.futures.Future[socket.socket]:
    done: concurrent.futures.Future[socket.socket] = concurrent.futures.Future()
    done.set_result(socket.create_connection(("127.0.0.1", port), timeout=5))
    return done


IDLE_TIMEOUT = 0.5


@pytest.mark.parametrize("messages", [
    pytest.param(0, id="idle-from-the-start"),
    pytest.param(6, id="busy-past-the-timeout-then-idle"),
])
@pytest.mark.timeout(30)
def test_a_connection_is_closed_once_it_carries_nothing_for_the_idle_timeout(echo_port: int, messages: int) -> None:
    app = FastAPI()

    @app.websocket("/forward")
    async def forward(ws: WebSocket) -> None:
        await ws.accept(subprotocol=pf.V4_PROTOCOL)
        await Forwarding(ws, netns="unused", ports=[echo_port], pod="web", uid="u", idle_timeout=IDLE_TIMEOUT,
                         connect=_connect_here).run()

    data = pf.data_channel(0)
    with TestClient(app).websocket_connect("/forward", subprotocols=[pf.V4_PROTOCOL]) as ws:
        assert [pf.split(ws.receive_bytes())[0] for _ in range(2)] == [data, pf.error_channel(0)]
        for i in range(messages):  # one message every 0.2 s keeps it open for 1.2 s
            time.sleep(IDLE_TIMEOUT * 0.4)
            ws.send_bytes(pf.frame(data, f"ping {i}".encode()))
            assert ws.receive_bytes() == pf.frame(data, f"ping {i}".encode())
        quiet_since = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_bytes()
    assert closed.value.code == 1000
    assert IDLE_TIMEOUT * 0.8 <= time.monotonic() - quiet_since < IDLE_TIMEOUT + 5
