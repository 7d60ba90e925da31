"""The service proxy on the real kernel: two kubelets on one shared Docker network, busybox servers.

The Services carry an explicit ClusterIP and have no selector, and the test writes their
EndpointSlices itself, so what is checked is the proxy alone: the kernel path from a client
pod's network namespace to ``podIP:targetPort``. Clients run in the pods' network namespaces
(``nsenter -n``; busybox has no UDP client and its ``wget`` crashes), one ``nc`` from inside a
pod shows a real pod process takes the same path.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import create, docker, make_pod, pod_containers, wait_node, wait_status

pytestmark = pytest.mark.e2e

SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
SERVICES = "/api/v1/namespaces/default/services"
SYNC_PERIOD = 1.0
SERVER = "mkdir -p /www && echo {name} > /www/index.html && exec httpd -f -vv -p 8080 -h /www"  # logs peers
UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
while True:
    data, peer = s.recvfrom(512)
    s.sendto(sys.argv[1].encode() + b":" + data, peer)
"""
UDP_FLOW_MARK = f"/tmp/podvisor-udp-flow-{secrets.token_hex(4)}"
UDP_FLOW = f"""
import json, pathlib, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
answers, end = [], time.monotonic() + 8
while time.monotonic() < end:
    s.sendto(b"ping", ("10.96.0.54", 53))
    try:
        answers.append(s.recvfrom(512)[0].decode().split(":")[0])
        pathlib.Path({UDP_FLOW_MARK!r}).touch()
    except OSError:
        pass
    time.sleep(0.1)
print(json.dumps([a for i, a in enumerate(answers) if i == 0 or answers[i - 1] != a]))
"""


@dataclass
class Setup:
    cluster: Cluster
    nodes: list[str]
    bridge: str
    gateway: str
    pods: dict[str, dict[str, Any]]  # name -> pod as created, with its status

    def ip(self, pod: str) -> str:
        return str(self.pods[pod]["status"]["podIP"])

    def pid(self, pod: str) -> int:
        """A process in the pod's network namespace (its sandbox)."""
        rows = pod_containers(self.pods[pod]["metadata"]["uid"], all_states=False)
        return int(docker("inspect", "-f", "{{.State.Pid}}", rows[0]["ID"]))

    def peers(self, pod: str) -> set[str]:
        """The client addresses the pod's httpd has seen (its ``-vv`` log)."""
        rows = pod_containers(self.pods[pod]["metadata"]["uid"], all_states=False)
        main = next(r["ID"] for r in rows if "main" in r["Names"])
        done = subprocess.run(["docker", "logs", main], capture_output=True, text=True, timeout=30)
        return set(re.findall(r"\[::ffff:([0-9.]+)\]", done.stdout + done.stderr))

    def table(self, node: str) -> str:
        return f"podvisor.{self.bridge}.{node}"


def in_pod(setup: Setup, pod: str, code: str, timeout: float = 30) -> Any:
    """Run Python ``code`` in the pod's network namespace; it prints one JSON value."""
    done = subprocess.run(["nsenter", "-n", "-t", str(setup.pid(pod)), "python3", "-c", code], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def http_gets(setup: Setup, pod: str, address: str, port: int, count: int) -> list[str]:
    """``count`` HTTP requests from ``pod``, each on a new connection: the bodies (or the error)."""
    code = f"""
import json, socket
out = []
for _ in range({count}):
    try:
        s = socket.create_connection(({address!r}, {port}), timeout=2)
        s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        s.close()
        out.append(data.split(b"\\r\\n\\r\\n", 1)[-1].decode().strip())
    except OSError as err:
        out.append(type(err).__name__)
print(json.dumps(out))
"""
    return list(in_pod(setup, pod, code))


def put_slice(setup: Setup, service: str, endpoints: list[str], ports: list[dict[str, Any]]) -> None:
    body: dict[str, Any] = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{service}-manual", "labels": {"kubernetes.io/service-name": service,
                                                                 "endpointslice.kubernetes.io/managed-by": "e2e"}},
            "addressType": "IPv4", "ports": ports,
            "endpoints": [{"addresses": [setup.ip(p)], "conditions": {"ready": True}} for p in endpoints]}
    with setup.cluster.http() as h:
        current = h.get(f"{SLICES}/{service}-manual")
        if current.status_code == 200:
            body["metadata"]["resourceVersion"] = current.json()["metadata"]["resourceVersion"]
            response = h.put(f"{SLICES}/{service}-manual", json=body)
        else:
            response = h.post(SLICES, json=body)
        assert response.status_code in (200, 201), response.text


def create_service(setup: Setup, name: str, cluster_ip: str, ports: list[dict[str, Any]], **spec: Any) -> None:
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"clusterIP": cluster_ip, "ports": ports, **spec}}
    with setup.cluster.http() as h:
        response = h.post(SERVICES, json=body)
        assert response.status_code == 201, response.text


def nft_list(table: str) -> str:
    done = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True, timeout=10)
    return done.stdout if done.returncode == 0 else ""


def ready_lines(setup: Setup, node: str) -> int:
    """How many times the kubelet of ``node`` logged that it is ready (once per start)."""
    return (setup.cluster.logs / f"kubelet-{node}.log").read_text().count(f"kubelet {node} ready")


def host_address() -> str:
    """The host's address on its default route (not loopback): where NodePorts are reached."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.123", 9))
        return str(s.getsockname()[0])


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, busybox_image: str) -> Iterator[Setup]:
    cluster = Cluster(tmp_path_factory.mktemp("proxy") / "cluster")
    cluster.start_server()
    network = f"podvisor-proxy-{secrets.token_hex(3)}"
    try:
        nodes = [cluster.start_kubelet(base, "--network", network, "--proxy-sync-period", str(SYNC_PERIOD),
                                       "--root-dir", str(cluster.data_dir / f"root-{base}"))
                 for base in ("pa", "pb")]
        for node in nodes:
            wait_node(cluster, node)
        specs = {"srv-a": (nodes[0], SERVER.format(name="A")), "srv-b": (nodes[1], SERVER.format(name="B")),
                 "client": (nodes[0], "exec sleep 3600")}
        for name, (node, command) in specs.items():
            create(cluster, make_pod(name, node, [{"name": "main", "command": ["sh", "-c", command]}]))
        pods = {}
        for name in specs:
            wait_status(cluster, name, lambda st: st.get("phase") == "Running" and st.get("podIP"), "running")
            with cluster.http() as h:
                pods[name] = h.get(f"/api/v1/namespaces/default/pods/{name}").json()
        bridge = "br-" + docker("network", "inspect", "-f", "{{.Id}}", network)[:12]
        gateway = docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", network)
        yield Setup(cluster=cluster, nodes=nodes, bridge=bridge, gateway=gateway, pods=pods)
    finally:
        cluster.stop()  # removes the network, and the tables of its bridge


@pytest.fixture(scope="module")
def web(setup: Setup) -> str:
    """Service ``web`` on 10.96.0.80:80 -> both servers' 8080."""
    create_service(setup, "web", "10.96.0.80", [{"name": "http", "port": 80, "targetPort": 8080}])
    put_slice(setup, "web", ["srv-a", "srv-b"], [{"name": "http", "port": 8080, "protocol": "TCP"}])
    setup.cluster.wait_for("web reachable", lambda: http_gets(setup, "client", "10.96.0.80", 80, 1) != ["timeout"],
                           timeout=20)
    return "10.96.0.80"


def test_a_cluster_ip_reaches_endpoints_on_both_nodes(setup: Setup, web: str) -> None:
    counts = Counter(http_gets(setup, "client", web, 80, 40))
    assert set(counts) == {"A", "B"}, counts  # p(one side only) = 2 * 2**-40
    assert setup.peers("srv-a") == setup.peers("srv-b") == {setup.ip("client")}  # not masqueraded
    rows = pod_containers(setup.pods["client"]["metadata"]["uid"], all_states=False)
    main = next(r["ID"] for r in rows if "main" in r["Names"])
    out = docker("exec", main, "sh", "-c", f'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 {web} 80')
    assert out.splitlines()[-1] in ("A", "B"), out


def test_a_pod_reaches_itself_through_its_service(setup: Setup, web: str) -> None:
    counts = Counter(http_gets(setup, "srv-a", web, 80, 30))
    assert counts["A"] > 0 and set(counts) <= {"A", "B"}, counts
    assert setup.gateway in setup.peers("srv-a")  # masqueraded, so the reply comes back through conntrack
    assert setup.ip("srv-a") in setup.peers("srv-b")  # to another pod: the client's own address


def test_client_ip_affinity_keeps_a_client_on_one_endpoint(setup: Setup) -> None:
    create_service(setup, "sticky", "10.96.0.83", [{"name": "http", "port": 80}], sessionAffinity="ClientIP",
                   sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    put_slice(setup, "sticky", ["srv-a", "srv-b"], [{"name": "http", "port": 8080, "protocol": "TCP"}])
    setup.cluster.wait_for("sticky reachable", lambda: http_gets(setup, "client", "10.96.0.83", 80, 1)[0] in ("A", "B"),
                           timeout=10)
    assert len(set(http_gets(setup, "client", "10.96.0.83", 80, 30))) == 1  # p(by chance) = 2**-29


def test_a_deleted_service_leaves_the_rules_at_the_next_sync(setup: Setup) -> None:
    create_service(setup, "brief", "10.96.0.84", [{"name": "http", "port": 80}])
    put_slice(setup, "brief", ["srv-a"], [{"name": "http", "port": 8080, "protocol": "TCP"}])
    setup.cluster.wait_for("brief answering", lambda: http_gets(setup, "client", "10.96.0.84", 80, 1) == ["A"],
                           timeout=10)
    with setup.cluster.http() as h:
        assert h.delete(f"{SERVICES}/brief").status_code == 200
    for node in setup.nodes:
        setup.cluster.wait_for(f"brief gone from {node}", lambda node=node: "10.96.0.84" not in nft_list(
            setup.table(node)), timeout=5)
    assert http_gets(setup, "client", "10.96.0.84", 80, 1) == ["ConnectionRefusedError"]


def test_udp(setup: Setup) -> None:
    create_service(setup, "echo", "10.96.0.53", [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353}])
    server = subprocess.Popen(["nsenter", "-n", "-t", str(setup.pid("srv-b")), "python3", "-c", UDP_ECHO, "B"])
    try:
        put_slice(setup, "echo", ["srv-b"], [{"name": "dns", "port": 5353, "protocol": "UDP"}])
        code = """
import json, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    s.sendto(b"ping", ("10.96.0.53", 53))
    try:
        print(json.dumps(s.recvfrom(512)[0].decode()))
        break
    except OSError:
        pass
else:
    print(json.dumps("no answer"))
"""
        assert in_pod(setup, "client", code) == "B:ping"
    finally:
        server.kill()
        server.wait(timeout=10)


@pytest.mark.skipif(shutil.which("conntrack") is None, reason="needs the conntrack tool")
def test_a_udp_flow_moves_off_an_endpoint_removed_from_the_slice(setup: Setup) -> None:
    """One client socket keeps sending: without the conntrack flush its NAT binding would stay on B."""
    create_service(setup, "echo2", "10.96.0.54", [{"name": "dns", "port": 53, "protocol": "UDP"}])
    servers = [subprocess.Popen(["nsenter", "-n", "-t", str(setup.pid(pod)), "python3", "-c", UDP_ECHO, name])
               for pod, name in (("srv-a", "A"), ("srv-b", "B"))]
    try:
        put_slice(setup, "echo2", ["srv-b"], [{"name": "dns", "port": 5353, "protocol": "UDP"}])
        client = subprocess.Popen(["nsenter", "-n", "-t", str(setup.pid("client")), "python3", "-c", UDP_FLOW],
                                  stdout=subprocess.PIPE, text=True)
        setup.cluster.wait_for("B answering", lambda: Path(UDP_FLOW_MARK).exists(), timeout=10)
        put_slice(setup, "echo2", ["srv-a"], [{"name": "dns", "port": 5353, "protocol": "UDP"}])
        out, _ = client.communicate(timeout=30)
        answers = json.loads(out)
        assert answers[0] == "B" and answers[-1] == "A", answers
    finally:
        for server in servers:
            server.kill()
            server.wait(timeout=10)
        Path(UDP_FLOW_MARK).unlink(missing_ok=True)


def test_an_endpoint_removed_from_the_slice_gets_no_more_traffic(setup: Setup, web: str) -> None:
    put_slice(setup, "web", ["srv-b"], [{"name": "http", "port": 8080, "protocol": "TCP"}])
    setup.cluster.wait_for("srv-a out of the data path",
                           lambda: set(http_gets(setup, "client", web, 80, 10)) == {"B"}, timeout=10)
    assert set(http_gets(setup, "client", web, 80, 40)) == {"B"}
    put_slice(setup, "web", ["srv-a", "srv-b"], [{"name": "http", "port": 8080, "protocol": "TCP"}])
    setup.cluster.wait_for("srv-a back", lambda: "A" in http_gets(setup, "client", web, 80, 20), timeout=10)


def test_a_service_without_endpoints_refuses_connections(setup: Setup) -> None:
    create_service(setup, "empty", "10.96.0.81", [{"name": "http", "port": 80}])
    setup.cluster.wait_for("refused", lambda: http_gets(setup, "client", "10.96.0.81", 80, 1)
                           == ["ConnectionRefusedError"], timeout=10)


def test_an_address_or_port_no_service_has_is_refused_not_routed_away(setup: Setup, web: str) -> None:
    assert http_gets(setup, "client", "10.96.0.99", 80, 1) == ["ConnectionRefusedError"]
    assert http_gets(setup, "client", web, 81, 1) == ["ConnectionRefusedError"]


def test_a_node_port_is_reached_from_the_host_on_its_address(setup: Setup) -> None:
    node_port = random.randint(30000, 32767)
    create_service(setup, "web-np", "10.96.0.82", [{"name": "http", "port": 80, "nodePort": node_port}],
                   type="NodePort")
    put_slice(setup, "web-np", ["srv-a", "srv-b"], [{"name": "http", "port": 8080, "protocol": "TCP"}])
    address = host_address()

    def get() -> str:
        try:
            with socket.create_connection((address, node_port), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                return s.makefile("rb").read().split(b"\r\n\r\n", 1)[-1].decode().strip()
        except OSError as err:
            return type(err).__name__

    assert setup.cluster.wait_for("node port answers", lambda: get() in ("A", "B"), timeout=10)


def test_a_deleted_rule_or_table_is_written_again_within_the_sync_period(setup: Setup, web: str) -> None:
    table = setup.table(setup.nodes[0])
    before = nft_list(table)
    assert "10.96.0.80 . tcp . 80" in before
    subprocess.run(["nft", "flush", "map", "ip", table, "service-ips"], check=True, timeout=10)
    setup.cluster.wait_for("the map refilled", lambda: "10.96.0.80 . tcp . 80" in nft_list(table),
                           timeout=SYNC_PERIOD * 5)
    subprocess.run(["nft", "delete", "table", "ip", table], check=True, timeout=10)
    start = time.monotonic()
    setup.cluster.wait_for("the table back", lambda: "10.96.0.80 . tcp . 80" in nft_list(table),
                           timeout=SYNC_PERIOD * 5)
    assert time.monotonic() - start < SYNC_PERIOD * 5


def test_the_kubernetes_service_cluster_ip_reaches_the_api_server(setup: Setup) -> None:
    with setup.cluster.http() as h:
        ip = h.get(f"{SERVICES}/kubernetes").json()["spec"]["clusterIP"]
    assert ip == "10.96.0.1"  # the first address of the service CIDR, as kube-apiserver gives it
    for node in setup.nodes:
        setup.cluster.wait_for(f"{ip}:443 in the rules of {node}",
                               lambda node=node: f"{ip} . tcp . 443" in nft_list(setup.table(node)), timeout=10)
    code = f"""
import json, socket, ssl, time
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
deadline = time.monotonic() + 15
while True:
    try:
        with socket.create_connection(({ip!r}, 443), timeout=2) as raw, ctx.wrap_socket(raw) as s:
            s.sendall(b"GET /version HTTP/1.1\\r\\nHost: kubernetes\\r\\nConnection: close\\r\\n\\r\\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        head, _, body = data.partition(b"\\r\\n\\r\\n")
        # the API server's own answer: its version, or a Status refusing an anonymous request
        if b"gitVersion" in body or b'"kind":"Status"' in body.replace(b" ", b""):
            print(json.dumps(int(head.split(b" ")[1])))
            break
        raise OSError(head[:60])
    except OSError as err:
        if time.monotonic() > deadline:
            print(json.dumps(type(err).__name__))
            break
        time.sleep(0.2)
"""
    assert in_pod(setup, "client", code) in (200, 401, 403)  # TLS end to end with the API server


def test_traffic_keeps_flowing_while_the_kubelets_restart(setup: Setup, web: str) -> None:
    for node in setup.nodes:  # both: either node's table would carry the traffic alone
        setup.cluster.kill_kubelet(node)
    for node in setup.nodes:
        assert "10.96.0.80 . tcp . 80" in nft_list(setup.table(node))  # the rules stay while it is down
    assert set(http_gets(setup, "client", web, 80, 20)) == {"A", "B"}
    started = {node: ready_lines(setup, node) for node in setup.nodes}
    for node in setup.nodes:
        setup.cluster.restart_kubelet(node)
    for node in setup.nodes:  # the Node stays Ready across a short restart: wait for the process itself
        setup.cluster.wait_for(f"kubelet {node} up again", lambda node=node: ready_lines(setup, node) > started[node])
    assert set(http_gets(setup, "client", web, 80, 20)) == {"A", "B"}
