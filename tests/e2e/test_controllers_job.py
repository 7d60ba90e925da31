"""Jobs on a real cluster (server + two kubelets on Docker): completions in parallel, a Job that
fails at its backoffLimit, a pod failure policy on an exit code, Indexed pods that see their
index, and a controller manager killed in the middle of a Job (its pods end uncounted, held by
their tracking finalizer, and the next manager counts each once)."""

from __future__ import annotations

import signal
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.controllers.e2e_helpers import BUSYBOX, list_items, node_condition
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("docker_cleanup")]

JOBS = "/apis/batch/v1/namespaces/default/jobs"
PODS = "/api/v1/namespaces/default/pods"


def job_manifest(name: str, command: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": {"spec": {
                "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "main", "image": BUSYBOX, "command": ["sh", "-c", command]}]}}}}


def start_nodes(cluster: Cluster, count: int = 2) -> list[str]:
    names = [cluster.start_kubelet(f"node-{i}", "--restart-backoff-initial", "0") for i in range(1, count + 1)]
    with cluster.http() as http:
        for name in names:
            cluster.wait_for(f"node {name} Ready", lambda n=name: node_condition(http, n) == "True", timeout=60)
    return names


def create(http: httpx.Client, manifest: dict[str, Any]) -> dict[str, Any]:
    resp = http.post(JOBS, json=manifest)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def condition(http: httpx.Client, name: str, kind: str) -> dict[str, Any] | None:
    job = http.get(f"{JOBS}/{name}").json()
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond["type"] == kind and cond["status"] == "True":
            return dict(cond)
    return None


def job_pods(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    return list_items(http, PODS, f"batch.kubernetes.io/job-name={name}")


def test_five_completions_two_at_a_time_on_two_nodes(cluster: Cluster) -> None:
    nodes = start_nodes(cluster)
    with cluster.http() as http:
        create(http, job_manifest("five", "sleep 2; echo done", completions=5, parallelism=2))
        most_active = 0

        def complete() -> bool:
            nonlocal most_active
            running = [p for p in job_pods(http, "five") if p["status"].get("phase") in ("Pending", "Running")]
            most_active = max(most_active, len(running))
            return condition(http, "five", "Complete") is not None

        cluster.wait_for("Complete", complete, timeout=150, interval=0.3)
        status = http.get(f"{JOBS}/five").json()["status"]
        assert (status["succeeded"], status.get("failed", 0), status.get("active", 0)) == (5, 0, 0)
        assert most_active <= 2
        pods = job_pods(http, "five")
        assert len(pods) == 5 and all(p["status"]["phase"] == "Succeeded" for p in pods)
        assert set(Counter(p["spec"]["nodeName"] for p in pods)) == set(nodes)
        assert all("batch.kubernetes.io/job-tracking" not in (p["metadata"].get("finalizers") or []) for p in pods)


def test_failing_job_stops_at_backoff_limit(cluster: Cluster) -> None:
    start_nodes(cluster, 1)
    with cluster.http() as http:
        create(http, job_manifest("fails", "exit 1", backoffLimit=1))
        cluster.wait_for("Failed", lambda: condition(http, "fails", "Failed"), timeout=120)
        failed = condition(http, "fails", "Failed")
        assert failed is not None and failed["reason"] == "BackoffLimitExceeded"
        status = http.get(f"{JOBS}/fails").json()["status"]
        assert status["failed"] == 2 and len(job_pods(http, "fails")) == 2


def test_pod_failure_policy_fails_the_job_on_exit_code_42(cluster: Cluster) -> None:
    start_nodes(cluster, 1)
    policy = {"rules": [{"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
                        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}
    with cluster.http() as http:
        create(http, job_manifest("exit42", "exit 42", backoffLimit=6, podFailurePolicy=policy))
        cluster.wait_for("Failed", lambda: condition(http, "exit42", "Failed"), timeout=90)
        failed = condition(http, "exit42", "Failed")
        assert failed is not None and failed["reason"] == "PodFailurePolicy"
        assert "failed with exit code 42 matching FailJob rule at index 0" in failed["message"]
        assert len(job_pods(http, "exit42")) == 1  # no retry


def test_indexed_job_pods_see_their_index(cluster: Cluster) -> None:
    start_nodes(cluster)
    with cluster.http() as http:
        create(http, job_manifest("idx", 'echo "index=$JOB_COMPLETION_INDEX host=$(hostname)"',
                                  completions=3, parallelism=3, completionMode="Indexed"))
        cluster.wait_for("Complete", lambda: condition(http, "idx", "Complete"), timeout=120)
        assert http.get(f"{JOBS}/idx").json()["status"]["completedIndexes"] == "0-2"
        seen = set()
        for pod in job_pods(http, "idx"):
            index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
            assert pod["metadata"]["name"].startswith(f"idx-{index}-")
            log = http.get(f"{PODS}/{pod['metadata']['name']}/log").text.strip()
            assert log == f"index={index} host=idx-{index}"
            seen.add(index)
        assert seen == {"0", "1", "2"}


def succeeded_pods(http: httpx.Client, name: str) -> int:
    return sum(1 for p in job_pods(http, name) if p["status"].get("phase") == "Succeeded")


@pytest.mark.server_args("--disable", "controllers")
def test_a_controller_manager_killed_mid_job_loses_no_completion_and_adds_no_pod(cluster: Cluster) -> None:
    start_nodes(cluster)
    manager = cluster.start_component("controllers-1", "controllers")
    with cluster.http() as http:
        create(http, job_manifest("survivor", "sleep 2", completions=6, parallelism=2))
        cluster.wait_for("two pods succeeded", lambda: succeeded_pods(http, "survivor") >= 2, timeout=120)
        manager.send_signal(signal.SIGKILL)
        manager.wait(timeout=10)
        # the running pods end while no controller counts them
        cluster.wait_for("the running pods ended", lambda: not [
            p for p in job_pods(http, "survivor") if p["status"].get("phase") in ("Pending", "Running")], timeout=60)
        cluster.start_component("controllers-2", "controllers")
        cluster.wait_for("Complete", lambda: condition(http, "survivor", "Complete"), timeout=180)
        status = http.get(f"{JOBS}/survivor").json()["status"]
        assert (status["succeeded"], status.get("failed", 0)) == (6, 0)
        pods = job_pods(http, "survivor")
        assert len(pods) == 6 and all(p["status"]["phase"] == "Succeeded" for p in pods)
