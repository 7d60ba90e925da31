"""The real kubectl's ``debug``: an ephemeral container in a running pod, through
``pods/ephemeralcontainers``, shown in the pod's status; and its errors as kubectl words them.

kubectl's default profile (``general``) adds ``SYS_PTRACE`` to the debug container, which Pod
Security ``baseline`` refuses, as on any Kubernetes namespace enforcing baseline; podvisor
enforces baseline where a namespace says nothing, so the main case runs in a namespace labelled
``privileged`` (what a Kubernetes namespace without labels amounts to), and the default namespace
shows the refusal and the ``--profile=baseline`` that passes it.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from kubernetes import client, config

from tests.compat.conftest import Kubectl, ready_nodes
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

NODES = ("node-1",)
IMAGE = "podvisor/busybox:latest"
NS = "debugging"


def make_target(kubectl: Kubectl, namespace: str) -> None:
    kubectl.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "target", "namespace": namespace},
                   "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                       {"name": "c", "image": IMAGE, "command": ["sh", "-c", "exec sleep 7777"]}]}})
    kubectl.run("wait", "-n", namespace, "--for=condition=Ready", "pod/target", "--timeout=60s", timeout=90)


@pytest.fixture(scope="module")
def target(kubectl: Kubectl, compat_cluster: Cluster) -> str:
    node = compat_cluster.node_name(NODES[0])
    kubectl.wait_for("node Ready", lambda: ready_nodes(kubectl) == [node], timeout=60)
    kubectl.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": NS, "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}})
    make_target(kubectl, NS)
    return "target"


def ephemeral_statuses(kubectl: Kubectl, pod: str, namespace: str = NS) -> list[dict[str, Any]]:
    out = kubectl.out("get", "pod", pod, "-n", namespace, "-o", "jsonpath={.status.ephemeralContainerStatuses}")
    return list(json.loads(out)) if out.strip() else []


def test_debug_adds_a_container_that_runs_in_the_target_pid_namespace(kubectl: Kubectl, target: str) -> None:
    done = kubectl.run("debug", "-n", NS, f"pod/{target}", f"--image={IMAGE}", "--target=c", "--", "sleep", "3600")
    assert 'Targeting container "c"' in done.stderr + done.stdout
    spec = kubectl.json("get", "pod", target, "-n", NS)["spec"]["ephemeralContainers"]
    assert len(spec) == 1 and spec[0]["targetContainerName"] == "c" and spec[0]["command"] == ["sleep", "3600"]
    name = spec[0]["name"]
    assert name.startswith("debugger-")

    def running() -> dict[str, Any] | None:
        found = [s for s in ephemeral_statuses(kubectl, target) if s["name"] == name]
        return found[0] if found and "running" in found[0]["state"] else None

    status = kubectl.wait_for("the debug container running", running, timeout=60)
    assert (status["ready"], status["restartCount"], status["image"]) == (False, 0, IMAGE)
    started = kubectl.out("get", "pod", target, "-n", NS, "-o",
                          "jsonpath={.status.ephemeralContainerStatuses[0].state.running.startedAt}")
    assert started.endswith("Z")
    container_id = status["containerID"].split("://")[1]
    processes = subprocess.run(["docker", "exec", container_id, "ps", "-o", "args"], capture_output=True,
                               text=True, timeout=30).stdout
    assert "sleep 7777" in processes


def test_debug_of_a_missing_pod_is_not_found(kubectl: Kubectl, target: str) -> None:
    done = kubectl.run("debug", "-n", NS, "pod/nope", f"--image={IMAGE}", "--", "true", rc=1)
    assert done.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'


def test_an_invalid_target_is_refused_naming_the_field(kubectl: Kubectl, target: str) -> None:
    done = kubectl.run("debug", "-n", NS, f"pod/{target}", f"--image={IMAGE}", "--target=nope", "--", "true", rc=1)
    assert 'spec.ephemeralContainers[1].targetContainerName: Not found: "nope"' in done.stderr, done.stderr


def test_a_baseline_namespace_refuses_the_general_profile_and_takes_the_baseline_one(
    kubectl: Kubectl, target: str
) -> None:
    make_target(kubectl, "default")
    refused = kubectl.run("debug", "pod/target", f"--image={IMAGE}", "--target=c", "--", "sleep", "3600", rc=1)
    assert 'violates PodSecurity "baseline:latest": non-default capabilities' in refused.stderr, refused.stderr
    kubectl.run("debug", "pod/target", f"--image={IMAGE}", "--target=c", "--profile=baseline", "--",
                "sleep", "3600")
    kubectl.wait_for("the debug container running",
                     lambda: any("running" in s["state"] for s in ephemeral_statuses(kubectl, "target", "default")),
                     timeout=60)


def test_interactive_debug_attaches_to_the_new_container(kubectl: Kubectl, target: str) -> None:
    done = kubectl.run("debug", "-n", NS, "-i", f"pod/{target}", f"--image={IMAGE}", "--target=c",
                       "--container=interactive", "--", "sh", stdin="ps -o args\nexit 0\n", timeout=90)
    assert "sleep 7777" in done.stdout, done.stdout

    def exited() -> dict[str, Any] | None:
        found = [s for s in ephemeral_statuses(kubectl, target) if s["name"] == "interactive"]
        return found[0] if found and "terminated" in found[0]["state"] else None

    assert kubectl.wait_for("the interactive container exited", exited, timeout=30)["state"]["terminated"][
        "exitCode"] == 0


def test_the_python_client_adds_and_reads_ephemeral_containers(compat_cluster: Cluster, target: str) -> None:
    api = client.CoreV1Api(config.new_client_from_config(config_file=str(compat_cluster.data_dir / "admin.kubeconfig")))
    body = {"spec": {"ephemeralContainers": [{"name": "from-python", "image": IMAGE, "targetContainerName": "c",
                                               "command": ["sleep", "3600"]}]}}
    patched = api.patch_namespaced_pod_ephemeralcontainers(target, NS, body)
    assert "from-python" in [c.name for c in patched.spec.ephemeral_containers]

    def running() -> Any:
        pod = api.read_namespaced_pod(target, NS)
        found = [s for s in pod.status.ephemeral_container_statuses or [] if s.name == "from-python"]
        return found[0] if found and found[0].state.running is not None else None

    status = compat_cluster.wait_for("the python client's container running", running, timeout=60)
    assert (status.ready, status.restart_count, status.image) == (False, 0, IMAGE)
    via_subresource = api.read_namespaced_pod_ephemeralcontainers(target, NS)
    assert via_subresource.metadata.uid == api.read_namespaced_pod(target, NS).metadata.uid
