"""The real kubectl reading a Service's endpoints: ``get endpoints``, ``get endpointslices``, ``describe svc``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.conftest import Kubectl, ready_nodes
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

NODES = ("node-1",)
IMAGE = "podvisor/busybox:latest"


def manifests() -> list[dict[str, Any]]:
    container = {"name": "main", "image": IMAGE, "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
                 "ports": [{"name": "http", "containerPort": 8080}]}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop"},
                  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "shop"}},
                           "template": {"metadata": {"labels": {"app": "shop"}},
                                        "spec": {"containers": [container], "terminationGracePeriodSeconds": 1}}}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop"},
               "spec": {"selector": {"app": "shop"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}]}}
    return [deployment, service]


@pytest.fixture(scope="module")
def pod_ips(kubectl: Kubectl, compat_cluster: Cluster) -> list[str]:
    kubectl.wait_for("the node Ready", lambda: ready_nodes(kubectl) == [compat_cluster.node_name("node-1")])
    for manifest in manifests():
        kubectl.apply(manifest)
    kubectl.out("rollout", "status", "deployment/shop", "--timeout=120s", timeout=150)

    def ips() -> list[str] | None:
        found = sorted(p["status"].get("podIP", "") for p in kubectl.json("get", "pods", "-l", "app=shop")["items"]
                       if not p["metadata"].get("deletionTimestamp"))
        return found if len(found) == 2 and all(found) else None

    found: list[str] = kubectl.wait_for("two pod IPs", ips)
    return found


def test_get_endpoints(kubectl: Kubectl, pod_ips: list[str]) -> None:
    want = ",".join(f"{ip}:8080" for ip in pod_ips)

    def row() -> list[str] | None:
        lines = kubectl.out("get", "endpoints", "shop").splitlines()
        cells = lines[1].split() if len(lines) == 2 else []
        return lines[0].split() if cells[:2] == ["shop", want] else None

    assert kubectl.wait_for("Endpoints listing both pods", row) == ["NAME", "ENDPOINTS", "AGE"]


def test_get_endpointslices(kubectl: Kubectl, pod_ips: list[str]) -> None:
    def row() -> list[str] | None:
        lines = kubectl.out("get", "endpointslices", "-l", "kubernetes.io/service-name=shop").splitlines()
        cells = lines[1].split() if len(lines) == 2 else []
        listed = sorted(cells[3].split(",")) if len(cells) > 3 else []
        return lines if cells[1:3] == ["IPv4", "8080"] and listed == pod_ips else None

    lines = kubectl.wait_for("one slice listing both pods", row)
    assert lines[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert lines[1].split()[0].startswith("shop-")


def test_describe_service_lists_the_endpoints(kubectl: Kubectl, pod_ips: list[str]) -> None:
    def endpoints_line() -> str | None:
        for line in kubectl.out("describe", "svc", "shop").splitlines():
            if line.startswith("Endpoints:") and all(f"{ip}:8080" in line for ip in pod_ips):
                return line
        return None

    assert kubectl.wait_for("describe listing both endpoints", endpoints_line)


@pytest.mark.parametrize(("path", "field"), [("endpointslice.endpoints.conditions", "serving"),
                                              ("endpoints.subsets", "notReadyAddresses")])
def test_explain(kubectl: Kubectl, path: str, field: str) -> None:
    out = kubectl.out("explain", path)
    assert any(line.split()[:1] == [field] for line in out.splitlines()), out
