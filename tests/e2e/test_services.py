"""Services end to end: allocator, endpoints controllers, cluster DNS and the nftables proxy together.

Two kubelets share one Docker network, as the nodes of one cluster. A client pod exists before
the Service it talks to; the Service maps port 80 to the pods' port named ``http`` (8080). What
issue 16 asks to be shown, in one cluster: the three DNS names, traffic spread over every ready
replica and none to an unready one (100 requests each), a scale-down leaving Endpoints and
EndpointSlices, a headless Service, a NodePort on the node's address, ``kubectl expose``, and a
kubelet restart plus a deleted rule table that leave the Service working.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.controllers.e2e_helpers import create_deployment, scale
from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import wait_node

pytestmark = pytest.mark.e2e

NS = "default"
PODS = f"/api/v1/namespaces/{NS}/pods"
SERVICES = f"/api/v1/namespaces/{NS}/services"
REQUESTS = 100
# A replica answers with its name; /ready.html is what its readiness probe asks for.
SERVE = ("mkdir -p /www && hostname > /www/index.html && touch /www/ready.html && "
         "exec httpd -f -p 8080 -h /www")
FETCH = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {host} {port} | tail -n 1"


def web_deployment(replicas: int) -> dict[str, Any]:
    container = {
        "name": "httpd", "image": "podvisor/busybox:latest", "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", SERVE], "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/ready.html", "port": "http"}, "periodSeconds": 1,
                           "failureThreshold": 1},
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [container], "terminationGracePeriodSeconds": 1}}},
    }


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}], **spec}}


def docker(*args: str, timeout: float = 60) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout).stdout


def container_of(pod: dict[str, Any]) -> str:
    return str(pod["status"]["containerStatuses"][0]["containerID"]).split("://", 1)[1]


def in_client(client: str, script: str, timeout: float = 120) -> str:
    return docker("exec", client, "sh", "-c", script, timeout=timeout)


def answers(client: str, host: str, n: int = REQUESTS, port: int = 80) -> Counter[str]:
    """Who answered ``n`` fresh connections from the client pod to ``host:port``."""
    script = f"for i in $(seq {n}); do {FETCH.format(host=host, port=port)}; done"
    return Counter(line.strip() for line in in_client(client, script).splitlines() if line.strip())


def ready_web_pods(http: httpx.Client) -> dict[str, dict[str, Any]]:
    pods = http.get(PODS, params={"labelSelector": "app=web"}).json()["items"]
    return {p["metadata"]["name"]: p for p in pods if not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])}


def endpoint_ips(http: httpx.Client, name: str) -> tuple[set[str], set[str]]:
    """Ready addresses of the Service's Endpoints and of its EndpointSlices."""
    endpoints = http.get(f"{SERVICES.replace('services', 'endpoints')}/{name}").json()
    from_endpoints = {a["ip"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or []}
    slices = http.get(f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices",
                      params={"labelSelector": f"kubernetes.io/service-name={name}"}).json()["items"]
    from_slices = {a for s in slices for e in s["endpoints"] if (e.get("conditions") or {}).get("ready")
                   for a in e["addresses"]}
    return from_endpoints, from_slices


def kubectl(cluster: Cluster, *args: str) -> str:
    done = subprocess.run(["kubectl", "--kubeconfig", str(cluster.data_dir / "admin.kubeconfig"), *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_service_reaches_ready_replicas_by_name_on_every_node(cluster: Cluster) -> None:
    network = f"podvisor-svc-{cluster.suffix}"
    nodes = [cluster.start_kubelet(f"svc{i}", "--network", network, "--root-dir",
                                   str(cluster.data_dir / f"root{i}")) for i in (1, 2)]
    for node in nodes:
        wait_node(cluster, node)
    with cluster.http() as http:
        # The client first: the Service it uses does not exist when it starts.
        client_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
                      "spec": {"terminationGracePeriodSeconds": 0, "containers": [
                          {"name": "c", "image": "podvisor/busybox:latest", "imagePullPolicy": "IfNotPresent",
                           "command": ["sleep", "3600"]}]}}
        assert http.post(PODS, json=client_pod).status_code == 201
        create_deployment(http, web_deployment(3))
        client = container_of(cluster.wait_for("the client running", lambda: (
            (p := http.get(f"{PODS}/client").json()).get("status", {}).get("phase") == "Running" and p), timeout=90))
        cluster.wait_for("3 ready replicas", lambda: len(ready_web_pods(http)) == 3, timeout=90)
        created = http.post(SERVICES, json=service("web")).json()
        cluster_ip = created["spec"]["clusterIP"]
        assert cluster_ip.startswith("10.") and created["spec"]["clusterIPs"] == [cluster_ip]

        # Three names, one address, port 80 → the pods' named port 8080.
        for name in ("web", f"web.{NS}", f"web.{NS}.svc.cluster.local"):
            cluster.wait_for(f"{name}:80 answering", lambda n=name: in_client(
                client, FETCH.format(host=n, port=80)).strip().startswith("web-"), timeout=30, interval=0.5)
        pods = ready_web_pods(http)
        spread = answers(client, "web")
        assert set(spread) == set(pods) and sum(spread.values()) == REQUESTS, spread

        # One replica turns unready: it leaves Endpoints, EndpointSlices and the data path.
        victim = sorted(pods)[0]
        victim_ip = pods[victim]["status"]["podIP"]
        began = time.monotonic()
        docker("exec", container_of(pods[victim]), "rm", "/www/ready.html")
        cluster.wait_for("the unready replica out of Endpoints and EndpointSlices",
                         lambda: all(victim_ip not in ips for ips in endpoint_ips(http, "web")), timeout=20,
                         interval=0.05)
        left_endpoints = time.monotonic() - began
        time.sleep(0.5)  # the proxy's debounce and one nft transaction
        unready = answers(client, "web")
        assert victim not in unready and sum(unready.values()) == REQUESTS, unready
        assert set(unready) == set(pods) - {victim}
        print(f"\nservices: {REQUESTS} requests over 3 ready replicas {dict(spread)}; probe removed on {victim} → out "
              f"of Endpoints after {left_endpoints:.2f}s; then {dict(unready)}")

        # A scale-down removes the address from both kinds.
        scale(http, "web", 2)
        cluster.wait_for("two replicas", lambda: len(http.get(PODS, params={"labelSelector": "app=web"}).json()
                                                   ["items"]) == 2, timeout=60)
        remaining = {p["status"].get("podIP") for p in http.get(PODS, params={"labelSelector": "app=web"})
                     .json()["items"]}
        cluster.wait_for("Endpoints of the two remaining pods only", lambda: all(
            ips <= remaining for ips in endpoint_ips(http, "web")), timeout=30)

        # Headless: the DNS answers the ready pod IPs themselves.
        assert http.post(SERVICES, json=service("web-headless", clusterIP="None")).status_code == 201
        ready_ips = {p["status"]["podIP"] for p in ready_web_pods(http).values()}
        cluster.wait_for("the headless name resolving to the ready pods", lambda: all(
            ip in in_client(client, f"nslookup web-headless.{NS}.svc.cluster.local") for ip in ready_ips), timeout=30)

        # NodePort: on the host's address (the nodes' kubelets listen on loopback, where Kubernetes'
        # nftables proxy serves no NodePort either), from the host.
        node_port = http.post(SERVICES, json=service("web-np", type="NodePort")).json()["spec"]["ports"][0]["nodePort"]
        assert 30000 <= node_port <= 32767
        address = host_address()
        page = cluster.wait_for("the NodePort answering", lambda: _get(f"http://{address}:{node_port}/"), timeout=30)
        assert page.startswith("web-")

        # The real kubectl: the ClusterIP in `get svc`, and `expose` making a working Service.
        assert cluster_ip in kubectl(cluster, "get", "svc", "web")
        kubectl(cluster, "expose", "deployment", "web", "--name", "exposed", "--port", "8081", "--target-port", "8080")
        cluster.wait_for("the exposed Service answering", lambda: in_client(
            client, FETCH.format(host="exposed", port=8081)).strip().startswith("web-"), timeout=30, interval=0.5)

        # A kubelet restart and a lost rule table: the Service keeps working, the table comes back.
        for node_name in nodes:
            cluster.kill_kubelet(node_name)
        # The rules stay while the kubelets are down (the cluster DNS, served by the kubelets, does not).
        assert answers(client, cluster_ip, n=10).total() == 10
        for node_name in nodes:
            cluster.restart_kubelet(node_name)
        tables = _proxy_tables(network)
        assert tables, "no service proxy table on the host"
        for table in tables:
            subprocess.run(["nft", "delete", "table", "ip", table], check=True, timeout=10)
        cluster.wait_for("the proxy tables back", lambda: set(_proxy_tables(network)) >= set(tables), timeout=30)
        cluster.wait_for("the name answering again", lambda: in_client(
            client, FETCH.format(host="web", port=80)).strip().startswith("web-"), timeout=30, interval=0.5)
        repaired = answers(client, "web")
        assert sum(repaired.values()) == REQUESTS and len(repaired) == 2, repaired


def host_address() -> str:
    """The host's address on its default route."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.123", 9))
        return str(s.getsockname()[0])


def _get(url: str) -> str:
    try:
        return httpx.get(url, timeout=2).text.strip()
    except httpx.HTTPError:
        return ""


def _proxy_tables(network: str) -> list[str]:
    """The service proxies' tables of this network's bridge (``podvisor.<bridge>.<node>``)."""
    bridge = f"br-{docker('network', 'inspect', '-f', '{{.Id}}', network).strip()[:12]}"
    listed = subprocess.run(["nft", "list", "tables", "ip"], capture_output=True, text=True, timeout=10).stdout
    return [name for line in listed.splitlines() if (name := line.split()[-1]).startswith(f"podvisor.{bridge}.")]
