"""Helpers for the scheduler's e2e tests (tests/e2e/test_scheduler_*.py): pods, nodes, reads over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

BUSYBOX = "podvisor/busybox:latest"
PODS = "/api/v1/namespaces/default/pods"
NODES = "/api/v1/nodes"


def pod_manifest(name: str, *, node_selector: dict[str, str] | None = None, cpu: str | None = None,
                 labels: dict[str, str] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": BUSYBOX, "imagePullPolicy": "Never",
                                 "command": ["sleep", "3600"]}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec: dict[str, Any] = {"containers": [container], "terminationGracePeriodSeconds": 1}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": "e2e"}},
            "spec": spec}


def create_pod(http: httpx.Client, manifest: dict[str, Any]) -> None:
    response = http.post(PODS, json=manifest)
    assert response.status_code == 201, response.text


def get_pod(http: httpx.Client, name: str) -> dict[str, Any]:
    response = http.get(f"{PODS}/{name}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def node_of(http: httpx.Client, name: str) -> str | None:
    return get_pod(http, name)["spec"].get("nodeName")


def pod_scheduled(http: httpx.Client, name: str) -> dict[str, Any] | None:
    for cond in get_pod(http, name).get("status", {}).get("conditions") or []:
        if cond.get("type") == "PodScheduled":
            return dict(cond)
    return None


def node_ready(http: httpx.Client, name: str) -> bool:
    response = http.get(f"{NODES}/{name}")
    if response.status_code != 200:
        return False
    conditions = response.json().get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def patch_node(http: httpx.Client, name: str, patch: dict[str, Any]) -> None:
    response = http.patch(f"{NODES}/{name}", json=patch,
                          headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 200, response.text


def register_node(http: httpx.Client, name: str, *, cpu: str = "4", memory: str = "8Gi", pods: int = 110) -> None:
    """A Ready node made through the API alone (no kubelet): enough for scheduling decisions."""
    capacity = {"cpu": cpu, "memory": memory, "pods": str(pods)}
    response = http.post(NODES, json={"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    assert response.status_code == 201, response.text
    node = response.json()
    node["status"] = {"capacity": capacity, "allocatable": capacity,
                      "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}
    response = http.put(f"{NODES}/{name}/status", json=node)
    assert response.status_code == 200, response.text


def events(http: httpx.Client, pod: str, reason: str) -> list[str]:
    response = http.get("/api/v1/namespaces/default/events")
    assert response.status_code == 200, response.text
    return [e.get("message", "") for e in response.json().get("items") or []
            if e.get("reason") == reason and e.get("involvedObject", {}).get("name") == pod]
