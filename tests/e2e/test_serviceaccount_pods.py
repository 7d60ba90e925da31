"""Pods reach the API as their ServiceAccount: the official Python client's in-cluster config, on Docker.

The pod image (``images/python-client/build.py``) holds this host's Python and the official
``kubernetes`` client. Inside the pod, ``config.load_incluster_config()`` reads the projected
token and ``ca.crt``, dials ``KUBERNETES_SERVICE_HOST:PORT`` (relayed by the kubelet) and
verifies the server certificate; the pod then lists pods in its namespace and asks who it is,
with exactly what its ServiceAccount is bound to (``view`` in its namespace): its namespace's
pods, but neither its Secrets nor another namespace's pods.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e

IMAGE = "podvisor/python-client:latest"
MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
IN_CLUSTER = """
import json
from kubernetes import client, config
config.load_incluster_config()
namespace = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
core = client.CoreV1Api()
pods = core.list_namespaced_pod(namespace)
def status(call):
    try:
        call()
        return 200
    except client.exceptions.ApiException as err:
        return err.status
denied = {"secrets": status(lambda: core.list_namespaced_secret(namespace)),
          "default": status(lambda: core.list_namespaced_pod("default"))}
review = client.AuthenticationV1Api().create_self_subject_review(client.V1SelfSubjectReview())
print(json.dumps({"pods": [p.metadata.name for p in pods.items], "denied": denied,
                  "user": review.status.user_info.username,
                  "groups": review.status.user_info.groups, "host": client.Configuration.get_default_copy().host,
                  "verify": client.Configuration.get_default_copy().verify_ssl}))
"""


@pytest.fixture(scope="module")
def python_client_image(busybox_image: str) -> str:
    build = subprocess.run(["python", str(REPO_ROOT / "images" / "python-client" / "build.py")],
                           capture_output=True, text=True, timeout=300)
    if build.returncode != 0:
        pytest.fail(f"images/python-client/build.py failed:\n{build.stdout}{build.stderr}")
    return IMAGE


@pytest.fixture
def node(cluster: Cluster, tmp_path: Path) -> Iterator[str]:
    yield cluster.start_kubelet("sa", "--root-dir", str(tmp_path / "kubelet"))


def pod(name: str, image: str, command: list[str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": image,
                                                                 "imagePullPolicy": "Never", "command": command}],
                     **spec}}


def wait_done(cluster: Cluster, name: str, timeout: float = 90, namespace: str = "default") -> dict[str, Any]:
    with cluster.http() as http:
        def done() -> dict[str, Any] | None:
            got = http.get(f"/api/v1/namespaces/{namespace}/pods/{name}").json()
            return got if got.get("status", {}).get("phase") in ("Succeeded", "Failed") else None

        return dict(cluster.wait_for(f"pod {name} to finish", done, timeout=timeout, interval=0.5))


def logs(cluster: Cluster, name: str, namespace: str = "default") -> str:
    with cluster.http() as http:
        return str(http.get(f"/api/v1/namespaces/{namespace}/pods/{name}/log").text)


def test_official_client_in_a_pod_has_exactly_its_service_accounts_permissions(
        cluster: Cluster, node: str, python_client_image: str) -> None:
    view = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "reader-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "team"}]}
    with cluster.http() as http:
        assert http.post("/api/v1/namespaces", json={"metadata": {"name": "team"}}).status_code == 201
        assert http.post("/api/v1/namespaces/team/serviceaccounts",
                         json={"metadata": {"name": "reader"}}).status_code == 201
        assert http.post("/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings", json=view).status_code == 201
        created = http.post("/api/v1/namespaces/team/pods",
                            json=pod("incluster", python_client_image, ["python3", "-c", IN_CLUSTER],
                                     serviceAccountName="reader"))
        assert created.status_code == 201, created.text
    started = time.monotonic()
    finished = wait_done(cluster, "incluster", timeout=120, namespace="team")
    output = logs(cluster, "incluster", namespace="team")
    assert finished["status"]["phase"] == "Succeeded", output + cluster.log_tail()
    result = json.loads(output.strip().splitlines()[-1])
    assert result["user"] == "system:serviceaccount:team:reader"
    assert result["groups"] == ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"]
    assert "incluster" in result["pods"]
    assert result["denied"] == {"secrets": 403, "default": 403}  # view reads no Secrets, and only in team
    assert result["host"].startswith("https://kubernetes.default.svc:") and result["verify"] is True
    print(f"in-cluster pod ran in {time.monotonic() - started:.1f}s")


def test_busybox_reads_the_projected_files_as_nobody(cluster: Cluster, node: str, busybox_image: str) -> None:
    # ls -L: the visible names are links into ..data (the atomic writer), the modes are the files'
    script = (f"cd {MOUNT} && ls -lnL . && cat namespace && echo && head -c 20 ca.crt && echo && "
              "echo nobody:x:65534:65534::/:/bin/sh >> /etc/passwd && su -s /bin/sh nobody -c 'id -u; cat token'; echo; env | sort | grep ^KUBERNETES_; "
              f"touch {MOUNT}/x 2>&1 || echo read-only")
    with cluster.http() as http:
        cluster.wait_for("the default ServiceAccount", lambda: http.get(
            "/api/v1/namespaces/default/serviceaccounts/default").status_code == 200, timeout=30)
        assert http.post("/api/v1/namespaces/default/pods",
                         json=pod("reader", busybox_image, ["sh", "-c", script])).status_code == 201
        wait_done(cluster, "reader")
        output = logs(cluster, "reader")
        lines = output.splitlines()
        assert "default" in lines, output
        assert "-----BEGIN CERT" in output, output
        tokens = [line for line in lines if line.count(".") == 2 and line.startswith("ey")]
        assert tokens, output
        token = tokens[0]
        # the token read inside the pod authenticates as the pod's ServiceAccount, bound to the pod
        review = http.post("/apis/authentication.k8s.io/v1/tokenreviews",
                           json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                 "spec": {"token": token}}).json()["status"]
        assert review["user"]["username"] == "system:serviceaccount:default:default"
        assert review["user"]["extra"]["authentication.kubernetes.io/pod-name"] == ["reader"]
        assert "65534" in lines  # the token was read by uid 65534, not root
        assert "KUBERNETES_SERVICE_HOST=kubernetes.default.svc" in lines
        assert any(line.startswith("KUBERNETES_PORT=tcp://kubernetes.default.svc:") for line in lines)
        assert "read-only" in output
        for name in ("ca.crt", "namespace", "token"):
            assert any(line.startswith("-rw-r--r--") and line.endswith(name) for line in lines), output
        # deleting the pod revokes its token
        http.delete("/api/v1/namespaces/default/pods/reader?gracePeriodSeconds=0")
        cluster.wait_for("the pod gone", lambda: http.get("/api/v1/namespaces/default/pods/reader").status_code == 404)
        assert http.get("/api/v1/namespaces/default/pods", headers={"Authorization": f"Bearer {token}"}
                        ).status_code == 401


def test_a_missing_service_account_refuses_the_pod(cluster: Cluster) -> None:
    with cluster.http() as http:
        response = http.post("/api/v1/namespaces/default/pods",
                             json=pod("ghost", "podvisor/busybox:latest", ["true"], serviceAccountName="ghost"))
    assert response.status_code == 403
    assert "error looking up service account default/ghost" in response.json()["message"]
