"""``podctl tree`` without a server: the tree built from fixture objects, and how it is drawn."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apimachinery import supervision as sv
from podctl.errors import PodctlError
from podctl.tree import Node, as_json, container_status, deployment_tree, parse_target, pod_tree, render

REVISION = "deployment.kubernetes.io/revision"


def owner(uid: str) -> list[dict[str, Any]]:
    return [{"apiVersion": "apps/v1", "kind": "X", "name": "x", "uid": uid, "controller": True}]


DEPLOYMENT: dict[str, Any] = {
    "metadata": {
        "name": "web",
        "namespace": "default",
        "uid": "d-1",
        "annotations": {sv.INTENSITY: "3", sv.PERIOD: "600", sv.AUTO_ROLLBACK: "true"},
    },
    "spec": {"replicas": 2},
    "status": {
        "readyReplicas": 1,
        "updatedReplicas": 2,
        "availableReplicas": 1,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {
                "type": "Progressing",
                "status": "False",
                "reason": sv.RESTART_INTENSITY_EXCEEDED,
                "message": "m",
            },
        ],
    },
}


def replicaset(
    name: str, uid: str, revision: str, *, owner_uid: str = "d-1", replicas: int = 2
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "uid": uid,
            "annotations": {REVISION: revision},
            "ownerReferences": owner(owner_uid),
        },
        "spec": {"replicas": replicas},
        "status": {"readyReplicas": replicas // 2},
    }


CRASHING = {
    "name": "app",
    "ready": False,
    "restartCount": 4,
    "state": {
        "waiting": {"reason": "CrashLoopBackOff", "message": "back-off 8s restarting failed container=app"}
    },
    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
}
RUNNING = {"name": "proxy", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": "t"}}}
DONE_INIT = {
    "name": "migrate",
    "restartCount": 0,
    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
}

POD: dict[str, Any] = {
    "metadata": {
        "name": "web-2-a",
        "namespace": "default",
        "uid": "p-1",
        "annotations": {sv.STRATEGY: "rest_for_one", sv.INTENSITY: "5", sv.PERIOD: "60"},
        "ownerReferences": owner("rs-2"),
    },
    "spec": {
        "nodeName": "node-1",
        "initContainers": [
            {"name": "migrate", "image": "i"},
            {"name": "proxy", "image": "i", "restartPolicy": "Always"},
        ],
        "containers": [{"name": "app", "image": "i"}],
    },
    "status": {
        "phase": "Running",
        "conditions": [
            {
                "type": sv.INTENSITY_CONDITION,
                "status": "True",
                "reason": sv.WITHIN_INTENSITY,
                "message": "4/5 restarts in 60s",
            }
        ],
        "initContainerStatuses": [DONE_INIT, RUNNING],
        "containerStatuses": [CRASHING],
    },
}
FAILED_POD: dict[str, Any] = {
    "metadata": {"name": "web-1-b", "uid": "p-2", "ownerReferences": owner("rs-1")},
    "spec": {"nodeName": "node-2", "containers": [{"name": "app", "image": "i"}]},
    "status": {
        "phase": "Failed",
        "reason": sv.RESTART_INTENSITY_EXCEEDED,
        "conditions": [
            {
                "type": sv.INTENSITY_CONDITION,
                "status": "False",
                "reason": sv.RESTART_INTENSITY_EXCEEDED,
                "message": "6/5 restarts in 60s",
            }
        ],
    },
}
STRANGER_POD: dict[str, Any] = {"metadata": {"name": "other", "uid": "p-3", "ownerReferences": owner("rs-x")}}


def test_deployment_tree_orders_and_owns_by_uid() -> None:
    replicasets = [
        replicaset("web-1", "rs-1", "1"),
        replicaset("web-2", "rs-2", "2"),
        replicaset("web-10", "rs-10", "10", replicas=0),
        replicaset("elsewhere", "rs-x", "9", owner_uid="d-other"),
    ]
    node = deployment_tree(DEPLOYMENT, replicasets, [POD, FAILED_POD, STRANGER_POD])
    assert [rs.name for rs in node.children] == ["web-10", "web-2", "web-1"]  # newest revision first
    assert [[p.name for p in rs.children] for rs in node.children] == [[], ["web-2-a"], ["web-1-b"]]
    assert node.info["supervision"] == {
        "intensity": 3,
        "period": 600,
        "budget": "3 pod failures in 600s",
        "autoRollback": True,
    }
    assert node.info["progressing"]["reason"] == sv.RESTART_INTENSITY_EXCEEDED
    assert node.info["replicas"] == {"desired": 2, "ready": 1, "updated": 2, "available": 1}
    assert node.children[1].info == {"revision": 2, "replicas": {"desired": 2, "ready": 1}}


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        pytest.param(
            POD,
            {
                "phase": "Running",
                "node": "node-1",
                "reason": None,
                "supervision": {
                    "strategy": "rest_for_one",
                    "budget": "4/5 restarts in 60s",
                    "withinIntensity": True,
                },
            },
            id="within-budget",
        ),
        pytest.param(
            FAILED_POD,
            {
                "phase": "Failed",
                "node": "node-2",
                "reason": sv.RESTART_INTENSITY_EXCEEDED,
                "supervision": {
                    "strategy": "one_for_one",
                    "budget": "6/5 restarts in 60s",
                    "withinIntensity": False,
                },
            },
            id="intensity-exceeded",
        ),
        pytest.param(
            {"metadata": {"name": "p", "annotations": {sv.INTENSITY: "2"}}, "spec": {}},
            {
                "phase": "Pending",
                "node": None,
                "reason": None,
                "supervision": {
                    "strategy": "one_for_one",
                    "budget": "0/2 restarts in 5s",
                    "withinIntensity": None,
                },
            },
            id="intensity-not-yet-reported",
        ),
        pytest.param(
            {"metadata": {"name": "p"}, "spec": {}, "status": {"phase": "Running"}},
            {
                "phase": "Running",
                "node": None,
                "reason": None,
                "supervision": {"strategy": "one_for_one", "budget": "unlimited", "withinIntensity": None},
            },
            id="no-intensity-unlimited",
        ),
    ],
)
def test_pod_supervisor(pod: dict[str, Any], expected: dict[str, Any]) -> None:
    info = pod_tree(pod).info
    assert {k: info[k] for k in expected} == expected


def test_pod_children_are_init_sidecar_then_app_containers() -> None:
    children = pod_tree(POD).children
    assert [(c.name, c.info["role"], c.info["state"]) for c in children] == [
        ("migrate", "init", "terminated"),
        ("proxy", "sidecar", "running"),
        ("app", "app", "waiting"),
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(None, {"state": "pending", "ready": False, "restartCount": 0}, id="no-status-yet"),
        pytest.param(
            CRASHING,
            {
                "state": "waiting",
                "ready": False,
                "restartCount": 4,
                "reason": "CrashLoopBackOff",
                "message": "back-off 8s restarting failed container=app",
                "lastTermination": {"exitCode": 1, "reason": "Error"},
            },
            id="crash-loop",
        ),
        pytest.param(RUNNING, {"state": "running", "ready": True, "restartCount": 0}, id="running"),
        pytest.param(
            DONE_INIT,
            {"state": "terminated", "ready": False, "restartCount": 0, "reason": "Completed", "exitCode": 0},
            id="terminated-exit-zero-kept",
        ),
        pytest.param(
            {"name": "x", "state": {}},
            {"state": "unknown", "ready": False, "restartCount": 0},
            id="empty-state",
        ),
    ],
)
def test_container_status(status: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    assert container_status(status) == expected


def test_render_draws_the_tree_with_details() -> None:
    node = deployment_tree(
        DEPLOYMENT, [replicaset("web-1", "rs-1", "1"), replicaset("web-2", "rs-2", "2")], [POD, FAILED_POD]
    )
    assert render(node) == [
        "Deployment/web  ready 1/2  intensity: 3 pod failures in 600s  auto-rollback"
        "  Progressing: RestartIntensityExceeded",
        "├─ReplicaSet/web-2  revision 2  ready 1/2",
        "│ └─Pod/web-2-a  Running  node node-1  strategy: rest_for_one  budget: 4/5 restarts in 60s",
        "│   ├─Container/migrate  (init)  terminated Completed exit 0  restarts 0",
        "│   ├─Container/proxy  (sidecar)  running  restarts 0",
        "│   └─Container/app  CrashLoopBackOff  restarts 4  last exit 1 (Error)"
        "  back-off 8s restarting failed container=app",
        "└─ReplicaSet/web-1  revision 1  ready 1/2",
        "  └─Pod/web-1-b  Failed  RestartIntensityExceeded  node node-2  strategy: one_for_one"
        "  budget: 6/5 restarts in 60s",
        "    └─Container/app  pending  restarts 0",
    ]


def test_render_colours_only_when_asked() -> None:
    plain = render(pod_tree(FAILED_POD))
    coloured = render(pod_tree(FAILED_POD), colour=True)
    assert all("\x1b[" not in line for line in plain)
    assert "\x1b[31m" in coloured[0]  # RestartIntensityExceeded in red


def test_as_json_nests_children() -> None:
    tree = as_json(Node("Deployment", "web", {"a": 1}, (Node("ReplicaSet", "web-1"),)))
    assert tree == {
        "kind": "Deployment",
        "name": "web",
        "a": 1,
        "children": [{"kind": "ReplicaSet", "name": "web-1", "children": []}],
    }


def test_a_pod_tree_does_not_change_its_input() -> None:
    before = copy.deepcopy(POD)
    as_json(pod_tree(POD))
    assert before == POD


@pytest.mark.parametrize(
    ("target", "name", "expected"),
    [
        pytest.param("deployment/web", None, ("deployments", "web"), id="deployment-slash"),
        pytest.param("deploy/web", None, ("deployments", "web"), id="deploy-short"),
        pytest.param("po/web-1", None, ("pods", "web-1"), id="po-short"),
        pytest.param("pod", "web-1", ("pods", "web-1"), id="type-then-name"),
    ],
)
def test_parse_target(target: str, name: str | None, expected: tuple[str, str]) -> None:
    rt, resolved = parse_target(target, name)
    assert (rt.plural, resolved) == expected


@pytest.mark.parametrize(
    ("target", "message"),
    [
        pytest.param("svc/web", "only deployments and pods", id="not-a-supervisor"),
        pytest.param("deploy", "must provide a resource name", id="no-name"),
        pytest.param("widgets/x", 'resource type "widgets"', id="unknown-type"),
    ],
)
def test_parse_target_refuses(target: str, message: str) -> None:
    with pytest.raises(PodctlError, match=message):
        parse_target(target, None)
