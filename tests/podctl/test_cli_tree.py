"""``podctl tree`` through its command line against a real server (no controllers: the test
writes the ReplicaSet, the Pod and its status itself, as the controllers and a kubelet would)."""

from __future__ import annotations

import json
from typing import Any

from apimachinery import supervision as sv
from tests.podctl.conftest import Podctl

SERVER_ARGS = ["--disable", "controllers", "--disable", "scheduler"]
LABELS = {"app": "web"}
TEMPLATE = {"metadata": {"labels": LABELS}, "spec": {"containers": [{"name": "app", "image": "busybox"}]}}


def create(podctl: Podctl, path: str, body: dict[str, Any]) -> dict[str, Any]:
    with podctl.http() as client:
        response = client.post(podctl.path(path), json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())


def owner(obj: dict[str, Any]) -> list[dict[str, Any]]:
    meta = obj["metadata"]
    return [
        {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta["name"],
            "uid": meta["uid"],
            "controller": True,
        }
    ]


def make_tree(podctl: Podctl) -> None:
    deployment = create(
        podctl,
        "apps/v1/deployments",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "annotations": {sv.INTENSITY: "2", sv.AUTO_ROLLBACK: "true"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": LABELS}, "template": TEMPLATE},
        },
    )
    rs = create(
        podctl,
        "apps/v1/replicasets",
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": "web-1",
                "labels": LABELS,
                "ownerReferences": owner(deployment),
                "annotations": {"deployment.kubernetes.io/revision": "1"},
            },
            "spec": {"replicas": 1, "selector": {"matchLabels": LABELS}, "template": TEMPLATE},
        },
    )
    pod = create(
        podctl,
        "v1/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "web-1-a",
                "labels": LABELS,
                "ownerReferences": owner(rs),
                "annotations": {sv.STRATEGY: "one_for_all", sv.INTENSITY: "5", sv.PERIOD: "60"},
            },
            "spec": {"containers": [{"name": "app", "image": "busybox"}]},
        },
    )
    pod["status"] = {
        "phase": "Running",
        "conditions": [
            {
                "type": sv.INTENSITY_CONDITION,
                "status": "True",
                "reason": sv.WITHIN_INTENSITY,
                "message": "2/5 restarts in 60s",
            }
        ],
        "containerStatuses": [
            {
                "name": "app",
                "ready": False,
                "restartCount": 2,
                "image": "busybox",
                "imageID": "",
                "state": {
                    "waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2s restarting failed"}
                },
                "lastState": {"terminated": {"exitCode": 3, "reason": "Error"}},
            }
        ],
    }
    with podctl.http() as client:
        response = client.put(podctl.path("v1/pods/web-1-a/status"), json=pod)
        assert response.status_code == 200, response.text


def test_tree_of_a_deployment_in_text_and_json(podctl: Podctl) -> None:
    make_tree(podctl)
    text = podctl("tree", "deploy/web")
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert lines[0].startswith("Deployment/web  ready 0/1  intensity: 2 pod failures in 5s  auto-rollback")
    assert lines[1] == "└─ReplicaSet/web-1  revision 1  ready 0/1"
    assert lines[2] == "  └─Pod/web-1-a  Running  strategy: one_for_all  budget: 2/5 restarts in 60s"
    assert lines[3].startswith("    └─Container/app  CrashLoopBackOff  restarts 2  last exit 3 (Error)")

    data = json.loads(podctl("tree", "deployment", "web", "-o", "json").out)
    pod = data["children"][0]["children"][0]
    assert (data["kind"], data["name"], pod["kind"], pod["name"]) == ("Deployment", "web", "Pod", "web-1-a")
    assert pod["children"][0]["lastTermination"] == {"exitCode": 3, "reason": "Error"}

    alone = json.loads(podctl("tree", "po/web-1-a", "-o", "json").out)
    assert alone["supervision"] == {
        "strategy": "one_for_all",
        "budget": "2/5 restarts in 60s",
        "withinIntensity": True,
    }


def test_tree_of_an_unknown_deployment_fails(podctl: Podctl) -> None:
    result = podctl("tree", "deploy/nope")
    assert result.code == 1
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in result.err


def test_tree_refuses_other_kinds(podctl: Podctl) -> None:
    result = podctl("tree", "svc/web")
    assert result.code == 1
    assert "only deployments and pods" in result.err
