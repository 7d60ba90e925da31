"""The real kubectl with Services: ClusterIPs and node ports in ``get svc``, ``expose``, the
allocation errors kubectl users know, and type changes through ``patch``."""

from __future__ import annotations

import ipaddress

import pytest

from tests.compat.conftest import Kubectl

pytestmark = [pytest.mark.compat, pytest.mark.e2e]
IMAGE = "podvisor/busybox:latest"


def row(kubectl: Kubectl, name: str) -> list[str]:
    lines = kubectl.out("get", "svc", name).strip().splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    return lines[1].split()


def in_cidr(ip: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12")


def test_the_kubernetes_service_shows_the_first_address(kubectl: Kubectl) -> None:
    assert row(kubectl, "kubernetes")[:5] == ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"]


def test_expose_makes_a_service_with_a_cluster_ip(kubectl: Kubectl) -> None:
    kubectl.run("create", "deployment", "exp", f"--image={IMAGE}", "--replicas=0")
    kubectl.run("expose", "deployment", "exp", "--port=80", "--target-port=8080")
    svc = kubectl.json("get", "svc", "exp")
    ip = svc["spec"]["clusterIP"]
    assert in_cidr(ip) and svc["spec"]["clusterIPs"] == [ip]
    assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert svc["spec"]["selector"] == {"app": "exp"} and svc["status"] == {"loadBalancer": {}}
    assert row(kubectl, "exp")[:5] == ["exp", "ClusterIP", ip, "<none>", "80/TCP"]
    described = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in
                                                      kubectl.out("describe", "svc", "exp").splitlines())}
    assert described["IP"] == ip and described["IPs"] == ip and described["TargetPort"] == "8080/TCP"


def test_node_port_and_load_balancer_rows(kubectl: Kubectl) -> None:
    kubectl.run("create", "service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080")
    cells = row(kubectl, "np")
    assert cells[1] == "NodePort" and in_cidr(cells[2]) and cells[3:5] == ["<none>", "80:30080/TCP"]
    kubectl.run("create", "service", "loadbalancer", "lb", "--tcp=443:8443")
    lb = kubectl.json("get", "svc", "lb")
    node_port = lb["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767 and lb["status"] == {"loadBalancer": {}}
    assert row(kubectl, "lb")[3:5] == ["<pending>", f"443:{node_port}/TCP"]
    kubectl.run("create", "service", "clusterip", "hl", "--clusterip=None")
    assert row(kubectl, "hl")[1:5] == ["ClusterIP", "None", "<none>", "<none>"]


def test_allocation_errors_read_as_kubernetes_writes_them(kubectl: Kubectl) -> None:
    kubectl.run("create", "service", "nodeport", "first", "--tcp=80", "--node-port=30090")
    taken = kubectl.run("create", "service", "nodeport", "second", "--tcp=80", "--node-port=30090", rc=1).stderr
    assert "spec.ports[0].nodePort: Invalid value: 30090: provided port is already allocated" in taken
    far = kubectl.run("create", "service", "clusterip", "far", "--clusterip=10.0.0.1", "--tcp=80", rc=1).stderr
    assert "provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12" in far
    ip = kubectl.json("get", "svc", "first")["spec"]["clusterIP"]
    same = kubectl.run("create", "service", "clusterip", "same", f"--clusterip={ip}", "--tcp=80", rc=1).stderr
    assert "provided IP is already allocated" in same


def test_patching_the_type_back_to_cluster_ip_releases_the_node_port(kubectl: Kubectl) -> None:
    kubectl.run("create", "service", "nodeport", "flip", "--tcp=80", "--node-port=30095")
    ip = kubectl.json("get", "svc", "flip")["spec"]["clusterIP"]
    kubectl.run("patch", "svc", "flip", "-p", '{"spec": {"type": "ClusterIP"}}')
    svc = kubectl.json("get", "svc", "flip")
    assert svc["spec"]["clusterIP"] == ip and "nodePort" not in svc["spec"]["ports"][0]
    kubectl.run("create", "service", "nodeport", "reuse", "--tcp=80", "--node-port=30095")
    immutable = kubectl.run("patch", "svc", "flip", "-p", '{"spec": {"clusterIP": "10.96.0.99"}}', rc=1).stderr
    assert "field is immutable" in immutable


MANIFEST = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "applied"},
            "spec": {"type": "NodePort", "selector": {"app": "applied"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}


@pytest.mark.parametrize("mode", [[], ["--server-side"]], ids=["client-side", "server-side"])
def test_applying_a_manifest_again_keeps_the_allocated_values(kubectl: Kubectl, mode: list[str]) -> None:
    name = f"applied-{len(mode)}"
    manifest = {**MANIFEST, "metadata": {"name": name}}
    kubectl.apply(manifest, *mode)
    first = kubectl.json("get", "svc", name)["spec"]
    manifest["spec"] = {**MANIFEST["spec"], "ports": [{"name": "http", "port": 80, "targetPort": 9090}]}
    kubectl.apply(manifest, *mode)
    again = kubectl.json("get", "svc", name)["spec"]
    assert again["clusterIP"] == first["clusterIP"] and again["ports"][0]["targetPort"] == 9090
    assert again["ports"][0]["nodePort"] == first["ports"][0]["nodePort"]
