"""Volumes of ConfigMaps, Secrets and the downward API on Docker, read from inside containers.

The kubelet reads the objects as ``system:node:<name>`` (the Node authorizer relates them to
the pod through its volumes), writes them with the atomic writer, keeps Secret volumes on a
tmpfs, and rewrites the files when the objects or the pod's labels change; a ``subPath`` mount
keeps the version it started with.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubelet.tmpfs import mount_points
from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e
NS = "/api/v1/namespaces/default"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "kubelet"


@pytest.fixture
def node(cluster: Cluster, root: Path) -> Iterator[str]:
    yield cluster.start_kubelet("vols", "--root-dir", str(root))


def pod(name: str, node: str, image: str, script: str, *, volumes: list[dict[str, Any]],
        mounts: list[dict[str, Any]], restart: str = "Never", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"nodeName": node, "restartPolicy": restart, "terminationGracePeriodSeconds": 1,
                     "volumes": volumes,
                     "containers": [{"name": "main", "image": image, "imagePullPolicy": "Never",
                                     "command": ["sh", "-c", script], "volumeMounts": mounts,
                                     "resources": {"limits": {"memory": "64Mi"}}}]}}


def create(http: Any, plural: str, body: dict[str, Any]) -> None:
    response = http.post(f"{NS}/{plural}", json=body)
    assert response.status_code == 201, response.text


def finished_log(cluster: Cluster, http: Any, name: str, timeout: float = 90) -> str:
    def done() -> dict[str, Any] | None:
        got = http.get(f"{NS}/pods/{name}").json()
        return got if got.get("status", {}).get("phase") in ("Succeeded", "Failed") else None

    final = cluster.wait_for(f"pod {name} to finish", done, timeout=timeout, interval=0.5)
    output = str(http.get(f"{NS}/pods/{name}/log").text)
    assert final["status"]["phase"] == "Succeeded", output + cluster.log_tail()
    return output


SCRIPT = """
cat /cfg/nginx.conf; echo
stat -L -c 'mode %a %n' /cfg/nginx.conf /cfg/page/index.html /secret/password /projected/creds/pw
cat /cfg/page/index.html; echo
echo "password=$(cat /secret/password)"
echo "tier=$(cat /meta/tier) mem=$(cat /meta/mem)"
cat /meta/labels; echo
echo "projected=$(cat /projected/a)/$(cat /projected/creds/pw)/$(cat /projected/name)/$(wc -c < /projected/token)"
ls -a /cfg | tr '\\n' ' '; echo
echo "subfile=$(cat /etc/nginx.conf)"
echo hello > /sub/f && echo "emptydir=$(cat /all/sub/f)"
"""


def test_each_volume_form_is_read_from_inside_a_container(cluster: Cluster, node: str, root: Path,
                                                          busybox_image: str) -> None:
    with cluster.http() as http:
        create(http, "configmaps", {"metadata": {"name": "web"},
                                    "data": {"nginx.conf": "worker_processes 1;", "index.html": "<h1>hi</h1>"}})
        create(http, "secrets", {"metadata": {"name": "db"},
                                 "data": {"password": base64.b64encode(b"s3cret").decode()}})
        volumes = [
            {"name": "cfg", "configMap": {"name": "web", "defaultMode": 0o640, "items": [
                {"key": "nginx.conf", "path": "nginx.conf"},
                {"key": "index.html", "path": "page/index.html", "mode": 0o444}]}},
            {"name": "secret", "secret": {"secretName": "db", "defaultMode": 0o400}},
            {"name": "meta", "downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                {"path": "tier", "fieldRef": {"fieldPath": "metadata.labels['tier']"}},
                {"path": "mem", "resourceFieldRef": {"containerName": "main", "resource": "limits.memory",
                                                     "divisor": "1Mi"}}]}},
            {"name": "projected", "projected": {"sources": [
                {"configMap": {"name": "web", "items": [{"key": "index.html", "path": "a"}]}},
                {"secret": {"name": "db", "items": [{"key": "password", "path": "creds/pw", "mode": 0o600}]}},
                {"downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
                {"serviceAccountToken": {"path": "token"}}]}},
            {"name": "scratch", "emptyDir": {}},
        ]
        mounts = [{"name": "cfg", "mountPath": "/cfg"}, {"name": "secret", "mountPath": "/secret"},
                  {"name": "meta", "mountPath": "/meta"}, {"name": "projected", "mountPath": "/projected"},
                  {"name": "cfg", "mountPath": "/etc/nginx.conf", "subPath": "nginx.conf"},
                  {"name": "scratch", "mountPath": "/all"}, {"name": "scratch", "mountPath": "/sub", "subPath": "sub"}]
        create(http, "pods", pod("reader", node, busybox_image, SCRIPT, volumes=volumes, mounts=mounts,
                                 labels={"tier": "front", "app": "web"}))
        lines = finished_log(cluster, http, "reader").splitlines()
    assert lines[0] == "worker_processes 1;"
    assert {"mode 640 /cfg/nginx.conf", "mode 444 /cfg/page/index.html", "mode 400 /secret/password",
            "mode 600 /projected/creds/pw"} <= set(lines), lines
    assert "<h1>hi</h1>" in lines and "password=s3cret" in lines and "tier=front mem=64" in lines
    assert 'app="web"' in lines and 'tier="front"' in lines
    projected = next(line for line in lines if line.startswith("projected="))
    assert projected.startswith("projected=<h1>hi</h1>/s3cret/reader/") and int(projected.rsplit("/", 1)[1]) > 100
    listing = next(line for line in lines if line.startswith(". .."))
    assert "..data" in listing.split() and "nginx.conf" in listing.split() and "page" in listing.split()
    assert "subfile=worker_processes 1;" in lines and "emptydir=hello" in lines
    secret_dirs = [p for p in mount_points() if root.resolve() in p.parents and "kubernetes.io~secret" in str(p)]
    assert len(secret_dirs) == 1, "the Secret volume is a tmpfs mount"


UPDATE_SCRIPT = """
while true; do
  echo "dir=$(cat /cfg/app.conf) sub=$(cat /etc/app.conf) labels=$(cat /meta/labels | tr '\\n' ,)"
  sleep 0.3
done
"""


def test_updates_reach_mounted_files_but_not_a_sub_path(cluster: Cluster, node: str, busybox_image: str) -> None:
    with cluster.http() as http:
        create(http, "configmaps", {"metadata": {"name": "app"}, "data": {"app.conf": "v1"}})
        volumes = [{"name": "cfg", "configMap": {"name": "app"}},
                   {"name": "meta", "downwardAPI": {"items": [
                       {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]
        mounts = [{"name": "cfg", "mountPath": "/cfg"},
                  {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"},
                  {"name": "meta", "mountPath": "/meta"}]
        create(http, "pods", pod("watcher", node, busybox_image, UPDATE_SCRIPT, volumes=volumes, mounts=mounts,
                                 restart="Always", labels={"rev": "1"}))

        def last_line() -> str:
            lines = http.get(f"{NS}/pods/watcher/log", params={"tailLines": "1"}).text.splitlines()
            return lines[-1] if lines else ""

        assert cluster.wait_for("the first reading", lambda: last_line().startswith("dir=v1"), timeout=60)
        assert last_line() == 'dir=v1 sub=v1 labels=rev="1"', last_line()
        changed = http.put(f"{NS}/configmaps/app", json={"metadata": {"name": "app"}, "data": {"app.conf": "v2"}})
        assert changed.status_code == 200, changed.text
        labelled = http.patch(f"{NS}/pods/watcher", json={"metadata": {"labels": {"rev": "2", "extra": "yes"}}},
                              headers={"Content-Type": "application/merge-patch+json"})
        assert labelled.status_code == 200, labelled.text
        began = time.monotonic()
        wanted = 'dir=v2 sub=v1 labels=extra="yes",rev="2"'
        assert cluster.wait_for("the update in the mounted files", lambda: last_line() == wanted, timeout=10,
                                interval=0.3)
        assert time.monotonic() - began < 10
        http.delete(f"{NS}/pods/watcher")


def test_a_pod_waits_for_its_config_map_volume_then_starts(cluster: Cluster, node: str, root: Path,
                                                           busybox_image: str) -> None:
    with cluster.http() as http:
        create(http, "pods", pod("waiter", node, busybox_image, "cat /cfg/k",
                                 volumes=[{"name": "cfg", "configMap": {"name": "late"}}],
                                 mounts=[{"name": "cfg", "mountPath": "/cfg"}]))

        def failed_mount() -> str | None:
            events = http.get(f"{NS}/events").json()["items"]
            return next((e["message"] for e in events if e["reason"] == "FailedMount"
                         and e["involvedObject"]["name"] == "waiter"), None)

        message = cluster.wait_for("the FailedMount event", failed_mount, timeout=60, interval=0.5)
        assert message == 'MountVolume.SetUp failed for volume "cfg" : configmap "late" not found'

        def waiting() -> str | None:
            statuses = http.get(f"{NS}/pods/waiter").json().get("status", {}).get("containerStatuses") or []
            return statuses[0].get("state", {}).get("waiting", {}).get("reason") if statuses else None

        assert cluster.wait_for("the waiting container", waiting, timeout=30) == "ContainerCreating"
        create(http, "configmaps", {"metadata": {"name": "late"}, "data": {"k": "here"}})
        assert finished_log(cluster, http, "waiter", timeout=60).splitlines() == ["here"]
        http.delete(f"{NS}/pods/waiter")
        cluster.wait_for("the pod's files to go", lambda: not any(root.glob("pods/*/volumes")), timeout=60)


def test_a_restarted_kubelet_unmounts_the_secret_volume_of_a_pod_deleted_while_it_was_down(
        cluster: Cluster, node: str, root: Path, busybox_image: str) -> None:
    def secret_mounts() -> list[Path]:
        return [p for p in mount_points() if root.resolve() in p.parents and "kubernetes.io~secret" in str(p)]

    with cluster.http() as http:
        create(http, "secrets", {"metadata": {"name": "key"}, "data": {"k": base64.b64encode(b"v").decode()}})
        create(http, "pods", pod("holder", node, busybox_image, "cat /s/k; sleep 3600", restart="Always",
                                 volumes=[{"name": "s", "secret": {"secretName": "key"}}],
                                 mounts=[{"name": "s", "mountPath": "/s"}]))
        cluster.wait_for("the pod to run", lambda: http.get(f"{NS}/pods/holder").json().get("status", {}).get(
            "phase") == "Running", timeout=60, interval=0.5)
        assert len(secret_mounts()) == 1
        cluster.kill_kubelet(node)
        assert http.delete(f"{NS}/pods/holder", params={"gracePeriodSeconds": "0"}).status_code == 200
        cluster.restart_kubelet(node)
        cluster.wait_for("the tmpfs and the pod's directory to go",
                         lambda: not secret_mounts() and not any(root.glob("pods/*")), timeout=60, interval=0.5)
