"""podctl with real kubelets on Docker: logs, rollout status, drain, delete waiting on a kubelet."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster
from tests.podctl.conftest import Podctl, write

pytestmark = pytest.mark.e2e

TALKER = """\
apiVersion: v1
kind: Pod
metadata: {{name: talker, labels: {{app: talk}}}}
spec:
  nodeName: {node}
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: podvisor/busybox:latest
    command: ["sh", "-c", "echo one; echo two; echo three; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"]
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  progressDeadlineSeconds: {deadline}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: {image}
        imagePullPolicy: {policy}
        command: ["sh", "-c", "echo hello from {name}; sleep 3600"]
"""


def deployment(name: str, *, replicas: int = 2, image: str = "podvisor/busybox:latest", policy: str = "IfNotPresent",
               deadline: int = 600) -> str:
    return DEPLOYMENT.format(name=name, replicas=replicas, image=image, policy=policy, deadline=deadline)


def start_node(cluster: Cluster) -> str:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    cluster.wait_for("the node to register", lambda: cluster.http().get(f"/api/v1/nodes/{node}").status_code == 200)
    return node


def test_logs_of_a_pod_and_of_a_deployment(podctl_e2e: Podctl, cluster: Cluster, tmp_path: Path) -> None:
    podctl = podctl_e2e
    node = start_node(cluster)
    assert podctl("apply", "-f", str(write(tmp_path / "p.yaml", TALKER.format(node=node)))).code == 0
    cluster.wait_for("the first lines", lambda: "three" in podctl("logs", "talker").out, timeout=90)
    full = podctl("logs", "talker").out.splitlines()
    assert full[:3] == ["one", "two", "three"]
    tail = podctl("logs", "pod/talker", "--tail", "1").out.splitlines()
    assert len(tail) == 1 and tail[0].startswith(("tick", "three"))
    stamped = podctl("logs", "talker", "--timestamps", "-c", "main").out.splitlines()
    assert stamped[0].endswith(" one") and stamped[0][:4].isdigit()
    assert podctl("logs", "talker", "--since", "1h").out.splitlines()[0] == "one"
    bad = podctl("logs", "talker", "-c", "nope")
    assert bad.code == 1 and "container nope is not valid for pod talker" in bad.err

    follow = podctl.process("logs", "-f", "talker")
    try:
        assert follow.stdout is not None
        seen = [follow.stdout.readline().strip() for _ in range(5)]
        assert seen[:3] == ["one", "two", "three"] and seen[4].startswith("tick")
    finally:
        follow.terminate()
        follow.wait(timeout=10)

    assert podctl("apply", "-f", str(write(tmp_path / "d.yaml", deployment("greeter", replicas=1)))).code == 0
    text = cluster.wait_for("the deployment's log", lambda: podctl("logs", "deploy/greeter").out, timeout=90)
    assert text == "hello from greeter\n"


def test_rollout_status_waits_for_the_rollout(podctl_e2e: Podctl, cluster: Cluster, tmp_path: Path) -> None:
    podctl = podctl_e2e
    start_node(cluster)
    assert podctl("apply", "-f", str(write(tmp_path / "d.yaml", deployment("web", replicas=2)))).code == 0
    start = time.monotonic()
    result = podctl("rollout", "status", "deployment/web", "--timeout", "120s")
    assert result.code == 0, result.err + cluster.log_tail()
    lines = result.out.splitlines()
    assert lines[-1] == 'deployment "web" successfully rolled out'
    assert any(line.startswith('Waiting for deployment "web" rollout to finish: ') for line in lines[:-1]), lines
    assert time.monotonic() - start < 120
    again = podctl("rollout", "status", "deploy/web")
    assert again.out == 'deployment "web" successfully rolled out\n'


def test_rollout_status_fails_on_progress_deadline(podctl_e2e: Podctl, cluster: Cluster, tmp_path: Path) -> None:
    podctl = podctl_e2e
    start_node(cluster)
    manifest = deployment("broken", replicas=1, image="podvisor/does-not-exist:1", policy="Never", deadline=3)
    assert podctl("apply", "-f", str(write(tmp_path / "d.yaml", manifest))).code == 0
    result = podctl("rollout", "status", "deploy/broken", "--timeout", "120s")
    assert result.code == 1, result.out + cluster.log_tail()
    assert result.err == 'error: deployment "broken" exceeded its progress deadline\n'
    assert "Waiting for deployment" in result.out


def test_rollout_status_timeout(podctl_e2e: Podctl, cluster: Cluster, tmp_path: Path) -> None:
    podctl = podctl_e2e
    manifest = deployment("stuck", replicas=1)  # no node: never available
    assert podctl("apply", "-f", str(write(tmp_path / "d.yaml", manifest))).code == 0
    start = time.monotonic()
    result = podctl("rollout", "status", "deploy/stuck", "--timeout", "3s")
    assert result.code == 1 and result.err == "error: timed out waiting for the condition\n"
    assert time.monotonic() - start < 15


def test_delete_waits_for_the_kubelet_to_stop_the_pod(podctl_e2e: Podctl, cluster: Cluster, tmp_path: Path) -> None:
    podctl = podctl_e2e
    node = start_node(cluster)
    podctl("apply", "-f", str(write(tmp_path / "p.yaml", TALKER.format(node=node))))
    cluster.wait_for("the pod to run", lambda: "Running" in podctl("get", "pod", "talker").out, timeout=90)
    result = podctl("delete", "pod", "talker")
    assert result.code == 0, result.err
    assert result.out == 'pod "talker" deleted\n'
    assert not podctl.exists("v1/pods/talker"), "delete returns only once the pod is gone"


def test_drain_evicts_pods_and_waits(podctl_e2e: Podctl, cluster: Cluster, tmp_path: Path) -> None:
    podctl = podctl_e2e
    node = start_node(cluster)
    podctl("apply", "-f", str(write(tmp_path / "d.yaml", deployment("app", replicas=1))))
    podctl("apply", "-f", str(write(tmp_path / "p.yaml", TALKER.format(node=node))))
    cluster.wait_for("both pods to run", lambda: podctl("get", "pods").out.count("Running") == 2, timeout=120)
    refused = podctl("drain", node)
    assert refused.code == 1
    assert "cannot delete Pods that declare no controller (use --force to override): default/talker" in refused.err
    drained = podctl("drain", node, "--force", "--ignore-daemonsets", "--grace-period", "1", "--timeout", "90s")
    assert drained.code == 0, drained.err + cluster.log_tail()
    assert drained.out.splitlines()[0] == f"node/{node} already cordoned"
    assert drained.out.splitlines()[-1] == f"node/{node} drained"
    assert "evicting pod default/talker" in drained.err
    assert "Warning: deleting Pods that declare no controller: default/talker" in drained.err
    with cluster.http() as client:
        pods = client.get("/api/v1/pods", params={"fieldSelector": f"spec.nodeName={node}"}).json()["items"]
        assert pods == []
        assert client.get(f"/api/v1/nodes/{node}").json()["spec"]["unschedulable"] is True
