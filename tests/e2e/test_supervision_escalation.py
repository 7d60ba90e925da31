"""Escalation up the supervision tree on real Docker: pod -> ReplicaSet -> Deployment -> rollback."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from apimachinery.supervision import (
    AUTO_ROLLBACK,
    FAILED_ON,
    INTENSITY,
    LAST_AVAILABLE_REVISION,
    PERIOD,
    REJECTED_TEMPLATE,
    RESTART_INTENSITY_EXCEEDED,
)
from tests.controllers.e2e_helpers import (
    DEPLOYMENTS,
    REPLICASETS,
    create_deployment,
    deployment_manifest,
    get_deployment,
    list_items,
    live_pods,
    node_condition,
    rollout_complete,
    set_image,
)
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("docker_cleanup")]

GOOD, BAD = "podvisor/e2e-serves:1", "podvisor/e2e-exits-1:1"
REVISION = "deployment.kubernetes.io/revision"


@pytest.fixture(scope="module")
def images(busybox_image: str) -> Iterator[None]:
    """A good image (sleeps) and a bad one (exits 1 at once), differing only in their CMD."""
    for tag, cmd in ((GOOD, '["sleep", "3600"]'), (BAD, '["sh", "-c", "exit 1"]')):
        subprocess.run(["docker", "build", "-q", "-t", tag, "-"], input=f"FROM {busybox_image}\nCMD {cmd}\n",
                       text=True, check=True, capture_output=True, timeout=120)
    yield
    subprocess.run(["docker", "rmi", "-f", GOOD, BAD], capture_output=True, timeout=60)


def start_nodes(cluster: Cluster, count: int) -> list[str]:
    names = [cluster.start_kubelet(f"node-{i}", "--restart-backoff-initial", "0") for i in range(1, count + 1)]
    with cluster.http() as http:
        for name in names:
            cluster.wait_for(f"node {name} Ready", lambda n=name: node_condition(http, n) == "True", timeout=60)
    return names


def supervised_deployment(name: str, replicas: int, *, auto_rollback: bool) -> dict[str, Any]:
    manifest = deployment_manifest(name, replicas, image=GOOD, surge=1, unavailable=0)
    # A crashing container can be Ready for an instant; as in Kubernetes, minReadySeconds keeps
    # such a pod from counting as available, so no old pod is scaled down for it.
    manifest["spec"]["minReadySeconds"] = 3
    manifest["metadata"]["annotations"] = {INTENSITY: "1", PERIOD: "300", AUTO_ROLLBACK: str(auto_rollback).lower()}
    template = manifest["spec"]["template"]
    template["metadata"]["annotations"] = {INTENSITY: "1", PERIOD: "60"}
    del template["spec"]["containers"][0]["command"]  # the image's CMD decides: a bad image is a bad release
    return manifest


def progressing(http: httpx.Client, name: str) -> dict[str, Any]:
    d = get_deployment(http, name) or {}
    conditions = (d.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Progressing"), {})


def events(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    items = http.get("/api/v1/namespaces/default/events").json().get("items") or []
    return [e for e in items if (e.get("involvedObject") or {}).get("name") == name]


def test_an_escalated_pod_is_replaced_on_another_node(cluster: Cluster, busybox_image: str) -> None:
    nodes = start_nodes(cluster, 2)
    manifest = deployment_manifest("brittle", 1)
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    # Crash until the pod is a replacement of an escalated one (it then carries failed-on).
    container["command"] = ["sh", "-c", 'if [ -z "$FAILED_ON" ]; then sleep 0.2; exit 1; fi; sleep 3600']
    container["env"] = [{"name": "FAILED_ON", "valueFrom": {"fieldRef": {
        "fieldPath": f"metadata.annotations['{FAILED_ON}']"}}}]
    manifest["spec"]["template"]["metadata"]["annotations"] = {INTENSITY: "1", PERIOD: "60"}
    with cluster.http() as http:
        create_deployment(http, manifest)

        def settled() -> tuple[dict[str, Any], dict[str, Any]] | None:
            pods = live_pods(http, "brittle")
            failed = [p for p in pods if p["status"].get("reason") == RESTART_INTENSITY_EXCEEDED]
            running = [p for p in pods if p["status"].get("phase") == "Running"
                       and p["metadata"].get("annotations", {}).get(FAILED_ON)]
            return (failed[0], running[0]) if failed and running else None

        failed, replacement = cluster.wait_for("an escalated pod and its running replacement", settled, timeout=90)

    assert failed["status"]["phase"] == "Failed"
    bad_node = failed["spec"]["nodeName"]
    assert replacement["spec"]["nodeName"] != bad_node and replacement["spec"]["nodeName"] in nodes
    assert replacement["metadata"]["annotations"][FAILED_ON] == bad_node
    with cluster.http() as http:
        scheduled = [e["message"] for e in events(http, replacement["metadata"]["name"]) if e["reason"] == "Scheduled"]
    assert scheduled and f"preferred over {bad_node}" in scheduled[0], scheduled


def test_a_bad_release_is_rolled_back_automatically(cluster: Cluster, images: None) -> None:
    start_nodes(cluster, 2)
    with cluster.http() as http:
        create_deployment(http, supervised_deployment("ledger", 2, auto_rollback=True))
        cluster.wait_for("revision 1 available", lambda: rollout_complete(http, "ledger"), timeout=90)
        cluster.wait_for("revision 1 recorded as available", lambda: (get_deployment(http, "ledger") or {})
                         ["metadata"]["annotations"].get(LAST_AVAILABLE_REVISION) == "1", timeout=30)

        set_image(http, "ledger", BAD)
        cluster.wait_for("rolled back to the good image", lambda: (get_deployment(http, "ledger") or {})
                         ["spec"]["template"]["spec"]["containers"][0]["image"] == GOOD, timeout=120)
        cluster.wait_for("all replicas available again", lambda: rollout_complete(http, "ledger"), timeout=90)

        d = get_deployment(http, "ledger")
        assert d is not None
        assert d["metadata"]["annotations"][REJECTED_TEMPLATE]
        assert d["metadata"]["annotations"][REVISION] == "3"
        history = {rs["metadata"]["annotations"][REVISION]: rs for rs in list_items(http, REPLICASETS, "app=ledger")}
        cause = history["3"]["metadata"]["annotations"].get("kubernetes.io/change-cause", "")
        assert "auto-rollback" in cause and RESTART_INTENSITY_EXCEEDED in cause, cause
        assert history["3"]["spec"]["template"]["spec"]["containers"][0]["image"] == GOOD
        assert "RolledBack" in [e["reason"] for e in events(http, "ledger")]
        pods = [p for p in live_pods(http, "ledger") if p["status"].get("phase") == "Running"]
        assert len(pods) == 2 and all(p["spec"]["containers"][0]["image"] == GOOD for p in pods)

        set_image(http, "ledger", BAD)  # the same bad release again is held, not retried
        cluster.wait_for("the rejected template is held", lambda: progressing(http, "ledger").get("reason")
                         == "RevisionRejected", timeout=30)
        assert sum(1 for p in live_pods(http, "ledger") if p["status"].get("phase") == "Running") == 2


def test_without_auto_rollback_the_rollout_stops(cluster: Cluster, images: None) -> None:
    start_nodes(cluster, 2)
    with cluster.http() as http:
        create_deployment(http, supervised_deployment("halt", 2, auto_rollback=False))
        cluster.wait_for("revision 1 available", lambda: rollout_complete(http, "halt"), timeout=90)

        set_image(http, "halt", BAD)
        condition = cluster.wait_for("the rollout stopped", lambda: (c := progressing(http, "halt")).get("reason")
                                     == RESTART_INTENSITY_EXCEEDED and c, timeout=120)

        assert condition["status"] == "False" and "exceeded their restart intensity" in condition["message"]
        d = get_deployment(http, "halt")
        assert d is not None and d["spec"]["template"]["spec"]["containers"][0]["image"] == BAD
        good = [p for p in live_pods(http, "halt") if p["status"].get("phase") == "Running"
                and p["spec"]["containers"][0]["image"] == GOOD]
        assert len(good) == 2
        assert http.get(f"{DEPLOYMENTS}/halt").json()["status"].get("availableReplicas") == 2
