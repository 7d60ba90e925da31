"""A claim of the default local-path class on two kubelets: provisioned where its first pod lands,
followed there by every later pod, kept across pod deletion and a kubelet restart, removed with
the claim."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e
NS = "/api/v1/namespaces/default"


def claim(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}}}


def pod(name: str, image: str, script: str, claim_name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}],
                     "containers": [{"name": "main", "image": image, "imagePullPolicy": "Never",
                                     "command": ["sh", "-c", script],
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}}


def run_to_end(cluster: Cluster, http: Any, body: dict[str, Any]) -> tuple[str, str]:
    """Create the pod, wait for it to finish; (its node, its log)."""
    name = body["metadata"]["name"]
    response = http.post(f"{NS}/pods", json=body)
    assert response.status_code == 201, response.text

    def done() -> dict[str, Any] | None:
        got = http.get(f"{NS}/pods/{name}").json()
        return got if got.get("status", {}).get("phase") in ("Succeeded", "Failed") else None

    final = cluster.wait_for(f"pod {name} to finish", done, timeout=120, interval=0.5)
    log = http.get(f"{NS}/pods/{name}/log").text
    assert final["status"]["phase"] == "Succeeded", log + cluster.log_tail()
    return str(final["spec"]["nodeName"]), str(log)


def delete_pod(cluster: Cluster, http: Any, name: str) -> None:
    http.delete(f"{NS}/pods/{name}")
    cluster.wait_for(f"pod {name} to go", lambda: http.get(f"{NS}/pods/{name}").status_code == 404, timeout=60)


def test_a_claim_follows_its_data_survives_restarts_and_goes_with_the_claim(
        cluster: Cluster, tmp_path: Path, busybox_image: str) -> None:
    roots = {cluster.start_kubelet(base, "--root-dir", str(tmp_path / base)): tmp_path / base for base in ("a", "b")}
    with cluster.http() as http:
        def both_ready() -> bool:
            nodes = http.get("/api/v1/nodes").json()["items"]
            return len([n for n in nodes if "podvisor.io/local-path-root" in n["metadata"].get("annotations", {})
                        and any(c["type"] == "Ready" and c["status"] == "True"
                                for c in n.get("status", {}).get("conditions", []))]) == 2
        cluster.wait_for("two ready nodes", both_ready, timeout=60)
        assert http.post(f"{NS}/persistentvolumeclaims", json=claim("data")).status_code == 201
        created = http.get(f"{NS}/persistentvolumeclaims/data").json()
        assert created["spec"]["storageClassName"] == "local-path"

        node, log = run_to_end(cluster, http, pod("writer", busybox_image,
                                                  "echo written-once > /data/f && ls -ld /data", "data"))
        bound = http.get(f"{NS}/persistentvolumeclaims/data").json()
        assert bound["status"]["phase"] == "Bound", bound
        assert bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
        volume = http.get(f"/api/v1/persistentvolumes/{bound['spec']['volumeName']}").json()
        path = Path(volume["spec"]["local"]["path"])
        assert volume["metadata"]["name"] == f"pvc-{created['metadata']['uid']}"
        assert path.parent == roots[node] / "local-path" and path.name.endswith("_default_data")
        assert (path / "f").read_text() == "written-once\n"
        assert log.startswith("drwxrwxrwx")
        assert volume["metadata"]["finalizers"] == ["podvisor.io/local-path-cleanup"]

        delete_pod(cluster, http, "writer")
        for i in range(3):  # a pod without the volume's affinity would land on the other node half the time
            reader_node, log = run_to_end(cluster, http, pod(f"reader-{i}", busybox_image, "cat /data/f", "data"))
            assert (reader_node, log) == (node, "written-once\n")

        cluster.kill_kubelet(node, signal.SIGKILL)
        cluster.restart_kubelet(node)
        after_node, log = run_to_end(cluster, http, pod("after-restart", busybox_image,
                                                        "cat /data/f && echo again >> /data/f", "data"))
        assert (after_node, log) == (node, "written-once\n")
        assert (path / "f").read_text() == "written-once\nagain\n"

        for name in ("reader-0", "reader-1", "reader-2", "after-restart"):
            delete_pod(cluster, http, name)
        assert http.delete(f"{NS}/persistentvolumeclaims/data").status_code == 200
        cluster.wait_for("the directory to be removed", lambda: not path.exists(), timeout=60)
        cluster.wait_for("the volume to be deleted", lambda: http.get(
            f"/api/v1/persistentvolumes/{volume['metadata']['name']}").status_code == 404, timeout=60)
