"""An apiserver in this process (the real app over a temporary SQLite store), for the fuzzing tests.

Requests go through Starlette's test client: the whole ASGI stack (auth, body limit, routing,
error handlers) runs, without sockets, so thousands of requests fit in seconds.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from apimachinery import resources as res
from apimachinery.resources import ResourceType
from apiserver.app import AppSettings, create_app
from apiserver.store.sqlite import SqliteStore

_CONTAINER = {"name": "c", "image": "podvisor/busybox:latest"}
_TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [_CONTAINER]}}

#: A valid body of every served kind; the fuzzers mutate copies of these.
VALID: dict[str, dict[str, Any]] = {
    "Pod": {"spec": {"containers": [_CONTAINER], "terminationGracePeriodSeconds": 30}},
    "Node": {"spec": {"taints": []}, "status": {"capacity": {"cpu": "1"}}},
    "Namespace": {"spec": {}},
    "Event": {"involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "reason": "Started"},
    "Service": {"spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}},
    "Endpoints": {"subsets": [{"addresses": [{"ip": "10.0.0.5"}], "ports": [{"port": 8080, "protocol": "TCP"}]}]},
    "EndpointSlice": {"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.5"], "conditions": {"ready": True}}],
                      "ports": [{"name": "", "port": 8080, "protocol": "TCP"}]},
    "ConfigMap": {"data": {"key": "value"}},
    "Secret": {"stringData": {"password": "hunter2"}},
    "Deployment": {"spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": _TEMPLATE}},
    "ReplicaSet": {"spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": _TEMPLATE}},
    "HorizontalPodAutoscaler": {"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                                         "minReplicas": 1, "maxReplicas": 3, "metrics": [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}},
    "StatefulSet": {"spec": {"replicas": 2, "serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
                             "template": _TEMPLATE}},
    "Job": {"spec": {"completions": 2, "parallelism": 1,
                     "template": {"spec": {"containers": [_CONTAINER], "restartPolicy": "Never"}}}},
    "DaemonSet": {"spec": {"selector": {"matchLabels": {"app": "web"}}, "template": _TEMPLATE}},
    "ControllerRevision": {"data": {"spec": {"template": _TEMPLATE}}, "revision": 1},
    "PodDisruptionBudget": {"spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}},
    "ReplicationController": {"spec": {"replicas": 2, "selector": {"app": "web"}, "template": _TEMPLATE}},
    "CronJob": {"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {
        "spec": {"containers": [_CONTAINER], "restartPolicy": "Never"}}}}}},
    "Lease": {"spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}},
    "ServiceAccount": {"automountServiceAccountToken": False},
    "Role": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    "ClusterRole": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
    "RoleBinding": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                    "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}]},
    "ClusterRoleBinding": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                           "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "devs"}]},
    "PersistentVolumeClaim": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
    "PersistentVolume": {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                  "hostPath": {"path": "/srv/data"}}},
    "StorageClass": {"provisioner": "podvisor.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"},
}


def valid_body(rt: ResourceType, name: str) -> dict[str, Any]:
    body = copy.deepcopy(VALID[rt.kind])
    return {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"name": name}, **body}


def collection_path(rt: ResourceType) -> str:
    return rt.path("default") if rt.namespaced else rt.path(None)


@contextmanager
def running_app(tmp: Path) -> Iterator[tuple[TestClient, SqliteStore]]:
    store = SqliteStore(tmp / "state.db")
    app = create_app(store, AppSettings(compaction_interval=3600))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, store
    finally:
        store.close()


def served_kinds() -> list[ResourceType]:
    """Every stored kind (reviews are answered, never stored, and read-only kinds are never
    written: nothing for a fuzzer to corrupt)."""
    stored = [rt for rt in res.RESOURCES if not rt.is_review and not rt.is_read_only]
    missing = [rt.kind for rt in stored if rt.kind not in VALID]
    assert not missing, f"add a valid body for {missing}"
    return stored
