"""The real kubectl driving a StatefulSet: apply, get (NAME READY AGE), rollout status, scale,
rollout restart (a new revision replaces every pod, highest ordinal first) and delete."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.conftest import Kubectl, ready_nodes
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

NODES = ("node-1",)
IMAGE = "podvisor/busybox:latest"


def statefulset(name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "c",
                            "image": IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
                        }
                    ],
                },
            },
        },
    }


@pytest.fixture(scope="module")
def node(kubectl: Kubectl, compat_cluster: Cluster) -> str:
    name = compat_cluster.node_name(NODES[0])
    kubectl.wait_for("the node Ready", lambda: ready_nodes(kubectl) == [name], timeout=60)
    return name


def rolled_out(kubectl: Kubectl, name: str) -> str:
    return kubectl.out("rollout", "status", f"statefulset/{name}", "--timeout=120s", timeout=150)


def test_get_rollout_status_scale_and_restart(kubectl: Kubectl, node: str) -> None:
    assert "statefulset.apps/db created" in kubectl.apply(statefulset("db", 2))
    out = rolled_out(kubectl, "db")
    assert "partitioned roll out complete: 2 new pods have been updated..." in out, out
    table = kubectl.out("get", "sts").splitlines()
    assert table[0].split() == ["NAME", "READY", "AGE"]
    assert table[1].split()[:2] == ["db", "2/2"]
    assert kubectl.out("get", "statefulset", "db", "-o", "name").strip() == "statefulset.apps/db"
    assert "statefulset.apps/db" in kubectl.out("get", "all")
    described = kubectl.out("describe", "sts", "db")
    assert "Pods Status:" in described and "2 Running" in described, described
    assert "SuccessfulCreate" in described, described

    assert "statefulset.apps/db scaled" in kubectl.out("scale", "sts/db", "--replicas=3")
    rolled_out(kubectl, "db")
    pods = sorted(p["metadata"]["name"] for p in kubectl.json("get", "pods", "-l", "app=db")["items"])
    assert pods == ["db-0", "db-1", "db-2"]

    before = {
        p["metadata"]["name"]: p["metadata"]["uid"]
        for p in kubectl.json("get", "pods", "-l", "app=db")["items"]
    }
    assert "statefulset.apps/db restarted" in kubectl.out("rollout", "restart", "sts/db")
    rolled_out(kubectl, "db")

    def replaced() -> bool:
        pods = kubectl.json("get", "pods", "-l", "app=db")["items"]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        return len(live) == 3 and all(p["metadata"]["uid"] != before[p["metadata"]["name"]] for p in live)

    kubectl.wait_for("every pod replaced", replaced, timeout=120)
    status = kubectl.json("get", "sts", "db")["status"]
    assert status["currentRevision"] == status["updateRevision"], status

    kubectl.out("scale", "sts/db", "--replicas=0")
    kubectl.wait_for(
        "no pods", lambda: kubectl.json("get", "pods", "-l", "app=db")["items"] == [], timeout=90
    )
    assert 'statefulset.apps "db" deleted' in kubectl.out("delete", "sts", "db")
