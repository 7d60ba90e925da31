"""StatefulSets end to end: ordered start on two kubelets sharing one Docker network, and each
pod's stable DNS name through the headless Service (``web-1.web``) from a pod on another node.

The pods' readiness probe lets the test see the order: ``web-1`` is created only once ``web-0``
is Running and Ready, so the creation timestamps are strictly increasing and each pod starts
after the previous one's Ready transition.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import wait_node

pytestmark = pytest.mark.e2e

NS = "default"
PODS = f"/api/v1/namespaces/{NS}/pods"
SETS = f"/apis/apps/v1/namespaces/{NS}/statefulsets"
SERVICES = f"/api/v1/namespaces/{NS}/services"
IMAGE = "podvisor/busybox:latest"


def statefulset(name: str, replicas: int) -> dict[str, Any]:
    container = {
        "name": "c",
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ready; while true; do sleep 1; done"],
        "readinessProbe": {
            "exec": {"command": ["cat", "/tmp/ready"]},
            "initialDelaySeconds": 1,  # a second at least between creations: distinct timestamps
            "periodSeconds": 1,
            "failureThreshold": 1,
        },
    }
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
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 1},
            },
        },
    }


def headless(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"clusterIP": "None", "selector": {"app": name}, "ports": [{"name": "x", "port": 80}]},
    }


def ready_at(pod: dict[str, Any]) -> str | None:
    for condition in pod.get("status", {}).get("conditions") or []:
        if condition["type"] == "Ready" and condition["status"] == "True":
            return str(condition["lastTransitionTime"])
    return None


def docker_exec(container: str, *args: str) -> str:
    done = subprocess.run(["docker", "exec", container, *args], capture_output=True, text=True, timeout=30)
    return done.stdout


def container_of(pod: dict[str, Any]) -> str:
    return str(pod["status"]["containerStatuses"][0]["containerID"]).split("://", 1)[1]


def test_a_statefulset_starts_in_order_and_each_pod_has_a_dns_name(cluster: Cluster) -> None:
    network = f"podvisor-sts-{cluster.suffix}"
    nodes = [
        cluster.start_kubelet(
            f"sts{i}", "--network", network, "--root-dir", str(cluster.data_dir / f"root{i}")
        )
        for i in (1, 2)
    ]
    for node in nodes:
        wait_node(cluster, node)
    with cluster.http() as http:
        assert http.post(SERVICES, json=headless("web")).status_code == 201
        created = http.post(SETS, json=statefulset("web", 3))
        assert created.status_code == 201, created.text

        def all_ready() -> dict[str, dict[str, Any]] | None:
            pods = {
                p["metadata"]["name"]: p
                for p in http.get(PODS, params={"labelSelector": "app=web"}).json()["items"]
            }
            return (
                pods
                if sorted(pods) == ["web-0", "web-1", "web-2"] and all(map(ready_at, pods.values()))
                else None
            )

        pods = cluster.wait_for("web-0..2 ready", all_ready, timeout=120)
        created_at = [pods[f"web-{i}"]["metadata"]["creationTimestamp"] for i in range(3)]
        assert created_at == sorted(created_at) and len(set(created_at)) == 3, created_at
        for lower, higher in ((0, 1), (1, 2)):  # each pod was created once the previous one was Ready
            assert (
                str(ready_at(pods[f"web-{lower}"])) <= pods[f"web-{higher}"]["metadata"]["creationTimestamp"]
            )
        assert {p["spec"]["hostname"] for p in pods.values()} == {"web-0", "web-1", "web-2"}
        assert {p["spec"]["subdomain"] for p in pods.values()} == {"web"}

        status = cluster.wait_for(
            "status of 3 ready",
            lambda: (s := http.get(f"{SETS}/web").json()["status"]).get("readyReplicas") == 3 and s,
            timeout=30,
        )
        assert status["currentRevision"] == status["updateRevision"] and status["updatedReplicas"] == 3

        # From web-0, and from a pod on another node than web-1's, web-1's stable name gives its IP.
        web1_ip = pods["web-1"]["status"]["podIP"]

        def resolves(container: str) -> bool:
            # busybox's nslookup ignores the search list; ping resolves through it (its first line
            # names the address, whether or not the echo is answered).
            short = docker_exec(container, "ping", "-c1", "-W1", "web-1.web")
            full = docker_exec(container, "nslookup", f"web-1.web.{NS}.svc.cluster.local")
            return f"PING web-1.web ({web1_ip})" in short and web1_ip in full

        cluster.wait_for(
            "web-1.web resolves from web-0", lambda: resolves(container_of(pods["web-0"])), timeout=60
        )
        elsewhere = [p for p in pods.values() if p["spec"]["nodeName"] != pods["web-1"]["spec"]["nodeName"]]
        assert elsewhere, "the scheduler put every pod on one node"
        cluster.wait_for(
            "web-1.web resolves on the other node", lambda: resolves(container_of(elsewhere[0])), timeout=60
        )

        # A deleted pod comes back under its name, once the old one is gone.
        old_uid = pods["web-1"]["metadata"]["uid"]
        assert http.delete(f"{PODS}/web-1").status_code == 200
        cluster.wait_for(
            "web-1 back and ready",
            lambda: (
                (p := http.get(f"{PODS}/web-1")).status_code == 200
                and p.json()["metadata"]["uid"] != old_uid
                and ready_at(p.json())
            ),
            timeout=90,
        )

        # Scale down: the highest ordinal goes first.
        assert (
            http.patch(
                f"{SETS}/web/scale",
                json={"spec": {"replicas": 1}},
                headers={"Content-Type": "application/merge-patch+json"},
            ).status_code
            == 200
        )
        cluster.wait_for(
            "only web-0 left",
            lambda: (
                [
                    p["metadata"]["name"]
                    for p in http.get(PODS, params={"labelSelector": "app=web"}).json()["items"]
                ]
                == ["web-0"]
            ),
            timeout=90,
        )
        assert http.delete(f"{SETS}/web").status_code == 200
        cluster.wait_for(
            "the set's pods collected",
            lambda: http.get(PODS, params={"labelSelector": "app=web"}).json()["items"] == [],
            timeout=60,
        )
