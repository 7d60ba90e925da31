"""Cluster DNS on Docker: pods resolve Services through the DNS their kubelet serves on the gateway.

A client pod is created before its Service and resolves it by its three names; a headless
Service gives the pod IPs of its EndpointSlice; a name outside the cluster reaches the host's
resolver, played by a fake upstream on a loopback address named in the kubelet's
``--resolv-conf`` (no external network here); ``dnsPolicy: None`` gets exactly its dnsConfig.
The Services carry an explicit ClusterIP and the EndpointSlice is written by the test, so only
the DNS is under test here, not the allocator, the endpoints controller or the proxy.
"""

from __future__ import annotations

import random
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rrset
import pytest

from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e
OUTSIDE = "outside.podvisor.test."
OUTSIDE_IP = "192.0.2.44"


class FakeUpstream:
    """The host's resolver: answers ``outside.podvisor.test`` and records every name it is asked."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(20):
            self.address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
            try:
                self.sock.bind((self.address, 53))
                break
            except OSError:
                continue
        self.asked: list[str] = []
        self.sock.settimeout(0.5)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            name = query.question[0].name.to_text().lower()
            self.asked.append(name)
            response = dns.message.make_response(query)
            if name == OUTSIDE and query.question[0].rdtype == dns.rdatatype.A:
                response.answer.append(dns.rrset.from_text(OUTSIDE, 30, "IN", "A", OUTSIDE_IP))
            elif name != OUTSIDE:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), addr)

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    yield fake
    fake.close()


def docker(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def make_pod(name: str, node: str, image: str, **spec: Any) -> dict[str, Any]:
    labels = spec.pop("labels", {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {"name": "main", "image": image, "imagePullPolicy": "Never", "command": ["sleep", "3600"]}
            ],
            **spec,
        },
    }


def running(cluster: Cluster, name: str) -> dict[str, Any]:
    with cluster.http() as http:

        def check() -> dict[str, Any] | None:
            got = http.get(f"/api/v1/namespaces/default/pods/{name}").json()
            return got if got.get("status", {}).get("phase") == "Running" else None

        return dict(cluster.wait_for(f"pod {name} running", check, timeout=90, interval=0.5))


def container_of(pod: dict[str, Any]) -> str:
    return str(pod["status"]["containerStatuses"][0]["containerID"]).split("://", 1)[1]


def test_pods_resolve_services_through_the_kubelets_dns(
    cluster: Cluster, tmp_path: Path, busybox_image: str, upstream: FakeUpstream
) -> None:
    host_conf = tmp_path / "host-resolv.conf"
    host_conf.write_text(f"nameserver {upstream.address}\nsearch corp.test\n")
    node = cluster.start_kubelet(
        "dns", "--root-dir", str(tmp_path / "kubelet"), "--resolv-conf", str(host_conf)
    )
    with cluster.http() as http:
        for body in (
            make_pod("client", node, busybox_image),
            make_pod("db-0", node, busybox_image, labels={"app": "db"}, hostname="db-0", subdomain="db"),
            make_pod(
                "custom",
                node,
                busybox_image,
                dnsPolicy="None",
                dnsConfig={
                    "nameservers": ["192.0.2.53"],
                    "searches": ["a.example"],
                    "options": [{"name": "ndots", "value": "2"}],
                },
            ),
        ):
            assert http.post("/api/v1/namespaces/default/pods", json=body).status_code == 201
        client, db0, custom = (running(cluster, n) for n in ("client", "db-0", "custom"))
        exec_in = container_of(client)

        # The pod's resolver points at the cluster DNS on the network's gateway.
        gateway = docker(
            "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", f"podvisor-{node}"
        ).stdout.strip()
        resolv = docker("exec", exec_in, "cat", "/etc/resolv.conf").stdout
        assert resolv.splitlines() == [
            f"nameserver {gateway}",
            "search default.svc.cluster.local svc.cluster.local cluster.local corp.test",
            "options ndots:5",
        ]
        assert docker("exec", container_of(custom), "cat", "/etc/resolv.conf").stdout.splitlines() == [
            "nameserver 192.0.2.53",
            "search a.example",
            "options ndots:2",
        ]

        # A Service created after its client resolves by every name.
        service = {
            "metadata": {"name": "web"},
            "spec": {
                "clusterIP": "10.96.0.50",
                "selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80}],
            },
        }
        created = http.post("/api/v1/namespaces/default/services", json=service)
        assert created.status_code == 201, created.text

        def resolved(name: str) -> str:
            """The address the libc resolver (search list, ndots) finds, as ping prints it."""
            out = docker("exec", exec_in, "ping", "-c1", "-W1", name).stdout
            return out.split("(", 1)[1].split(")", 1)[0] if out.startswith("PING ") else ""

        def resolves(name: str, address: str) -> bool:
            return address in docker("exec", exec_in, "nslookup", name).stdout

        for name in ("web", "web.default", "web.default.svc.cluster.local"):
            cluster.wait_for(
                f"{name} resolving to the ClusterIP",
                lambda n=name: resolved(n) == "10.96.0.50",
                timeout=20,
                interval=0.5,
            )

        # A headless Service: its ready endpoints, and a pod by hostname.
        headless = {
            "metadata": {"name": "db"},
            "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432}]},
        }
        assert http.post("/api/v1/namespaces/default/services", json=headless).status_code == 201
        endpoints = {
            "metadata": {"name": "db-x1", "labels": {"kubernetes.io/service-name": "db"}},
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": [db0["status"]["podIP"]], "conditions": {"ready": True}, "hostname": "db-0"},
                {"addresses": [client["status"]["podIP"]], "conditions": {"ready": True}},
                {"addresses": ["172.31.255.254"], "conditions": {"ready": False}},
            ],
        }
        made = http.post("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", json=endpoints)
        assert made.status_code == 201, made.text
        fqdn = "db.default.svc.cluster.local"
        cluster.wait_for(
            "the headless Service's pod IPs",
            lambda: resolves(fqdn, db0["status"]["podIP"]) and resolves(fqdn, client["status"]["podIP"]),
            timeout=20,
            interval=0.5,
        )
        assert "172.31.255.254" not in docker("exec", exec_in, "nslookup", fqdn).stdout  # not ready
        assert resolved("db") in (db0["status"]["podIP"], client["status"]["podIP"])
        assert resolved("db-0.db") == db0["status"]["podIP"]

        # The pod's own names are in its /etc/hosts (no Docker alias needed).
        hosts = docker("exec", container_of(db0), "cat", "/etc/hosts").stdout
        assert f"{db0['status']['podIP']}\tdb-0.db.default.svc.cluster.local db-0" in hosts, hosts
        assert "kubernetes.default.svc" in hosts  # the API relay's entries stay
        own = docker("exec", exec_in, "cat", "/etc/hosts").stdout
        assert f"{client['status']['podIP']}\tclient" in own, own

        # Outside names go to the host's resolver and its answer comes back.
        cluster.wait_for(
            "the forwarded name",
            lambda: resolved(OUTSIDE.rstrip(".")) == OUTSIDE_IP,
            timeout=20,
            interval=0.5,
        )
        assert OUTSIDE in upstream.asked
        assert not any(n.endswith(".cluster.local.") for n in upstream.asked)  # the cluster's own are never


def test_kubelets_sharing_a_network_take_turns_serving_its_dns(
    cluster: Cluster, tmp_path: Path, busybox_image: str
) -> None:
    network = f"podvisor-dns-shared-{cluster.suffix}"
    try:
        _take_turns(cluster, tmp_path, busybox_image, network)
    finally:  # the network is shared: removing the first node's leaves it to the second's containers
        cluster.stop()
        docker("network", "rm", network)


def _take_turns(cluster: Cluster, tmp_path: Path, busybox_image: str, network: str) -> None:
    first = cluster.start_kubelet("dns-a", "--network", network, "--root-dir", str(tmp_path / "a"))
    log_a = cluster.logs / f"kubelet-{first}.log"
    cluster.wait_for(
        "the first kubelet serving DNS", lambda: "cluster DNS: serving" in log_a.read_text(), timeout=60
    )
    second = cluster.start_kubelet("dns-b", "--network", network, "--root-dir", str(tmp_path / "b"))
    log_b = cluster.logs / f"kubelet-{second}.log"
    cluster.wait_for(
        "the second kubelet standing by", lambda: "serves no DNS" in log_b.read_text(), timeout=60
    )
    with cluster.http() as http:
        assert (
            http.post(
                "/api/v1/namespaces/default/pods", json=make_pod("client", second, busybox_image)
            ).status_code
            == 201
        )
        exec_in = container_of(running(cluster, "client"))

        def resolves(service: str, address: str) -> bool:
            out = docker("exec", exec_in, "ping", "-c1", "-W1", service).stdout
            return f"({address})" in out

        def add_service(name: str, address: str) -> None:
            body = {"metadata": {"name": name}, "spec": {"clusterIP": address, "ports": [{"port": 80}]}}
            assert http.post("/api/v1/namespaces/default/services", json=body).status_code == 201

        add_service("early", "10.96.0.61")
        cluster.wait_for(
            "an answer from the first kubelet",
            lambda: resolves("early", "10.96.0.61"),
            timeout=20,
            interval=0.5,
        )
        cluster.kill_kubelet(first)
        cluster.wait_for(
            "the second kubelet taking over", lambda: "cluster DNS: serving" in log_b.read_text(), timeout=30
        )
        add_service("late", "10.96.0.62")
        cluster.wait_for(
            "an answer from the second kubelet",
            lambda: resolves("late", "10.96.0.62"),
            timeout=20,
            interval=0.5,
        )
