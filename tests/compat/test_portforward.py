"""``kubectl port-forward`` and the Python client's ``portforward`` against a real cluster.

One pod serves HTTP on :80, a TCP echo on :9000 (``nc -ll -e cat``) and HTTP on 127.0.0.1:8081
only, which nothing outside the pod's network namespace can reach: kubectl's SPDY-over-WebSocket
tunnel, its direct SPDY/3.1 upgrade (``KUBECTL_PORT_FORWARD_WEBSOCKETS=false``), the Python
client's v4 WebSocket and ``podctl port-forward`` must all get there, as on Kubernetes.
"""

from __future__ import annotations

import os
import queue
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from kubernetes import client, config
from kubernetes.stream import portforward
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from apimachinery.kubeconfig import load_kubeconfig
from tests.compat.conftest import KUBECTL, Kubectl, ready_nodes
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

NODES = ("pf-node",)
POD = "pf"
SERVE = (
    "trap 'exit 0' TERM; mkdir -p /www /lo && echo hello-from-pod > /www/index.html && "
    "echo loopback-only > /lo/index.html && httpd -p 80 -h /www && httpd -p 127.0.0.1:8081 -h /lo && "
    "nc -ll -p 9000 -e cat & wait"
)
FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)")


@pytest.fixture(scope="module")
def pod(kubectl: Kubectl, compat_cluster: Cluster) -> str:
    node = compat_cluster.node_name(NODES[0])
    kubectl.wait_for("the node Ready", lambda: node in ready_nodes(kubectl), timeout=60)
    kubectl.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": POD}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "srv", "image": "podvisor/busybox:latest", "command": ["sh", "-c", SERVE]}]}})
    kubectl.wait_for("the pod Running", lambda: kubectl.json("get", "pod", POD)["status"].get("phase") == "Running")
    ip = kubectl.json("get", "pod", POD)["status"]["podIP"]
    kubectl.wait_for("the pod's servers", lambda: _answers(ip, 80) and _answers(ip, 9000), timeout=30)
    return POD


def _answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


class PortForward:
    """A running ``kubectl port-forward``: the local port of each remote port, its stderr."""

    def __init__(self, kubectl: Kubectl, *args: str, program: tuple[str, ...] = (),
                 env: dict[str, str] | None = None) -> None:
        assert KUBECTL is not None
        self.stderr = kubectl.home / f"port-forward-{time.monotonic_ns()}.err"
        command = [*(program or (KUBECTL,)), "port-forward", *args]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.stderr.open("w"), text=True,
                                     env={**kubectl.env, **(env or {})}, cwd=kubectl.home)
        self.local: dict[int, int] = {}
        if not program:
            kubectl.record.append(f"kubectl port-forward {' '.join(args)}  [streamed]")
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(lines,), daemon=True).start()
        wanted = sum(1 for a in args if ":" in a)
        deadline = time.monotonic() + 30
        while len(self.local) < wanted:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                pytest.fail(f"kubectl port-forward did not start: {self.stderr.read_text()}")
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if match := FORWARDING.search(line):
                self.local[int(match.group(2))] = int(match.group(1))

    def _pump(self, lines: queue.Queue[str]) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            lines.put(line)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def forward(kubectl: Kubectl, pod: str) -> Iterator[PortForward]:
    pf = PortForward(kubectl, f"pod/{pod}", ":80", ":9000", ":8081")
    yield pf
    pf.stop()


def http_get(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text


def echo(port: int, payload: bytes) -> bytes:
    """Send ``payload``, half-close, read until the echo server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        got = bytearray()
        while chunk := sock.recv(65536):
            got += chunk
    return bytes(got)


def test_kubectl_forwards_http_and_a_tcp_echo_on_two_ports_at_once(forward: PortForward) -> None:
    assert http_get(forward.local[80]) == "hello-from-pod\n"
    assert echo(forward.local[9000], b"ping\n") == b"ping\n"
    assert http_get(forward.local[80]) == "hello-from-pod\n"  # a second connection of the same session


def test_kubectl_without_the_websocket_tunnel_upgrades_to_spdy_directly(kubectl: Kubectl, pod: str) -> None:
    pf = PortForward(kubectl, f"pod/{pod}", ":80", ":9000", ":8081", env={"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"})
    try:
        assert http_get(pf.local[80]) == "hello-from-pod\n"
        assert http_get(pf.local[8081]) == "loopback-only\n"
        payload = os.urandom(1 << 20)
        assert echo(pf.local[9000], payload) == payload
    finally:
        pf.stop()


def test_kubectl_reaches_a_server_on_the_pods_loopback(forward: PortForward, kubectl: Kubectl) -> None:
    ip = kubectl.json("get", "pod", POD)["status"]["podIP"]
    assert not _answers(ip, 8081)
    assert http_get(forward.local[8081]) == "loopback-only\n"


def test_kubectl_carries_a_megabyte_and_half_closes(forward: PortForward) -> None:
    payload = os.urandom(1 << 20)
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(echo(forward.local[9000], payload))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [payload] * 3


def test_kubectl_reports_a_port_nobody_listens_on(kubectl: Kubectl, pod: str) -> None:
    pf = PortForward(kubectl, f"pod/{pod}", ":9999")
    try:
        with socket.create_connection(("127.0.0.1", pf.local[9999]), timeout=10) as sock:
            sock.settimeout(10)
            assert sock.recv(100) == b""
        pf.proc.wait(timeout=20)
    finally:
        pf.stop()
    assert "error forwarding port 9999 to pod pf" in pf.stderr.read_text()
    assert "connection refused" in pf.stderr.read_text().lower()


def test_podctl_forwards_http_a_tcp_echo_and_the_pods_loopback(kubectl: Kubectl, pod: str) -> None:
    pf = PortForward(kubectl, f"pod/{pod}", ":80", ":9000", ":8081", program=(sys.executable, "-m", "podctl.cli"))
    try:
        assert http_get(pf.local[80]) == "hello-from-pod\n"
        assert http_get(pf.local[8081]) == "loopback-only\n"
        with socket.create_connection(("127.0.0.1", pf.local[9000]), timeout=20) as sock:
            payload = os.urandom(1 << 20)
            sock.sendall(payload)
            got = bytearray()
            while len(got) < len(payload) and (chunk := sock.recv(65536)):
                got += chunk
        assert bytes(got) == payload
    finally:
        pf.stop()


def test_kubectl_port_forward_to_a_missing_pod_fails(kubectl: Kubectl) -> None:
    done = kubectl.run("port-forward", "pod/no-such-pod", "8080:80", rc=1, timeout=30)
    assert 'pods "no-such-pod" not found' in done.stderr


@pytest.fixture(scope="module")
def api(compat_cluster: Cluster) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(compat_cluster.data_dir / "admin.kubeconfig"))
    yield api_client
    api_client.close()


def _recv_all(sock: socket.socket, *, until: bytes | None = None) -> bytes:
    """Read to EOF, or until the data ends with ``until``: over v4, a port whose pod side closed
    ends only with the whole WebSocket (as on Kubernetes), so with several ports open the
    python client sees no EOF on one of them."""
    got = bytearray()
    while (until is None or not got.endswith(until)) and (chunk := sock.recv(65536)):
        got += chunk
    return bytes(got)


def test_python_client_forwards_two_ports(api: client.ApiClient, pod: str) -> None:
    core = client.CoreV1Api(api)
    pf = portforward(core.connect_get_namespaced_pod_portforward, pod, "default", ports="80,9000")
    web, tcp = pf.socket(80), pf.socket(9000)
    web.settimeout(20)
    tcp.settimeout(20)
    web.sendall(b"GET / HTTP/1.0\r\n\r\n")
    tcp.sendall(b"echo over v4\n")
    assert tcp.recv(100) == b"echo over v4\n"
    assert _recv_all(web, until=b"hello-from-pod\n").startswith(b"HTTP/1.")
    tcp.close()
    assert pf.error(80) is None and pf.error(9000) is None


def test_python_client_reaches_the_pods_loopback(api: client.ApiClient, pod: str) -> None:
    core = client.CoreV1Api(api)
    pf = portforward(core.connect_get_namespaced_pod_portforward, pod, "default", ports="8081")
    sock = pf.socket(8081)
    sock.settimeout(20)
    sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
    assert _recv_all(sock).endswith(b"loopback-only\n")


def test_python_client_gets_the_error_of_a_port_nobody_listens_on(api: client.ApiClient, pod: str) -> None:
    core = client.CoreV1Api(api)
    pf = portforward(core.connect_get_namespaced_pod_portforward, pod, "default", ports="9999")
    sock = pf.socket(9999)
    sock.settimeout(20)
    assert _recv_all(sock) == b""
    error = pf.error(9999) or ""
    assert error.startswith("error forwarding port 9999 to pod pf, uid ") and "refused" in error.lower()


PF_PATH = "/api/v1/namespaces/default/pods/{}/portforward"


SPDY_WRONG_PROTOCOL = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "channel.k8s.io"}


@pytest.mark.parametrize(("method", "name", "headers", "code", "message"), [
    pytest.param("GET", "no-such-pod", {}, 404, 'pods "no-such-pod" not found', id="missing-pod"),
    pytest.param("POST", "no-such-pod", {}, 404, 'pods "no-such-pod" not found', id="missing-pod-post"),
    pytest.param("GET", POD, {}, 400, "Upgrade request required", id="not-an-upgrade"),
    pytest.param("POST", POD, {}, 400, "Upgrade request required", id="not-an-upgrade-post"),
    pytest.param("POST", POD, SPDY_WRONG_PROTOCOL, 400, "unable to upgrade: unable to negotiate protocol: "
                 "client supports ['channel.k8s.io'], server accepts ['portforward.k8s.io']", id="spdy-wrong-protocol"),
])
def test_plain_requests_get_a_status(compat_cluster: Cluster, pod: str, method: str, name: str,
                                     headers: dict[str, str], code: int, message: str) -> None:
    with compat_cluster.http() as http:
        got = http.request(method, PF_PATH.format(name) + "?ports=80", headers=headers)
    assert got.status_code == code
    assert (got.json()["kind"], got.json()["code"], got.json()["message"]) == ("Status", code, message)


def _ws(cluster: Cluster, name: str, *, token: str | None, protocols: list[str], query: str = "ports=80") -> None:
    ctx = ssl.create_default_context(cafile=str(cluster.data_dir / "ca.crt"))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = cluster.url.replace("https://", "wss://") + PF_PATH.format(name) + f"?{query}"
    with connect(url, ssl=ctx, additional_headers=headers, subprotocols=protocols, open_timeout=10):  # type: ignore[arg-type]
        pass


def _node_token(cluster: Cluster) -> str:
    return load_kubeconfig(cluster.cert_dir(cluster.node_name(NODES[0])) / "kubelet.kubeconfig").token or ""


@pytest.mark.parametrize(("who", "name", "protocols", "query", "code"), [
    pytest.param("nobody", POD, ["v4.channel.k8s.io"], "ports=80", 401, id="no-token"),
    pytest.param("node", POD, ["v4.channel.k8s.io"], "ports=80", 403, id="node-token"),
    pytest.param("admin", "no-such-pod", ["v4.channel.k8s.io"], "ports=80", 404, id="missing-pod"),
    pytest.param("admin", POD, ["base64.channel.k8s.io"], "ports=80", 400, id="unknown-subprotocol"),
    pytest.param("admin", POD, ["v4.channel.k8s.io"], "ports=http", 400, id="bad-port"),
    pytest.param("admin", POD, ["v4.channel.k8s.io"], "", 400, id="no-port"),
])
def test_refused_upgrades(compat_cluster: Cluster, pod: str, who: str, name: str, protocols: list[str], query: str,
                          code: int) -> None:
    token = {"nobody": None, "node": _node_token(compat_cluster), "admin": compat_cluster.token}[who]
    with pytest.raises(InvalidStatus) as refused:
        _ws(compat_cluster, name, token=token, protocols=protocols, query=query)
    assert refused.value.response.status_code == code
