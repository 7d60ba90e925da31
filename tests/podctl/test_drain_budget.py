"""``podctl drain`` with a PodDisruptionBudget, on real kubelets: it waits for the budget instead
of failing on the eviction's 429, and leaves the DaemonSet's pod on the node."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster
from tests.podctl.conftest import Podctl, write

pytestmark = pytest.mark.e2e

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: podvisor/busybox:latest, imagePullPolicy: Never, command: ["sleep", "3600"]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: app}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: app}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, image: podvisor/busybox:latest, imagePullPolicy: Never, command: ["sleep", "3600"]}
"""


def _pods(cluster: Cluster, selector: str) -> list[dict[str, object]]:
    with cluster.http() as client:
        items = client.get("/api/v1/namespaces/default/pods", params={"labelSelector": selector}).json()["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def _ready(pod: dict[str, object]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []  # type: ignore[union-attr]
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def test_drain_waits_for_the_disruption_budget(podctl_e2e: Podctl, cluster: Cluster, tmp_path: Path) -> None:
    podctl = podctl_e2e
    drained = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    other = cluster.start_kubelet("node-2", "--restart-backoff-initial", "0")
    for node in (drained, other):
        cluster.wait_for(f"{node} to register", lambda n=node: cluster.http().get(f"/api/v1/nodes/{n}").status_code
                         == 200, timeout=60)
    assert podctl("cordon", other).code == 0  # both replicas on the node to drain
    assert podctl("apply", "-f", str(write(tmp_path / "app.yaml", APP))).code == 0
    cluster.wait_for("both replicas ready on the drained node", lambda: [
        (p["spec"].get("nodeName"), _ready(p)) for p in _pods(cluster, "app=app")] == [(drained, True)] * 2,  # type: ignore[index]
        timeout=120)
    cluster.wait_for("the daemon pods ready", lambda: len([p for p in _pods(cluster, "app=agent") if _ready(p)]) == 2,
                     timeout=120)
    assert podctl("uncordon", other).code == 0
    with cluster.http() as client:
        cluster.wait_for("one disruption allowed", lambda: client.get(
            "/apis/policy/v1/namespaces/default/poddisruptionbudgets/app").json().get("status", {}).get(
            "disruptionsAllowed") == 1, timeout=60)
    done = podctl("drain", drained, "--ignore-daemonsets", "--grace-period", "1", "--timeout", "180s")
    assert done.code == 0, done.err + cluster.log_tail()
    assert done.out.splitlines()[-1] == f"node/{drained} drained"
    assert "(will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget." in done.err
    assert "Warning: ignoring DaemonSet-managed Pods: default/agent-" in done.err
    assert {p["spec"]["nodeName"] for p in _pods(cluster, "app=app")} == {other}  # type: ignore[index]
    assert drained in {p["spec"]["nodeName"] for p in _pods(cluster, "app=agent")}  # type: ignore[index]
