"""Helpers shared by the kubelet e2e tests (tests/e2e/test_kubelet_*.py): pods with ``spec.nodeName`` set, status polling, docker."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from tests.e2e.cluster import Cluster

IMAGE = "podvisor/busybox:latest"
PODS = "/api/v1/namespaces/default/pods"


def make_pod(name: str, node: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    for container in [*containers, *spec.get("initContainers", [])]:
        container.setdefault("image", IMAGE)
        container.setdefault("imagePullPolicy", "IfNotPresent")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "containers": containers, **spec}}


def create(cluster: Cluster, pod: dict[str, Any]) -> dict[str, Any]:
    with cluster.http() as h:
        response = h.post(PODS, json=pod)
        assert response.status_code == 201, response.text
        return dict(response.json())


def get(cluster: Cluster, name: str) -> dict[str, Any] | None:
    with cluster.http() as h:
        response = h.get(f"{PODS}/{name}")
        return dict(response.json()) if response.status_code == 200 else None


def status(cluster: Cluster, name: str) -> dict[str, Any]:
    pod = get(cluster, name)
    return dict((pod or {}).get("status") or {})


def container_status(pod_status: dict[str, Any], name: str) -> dict[str, Any]:
    return next((c for c in pod_status.get("containerStatuses") or [] if c["name"] == name), {})


def wait_status(cluster: Cluster, name: str, check: Any, what: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the pod's status until ``check(status)`` holds; return that status."""
    def probe() -> dict[str, Any] | None:
        st = status(cluster, name)
        return st if st and check(st) else None

    return dict(cluster.wait_for(f"{name}: {what}", probe, timeout=timeout, interval=0.1))


def wait_node(cluster: Cluster, node: str, timeout: float = 30.0) -> None:
    def ready() -> bool:
        with cluster.http() as h:
            response = h.get(f"/api/v1/nodes/{node}")
        if response.status_code != 200:
            return False
        conditions = response.json().get("status", {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    cluster.wait_for(f"node {node} Ready", ready, timeout=timeout)


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def pod_containers(uid: str, *, all_states: bool = True) -> list[dict[str, Any]]:
    """``docker ps`` rows of a pod's containers (the sandbox included)."""
    args = ["ps", "--no-trunc", "--format", "{{json .}}", "--filter", f"label=io.podvisor.pod.uid={uid}"]
    out = docker(*(args[:1] + (["-a"] if all_states else []) + args[1:]))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def events_of(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    with cluster.http() as h:
        items = h.get("/api/v1/namespaces/default/events").json().get("items") or []
    return [e for e in items if (e.get("involvedObject") or {}).get("name") == name]


def wait_gone(cluster: Cluster, name: str, timeout: float = 60.0) -> float:
    start = time.monotonic()
    cluster.wait_for(f"pod {name} removed", lambda: get(cluster, name) is None, timeout=timeout, interval=0.1)
    return time.monotonic() - start
