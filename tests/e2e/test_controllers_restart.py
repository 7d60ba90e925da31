"""Restarting the control plane changes nothing: no pod created or deleted, one leader at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.controllers.e2e_helpers import (
    PodWatch,
    containers_of,
    create_deployment,
    deployment_manifest,
    live_pods,
    node_condition,
    rollout_complete,
    scale,
)
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("docker_cleanup")]

LEASE = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/podvisor-controller-manager"


def holder(http: httpx.Client) -> str | None:
    response = http.get(LEASE)
    return response.json()["spec"].get("holderIdentity") if response.status_code == 200 else None


def start_nodes(cluster: Cluster) -> None:
    names = [cluster.start_kubelet(f"node-{i}") for i in (1, 2)]
    with cluster.http() as http:
        for name in names:
            cluster.wait_for(f"node {name} Ready", lambda n=name: node_condition(http, n) == "True", timeout=60)


@pytest.fixture
def managers(cluster: Cluster) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Standalone ``podvisor controllers`` processes by name; all stopped after the test."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def start_manager(cluster: Cluster, procs: dict[str, subprocess.Popen[bytes]], name: str) -> None:
    procs[name] = cluster._spawn(name, ["controllers", "--kubeconfig", str(cluster.data_dir / "admin.kubeconfig")])


def changes(watch: PodWatch) -> list[tuple[str, str]]:
    """Pods created or deleted since the watch started (status updates do not count)."""
    out = []
    for kind, pod in watch.changes():
        if kind in ("ADDED", "DELETED") or pod["metadata"].get("deletionTimestamp"):
            out.append((kind, pod["metadata"]["name"]))
    return out


@pytest.mark.server_args("--disable", "controllers")
def test_standalone_managers_fail_over_without_touching_pods(
    cluster: Cluster, managers: dict[str, subprocess.Popen[bytes]]
) -> None:
    start_nodes(cluster)
    with cluster.http() as http:
        start_manager(cluster, managers, "cm-a")
        first = cluster.wait_for("cm-a leads", lambda: holder(http), timeout=30)
        start_manager(cluster, managers, "cm-b")  # a standby
        create_deployment(http, deployment_manifest("web", 4))
        cluster.wait_for("4/4 available", lambda: rollout_complete(http, "web"), timeout=120)
        watch = PodWatch(cluster, "app=web").start()

        # a graceful stop releases the lease: the standby takes over well before it would expire
        os.kill(managers["cm-a"].pid, signal.SIGINT)
        managers["cm-a"].wait(timeout=20)
        second = cluster.wait_for("cm-b leads", lambda: (h := holder(http)) not in (None, first) and h, timeout=10)
        # a killed leader holds the lease until it expires (15 s); then the next one leads
        managers["cm-b"].kill()
        managers["cm-b"].wait(timeout=10)
        start_manager(cluster, managers, "cm-c")
        cluster.wait_for("cm-c leads", lambda: holder(http) not in (None, first, second), timeout=40)
        time.sleep(5)  # the new leader has synced its caches and worked its queues
        assert changes(watch) == []
        assert len(live_pods(http, "web")) == 4 and rollout_complete(http, "web")

        scale(http, "web", 5)
        cluster.wait_for("5/5 under the new leader", lambda: rollout_complete(http, "web"), timeout=120)
        assert [kind for kind, _ in changes(watch)] == ["ADDED"]


def test_server_restart_creates_and_deletes_no_pod(cluster: Cluster) -> None:
    start_nodes(cluster)
    with cluster.http() as http:
        create_deployment(http, deployment_manifest("web", 4))
        cluster.wait_for("4/4 available", lambda: rollout_complete(http, "web"), timeout=120)
        before = {p["metadata"]["uid"] for p in live_pods(http, "web")}
        leader = holder(http)
    assert cluster.server is not None
    os.kill(cluster.server.pid, signal.SIGINT)
    cluster.server.wait(timeout=30)
    cluster.start_server()
    with cluster.http() as http:
        cluster.wait_for("the restarted manager leads", lambda: holder(http) not in (None, leader), timeout=60)
        time.sleep(5)
        after = {p["metadata"]["uid"] for p in live_pods(http, "web")}
        assert after == before
        assert all(not p["metadata"].get("deletionTimestamp")
                   for p in http.get("/api/v1/namespaces/default/pods").json()["items"])
        assert rollout_complete(http, "web")
        assert len(containers_of("web")) == 4
