"""Server-side Tables: the columns and cells ``kubectl get`` prints, as Kubernetes' printers make them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apimachinery.errors import ApiError
from apiserver.tables import human_duration, to_table

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cells(kind: str, obj: dict[str, Any]) -> list[Any]:
    table = to_table(kind, [obj], resource_version="7", now=NOW)
    return list(table["rows"][0]["cells"])


def by_column(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    table = to_table(kind, [obj], resource_version="7", now=NOW)
    names = [c["name"] for c in table["columnDefinitions"]]
    return dict(zip(names, table["rows"][0]["cells"], strict=True))


# --- HumanDuration ---------------------------------------------------------------------------

DAY = 86400


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (-0.5, "0s"),
        (-1.9, "0s"),  # up to a second of clock skew reads as now
        (-2, "<invalid>"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (599, "9m59s"),
        (600, "10m"),
        (10799, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 5 * 60, "3h5m"),
        (8 * 3600 + 59 * 60, "8h"),
        (47 * 3600 + 59 * 60, "47h"),
        (2 * DAY, "2d"),
        (2 * DAY + 3600, "2d1h"),
        (8 * DAY, "8d"),
        (729 * DAY, "729d"),
        (730 * DAY, "2y"),
        (731 * DAY, "2y1d"),
        (8 * 365 * DAY + 5 * DAY, "8y"),
    ],
)
def test_human_duration_matches_kubectl(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


@pytest.mark.parametrize("stamp", [None, "", "yesterday", 5, "2026-11-26"])
def test_missing_or_unreadable_timestamps_read_unknown(stamp: object) -> None:
    assert (
        by_column("ConfigMap", {"metadata": {"name": "c", "creationTimestamp": stamp}})["Age"] == "<unknown>"
    )


# --- table shape -----------------------------------------------------------------------------

EXPECTED_COLUMNS = {
    "Pod": ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"],
    "Deployment": ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"],
    "ReplicaSet": ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"],
    "Node": [
        "Name",
        "Status",
        "Roles",
        "Age",
        "Version",
        "Internal-IP",
        "External-IP",
        "OS-Image",
        "Kernel-Version",
        "Container-Runtime",
    ],
    "Event": [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Subobject",
        "Source",
        "Message",
        "First Seen",
        "Count",
        "Name",
    ],
    "Namespace": ["Name", "Status", "Age"],
    "Lease": ["Name", "Holder", "Age"],
    "Service": ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
    "ConfigMap": ["Name", "Data", "Age"],
    "Secret": ["Name", "Type", "Data", "Age"],
    "Widget": ["Name", "Age"],
}
WIDE_ONLY = {
    "Pod": {"IP", "Node", "Nominated Node", "Readiness Gates"},
    "Deployment": {"Containers", "Images", "Selector"},
    "ReplicaSet": {"Containers", "Images", "Selector"},
    "Node": {"Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"},
    "Event": {"Subobject", "Source", "First Seen", "Count", "Name"},
    "Service": {"Selector"},
}


@pytest.mark.parametrize("kind", sorted(EXPECTED_COLUMNS))
def test_columns_and_priorities(kind: str) -> None:
    table = to_table(kind, [], resource_version="1", now=NOW)
    definitions = table["columnDefinitions"]
    assert [c["name"] for c in definitions] == EXPECTED_COLUMNS[kind]
    assert {c["name"] for c in definitions if c["priority"] == 1} == WIDE_ONLY.get(kind, set())
    for column in definitions:
        assert set(column) == {"name", "type", "format", "description", "priority"}
        assert column["description"]


@pytest.mark.parametrize("kind", sorted(EXPECTED_COLUMNS))
def test_every_row_has_one_cell_per_column_even_for_a_bare_object(kind: str) -> None:
    table = to_table(kind, [{"metadata": {"name": "x"}}], resource_version="1", now=NOW)
    assert len(table["rows"][0]["cells"]) == len(table["columnDefinitions"])


def test_table_envelope_and_partial_object_metadata() -> None:
    meta = {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "41"}
    table = to_table(
        "ConfigMap", [{"metadata": meta, "data": {}}], resource_version="42", now=NOW, continue_token="c1"
    )
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "42", "continue": "c1"}
    assert table["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
    }


@pytest.mark.parametrize(
    ("include", "expected_object"),
    [
        ("None", None),
        ("Object", {"kind": "ConfigMap", "metadata": {"name": "a"}}),
        (
            "Metadata",
            {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "a"}},
        ),
    ],
)
def test_include_object(include: str, expected_object: dict[str, Any] | None) -> None:
    obj = {"kind": "ConfigMap", "metadata": {"name": "a"}}
    row = to_table("ConfigMap", [obj], resource_version="1", now=NOW, include_object=include)["rows"][0]
    assert row.get("object") == expected_object
    assert "continue" not in to_table("ConfigMap", [], resource_version="1", now=NOW)["metadata"]


def test_unknown_include_object_is_a_bad_request() -> None:
    with pytest.raises(ApiError) as err:
        to_table("Pod", [], resource_version="1", now=NOW, include_object="Everything")
    assert err.value.code == 400


# --- pods ------------------------------------------------------------------------------------


def container_status(name: str = "app", **fields: Any) -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": 0, "image": "img", "imageID": "", **fields}


def pod(
    *,
    containers: int = 1,
    phase: str = "Running",
    statuses: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    deleting: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": "img"} for i in range(containers)]}
    if init is not None:
        spec["initContainers"] = init
    status: dict[str, Any] = {"phase": phase}
    for key, value in (
        ("containerStatuses", statuses),
        ("initContainerStatuses", init_statuses),
        ("conditions", conditions),
        ("reason", reason),
    ):
        if value is not None:
            status[key] = value
    metadata: dict[str, Any] = {"name": "p", "namespace": "default", "creationTimestamp": ago(300)}
    if deleting:
        metadata["deletionTimestamp"] = ago(1)
    return {"kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


RUNNING = {"running": {"startedAt": ago(60)}}
READY_RUNNING = container_status(ready=True, state=RUNNING)
READY = {"type": "Ready", "status": "True"}
INITIALIZED = {"type": "Initialized", "status": "True"}

POD_CASES = [
    pytest.param(pod(statuses=[READY_RUNNING]), "1/1", "Running", "0", id="running"),
    pytest.param(
        pod(containers=2, statuses=[READY_RUNNING, container_status("b", state=RUNNING)]),
        "1/2",
        "Running",
        "0",
        id="one-of-two-ready",
    ),
    pytest.param(pod(phase="Pending"), "0/1", "Pending", "0", id="pending-unscheduled"),
    pytest.param(
        pod(
            statuses=[
                container_status(
                    restartCount=3,
                    state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                    lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(5)}},
                )
            ]
        ),
        "0/1",
        "CrashLoopBackOff",
        "3 (5s ago)",
        id="crashloop",
    ),
    pytest.param(
        pod(phase="Pending", statuses=[container_status(state={"waiting": {"reason": "ErrImagePull"}})]),
        "0/1",
        "ErrImagePull",
        "0",
        id="err-image-pull",
    ),
    pytest.param(
        pod(phase="Pending", statuses=[container_status(state={"waiting": {"reason": "ContainerCreating"}})]),
        "0/1",
        "ContainerCreating",
        "0",
        id="container-creating",
    ),
    pytest.param(
        pod(
            phase="Succeeded",
            statuses=[container_status(state={"terminated": {"exitCode": 0, "reason": "Completed"}})],
        ),
        "0/1",
        "Completed",
        "0",
        id="completed",
    ),
    pytest.param(
        pod(
            phase="Failed",
            statuses=[container_status(state={"terminated": {"exitCode": 2, "reason": "Error"}})],
        ),
        "0/1",
        "Error",
        "0",
        id="error",
    ),
    pytest.param(
        pod(phase="Failed", statuses=[container_status(state={"terminated": {"exitCode": 137}})]),
        "0/1",
        "ExitCode:137",
        "0",
        id="exit-code-without-reason",
    ),
    pytest.param(
        pod(phase="Failed", statuses=[container_status(state={"terminated": {"exitCode": 0, "signal": 9}})]),
        "0/1",
        "Signal:9",
        "0",
        id="signal-without-reason",
    ),
    pytest.param(pod(statuses=[READY_RUNNING], deleting=True), "1/1", "Terminating", "0", id="terminating"),
    pytest.param(
        pod(
            phase="Succeeded",
            deleting=True,
            statuses=[container_status(state={"terminated": {"exitCode": 0, "reason": "Completed"}})],
        ),
        "0/1",
        "Completed",
        "0",
        id="finished-pods-never-show-terminating",
    ),
    pytest.param(pod(deleting=True, reason="NodeLost"), "0/1", "Unknown", "0", id="node-lost"),
    pytest.param(pod(phase="Failed", reason="Evicted"), "0/1", "Evicted", "0", id="status-reason"),
    pytest.param(
        pod(
            phase="Pending",
            conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
        ),
        "0/1",
        "SchedulingGated",
        "0",
        id="scheduling-gated",
    ),
    pytest.param(
        pod(
            phase="Pending",
            init=[{"name": "setup"}],
            init_statuses=[container_status("setup", state=RUNNING)],
            statuses=[container_status(state={"waiting": {"reason": "PodInitializing"}})],
        ),
        "0/1",
        "Init:0/1",
        "0",
        id="init-running",
    ),
    pytest.param(
        pod(
            phase="Pending",
            init=[{"name": "a"}, {"name": "b"}],
            init_statuses=[
                container_status("a", state={"terminated": {"exitCode": 0, "reason": "Completed"}}),
                container_status("b", state={"waiting": {"reason": "PodInitializing"}}),
            ],
        ),
        "0/1",
        "Init:1/2",
        "0",
        id="second-init-pending",
    ),
    pytest.param(
        pod(
            phase="Pending",
            init=[{"name": "setup"}],
            init_statuses=[
                container_status(
                    "setup",
                    restartCount=2,
                    state={"waiting": {"reason": "CrashLoopBackOff"}},
                    lastState={"terminated": {"exitCode": 1, "finishedAt": ago(30)}},
                )
            ],
        ),
        "0/1",
        "Init:CrashLoopBackOff",
        "2 (30s ago)",
        id="init-crashloop",
    ),
    pytest.param(
        pod(
            phase="Failed",
            init=[{"name": "setup"}],
            init_statuses=[
                container_status("setup", state={"terminated": {"exitCode": 3, "reason": "Error"}})
            ],
        ),
        "0/1",
        "Init:Error",
        "0",
        id="init-error",
    ),
    pytest.param(
        pod(
            init=[{"name": "setup"}],
            init_statuses=[
                container_status("setup", state={"terminated": {"exitCode": 0, "reason": "Completed"}})
            ],
            statuses=[READY_RUNNING],
            conditions=[INITIALIZED, READY],
        ),
        "1/1",
        "Running",
        "0",
        id="init-done",
    ),
    pytest.param(
        pod(
            init=[{"name": "proxy", "restartPolicy": "Always"}],
            init_statuses=[
                container_status("proxy", ready=True, started=True, restartCount=1, state=RUNNING)
            ],
            statuses=[READY_RUNNING],
            conditions=[INITIALIZED, READY],
        ),
        "2/2",
        "Running",
        "1",
        id="sidecar-counts-as-container",
    ),
    pytest.param(
        pod(
            containers=2,
            statuses=[
                container_status("a", state={"terminated": {"exitCode": 0, "reason": "Completed"}}),
                container_status("b", ready=True, state=RUNNING),
            ],
            conditions=[READY],
        ),
        "1/2",
        "Running",
        "0",
        id="completed-but-one-still-running-and-ready",
    ),
    pytest.param(
        pod(
            containers=2,
            statuses=[
                container_status("a", state={"terminated": {"exitCode": 0, "reason": "Completed"}}),
                container_status("b", ready=True, state=RUNNING),
            ],
        ),
        "1/2",
        "NotReady",
        "0",
        id="completed-but-one-running-pod-not-ready",
    ),
]


@pytest.mark.parametrize(("obj", "ready", "status", "restarts"), POD_CASES)
def test_pod_ready_status_restarts(obj: dict[str, Any], ready: str, status: str, restarts: str) -> None:
    row = by_column("Pod", obj)
    assert (row["Ready"], row["Status"], row["Restarts"]) == (ready, status, restarts)
    assert row["Age"] == "5m"


def test_pod_wide_cells() -> None:
    obj = pod(statuses=[READY_RUNNING], conditions=[READY, {"type": "example.com/gate", "status": "True"}])
    obj["spec"].update(nodeName="node-1", readinessGates=[{"conditionType": "example.com/gate"}])
    obj["status"].update(podIP="10.0.0.9", podIPs=[{"ip": "10.0.0.9"}], nominatedNodeName="node-2")
    row = by_column("Pod", obj)
    assert (row["IP"], row["Node"], row["Nominated Node"], row["Readiness Gates"]) == (
        "10.0.0.9",
        "node-1",
        "node-2",
        "1/1",
    )
    assert by_column("Pod", pod())["IP"] == "<none>"
    assert by_column("Pod", pod())["Readiness Gates"] == "<none>"


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (
            "Succeeded",
            [
                {
                    "type": "Completed",
                    "status": "True",
                    "reason": "Succeeded",
                    "message": "The pod has completed successfully.",
                }
            ],
        ),
        (
            "Failed",
            [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}],
        ),
        ("Running", None),
    ],
)
def test_finished_pods_carry_a_completed_row_condition(
    phase: str, expected: list[dict[str, str]] | None
) -> None:
    row = to_table("Pod", [pod(phase=phase)], resource_version="1", now=NOW)["rows"][0]
    assert row.get("conditions") == expected


# --- nodes -----------------------------------------------------------------------------------


def node(
    ready: str | None = "True", *, unschedulable: bool = False, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    conditions = [{"type": "MemoryPressure", "status": "False"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready})
    return {
        "kind": "Node",
        "metadata": {"name": "n1", "creationTimestamp": ago(3 * DAY), "labels": labels or {}},
        "spec": {"unschedulable": True} if unschedulable else {},
        "status": {
            "conditions": conditions,
            "nodeInfo": {
                "kubeletVersion": "v1.31.0+podvisor",
                "osImage": "Debian 12",
                "kernelVersion": "6.1",
            },
            "addresses": [
                {"type": "InternalIP", "address": "192.0.2.10"},
                {"type": "Hostname", "address": "n1"},
            ],
        },
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(node("True"), "Ready", id="ready"),
        pytest.param(node("False"), "NotReady", id="not-ready"),
        pytest.param(node("Unknown"), "NotReady", id="unknown-condition-is-not-ready"),
        pytest.param(node(None), "Unknown", id="no-ready-condition"),
        pytest.param(node("True", unschedulable=True), "Ready,SchedulingDisabled", id="cordoned"),
        pytest.param(
            node("False", unschedulable=True), "NotReady,SchedulingDisabled", id="not-ready-cordoned"
        ),
    ],
)
def test_node_status(obj: dict[str, Any], expected: str) -> None:
    assert by_column("Node", obj)["Status"] == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({}, "<none>"),
        (
            {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "true"},
            "control-plane,master",
        ),
        ({"kubernetes.io/role": "worker"}, "worker"),
        ({"kubernetes.io/role": "", "node-role.kubernetes.io/": ""}, "<none>"),
    ],
)
def test_node_roles(labels: dict[str, str], expected: str) -> None:
    assert by_column("Node", node(labels=labels))["Roles"] == expected


def test_node_cells() -> None:
    assert cells("Node", node()) == [
        "n1",
        "Ready",
        "<none>",
        "3d",
        "v1.31.0+podvisor",
        "192.0.2.10",
        "<none>",
        "Debian 12",
        "6.1",
        "<unknown>",
    ]


# --- workloads -------------------------------------------------------------------------------

TEMPLATE = {
    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}, {"name": "side", "image": "busybox"}]}
}


def test_deployment_cells() -> None:
    obj = {
        "kind": "Deployment",
        "metadata": {"name": "nginx", "creationTimestamp": ago(59)},
        "spec": {
            "replicas": 3,
            "selector": {
                "matchLabels": {"app": "nginx"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}],
            },
            "template": TEMPLATE,
        },
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    assert cells("Deployment", obj) == [
        "nginx",
        "2/3",
        3,
        2,
        "59s",
        "nginx,side",
        "nginx:1.27,busybox",
        "app=nginx,env in (dev,prod)",
    ]


def test_deployment_without_status_reads_zero_ready() -> None:
    obj = {"metadata": {"name": "d"}, "spec": {"replicas": 2, "template": TEMPLATE}}
    assert by_column("Deployment", obj)["Ready"] == "0/2"


def test_replicaset_cells() -> None:
    obj = {
        "kind": "ReplicaSet",
        "metadata": {"name": "nginx-5d8f", "creationTimestamp": ago(7200)},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "nginx", "pod-template-hash": "5d8f"}},
            "template": TEMPLATE,
        },
        "status": {"replicas": 3, "readyReplicas": 1},
    }
    assert cells("ReplicaSet", obj) == [
        "nginx-5d8f",
        3,
        3,
        1,
        "120m",
        "nginx,side",
        "nginx:1.27,busybox",
        "app=nginx,pod-template-hash=5d8f",
    ]
    assert by_column("ReplicaSet", {"metadata": {"name": "x"}})["Selector"] == "<none>"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"key": "tier", "operator": "NotIn", "values": ["db"]}, "tier notin (db)"),
        ({"key": "tier", "operator": "Exists"}, "tier"),
        ({"key": "tier", "operator": "DoesNotExist"}, "!tier"),
    ],
)
def test_selector_operators(expression: dict[str, Any], expected: str) -> None:
    obj = {
        "metadata": {"name": "d"},
        "spec": {"selector": {"matchExpressions": [expression]}, "template": TEMPLATE},
    }
    assert by_column("Deployment", obj)["Selector"] == expected


# --- events ----------------------------------------------------------------------------------


def event(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "Event",
        "metadata": {"name": "nginx.17f", "namespace": "default"},
        "involvedObject": {"kind": "Deployment", "name": "nginx", "fieldPath": "spec.containers{nginx}"},
        "type": "Normal",
        "reason": "ScalingReplicaSet",
        "message": " Scaled up replica set nginx-5d8f to 3\n",
        **fields,
    }


def test_event_cells() -> None:
    obj = event(
        firstTimestamp=ago(600),
        lastTimestamp=ago(30),
        count=4,
        source={"component": "kubelet", "host": "node-1"},
    )
    assert cells("Event", obj) == [
        "30s",
        "Normal",
        "ScalingReplicaSet",
        "deployment/nginx",
        "spec.containers{nginx}",
        "kubelet, node-1",
        "Scaled up replica set nginx-5d8f to 3",
        "10m",
        4,
        "nginx.17f",
    ]


@pytest.mark.parametrize(
    ("fields", "last_seen", "first_seen", "count"),
    [
        pytest.param({"firstTimestamp": ago(90)}, "90s", "90s", 1, id="no-last-timestamp-no-count"),
        pytest.param(
            {"eventTime": "2026-11-26T11:59:00.123456Z"},
            "59s",
            "59s",
            1,
            id="events-api-micro-time-truncates",
        ),
        pytest.param(
            {"eventTime": ago(300), "series": {"count": 7, "lastObservedTime": ago(10)}},
            "10s",
            "5m",
            7,
            id="series",
        ),
        pytest.param({}, "<unknown>", "<unknown>", 1, id="no-times"),
    ],
)
def test_event_times_and_count(fields: dict[str, Any], last_seen: str, first_seen: str, count: int) -> None:
    row = by_column("Event", event(**fields))
    assert (row["Last Seen"], row["First Seen"], row["Count"]) == (last_seen, first_seen, count)


@pytest.mark.parametrize(
    ("fields", "target", "source"),
    [
        ({"involvedObject": {"kind": "Node"}}, "node", ""),
        ({"reportingComponent": "deployment-controller"}, "deployment/nginx", "deployment-controller"),
        (
            {"source": {"component": "kubelet"}, "reportingInstance": "node-2"},
            "deployment/nginx",
            "kubelet, node-2",
        ),
    ],
)
def test_event_object_and_source(fields: dict[str, Any], target: str, source: str) -> None:
    row = by_column("Event", event(**fields))
    assert (row["Object"], row["Source"]) == (target, source)


# --- services and the small kinds --------------------------------------------------------------


def service(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "kind": "Service",
        "metadata": {"name": "web", "creationTimestamp": ago(45)},
        "spec": spec,
        "status": status or {},
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            service(
                {
                    "type": "ClusterIP",
                    "clusterIP": "10.96.0.10",
                    "clusterIPs": ["10.96.0.10"],
                    "ports": [{"port": 80, "protocol": "TCP"}],
                    "selector": {"app": "web"},
                }
            ),
            ["web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "45s", "app=web"],
            id="cluster-ip",
        ),
        pytest.param(
            service(
                {
                    "type": "NodePort",
                    "clusterIP": "10.96.0.11",
                    "ports": [{"port": 80, "nodePort": 30080}, {"port": 53, "protocol": "UDP"}],
                }
            ),
            ["web", "NodePort", "10.96.0.11", "<none>", "80:30080/TCP,53/UDP", "45s", "<none>"],
            id="node-port",
        ),
        pytest.param(
            service({"type": "LoadBalancer", "clusterIPs": ["10.96.0.12"], "ports": [{"port": 443}]}),
            ["web", "LoadBalancer", "10.96.0.12", "<pending>", "443/TCP", "45s", "<none>"],
            id="load-balancer-pending",
        ),
        pytest.param(
            service(
                {"type": "LoadBalancer", "clusterIPs": ["10.96.0.12"], "externalIPs": ["192.0.2.1"]},
                {"loadBalancer": {"ingress": [{"ip": "203.0.113.5"}, {"hostname": "lb.example"}]}},
            ),
            [
                "web",
                "LoadBalancer",
                "10.96.0.12",
                "203.0.113.5,lb.example,192.0.2.1",
                "<none>",
                "45s",
                "<none>",
            ],
            id="load-balancer",
        ),
        pytest.param(
            service({"type": "ExternalName", "externalName": "db.example"}),
            ["web", "ExternalName", "<none>", "db.example", "<none>", "45s", "<none>"],
            id="external-name",
        ),
        pytest.param(
            service({"clusterIP": "None", "externalIPs": ["192.0.2.7"]}),
            ["web", "ClusterIP", "None", "192.0.2.7", "<none>", "45s", "<none>"],
            id="headless-defaults-to-cluster-ip",
        ),
    ],
)
def test_service_cells(obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells("Service", obj) == expected


@pytest.mark.parametrize(
    ("kind", "obj", "expected"),
    [
        pytest.param(
            "ConfigMap",
            {
                "metadata": {"name": "cfg", "creationTimestamp": ago(1)},
                "data": {"a": "1", "b": "2"},
                "binaryData": {"c": "AA=="},
            },
            ["cfg", 3, "1s"],
            id="configmap",
        ),
        pytest.param(
            "Secret",
            {
                "metadata": {"name": "s", "creationTimestamp": ago(1)},
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": "", "tls.key": ""},
            },
            ["s", "kubernetes.io/tls", 2, "1s"],
            id="secret",
        ),
        pytest.param(
            "Secret", {"metadata": {"name": "s"}}, ["s", "Opaque", 0, "<unknown>"], id="secret-defaults"
        ),
        pytest.param(
            "Namespace",
            {"metadata": {"name": "default", "creationTimestamp": ago(DAY)}, "status": {"phase": "Active"}},
            ["default", "Active", "24h"],
            id="namespace",
        ),
        pytest.param(
            "Namespace",
            {"metadata": {"name": "gone", "deletionTimestamp": ago(1)}, "status": {"phase": "Terminating"}},
            ["gone", "Terminating", "<unknown>"],
            id="namespace-terminating",
        ),
        pytest.param(
            "Lease",
            {"metadata": {"name": "n1", "creationTimestamp": ago(10)}, "spec": {"holderIdentity": "n1"}},
            ["n1", "n1", "10s"],
            id="lease",
        ),
        pytest.param(
            "Lease", {"metadata": {"name": "free"}, "spec": {}}, ["free", "", "<unknown>"], id="lease-unheld"
        ),
        pytest.param(
            "Widget", {"metadata": {"name": "w", "creationTimestamp": ago(61)}}, ["w", "61s"], id="generic"
        ),
    ],
)
def test_small_kinds(kind: str, obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells(kind, obj) == expected


def test_ages_accept_fractional_and_offset_timestamps() -> None:
    for stamp in ("2026-11-26T11:57:59.5Z", "2026-11-26T11:58:00+00:00", "2026-11-26T12:58:00+01:00"):
        assert by_column("ConfigMap", {"metadata": {"name": "c", "creationTimestamp": stamp}})["Age"] == "2m"


def test_naive_now_is_taken_as_utc() -> None:
    table = to_table(
        "Lease",
        [{"metadata": {"name": "l", "creationTimestamp": ago(5)}}],
        resource_version="1",
        now=NOW.replace(tzinfo=None),
    )
    assert table["rows"][0]["cells"][2] == "5s"


def _ep(*subsets: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "web", "creationTimestamp": ago(60)}, "subsets": list(subsets)}


@pytest.mark.parametrize(
    ("endpoints", "printed"),
    [
        (_ep(), "<none>"),
        (_ep({"notReadyAddresses": [{"ip": "10.0.0.5"}], "ports": [{"port": 80}]}), ""),
        (_ep({"addresses": [{"ip": "10.0.0.5"}, {"ip": "10.0.0.6"}], "ports": [{"port": 80}, {"port": 443}]}),
         "10.0.0.5:80,10.0.0.6:80,10.0.0.5:443 + 1 more..."),
        (_ep({"addresses": [{"ip": "10.0.0.5"}]}), "10.0.0.5"),
        (_ep({"addresses": [{"ip": "2001:db8::5"}], "ports": [{"port": 80}]}), "[2001:db8::5]:80"),
        (_ep({"addresses": [{"ip": "10.0.0.5"}], "ports": [{"port": 80}]},
             {"addresses": [{"ip": "10.0.0.6"}], "ports": [{"port": 81}]}), "10.0.0.5:80,10.0.0.6:81"),
    ],
    ids=["no-subsets", "none-ready", "three-then-more", "headless-portless", "ipv6", "two-subsets"],
)
def test_endpoints_cells(endpoints: dict[str, Any], printed: str) -> None:
    assert by_column("Endpoints", endpoints) == {"Name": "web", "Endpoints": printed, "Age": "60s"}


@pytest.mark.parametrize(
    ("ports", "endpoints", "printed"),
    [
        ([], [], ("<unset>", "<unset>")),
        ([{"port": 80}, {"port": 81}, {"port": 82}, {"port": 83}], [{"addresses": ["10.0.0.5"]}],
         ("80,81,82 + 1 more...", "10.0.0.5")),
        ([{"name": "http"}], [{"addresses": [f"10.0.0.{i}"]} for i in range(1, 6)],
         ("http", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...")),
    ],
    ids=["placeholder", "four-ports", "five-endpoints"],
)
def test_endpointslice_cells(ports: list[dict[str, Any]], endpoints: list[dict[str, Any]],
                             printed: tuple[str, str]) -> None:
    obj = {"metadata": {"name": "web-x", "creationTimestamp": ago(60)}, "addressType": "IPv4", "ports": ports,
           "endpoints": endpoints}
    assert by_column("EndpointSlice", obj) == {"Name": "web-x", "AddressType": "IPv4", "Ports": printed[0],
                                               "Endpoints": printed[1], "Age": "60s"}


def test_replicationcontroller_cells() -> None:
    obj = {
        "kind": "ReplicationController",
        "metadata": {"name": "legacy", "creationTimestamp": ago(90)},
        "spec": {"replicas": 2, "selector": {"tier": "front", "app": "legacy"}, "template": TEMPLATE},
        "status": {"replicas": 2, "readyReplicas": 1},
    }
    assert cells("ReplicationController", obj) == [
        "legacy", 2, 2, 1, "90s", "nginx,side", "nginx:1.27,busybox", "app=legacy,tier=front"]
    assert by_column("ReplicationController", {"metadata": {"name": "x"}})["Selector"] == "<none>"


@pytest.mark.parametrize(
    ("spec", "status", "expected"),
    [
        pytest.param({"schedule": "*/5 * * * *", "suspend": False}, {},
                     ["*/5 * * * *", "<none>", "False", 0, "<none>"], id="fresh"),
        pytest.param({"schedule": "0 3 * * *", "timeZone": "Europe/Paris", "suspend": True},
                     {"active": [{"name": "a"}, {"name": "b"}], "lastScheduleTime": ago(150)},
                     ["0 3 * * *", "Europe/Paris", "True", 2, "2m30s"], id="active"),
        pytest.param({"schedule": "@hourly"}, {}, ["@hourly", "<none>", "<unset>", 0, "<none>"], id="suspend-unset"),
    ],
)
def test_cronjob_cells(spec: dict[str, Any], status: dict[str, Any], expected: list[Any]) -> None:
    obj = {"kind": "CronJob", "metadata": {"name": "tick", "creationTimestamp": ago(3600)},
           "spec": {**spec, "jobTemplate": {"spec": {"template": TEMPLATE}}}, "status": status}
    assert cells("CronJob", obj) == ["tick", *expected, "60m", "nginx,side", "nginx:1.27,busybox", "<none>"]
    columns = [c["name"] for c in to_table("CronJob", [], resource_version="1", now=NOW)["columnDefinitions"]]
    assert columns[:7] == ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age"]
