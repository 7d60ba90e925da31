"""The real kubectl's server-side apply against podvisor: field ownership as Kubernetes keeps it.

No pods are needed (no kubelet): each step checks what the server kept or refused and what
``metadata.managedFields`` says about who owns what.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.compat.conftest import Kubectl

pytestmark = [pytest.mark.compat, pytest.mark.e2e]


def deployment(name: str, *, replicas: int = 1, labels: dict[str, str] | None = None,
               env: tuple[str, ...] = ("KEEP",)) -> dict[str, Any]:
    container = {"name": "web", "image": "podvisor/busybox:latest",
                 "env": [{"name": e, "value": "1"} for e in env]}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name, **(labels or {})}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}},
    }


def live(kubectl: Kubectl, name: str) -> dict[str, Any]:
    return json.loads(kubectl.out("get", "deploy", name, "-o", "json", "--show-managed-fields"))


def managers(obj: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"], e.get("subresource", "")): e["fieldsV1"]
            for e in obj["metadata"].get("managedFields") or []}


def env_names(obj: dict[str, Any]) -> list[str]:
    return [e["name"] for e in obj["spec"]["template"]["spec"]["containers"][0].get("env") or []]


def test_fields_dropped_from_the_manifest_are_removed(kubectl: Kubectl) -> None:
    kubectl.apply(deployment("drop", labels={"tier": "web"}, env=("KEEP", "GONE")), "--server-side")
    assert kubectl.apply(deployment("drop"), "--server-side").strip() == "deployment.apps/drop serverside-applied"
    obj = live(kubectl, "drop")
    assert obj["metadata"]["labels"] == {"app": "drop"}
    assert env_names(obj) == ["KEEP"]
    owned = managers(obj)[("kubectl", "Apply", "")]
    assert owned["f:metadata"] == {"f:labels": {"f:app": {}}}


def test_a_label_another_manager_also_holds_survives_the_applier_dropping_it(kubectl: Kubectl) -> None:
    kubectl.apply(deployment("kept"), "--server-side")
    kubectl.run("label", "deploy", "kept", "team=a")  # owned by kubectl-label
    kubectl.apply(deployment("kept", labels={"team": "a"}), "--server-side")  # the same value: co-owned
    assert "f:team" in managers(live(kubectl, "kept"))[("kubectl", "Apply", "")]["f:metadata"]["f:labels"]
    kubectl.apply(deployment("kept"), "--server-side")
    obj = live(kubectl, "kept")
    assert obj["metadata"]["labels"] == {"app": "kept", "team": "a"}
    assert managers(obj)[("kubectl-label", "Update", "")] == {"f:metadata": {"f:labels": {"f:team": {}}}}


def test_apply_after_scale_conflicts_on_replicas_until_forced(kubectl: Kubectl) -> None:
    kubectl.apply(deployment("scaled", replicas=1), "--server-side")
    kubectl.run("scale", "deploy", "scaled", "--replicas=3")
    assert managers(live(kubectl, "scaled"))[("kubectl", "Update", "scale")] == {"f:spec": {"f:replicas": {}}}

    refused = kubectl.run("apply", "--server-side", "-f", "-", stdin=json.dumps(deployment("scaled", replicas=2)),
                          rc=1)
    assert 'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas' in refused.stderr
    assert kubectl.out("get", "deploy", "scaled", "-o", "jsonpath={.spec.replicas}") == "3"

    kubectl.apply(deployment("scaled", replicas=2), "--server-side", "--force-conflicts")
    obj = live(kubectl, "scaled")
    assert obj["spec"]["replicas"] == 2
    assert "f:replicas" in managers(obj)[("kubectl", "Apply", "")]["f:spec"]
    assert ("kubectl", "Update", "scale") not in managers(obj)


def test_client_side_apply_then_server_side_apply_takes_over(kubectl: Kubectl) -> None:
    assert kubectl.apply(deployment("upgrade", labels={"tier": "web"}, env=("KEEP", "GONE"))).strip() == \
        "deployment.apps/upgrade created"
    created = live(kubectl, "upgrade")
    assert ("kubectl-client-side-apply", "Update", "") in managers(created)

    changed = deployment("upgrade", replicas=2)
    assert kubectl.apply(changed, "--server-side").strip() == "deployment.apps/upgrade serverside-applied"
    obj = live(kubectl, "upgrade")
    assert obj["spec"]["replicas"] == 2
    assert obj["metadata"]["labels"] == {"app": "upgrade"}
    assert env_names(obj) == ["KEEP"]
    assert ("kubectl-client-side-apply", "Update", "") not in managers(obj)
    last = json.loads(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["replicas"] == 2


def test_status_is_written_by_the_controller_manager(kubectl: Kubectl) -> None:
    kubectl.apply(deployment("statused"), "--server-side")
    obj = kubectl.wait_for("the controller's status", lambda: (o := live(kubectl, "statused")).get("status") and o)
    status = kubectl.wait_for("its status entry", lambda: managers(live(kubectl, "statused")).get(
        ("podvisor-controller-manager", "Update", "status")))
    assert "f:observedGeneration" in status["f:status"]
    assert "f:status" not in managers(obj)[("kubectl", "Apply", "")]


def test_apply_after_edit_conflicts_with_kubectl_edit(kubectl: Kubectl) -> None:
    kubectl.apply(deployment("edited", replicas=1), "--server-side")
    editor = "sed -i -e 's/replicas: 1$/replicas: 4/'"
    kubectl.run("edit", "deploy", "edited", env_extra={"KUBE_EDITOR": editor, "EDITOR": editor})
    obj = live(kubectl, "edited")
    assert obj["spec"]["replicas"] == 4
    assert managers(obj)[("kubectl-edit", "Update", "")]["f:spec"] == {"f:replicas": {}}
    refused = kubectl.run("apply", "--server-side", "-f", "-", stdin=json.dumps(deployment("edited", replicas=1)),
                          rc=1)
    assert 'conflict with "kubectl-edit" using apps/v1: .spec.replicas' in refused.stderr
