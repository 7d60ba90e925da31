"""A StatefulSet's claims on Docker: each pod gets ``data-<set>-<ordinal>`` from the default
``local-path`` class, data written by ``vol-1`` is there after ``vol-1`` is deleted and comes
back (same claim, same node), and a scale-down (or deleting the set) keeps every claim
(``whenScaled``/``whenDeleted: Retain``).

Skipped until PersistentVolumeClaim is a served kind (the storage work of issue 17).
"""

from __future__ import annotations

import secrets
import subprocess
from typing import Any

import httpx
import pytest

from apimachinery.resources import PERSISTENTVOLUMECLAIMS
from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import wait_node

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        PERSISTENTVOLUMECLAIMS.is_read_only, reason="PersistentVolumeClaims are not served yet"
    ),
]

NS = "default"
PODS = f"/api/v1/namespaces/{NS}/pods"
CLAIMS = f"/api/v1/namespaces/{NS}/persistentvolumeclaims"
SETS = f"/apis/apps/v1/namespaces/{NS}/statefulsets"


def statefulset(replicas: int, *, name: str = "vol", retention: str = "Retain") -> dict[str, Any]:
    container = {
        "name": "c",
        "image": "podvisor/busybox:latest",
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    claim = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": retention, "whenScaled": retention},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 1},
            },
            "volumeClaimTemplates": [claim],
        },
    }


def ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def live_pods(http: httpx.Client, app: str = "vol") -> dict[str, dict[str, Any]]:
    items = http.get(PODS, params={"labelSelector": f"app={app}"}).json()["items"]
    return {p["metadata"]["name"]: p for p in items if not p["metadata"].get("deletionTimestamp")}


def claim_names(http: httpx.Client) -> list[str]:
    return sorted(c["metadata"]["name"] for c in http.get(CLAIMS).json()["items"])


def in_pod(pod: dict[str, Any], script: str) -> str:
    container = str(pod["status"]["containerStatuses"][0]["containerID"]).split("://", 1)[1]
    done = subprocess.run(
        ["docker", "exec", container, "sh", "-c", script], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_pods_data_survives_its_deletion_and_scale_down_keeps_the_claims(cluster: Cluster) -> None:
    nodes = [
        cluster.start_kubelet(f"vol{i}", "--root-dir", str(cluster.data_dir / f"root{i}")) for i in (1, 2)
    ]
    for node in nodes:
        wait_node(cluster, node)
    with cluster.http() as http:
        assert http.post(SETS, json=statefulset(3)).status_code == 201

        def all_ready() -> dict[str, dict[str, Any]] | None:
            pods = live_pods(http)
            return (
                pods
                if sorted(pods) == ["vol-0", "vol-1", "vol-2"] and all(map(ready, pods.values()))
                else None
            )

        pods = cluster.wait_for("vol-0..2 ready", all_ready, timeout=150)
        assert claim_names(http) == ["data-vol-0", "data-vol-1", "data-vol-2"]
        volumes = pods["vol-1"]["spec"]["volumes"]
        assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-vol-1"}} in volumes

        token = secrets.token_hex(8)
        in_pod(pods["vol-1"], f"echo {token} > /data/token")
        old = pods["vol-1"]
        assert http.delete(f"{PODS}/vol-1").status_code == 200
        again = cluster.wait_for(
            "vol-1 back and ready",
            lambda: (
                (p := live_pods(http).get("vol-1"))
                and p["metadata"]["uid"] != old["metadata"]["uid"]
                and ready(p)
                and p
            ),
            timeout=90,
        )
        assert again["spec"]["nodeName"] == old["spec"]["nodeName"]  # where its volume is
        assert in_pod(again, "cat /data/token").strip() == token

        assert (
            http.patch(
                f"{SETS}/vol/scale",
                json={"spec": {"replicas": 1}},
                headers={"Content-Type": "application/merge-patch+json"},
            ).status_code
            == 200
        )
        cluster.wait_for("only vol-0 left", lambda: sorted(live_pods(http)) == ["vol-0"], timeout=90)
        assert claim_names(http) == ["data-vol-0", "data-vol-1", "data-vol-2"]
        assert http.delete(f"{SETS}/vol").status_code == 200
        cluster.wait_for("the set's pods collected", lambda: live_pods(http) == {}, timeout=60)
        assert claim_names(http) == ["data-vol-0", "data-vol-1", "data-vol-2"]


def test_retention_delete_removes_scaled_down_claims_and_the_sets_claims(cluster: Cluster) -> None:
    wait_node(cluster, cluster.start_kubelet("gone1", "--root-dir", str(cluster.data_dir / "root1")))
    with cluster.http() as http:
        assert http.post(SETS, json=statefulset(2, name="gone", retention="Delete")).status_code == 201
        cluster.wait_for(
            "gone-0, gone-1 ready",
            lambda: sorted(n for n, p in live_pods(http, "gone").items() if ready(p)) == ["gone-0", "gone-1"],
            timeout=150,
        )
        assert claim_names(http) == ["data-gone-0", "data-gone-1"]
        assert (
            http.patch(
                f"{SETS}/gone/scale",
                json={"spec": {"replicas": 1}},
                headers={"Content-Type": "application/merge-patch+json"},
            ).status_code
            == 200
        )
        cluster.wait_for(
            "gone-1's claim deleted with it", lambda: claim_names(http) == ["data-gone-0"], timeout=90
        )
        assert http.delete(f"{SETS}/gone").status_code == 200
        cluster.wait_for("the set's claim collected", lambda: claim_names(http) == [], timeout=90)
