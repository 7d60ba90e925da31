"""The real kubectl with Jobs: ``create job``, ``wait --for=condition=complete``, ``logs job/x``,
``get``/``describe``/``delete`` (the pods go with the Job)."""

from __future__ import annotations

import pytest

from tests.compat.conftest import Kubectl, ready_nodes
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

NODES = ("node-1",)
IMAGE = "podvisor/busybox:latest"


@pytest.fixture(scope="module")
def nodes(kubectl: Kubectl, compat_cluster: Cluster) -> list[str]:
    names = sorted(compat_cluster.node_name(base) for base in NODES)
    kubectl.wait_for("node Ready", lambda: sorted(ready_nodes(kubectl)) == names, timeout=60)
    return names


def test_create_job_wait_and_logs(kubectl: Kubectl, nodes: list[str]) -> None:
    out = kubectl.out("create", "job", "hello", f"--image={IMAGE}", "--", "sh", "-c", "echo hello from a job")
    assert out.strip() == "job.batch/hello created"
    waited = kubectl.out("wait", "--for=condition=complete", "job/hello", "--timeout=90s", timeout=120)
    assert waited.strip() == "job.batch/hello condition met"
    assert kubectl.out("logs", "job/hello").strip() == "hello from a job"
    header, row = kubectl.out("get", "job", "hello").strip().splitlines()
    assert header.split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert row.split()[:3] == ["hello", "Complete", "1/1"]
    described = kubectl.out("describe", "job", "hello")
    assert "0 Active (0 Ready) / 1 Succeeded / 0 Failed" in described, described
    assert "SuccessfulCreate" in described and "Completed" in described, described
    job = kubectl.json("get", "job", "hello")
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    pods = kubectl.json("get", "pods", "-l", f"batch.kubernetes.io/controller-uid={uid}")["items"]
    assert len(pods) == 1
    kubectl.out("delete", "job", "hello", "--wait=true", "--timeout=60s", timeout=90)
    kubectl.wait_for("pods gone", lambda: kubectl.json(
        "get", "pods", "-l", f"batch.kubernetes.io/controller-uid={uid}")["items"] == [], timeout=60)


def test_failed_job_prints_failed(kubectl: Kubectl, nodes: list[str]) -> None:
    kubectl.out("create", "job", "boom", f"--image={IMAGE}", "--", "sh", "-c", "exit 3")
    kubectl.run("patch", "job", "boom", "--type=merge", "-p", '{"spec":{"backoffLimit":0}}')
    waited = kubectl.out("wait", "--for=condition=failed", "job/boom", "--timeout=90s", timeout=120)
    assert waited.strip() == "job.batch/boom condition met"
    row = kubectl.out("get", "job", "boom", "--no-headers").split()
    assert row[:3] == ["boom", "Failed", "0/1"]
