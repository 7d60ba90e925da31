"""The real kubectl with ServiceAccounts: ``get sa``, ``create token``, ``auth whoami``, and a token's life."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
import yaml

from tests.compat.conftest import Kubectl

pytestmark = [pytest.mark.compat, pytest.mark.e2e]


def sa_kubeconfig(kubectl: Kubectl, token: str, name: str) -> Path:
    """The admin kubeconfig with the admin token swapped for ``token``."""
    config = yaml.safe_load((kubectl.cluster.data_dir / "admin.kubeconfig").read_text())
    for user in config["users"]:
        user["user"] = {"token": token}
    path = kubectl.home / f"{name}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def whoami_rows(text: str) -> dict[str, str]:
    lines = text.strip().splitlines()
    assert lines[0].split() == ["ATTRIBUTE", "VALUE"]
    rows = {}
    for line in lines[1:]:
        attribute, _, value = line.partition("   ")
        rows[attribute.strip()] = value.strip()
    return rows


def test_every_namespace_has_a_default_service_account(kubectl: Kubectl) -> None:
    kubectl.run("create", "namespace", "sa-fresh")
    names = kubectl.wait_for("default sa", lambda: "default" in kubectl.out(
        "get", "sa", "-n", "sa-fresh", "-o", "name"), timeout=30)
    assert names
    table = kubectl.out("get", "serviceaccounts", "-n", "sa-fresh")
    assert table.split("\n")[0].split() == ["NAME", "SECRETS", "AGE"]
    assert table.split("\n")[1].split()[:2] == ["default", "0"]
    ca = kubectl.wait_for("root CA", lambda: kubectl.json("get", "configmap", "kube-root-ca.crt", "-n", "sa-fresh"),
                          timeout=30)
    assert ca["data"]["ca.crt"] == (kubectl.cluster.data_dir / "ca.crt").read_text()
    kubectl.run("delete", "configmap", "kube-root-ca.crt", "-n", "sa-fresh")
    kubectl.wait_for("root CA re-published", lambda: kubectl.json(
        "get", "configmap", "-n", "sa-fresh")["items"], timeout=30)


def test_deleted_default_service_account_comes_back(kubectl: Kubectl) -> None:
    kubectl.wait_for("default sa", lambda: "default" in kubectl.out("get", "sa", "-o", "name"), timeout=30)
    uid = kubectl.json("get", "sa", "default")["metadata"]["uid"]
    kubectl.run("delete", "sa", "default")
    kubectl.wait_for("re-created", lambda: "default" in kubectl.out("get", "sa", "-o", "name")
                     and kubectl.json("get", "sa", "default")["metadata"]["uid"] != uid, timeout=30)


def test_the_kubernetes_service(kubectl: Kubectl) -> None:
    service = kubectl.json("get", "service", "kubernetes", "-n", "default")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP",
                                         "targetPort": kubectl.cluster.port}]
    assert service["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}


def test_whoami_as_admin(kubectl: Kubectl) -> None:
    rows = whoami_rows(kubectl.out("auth", "whoami"))
    assert rows["Username"] == "admin"
    assert rows["Groups"] == "[system:masters system:authenticated]"


def test_create_token_and_use_it(kubectl: Kubectl) -> None:
    kubectl.run("create", "serviceaccount", "robot")
    token = kubectl.out("create", "token", "robot", "--duration", "15m", "--audience",
                        "https://kubernetes.default.svc.cluster.local").strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "system:serviceaccount:default:robot" and claims["exp"] - claims["iat"] == 900
    env = {"KUBECONFIG": str(sa_kubeconfig(kubectl, token, "robot"))}
    rows = whoami_rows(kubectl.run("auth", "whoami", env_extra=env).stdout)
    uid = kubectl.json("get", "sa", "robot")["metadata"]["uid"]
    assert rows["Username"] == "system:serviceaccount:default:robot"
    assert rows["UID"] == uid
    assert rows["Groups"] == "[system:serviceaccounts system:serviceaccounts:default system:authenticated]"
    assert rows["Extra: authentication.kubernetes.io/credential-id"].startswith("[JTI=")
    denied = kubectl.run("get", "pods", env_extra=env, rc=1)  # authenticated, but nothing grants it yet
    assert 'User "system:serviceaccount:default:robot" cannot list resource "pods"' in denied.stderr
    kubectl.run("create", "rolebinding", "robot-view", "--clusterrole=view", "--serviceaccount=default:robot")
    kubectl.run("get", "pods", env_extra=env)
    kubectl.run("delete", "sa", "robot")
    done = kubectl.run("get", "pods", env_extra=env, rc=1)
    assert "Unauthorized" in done.stderr or "must be logged in" in done.stderr


def test_create_token_bound_to_a_pod(kubectl: Kubectl) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bound"},
           "spec": {"containers": [{"name": "c", "image": "podvisor/busybox:latest"}]}}
    kubectl.apply(pod)
    token = kubectl.out("create", "token", "default", "--bound-object-kind", "Pod",
                        "--bound-object-name", "bound").strip()
    env = {"KUBECONFIG": str(sa_kubeconfig(kubectl, token, "bound"))}
    rows = whoami_rows(kubectl.run("auth", "whoami", env_extra=env).stdout)
    assert rows["Extra: authentication.kubernetes.io/pod-name"] == "[bound]"
    kubectl.run("delete", "pod", "bound", "--grace-period=0", "--force")
    kubectl.run("auth", "whoami", env_extra=env, rc=1)


def test_create_token_refusals(kubectl: Kubectl) -> None:
    done = kubectl.run("create", "token", "default", "--duration", "5m", rc=1)
    assert "spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes" in done.stderr
    done = kubectl.run("create", "token", "ghost", rc=1)
    assert 'serviceaccounts "ghost" not found' in done.stderr


def test_token_review(kubectl: Kubectl) -> None:
    token = kubectl.out("create", "token", "default").strip()
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    answer = json.loads(kubectl.run("create", "-f", "-", "-o", "json", stdin=json.dumps(review)).stdout)
    assert answer["status"]["authenticated"] is True
    assert answer["status"]["user"]["username"] == "system:serviceaccount:default:default"
