"""Container environments from ConfigMaps and Secrets on Docker, read through the node's credentials.

The kubelet reads the objects as ``system:node:<name>``, so the Node authorizer's graph must
relate them to the pod; a pod whose ConfigMap does not exist yet waits with
``CreateContainerConfigError`` and starts once it is created.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e


@pytest.fixture
def node(cluster: Cluster, tmp_path: Path) -> Iterator[str]:
    yield cluster.start_kubelet("env", "--root-dir", str(tmp_path / "kubelet"))


def pod(name: str, node: str, image: str, **container: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "restartPolicy": "Never",
                     "containers": [{"name": "main", "image": image, "imagePullPolicy": "Never",
                                     "command": ["sh", "-c", "env | sort"], **container}]}}


def phase(cluster: Cluster, name: str, wanted: tuple[str, ...], timeout: float = 90) -> dict[str, Any]:
    with cluster.http() as http:
        def check() -> dict[str, Any] | None:
            got = http.get(f"/api/v1/namespaces/default/pods/{name}").json()
            return got if got.get("status", {}).get("phase") in wanted else None

        return dict(cluster.wait_for(f"pod {name} in {wanted}", check, timeout=timeout, interval=0.5))


def test_env_from_config_maps_and_secrets(cluster: Cluster, node: str, busybox_image: str) -> None:
    secret = {"metadata": {"name": "db"}, "data": {"password": base64.b64encode(b"s3cret").decode()}}
    with cluster.http() as http:
        assert http.post("/api/v1/namespaces/default/configmaps",
                         json={"metadata": {"name": "app"}, "data": {"MODE": "fast", "1st": "x"}}).status_code == 201
        assert http.post("/api/v1/namespaces/default/secrets", json=secret).status_code == 201
        created = http.post("/api/v1/namespaces/default/pods", json=pod(
            "printer", node, busybox_image,
            envFrom=[{"configMapRef": {"name": "app"}, "prefix": "APP_"}, {"configMapRef": {"name": "app"}}],
            env=[{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "MODE"}}},
                 {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                 {"name": "BOTH", "value": "$(MODE)/$(APP_MODE)"}]))
        assert created.status_code == 201, created.text
        finished = phase(cluster, "printer", ("Succeeded", "Failed"))
        output = http.get("/api/v1/namespaces/default/pods/printer/log").text
        assert finished["status"]["phase"] == "Succeeded", output + cluster.log_tail()
        lines = output.splitlines()
        assert {"MODE=fast", "APP_MODE=fast", "PASSWORD=s3cret", "BOTH=fast/fast"} <= set(lines), output
        assert "APP_1st=x" in lines and not any(line.startswith("1st") for line in lines)  # 1st is not a valid name
        event = cluster.wait_for("the InvalidEnvironmentVariableNames event", lambda: next(
            (e for e in http.get("/api/v1/namespaces/default/events").json()["items"]
             if e["reason"] == "InvalidEnvironmentVariableNames"), None), timeout=30, interval=0.5)
        assert event["message"].startswith("Keys [1st] from the EnvFrom configMap default/app were skipped")


def test_a_pod_waits_for_its_config_map_then_starts(cluster: Cluster, node: str, busybox_image: str) -> None:
    with cluster.http() as http:
        created = http.post("/api/v1/namespaces/default/pods", json=pod(
            "waiter", node, busybox_image, env=[{"name": "LATER", "valueFrom": {
                "configMapKeyRef": {"name": "late", "key": "k"}}}]))
        assert created.status_code == 201, created.text

        def waiting() -> dict[str, Any] | None:
            statuses = http.get("/api/v1/namespaces/default/pods/waiter").json().get("status", {}).get(
                "containerStatuses") or []
            state = statuses[0].get("state", {}).get("waiting") if statuses else None
            return state if state and state.get("reason") == "CreateContainerConfigError" else None

        state = cluster.wait_for("CreateContainerConfigError", waiting, timeout=60, interval=0.5)
        assert state["message"] == 'configmap "late" not found'
        assert http.post("/api/v1/namespaces/default/configmaps",
                         json={"metadata": {"name": "late"}, "data": {"k": "here"}}).status_code == 201
        finished = phase(cluster, "waiter", ("Succeeded", "Failed"), timeout=60)
        output = http.get("/api/v1/namespaces/default/pods/waiter/log").text
        assert finished["status"]["phase"] == "Succeeded", output + cluster.log_tail()
        assert "LATER=here" in output.splitlines()
