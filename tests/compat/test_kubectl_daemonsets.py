"""The real kubectl with DaemonSets and PodDisruptionBudgets on kubelets on Docker.

A DaemonSet runs one pod on each of three nodes, a fourth node that joins gets its own, and
``kubectl rollout restart`` replaces them one node at a time (the most nodes seen without a
ready pod is recorded); ``rollout history`` lists the two templates and ``rollout undo`` brings
the first back. ``kubectl drain --ignore-daemonsets`` with a budget of ``minAvailable:
2`` over three replicas on the drained node evicts them one at a time: kubectl's eviction is
refused with 429 until the replacement is ready elsewhere, and the DaemonSet pod stays.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.compat.conftest import Kubectl, ready_nodes
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

NODES = ("ds-a", "ds-b", "ds-c")
IMAGE = "podvisor/busybox:latest"
TICKER = "trap 'exit 0' TERM; while true; do sleep 0.5; done"
PODS = "/api/v1/namespaces/default/pods"


def template(app: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": app}}, "spec": {
        "terminationGracePeriodSeconds": 2,
        "containers": [{"name": "main", "image": IMAGE, "imagePullPolicy": "Never",
                        "command": ["sh", "-c", TICKER]}]}}


@pytest.fixture(scope="module")
def nodes(kubectl: Kubectl, compat_cluster: Cluster) -> list[str]:
    names = sorted(compat_cluster.node_name(base) for base in NODES)
    kubectl.wait_for("three nodes Ready", lambda: sorted(ready_nodes(kubectl)) == names, timeout=60)
    return names


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def live_pods(cluster: Cluster, app: str) -> list[dict[str, Any]]:
    with cluster.http() as http:
        items = http.get(PODS, params={"labelSelector": f"app={app}"}).json()["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


@contextmanager
def sampling(measure: Callable[[], int]) -> Iterator[list[int]]:
    """Call ``measure`` every 0.2 s in a thread while the block runs; yields the samples."""
    samples: list[int] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # a failed poll is no sample
                samples.append(measure())
            stop.wait(0.2)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join(timeout=10)


def rolled_out(kubectl: Kubectl, ref: str) -> str:
    out = kubectl.out("rollout", "status", ref, "--timeout=180s", timeout=200)
    return out.strip().splitlines()[-1]


AGENT = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
         "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template("agent")}}


def test_a_daemonset_runs_on_every_node_follows_a_new_node_and_rolls_one_node_at_a_time(
        kubectl: Kubectl, compat_cluster: Cluster, nodes: list[str]) -> None:
    kubectl.apply(AGENT)
    assert rolled_out(kubectl, "ds/agent") == 'daemon set "agent" successfully rolled out'
    assert Counter(p["spec"]["nodeName"] for p in live_pods(compat_cluster, "agent")) == Counter(nodes)
    header, row = kubectl.out("get", "ds", "agent").splitlines()
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR",
                              "AGE"]
    assert row.split()[:7] == ["agent", "3", "3", "3", "3", "3", "<none>"]

    joined = compat_cluster.start_kubelet("ds-d", "--restart-backoff-initial", "0")
    kubectl.wait_for("the fourth node's pod running", lambda: any(
        p["spec"].get("nodeName") == joined and _ready(p) for p in live_pods(compat_cluster, "agent")), timeout=90)
    every = [*nodes, joined]
    assert rolled_out(kubectl, "ds/agent") == 'daemon set "agent" successfully rolled out'
    described = kubectl.out("describe", "ds", "agent")
    assert "Desired Number of Nodes Scheduled: 4" in described, described
    assert "4 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described, described
    old = {p["metadata"]["labels"]["controller-revision-hash"] for p in live_pods(compat_cluster, "agent")}

    def unavailable() -> int:
        ready_on = {p["spec"].get("nodeName") for p in live_pods(compat_cluster, "agent") if _ready(p)}
        return len(set(every) - ready_on)

    with sampling(unavailable) as samples:
        assert kubectl.out("rollout", "restart", "ds/agent").strip() == "daemonset.apps/agent restarted"
        kubectl.wait_for("every pod replaced", lambda: (
            {p["metadata"]["labels"]["controller-revision-hash"] for p in live_pods(compat_cluster, "agent")}
            .isdisjoint(old) and len(live_pods(compat_cluster, "agent")) == len(every)), timeout=180)
        assert rolled_out(kubectl, "ds/agent") == 'daemon set "agent" successfully rolled out'
    assert samples and max(samples) == 1, samples  # maxUnavailable 1: never two nodes without a ready pod
    assert Counter(p["spec"]["nodeName"] for p in live_pods(compat_cluster, "agent")) == Counter(every)

    history = kubectl.out("rollout", "history", "ds/agent").split()
    assert history[:3] == ["daemonset.apps/agent", "REVISION", "CHANGE-CAUSE"], history
    assert history[3:] == ["1", "<none>", "2", "<none>"], history
    assert kubectl.out("rollout", "undo", "ds/agent").strip() == "daemonset.apps/agent rolled back"
    assert rolled_out(kubectl, "ds/agent") == 'daemon set "agent" successfully rolled out'
    kubectl.wait_for("the first template back on every node", lambda: (
        {p["metadata"]["labels"]["controller-revision-hash"] for p in live_pods(compat_cluster, "agent")} == old
        and len(live_pods(compat_cluster, "agent")) == len(every)), timeout=180)
    revisions = kubectl.out("get", "controllerrevisions").splitlines()
    assert revisions[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert sorted(r.split()[1:3] for r in revisions[1:]) == [["daemonset.apps/agent", "2"],
                                                             ["daemonset.apps/agent", "3"]]


def test_drain_evicts_one_pod_at_a_time_within_the_disruption_budget(
        kubectl: Kubectl, compat_cluster: Cluster, nodes: list[str]) -> None:
    drained = nodes[0]
    others = [n for n in ready_nodes(kubectl) if n != drained]  # a node that joined earlier included
    kubectl.apply(AGENT)  # a daemon pod on the drained node, which drain must leave alone
    assert rolled_out(kubectl, "ds/agent") == 'daemon set "agent" successfully rolled out'
    for node in others:  # put all three replicas on the node to drain
        kubectl.run("cordon", node)
    kubectl.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "guarded"},
                   "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "guarded"}},
                            "template": template("guarded")}})
    assert rolled_out(kubectl, "deployment/guarded") == 'deployment "guarded" successfully rolled out'
    assert {p["spec"]["nodeName"] for p in live_pods(compat_cluster, "guarded")} == {drained}
    for node in others:
        kubectl.run("uncordon", node)
    kubectl.apply({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "guarded"},
                   "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "guarded"}}}})
    kubectl.wait_for("the budget to allow one disruption", lambda: kubectl.json("get", "pdb", "guarded").get(
        "status", {}).get("disruptionsAllowed") == 1)
    header, row = kubectl.out("get", "pdb", "guarded").splitlines()
    assert header.split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert row.split()[:4] == ["guarded", "2", "N/A", "1"]
    described = " ".join(kubectl.out("describe", "pdb", "guarded").split())
    assert "Min available: 2" in described and "Allowed disruptions: 1" in described, described

    def ready_count() -> int:
        return sum(1 for p in live_pods(compat_cluster, "guarded") if _ready(p))

    with sampling(ready_count) as samples:
        started = time.monotonic()
        done = kubectl.run("drain", drained, "--ignore-daemonsets", "--timeout=240s", timeout=260)
        took = time.monotonic() - started
    assert done.stdout.strip().splitlines()[-1] == f"node/{drained} drained", done.stdout
    assert "Cannot evict pod as it would violate the pod's disruption budget." in done.stderr, done.stderr
    assert "ignoring DaemonSet-managed Pods" in done.stderr, done.stderr
    assert samples and min(samples) >= 2, samples
    pods = live_pods(compat_cluster, "guarded")
    assert len(pods) == 3 and drained not in {p["spec"].get("nodeName") for p in pods}
    assert took > 5, took  # at least one refusal made kubectl wait its 5 s
    agents = [p for p in live_pods(compat_cluster, "agent") if p["spec"].get("nodeName") == drained]
    assert len(agents) == 1, "the DaemonSet's pod stays on the drained node"
    kubectl.run("uncordon", drained)
    kubectl.run("delete", "pdb", "guarded")
    kubectl.run("delete", "deployment", "guarded")
