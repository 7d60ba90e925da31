"""A Deployment behind a Service on a real cluster: its Endpoints and EndpointSlices follow the pods.

Two kubelets on Docker. The Service targets a named container port; the pods' readiness probe
reads a file the test removes in one container, and the time from the pod turning unready (seen
on the API) to its address leaving the ready set is measured and printed: that is what the
service proxy can do no better than.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx
import pytest

from tests.controllers.e2e_helpers import (
    create_deployment,
    is_ready,
    live_pods,
    node_condition,
    rollout_complete,
    scale,
)
from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e

NS_PATH = "/api/v1/namespaces/default"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
#: The controller's share of an unready pod's removal (informer event -> sync -> write -> event).
MAX_REMOVAL_SECONDS = 2.0


def manifest(name: str, replicas: int) -> dict[str, Any]:
    probe = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1, "failureThreshold": 1}
    container = {"name": "main", "image": "podvisor/busybox:latest", "imagePullPolicy": "IfNotPresent",
                 "command": ["sh", "-c", "touch /tmp/ready; sleep 3600"],
                 "ports": [{"name": "http", "containerPort": 8080}], "readinessProbe": probe}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [container], "terminationGracePeriodSeconds": 1}}}}


def ready_endpoint_ips(http: httpx.Client, name: str) -> tuple[set[str], set[str]] | None:
    """(ready IPs in Endpoints, ready IPs across the Service's EndpointSlices), None while absent."""
    ep = http.get(f"{NS_PATH}/endpoints/{name}")
    slices = http.get(SLICES, params={"labelSelector": f"kubernetes.io/service-name={name}"})
    if ep.status_code != 200 or slices.status_code != 200:
        return None
    in_endpoints = {a["ip"] for s in ep.json().get("subsets") or [] for a in s.get("addresses") or []}
    in_slices = {e["addresses"][0] for s in slices.json()["items"] for e in s.get("endpoints") or []
                 if (e.get("conditions") or {}).get("ready")}
    return in_endpoints, in_slices


def slice_ips(http: httpx.Client, name: str) -> set[str]:
    """Every address of the Service's slices, terminating ones included."""
    slices = http.get(SLICES, params={"labelSelector": f"kubernetes.io/service-name={name}"}).json()["items"]
    return {e["addresses"][0] for s in slices for e in s.get("endpoints") or []}


def ready_pod_ips(http: httpx.Client, name: str) -> set[str]:
    return {p["status"]["podIP"] for p in live_pods(http, name) if is_ready(p) and p["status"].get("podIP")}


def both_equal(http: httpx.Client, name: str, want: set[str]) -> bool:
    return ready_endpoint_ips(http, name) == (want, want)


def test_endpoints_follow_readiness_and_scale(cluster: Cluster) -> None:
    nodes = [cluster.start_kubelet(f"node-{i}") for i in (1, 2)]
    with cluster.http() as http:
        for node in nodes:
            cluster.wait_for(f"node {node} Ready", lambda n=node: node_condition(http, n) == "True", timeout=60)
        service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}}
        assert http.post(f"{NS_PATH}/services", json=service).status_code == 201
        create_deployment(http, manifest("web", 3))
        cluster.wait_for("3/3 available", lambda: rollout_complete(http, "web"), timeout=120)
        ips = cluster.wait_for("3 ready pod IPs", lambda: (lambda s: s if len(s) == 3 else None)(
            ready_pod_ips(http, "web")), timeout=60)
        cluster.wait_for("Endpoints and slices list the 3 pods", lambda: both_equal(http, "web", ips), timeout=30)
        [endpoint_slice] = http.get(SLICES, params={"labelSelector": "kubernetes.io/service-name=web"}).json()["items"]
        assert [p["port"] for p in endpoint_slice["ports"]] == [8080]  # the named targetPort, resolved
        assert endpoint_slice["metadata"]["ownerReferences"][0]["kind"] == "Service"

        victim = next(p for p in live_pods(http, "web") if p["status"]["podIP"] in ips)
        victim_ip = victim["status"]["podIP"]
        container = victim["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
        subprocess.run(["docker", "exec", container, "rm", "/tmp/ready"], check=True, timeout=30)
        started = time.monotonic()
        cluster.wait_for("the pod unready", lambda: victim_ip not in ready_pod_ips(http, "web"), timeout=30,
                         interval=0.02)
        unready_at = time.monotonic()
        cluster.wait_for("its address out of the ready set",
                         lambda: both_equal(http, "web", ips - {victim_ip}), timeout=30, interval=0.02)
        removed_at = time.monotonic()
        print(f"\nprobe failure -> pod unready {unready_at - started:.2f}s; "
              f"pod unready -> out of Endpoints and EndpointSlices {removed_at - unready_at:.2f}s")
        assert removed_at - unready_at < MAX_REMOVAL_SECONDS
        slices = http.get(SLICES, params={"labelSelector": "kubernetes.io/service-name=web"}).json()["items"]
        conditions = {e["addresses"][0]: e["conditions"] for s in slices for e in s["endpoints"]}
        assert conditions[victim_ip] == {"ready": False, "serving": False, "terminating": False}
        not_ready = {a["ip"] for s in http.get(f"{NS_PATH}/endpoints/web").json()["subsets"]
                     for a in s.get("notReadyAddresses") or []}
        assert not_ready == {victim_ip}

        subprocess.run(["docker", "exec", container, "touch", "/tmp/ready"], check=True, timeout=30)
        cluster.wait_for("ready again", lambda: both_equal(http, "web", ips), timeout=30)

        scale(http, "web", 2)
        cluster.wait_for("2 pods", lambda: len(live_pods(http, "web")) == 2 and rollout_complete(http, "web"),
                         timeout=60)
        kept = ready_pod_ips(http, "web")
        assert len(kept) == 2
        cluster.wait_for("the scaled-down address gone", lambda: both_equal(http, "web", kept)
                         and slice_ips(http, "web") == kept, timeout=30)
