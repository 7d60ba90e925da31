"""Helpers for the controllers' e2e tests (tests/e2e/test_controllers_*.py): HTTP reads, a pod watch,
Docker counts by label."""

from __future__ import annotations

import json
import subprocess
import threading
from typing import Any

import httpx

from tests.e2e.cluster import Cluster

BUSYBOX = "podvisor/busybox:latest"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
REPLICASETS = "/apis/apps/v1/namespaces/default/replicasets"
PODS = "/api/v1/namespaces/default/pods"
NODES = "/api/v1/nodes"
MERGE = {"Content-Type": "application/merge-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def deployment_manifest(name: str, replicas: int, *, image: str = BUSYBOX, surge: Any = "25%",
                        unavailable: Any = "25%") -> dict[str, Any]:
    container = {"name": "main", "image": image, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [container], "terminationGracePeriodSeconds": 1}},
        },
    }


def create_deployment(http: httpx.Client, manifest: dict[str, Any]) -> dict[str, Any]:
    response = http.post(DEPLOYMENTS, json=manifest)
    assert response.status_code == 201, response.text
    return dict(response.json())


def get_deployment(http: httpx.Client, name: str) -> dict[str, Any] | None:
    response = http.get(f"{DEPLOYMENTS}/{name}")
    return dict(response.json()) if response.status_code == 200 else None


def scale(http: httpx.Client, name: str, replicas: int) -> None:
    response = http.patch(f"{DEPLOYMENTS}/{name}/scale", json={"spec": {"replicas": replicas}}, headers=MERGE)
    assert response.status_code == 200, response.text


def set_image(http: httpx.Client, name: str, image: str) -> None:
    """What ``kubectl set image`` sends."""
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": image}]}}}}
    response = http.patch(f"{DEPLOYMENTS}/{name}", json=patch, headers=STRATEGIC)
    assert response.status_code == 200, response.text


def rollout_complete(http: httpx.Client, name: str) -> bool:
    """``kubectl rollout status``'s test for a finished rollout."""
    d = get_deployment(http, name)
    if d is None:
        return False
    status, want = d.get("status") or {}, d["spec"]["replicas"]
    return (status.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and status.get("updatedReplicas", 0) >= want and status.get("replicas", 0) <= status.get("updatedReplicas", 0)
            and status.get("availableReplicas", 0) >= status.get("updatedReplicas", 0) == want)


def undo(http: httpx.Client, name: str, *, to_revision: int | None = None) -> None:
    """What ``kubectl rollout undo`` sends: the old ReplicaSet's template, hash label removed."""
    d = get_deployment(http, name)
    assert d is not None
    current = int(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
    rss = [rs for rs in list_items(http, REPLICASETS, f"app={name}")
           if any(ref["uid"] == d["metadata"]["uid"] for ref in rs["metadata"].get("ownerReferences") or [])]
    by_revision = {int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]): rs for rs in rss}
    target = to_revision or max(r for r in by_revision if r != current)
    template = by_revision[target]["spec"]["template"]
    template["metadata"]["labels"].pop("pod-template-hash", None)
    response = http.patch(f"{DEPLOYMENTS}/{name}", json=[{"op": "replace", "path": "/spec/template", "value": template}],
                          headers=JSON_PATCH)
    assert response.status_code == 200, response.text


def list_items(http: httpx.Client, path: str, selector: str | None = None) -> list[dict[str, Any]]:
    response = http.get(path, params={"labelSelector": selector} if selector else None)
    assert response.status_code == 200, response.text
    return list(response.json().get("items") or [])


def live_pods(http: httpx.Client, app: str) -> list[dict[str, Any]]:
    """Pods of ``app`` not being deleted."""
    return [p for p in list_items(http, PODS, f"app={app}") if not p["metadata"].get("deletionTimestamp")]


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def node_condition(http: httpx.Client, node: str) -> str | None:
    response = http.get(f"{NODES}/{node}")
    if response.status_code != 200:
        return None
    for cond in (response.json().get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status"))
    return None


def node_taints(http: httpx.Client, node: str) -> list[str]:
    return [t["key"] for t in (http.get(f"{NODES}/{node}").json().get("spec") or {}).get("taints") or []]


def running_containers(app_pods: set[str] | None = None, *, node: str | None = None) -> list[dict[str, str]]:
    """Running app containers (sandboxes excluded), as {pod, node} rows from ``docker ps``."""
    filters = ["--filter", "label=io.podvisor.container=main", "--filter", "label=io.podvisor.pod.namespace=default"]
    if node:
        filters += ["--filter", f"label=io.podvisor.node={node}"]
    done = subprocess.run(["docker", "ps", "--format", "{{json .Labels}}", *filters],
                          capture_output=True, text=True, timeout=60)
    rows = []
    for line in done.stdout.splitlines():
        labels = dict(kv.split("=", 1) for kv in json.loads(line).split(",") if "=" in kv)
        pod = labels.get("io.podvisor.pod.name", "")
        if app_pods is None or pod in app_pods:
            rows.append({"pod": pod, "node": labels.get("io.podvisor.node", "")})
    return rows


def containers_of(app: str, *, node: str | None = None) -> list[dict[str, str]]:
    """Running containers whose pod name starts with ``<app>-`` (ReplicaSet pods of a Deployment)."""
    return [r for r in running_containers(node=node) if r["pod"].startswith(f"{app}-")]


class PodWatch:
    """A background watch of pods in ``default``: every event kept in order, for "the whole time" checks."""

    def __init__(self, cluster: Cluster, selector: str) -> None:
        self.cluster = cluster
        self.selector = selector
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.listed = 0
        self.started = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with self.cluster.http() as http:
                listed = http.get(PODS, params={"labelSelector": self.selector}).json()
                with self._lock:
                    self.events.extend(("ADDED", item) for item in listed.get("items") or [])
                    self.listed = len(self.events)
                params = {"watch": "true", "labelSelector": self.selector,
                          "resourceVersion": listed["metadata"]["resourceVersion"], "timeoutSeconds": "900"}
                with http.stream("GET", PODS, params=params, timeout=httpx.Timeout(None, connect=10)) as response:
                    self.started.set()
                    for line in response.iter_lines():
                        if line.strip():
                            event = json.loads(line)
                            if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                                with self._lock:
                                    self.events.append((event["type"], event["object"]))
        except httpx.HTTPError:
            pass  # the cluster went away at the end of the test
        finally:
            self.started.set()

    def snapshot(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self.events)

    def changes(self) -> list[tuple[str, dict[str, Any]]]:
        """Events after the initial list."""
        with self._lock:
            return list(self.events[self.listed:])

    def ready_counts(self) -> list[int]:
        """After each event: how many pods were Ready and not being deleted."""
        state: dict[str, dict[str, Any]] = {}
        counts = []
        for kind, pod in self.snapshot():
            uid = pod["metadata"]["uid"]
            if kind == "DELETED":
                state.pop(uid, None)
            else:
                state[uid] = pod
            counts.append(sum(1 for p in state.values() if is_ready(p) and not p["metadata"].get("deletionTimestamp")))
        return counts

    def start(self) -> PodWatch:
        self._thread.start()
        assert self.started.wait(30), "the pod watch did not start"
        return self
