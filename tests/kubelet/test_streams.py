"""The kubelet's exec and attach WebSockets on the real Docker daemon, through its app in-process.

Each test starts its own busybox container, labelled as a pod's container of this node, and
removes it after; the channel framing is the shared :mod:`apimachinery.remotecommand`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from apimachinery import remotecommand as rc
from kubelet import naming
from kubelet.runtime.base import ContainerSpec
from kubelet.runtime.docker import DockerRuntime
from kubelet.server import NodeLogs, create_app
from kubelet.threads import ThreadRunner
from tests.kubelet.harness import NODE

V5 = rc.PROTOCOLS[rc.V5]
pytestmark = pytest.mark.e2e


@dataclass
class Node:
    runtime: DockerRuntime
    pod: str

    def client(self, *, idle_timeout: float = 60.0) -> TestClient:
        runner = ThreadRunner(max_workers=4)
        app = create_app(resolve=lambda ns, name: NodeLogs(node=NODE, runtime=self.runtime, run=runner, pod=None),
                         stream_idle_timeout=idle_timeout)
        return TestClient(app)

    def url(self, kind: str, container: str = "app", **query: Any) -> str:
        return f"/{kind}/default/{self.pod}/{container}?" + urlencode(query, doseq=True)


def _start(runtime: DockerRuntime, image: str, pod: str, *, name: str, command: list[str], tty: bool = False,
           stdin: bool = False) -> str:
    labels = {**naming.node_labels(NODE), naming.POD_NAMESPACE: "default", naming.POD_NAME: pod,
              naming.POD_UID: "u1", naming.CONTAINER: name, naming.ATTEMPT: "0", "podvisor.test": "1"}
    cid = runtime.create_container(ContainerSpec(name=f"{pod}-{name}", image=image, labels=labels, command=command,
                                                 tty=tty, stdin=stdin))
    runtime.start_container(cid)
    return cid


@pytest.fixture(scope="module")
def node(busybox_image: str) -> Iterator[Node]:
    runtime = DockerRuntime()
    pod = f"streams-{uuid.uuid4().hex[:8]}"
    ids = [
        _start(runtime, busybox_image, pod, name="app", command=["sleep", "300"]),
        _start(runtime, busybox_image, pod, name="ticker", command=["sh", "-c", "while true; do echo tick; sleep 0.2; done"]),
        _start(runtime, busybox_image, pod, name="reader", command=["cat"], stdin=True),
        _start(runtime, busybox_image, pod, name="terminal", command=["sh"], stdin=True, tty=True),
    ]
    stopped = _start(runtime, busybox_image, pod, name="done", command=["true"])
    ids.append(stopped)
    deadline = time.monotonic() + 10
    while (info := runtime.inspect_container(stopped)) is not None and info.state.value == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        yield Node(runtime, pod)
    finally:
        for cid in ids:
            runtime.remove_container(cid)
        runtime.close()


def send(ws: Any, message: bytes | str) -> None:
    if isinstance(message, bytes):
        ws.send_bytes(message)
    else:
        ws.send_text(message)


def collect(ws: Any, protocol: rc.ChannelProtocol = V5) -> dict[int, bytes]:
    """Every channel's bytes until the server closes the stream."""
    out: dict[int, bytes] = {}
    while True:
        message = ws.receive()
        if message["type"] == "websocket.close":
            return out
        decoded = protocol.decode(message.get("bytes") or message.get("text") or b"")
        if decoded is not None:
            channel, data = decoded
            out[channel] = out.get(channel, b"") + data


@pytest.mark.parametrize(("command", "stdout", "stderr", "code"), [
    (["echo", "hi"], b"hi\n", b"", 0),
    (["sh", "-c", "echo oops >&2; exit 3"], b"", b"oops\n", 3),
], ids=["echo", "exit-3-stderr"])
def test_exec_output_and_exit_code(node: Node, command: list[str], stdout: bytes, stderr: bytes, code: int) -> None:
    url = node.url("exec", command=command, stdout=1, stderr=1)
    with node.client().websocket_connect(url, subprotocols=[rc.V5]) as ws:
        assert ws.accepted_subprotocol == rc.V5
        out = collect(ws)
    assert out.get(rc.STDOUT, b"") == stdout and out.get(rc.STDERR, b"") == stderr
    assert rc.exit_code_of(out[rc.ERROR]) == code


def test_large_output_and_input_arrive_whole(node: Node) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB
    with node.client().websocket_connect(node.url("exec", command=["sh", "-c", "cat; head -c 3000000 /dev/zero"],
                                                  stdin=1, stdout=1), subprotocols=[rc.V5]) as ws:
        for start in range(0, len(payload), 32768):
            send(ws, V5.encode(rc.STDIN, payload[start:start + 32768]))
        send(ws, V5.close_message(rc.STDIN))
        out = collect(ws)
    assert out[rc.STDOUT] == payload + bytes(3_000_000)


def test_closing_stdin_ends_the_input(node: Node) -> None:
    with node.client().websocket_connect(node.url("exec", command=["cat"], stdin=1, stdout=1),
                                         subprotocols=[rc.V5]) as ws:
        send(ws, V5.encode(rc.STDIN, b"hello "))
        send(ws, V5.encode(rc.STDIN, b"world"))
        send(ws, V5.close_message(rc.STDIN))
        out = collect(ws)
    assert out[rc.STDOUT] == b"hello world" and rc.exit_code_of(out[rc.ERROR]) == 0


def test_tty_follows_resizes(node: Node) -> None:
    url = node.url("exec", command=["sh", "-c", "read x; stty size"], stdin=1, stdout=1, tty=1)
    with node.client().websocket_connect(url, subprotocols=[rc.V5]) as ws:
        send(ws, V5.resize_message(width=100, height=30))
        time.sleep(0.3)
        send(ws, V5.encode(rc.STDIN, b"\n"))
        out = collect(ws)
    assert b"30 100" in out[rc.STDOUT]


@pytest.mark.parametrize(("protocol", "status"), [
    (rc.V4, {"metadata": {}, "status": "Success"}),
    (rc.V1, None),
    (rc.V4_BASE64, {"metadata": {}, "status": "Success"}),
], ids=["v4-json-status", "v1-nothing-on-success", "v4-base64"])
def test_older_protocols(node: Node, protocol: str, status: dict[str, Any] | None) -> None:
    proto = rc.PROTOCOLS[protocol]
    with node.client().websocket_connect(node.url("exec", command=["echo", "hi"], stdout=1),
                                         subprotocols=[protocol]) as ws:
        assert ws.accepted_subprotocol == protocol
        out = collect(ws, proto)
    assert out[rc.STDOUT] == b"hi\n"
    assert (json.loads(out[rc.ERROR]) if out.get(rc.ERROR) else None) == status


def test_attach_reads_the_running_output(node: Node) -> None:
    with node.client().websocket_connect(node.url("attach", "ticker", stdout=1), subprotocols=[rc.V5]) as ws:
        got = b""
        while b"tick\ntick\n" not in got:
            decoded = V5.decode(ws.receive_bytes())
            if decoded is not None and decoded[0] == rc.STDOUT:
                got += decoded[1]


@pytest.mark.parametrize(("container", "typed", "echoed"), [
    ("reader", b"hello\n", b"hello\n"),
    ("terminal", b"echo $((6*7))\r", b"42"),
], ids=["stdin-open", "stdin-and-tty"])
def test_attach_writes_to_the_containers_stdin(node: Node, container: str, typed: bytes, echoed: bytes) -> None:
    tty = 1 if container == "terminal" else 0
    url = node.url("attach", container, stdin=1, stdout=1, tty=tty)
    with node.client().websocket_connect(url, subprotocols=[rc.V5]) as ws:
        time.sleep(0.3)
        send(ws, V5.encode(rc.STDIN, typed))
        got = b""
        while echoed not in got:
            decoded = V5.decode(ws.receive_bytes())
            if decoded is not None and decoded[0] == rc.STDOUT:
                got += decoded[1]


def test_an_idle_stream_is_closed(node: Node) -> None:
    with node.client(idle_timeout=0.5).websocket_connect(node.url("exec", command=["sleep", "30"], stdin=1, stdout=1),
                                                          subprotocols=[rc.V5]) as ws:
        started = time.monotonic()
        collect(ws)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(("kind", "container", "query", "protocols", "code", "message"), [
    ("exec", "nope", {"command": "true", "stdout": 1}, [rc.V5], 400, 'container not found ("nope")'),
    ("exec", "done", {"command": "true", "stdout": 1}, [rc.V5], 400, 'container not found ("done")'),
    ("exec", "app", {"command": "true", "stdout": 1}, ["v9.channel.k8s.io"], 400, "not supported"),
    ("exec", "app", {"stdout": 1}, [rc.V5], 400, "at least one command"),
    ("attach", "app", {}, [rc.V5], 400, "at least 1 of stdin, stdout, stderr"),
], ids=["unknown-container", "not-running", "unknown-subprotocol", "no-command", "no-stream"])
def test_refused_before_the_handshake(node: Node, kind: str, container: str, query: dict[str, Any],
                                      protocols: list[str], code: int, message: str) -> None:
    url = node.url(kind, container, **query)
    with pytest.raises(WebSocketDenialResponse) as refused, node.client().websocket_connect(url, subprotocols=protocols):
        pass
    assert refused.value.status_code == code
    body = refused.value.json()
    assert body["kind"] == "Status" and message in body["message"]


def test_a_plain_request_must_upgrade(node: Node) -> None:
    response = node.client().post(node.url("exec", command="true", stdout=1))
    assert response.status_code == 400 and response.json()["message"] == "Upgrade request required"
