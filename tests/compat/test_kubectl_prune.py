"""``kubectl apply --prune -l`` with kubectl's default allow list: every kind it maps is served
(the ones podvisor does not run as read-only, empty collections), and an object whose manifest
left the directory is deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.compat.conftest import Kubectl

pytestmark = [pytest.mark.compat, pytest.mark.e2e]


def config_map(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "pruned"}},
            "data": {"key": name}}


def deployment(name: str) -> dict[str, Any]:
    labels = {"app": "pruned", "tier": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "podvisor/busybox:latest"}]}}}}


def write(directory: Path, objects: list[dict[str, Any]]) -> None:
    for old in directory.glob("*.yaml"):
        old.unlink()
    for obj in objects:
        (directory / f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml").write_text(yaml.safe_dump(obj))


def test_prune_with_the_default_allow_list_deletes_what_left_the_directory(kubectl: Kubectl,
                                                                           tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    kubectl.apply({**config_map("unrelated"), "metadata": {"name": "unrelated"}})  # unlabelled: never pruned
    write(manifests, [config_map("kept"), config_map("dropped"), deployment("web"), deployment("old")])
    first = kubectl.out("apply", "--prune", "-l", "app=pruned", "-f", str(manifests))
    assert "configmap/dropped created" in first and "deployment.apps/old created" in first
    write(manifests, [config_map("kept"), deployment("web")])
    second = kubectl.out("apply", "--prune", "-l", "app=pruned", "-f", str(manifests))
    assert "configmap/dropped pruned" in second, second
    assert "deployment.apps/old pruned" in second, second
    names = {item["metadata"]["name"] for item in kubectl.json("get", "configmaps")["items"]}
    assert {"kept", "unrelated"} <= names and "dropped" not in names
    assert [d["metadata"]["name"] for d in kubectl.json("get", "deployments", "-l", "app=pruned")["items"]] == ["web"]


@pytest.mark.parametrize("resource", ["jobs", "cronjobs", "statefulsets", "daemonsets", "ingresses",
                                      "endpoints", "persistentvolumeclaims", "persistentvolumes",
                                      "replicationcontrollers"])
def test_kinds_podvisor_does_not_run_list_empty(kubectl: Kubectl, resource: str) -> None:
    assert kubectl.json("get", resource)["items"] == []


def test_creating_a_kind_podvisor_does_not_run_is_refused(kubectl: Kubectl) -> None:
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
               "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}
    done = kubectl.run("create", "-f", "-", stdin=yaml.safe_dump(ingress), rc=1)
    assert "MethodNotAllowed" in done.stderr, done.stderr
