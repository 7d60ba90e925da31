"""The metrics API on a real cluster: a real Docker kubelet, the API server's scraper, and the
real ``kubectl top`` and ``podctl top`` reading it.

The scrape interval is one second so two samples (a CPU rate needs two) exist soon after the
pods start. A pod spinning a shell loop must show CPU; a sleeping one next to nothing.
"""

from __future__ import annotations

import re
import subprocess
import time
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from apimachinery.quantity import cpu_millis
from podctl.cli import cli
from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import create, make_pod, wait_node, wait_status

pytestmark = [pytest.mark.e2e, pytest.mark.server_args("--metric-resolution", "1")]

BASE = "mapi-metrics"
METRICS = "/apis/metrics.k8s.io/v1beta1"
BURN = ["sh", "-c", "while :; do :; done"]
IDLE = ["sleep", "3600"]
BUSY_MILLICORES = 50  # a spinning shell gets far more than this even on a shared machine
IDLE_MILLICORES = 20


def running(name: str) -> Any:
    return lambda st: st.get("phase") == "Running"


def pod_cpu(cluster: Cluster, name: str) -> int | None:
    with cluster.http() as h:
        response = h.get(f"{METRICS}/namespaces/default/pods/{name}")
    if response.status_code != 200:
        return None
    return sum(cpu_millis(c["usage"]["cpu"]) for c in response.json()["containers"])


def kubectl(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", "--kubeconfig", str(cluster.data_dir / "admin.kubeconfig"), *args],
                          capture_output=True, text=True, timeout=60)


def podctl(cluster: Cluster, *args: str) -> Any:
    return CliRunner().invoke(cli, [*args, "--kubeconfig", str(cluster.data_dir / "admin.kubeconfig")],
                              catch_exceptions=False)


@pytest.fixture
def metered(cluster: Cluster) -> tuple[Cluster, str]:
    """A node running a burning and an idle pod, both with CPU rates in the metrics API."""
    node = cluster.start_kubelet(BASE)
    wait_node(cluster, node)
    create(cluster, make_pod("burn", node, [{"name": "spin", "command": BURN}]))
    create(cluster, make_pod("idle", node, [{"name": "nap", "command": IDLE}]))
    for name in ("burn", "idle"):
        wait_status(cluster, name, running(name), "Running")
    started = time.monotonic()
    cluster.wait_for("the burning pod's CPU in the metrics API",
                     lambda: (pod_cpu(cluster, "burn") or 0) >= BUSY_MILLICORES, timeout=60)
    cluster.wait_for("the idle pod's metrics", lambda: pod_cpu(cluster, "idle") is not None, timeout=30)
    print(f"\nmetrics of a new pod served after {time.monotonic() - started:.1f} s (resolution 1 s)")
    return cluster, node


def test_kubelet_summary_through_the_node_proxy(metered: tuple[Cluster, str]) -> None:
    cluster, node = metered
    with cluster.http() as h:
        response = h.get(f"/api/v1/nodes/{node}/proxy/stats/summary")
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["node"]["nodeName"] == node
    assert summary["node"]["memory"]["workingSetBytes"] > 0
    pods = {p["podRef"]["name"]: p for p in summary["pods"]}
    spin = pods["burn"]["containers"][0]
    assert spin["name"] == "spin" and spin["cpu"]["usageCoreNanoSeconds"] > 0
    assert spin["memory"]["workingSetBytes"] > 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", spin["cpu"]["time"])


def test_burning_pod_shows_cpu_and_idle_pod_little(metered: tuple[Cluster, str]) -> None:
    cluster, node = metered
    with cluster.http() as h:
        pods = {p["metadata"]["name"]: p for p in h.get(f"{METRICS}/namespaces/default/pods").json()["items"]}
        nodes = h.get(f"{METRICS}/nodes").json()["items"]
    assert cpu_millis(pods["burn"]["containers"][0]["usage"]["cpu"]) >= BUSY_MILLICORES
    assert cpu_millis(pods["idle"]["containers"][0]["usage"]["cpu"]) < IDLE_MILLICORES
    assert [n["metadata"]["name"] for n in nodes] == [node]
    assert cpu_millis(nodes[0]["usage"]["cpu"]) >= BUSY_MILLICORES


def test_kubectl_top_node_and_pod(metered: tuple[Cluster, str]) -> None:
    cluster, node = metered
    top_node = kubectl(cluster, "top", "node")
    assert top_node.returncode == 0, top_node.stderr
    assert re.search(rf"^{node}\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%", top_node.stdout, re.M), top_node.stdout
    top_pod = kubectl(cluster, "top", "pod", "--containers")
    assert top_pod.returncode == 0, top_pod.stderr
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in top_pod.stdout.splitlines()[1:]}
    assert cpu_millis(rows[("burn", "spin")][0]) >= BUSY_MILLICORES, top_pod.stdout
    assert cpu_millis(rows[("idle", "nap")][0]) < IDLE_MILLICORES, top_pod.stdout
    print(f"\n{top_node.stdout}{top_pod.stdout}")
    podctl_pods = podctl(cluster, "top", "pod", "--containers")
    assert podctl_pods.exit_code == 0, podctl_pods.stderr
    assert podctl_pods.stdout.splitlines()[0].split() == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    podctl_rows = {tuple(line.split()[:2]): line.split()[2:] for line in podctl_pods.stdout.splitlines()[1:]}
    assert cpu_millis(podctl_rows[("burn", "spin")][0]) >= BUSY_MILLICORES, podctl_pods.stdout
    podctl_nodes = podctl(cluster, "top", "node")
    assert podctl_nodes.exit_code == 0 and re.search(rf"^{node}\s+\d+m\s+\d+%", podctl_nodes.stdout, re.M)
    resources = kubectl(cluster, "api-resources", "--api-group", "metrics.k8s.io")
    assert resources.returncode == 0, resources.stderr
    assert {line.split()[-1] for line in resources.stdout.splitlines()[1:]} == {"NodeMetrics", "PodMetrics"}


def test_metrics_need_the_reader_role(metered: tuple[Cluster, str]) -> None:
    cluster, node = metered
    nobody = cluster.service_account_token("mapi-nobody", None)
    reader = cluster.service_account_token("mapi-reader", "system:aggregated-metrics-reader")
    with httpx.Client(base_url=cluster.url, verify=str(cluster.data_dir / "ca.crt"), timeout=30) as client:
        for path in (f"{METRICS}/nodes", f"{METRICS}/nodes/{node}", f"{METRICS}/namespaces/default/pods",
                     f"{METRICS}/namespaces/default/pods/burn"):
            denied = client.get(path, headers={"Authorization": f"Bearer {nobody}"})
            assert denied.status_code == 403 and denied.json()["reason"] == "Forbidden", denied.text
            assert client.get(path, headers={"Authorization": f"Bearer {reader}"}).status_code == 200


HOSTILE = [  # (method, path, code): none of them may change anything or answer 500
    ("GET", f"{METRICS}/pods?labelSelector=app%3D%3D%3Dx", 400),
    ("GET", f"{METRICS}/pods?labelSelector=%28%28", 400),
    ("GET", f"{METRICS}/nodes?fieldSelector=spec.nodeName%3Dx%3D", 400),
    ("GET", f"{METRICS}/nodes/mapi-ghost", 404),
    ("GET", f"{METRICS}/namespaces/default/pods/ghost", 404),
    ("GET", f"{METRICS}/namespaces/nowhere/pods/burn", 404),
    ("GET", f"{METRICS}/nodes/{'x' * 5000}", 404),
    ("GET", f"{METRICS}/nodes?watch=true", 405),
    ("GET", f"{METRICS}/watch/namespaces/default/pods", 405),
    ("POST", f"{METRICS}/namespaces/default/pods", 405),
    ("PUT", f"{METRICS}/nodes/mapi-ghost", 405),
    ("DELETE", f"{METRICS}/namespaces/default/pods/burn", 405),
]


def test_hostile_requests_get_a_status_and_change_nothing(metered: tuple[Cluster, str]) -> None:
    cluster, node = metered
    with cluster.http() as h:
        for method, path, code in HOSTILE:
            response = h.request(method, path, json={} if method in ("POST", "PUT") else None)
            assert (response.status_code, response.json()["kind"]) == (code, "Status"), f"{method} {path}"
        assert sorted(p["metadata"]["name"] for p in h.get(f"{METRICS}/pods").json()["items"]) == ["burn", "idle"]
        assert sorted(p["metadata"]["name"] for p in h.get("/api/v1/namespaces/default/pods").json()["items"]) == [
            "burn", "idle"]
        assert h.get(f"/api/v1/nodes/{node}").status_code == 200


HOLLOW_NODES = 20
ROUND = re.compile(r"metrics scrape round: (\d+) of (\d+) Ready nodes answered in ([\d.]+) s")


@pytest.mark.server_args("--metric-resolution", "1", "-v")
def test_hollow_nodes_each_report_their_own_metrics(cluster: Cluster) -> None:
    base = cluster.start_kubelet(f"{BASE}-hollow", "--hollow", "--hollow-nodes", str(HOLLOW_NODES),
                                 "--hollow-read-kubeconfig", str(cluster.data_dir / "admin.kubeconfig"))
    nodes = [f"{base}-{i}" for i in range(HOLLOW_NODES)]
    for node in nodes:
        wait_node(cluster, node)
    create(cluster, make_pod("h0", nodes[0], [{"name": "c", "image": "anything/at-all:7"}]))
    wait_status(cluster, "h0", running("h0"), "Running on a hollow node")

    def listed() -> set[str]:
        with cluster.http() as h:
            return {n["metadata"]["name"] for n in h.get(f"{METRICS}/nodes").json()["items"]}

    cluster.wait_for("every hollow node in NodeMetrics", lambda: listed() == set(nodes), timeout=60)
    cluster.wait_for("the hollow pod's metrics", lambda: pod_cpu(cluster, "h0") is not None, timeout=30)
    rounds = [m for m in ROUND.findall((cluster.logs / "server.log").read_text()) if m[1] == str(HOLLOW_NODES)]
    if rounds:
        took = sorted(float(r[2]) for r in rounds)
        print(f"\nscrape round over {HOLLOW_NODES} hollow nodes: median {took[len(took) // 2] * 1000:.0f} ms "
              f"(of {len(took)} rounds)")


@pytest.mark.server_args("--metric-resolution", "0")
def test_a_disabled_metrics_api_says_so(cluster: Cluster) -> None:
    with cluster.http() as h:
        response = h.get(f"{METRICS}/nodes")
    assert response.status_code == 503 and response.json()["reason"] == "ServiceUnavailable"
    top_pod = kubectl(cluster, "top", "pod")
    assert top_pod.returncode == 1 and "metrics API is disabled" in top_pod.stderr
    result = podctl(cluster, "top", "node")
    assert result.exit_code == 1 and "metrics API is disabled" in result.stderr
