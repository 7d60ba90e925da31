"""Ephemeral containers on the real Docker daemon: run once in the pod's namespaces, never restarted."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import (
    IMAGE,
    PODS,
    container_status,
    create,
    docker,
    get,
    make_pod,
    pod_containers,
    status,
    wait_status,
)

pytestmark = pytest.mark.e2e
SMP = {"content-type": "application/strategic-merge-patch+json"}


def ephemeral_status(pod_status: dict[str, Any], name: str) -> dict[str, Any]:
    return next((c for c in pod_status.get("ephemeralContainerStatuses") or [] if c["name"] == name), {})


def add_ephemeral(cluster: Cluster, pod: str, container: dict[str, Any]) -> None:
    body = {"spec": {"ephemeralContainers": [{"image": IMAGE, "imagePullPolicy": "IfNotPresent", **container}]}}
    with cluster.http() as h:
        response = h.patch(f"{PODS}/{pod}/ephemeralcontainers", content=json.dumps(body), headers=SMP)
    assert response.status_code == 200, response.text


def inspect(container_id: str) -> dict[str, Any]:
    return dict(json.loads(docker("inspect", container_id))[0])


def _running(name: str) -> Any:
    return lambda s: "running" in (ephemeral_status(s, name).get("state") or {})


def test_a_debug_container_shares_the_target_pid_namespace_and_the_pod_network(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1")
    create(cluster, make_pod("target", node, [
        {"name": "app", "command": ["sh", "-c", "exec sleep 7777"]},
        {"name": "other", "command": ["sh", "-c", "exec sleep 8888"]},
    ], terminationGracePeriodSeconds=1))
    wait_status(cluster, "target", lambda s: s.get("phase") == "Running", "Running")
    add_ephemeral(cluster, "target", {"name": "debugger", "targetContainerName": "app", "stdin": True, "tty": True,
                                      "command": ["sleep", "3600"]})
    st = wait_status(cluster, "target", _running("debugger"), "debugger running")
    debugger = ephemeral_status(st, "debugger")
    assert (debugger["ready"], debugger["restartCount"], debugger["image"]) == (False, 0, IMAGE)
    assert st["phase"] == "Running"
    assert [c["status"] for c in st["conditions"] if c["type"] == "Ready"] == ["True"]

    debugger_id = debugger["containerID"].split("://")[1]
    app_id = container_status(st, "app")["containerID"].split("://")[1]
    processes = docker("exec", debugger_id, "ps", "-o", "args")
    assert "sleep 7777" in processes and "sleep 8888" not in processes
    config = inspect(debugger_id)
    assert config["HostConfig"]["PidMode"] == f"container:{app_id}"
    uid = (get(cluster, "target") or {})["metadata"]["uid"]
    sandbox = next(c for c in pod_containers(uid) if "io.podvisor.container=POD" in c["Labels"])
    assert config["HostConfig"]["NetworkMode"] in (f"container:{sandbox['ID']}", f"container:{sandbox['Names']}")
    assert (config["Config"]["OpenStdin"], config["Config"]["Tty"], config["Config"]["StdinOnce"]) == (True, True, False)


def test_an_ephemeral_container_that_exits_is_not_restarted(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    create(cluster, make_pod("host", node, [{"name": "app", "command": ["sleep", "3600"]}],
                             terminationGracePeriodSeconds=1))
    wait_status(cluster, "host", lambda s: s.get("phase") == "Running", "Running")
    add_ephemeral(cluster, "host", {"name": "once", "command": ["sh", "-c", "exit 3"]})
    st = wait_status(cluster, "host", lambda s: "terminated" in (ephemeral_status(s, "once").get("state") or {}),
                     "once terminated")
    assert ephemeral_status(st, "once")["state"]["terminated"]["exitCode"] == 3
    time.sleep(3)  # a restart (back-off 0) would have happened by now
    st = status(cluster, "host")
    once = ephemeral_status(st, "once")
    assert once["restartCount"] == 0 and "terminated" in once["state"]
    uid = (get(cluster, "host") or {})["metadata"]["uid"]
    attempts = [c for c in pod_containers(uid) if "io.podvisor.container=once" in c["Labels"]]
    assert len(attempts) == 1
    assert st["phase"] == "Running" and container_status(st, "app")["restartCount"] == 0
