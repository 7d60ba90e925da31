"""describe pages as pure functions of the objects and a fixed ``now``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from podctl.describe import describe_deployment, describe_node, describe_pod, describe_replicaset
from podctl.describe_format import Sheet, timestamp

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
TEMPLATE: dict[str, Any] = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "busybox", "ports": [{"containerPort": 80}],
                                     "env": [{"name": "MODE", "value": "prod"}]}]}}


def event(reason: str, message: str, *, last: str, first: str | None = None, count: int = 1) -> dict[str, Any]:
    return {"type": "Normal", "reason": reason, "message": message, "count": count,
            "lastTimestamp": last, "firstTimestamp": first or last, "source": {"component": "deployment-controller"}}


def test_sheet_aligns_runs_of_tabbed_lines() -> None:
    sheet = Sheet()
    sheet.field(0, "Name", "web")
    sheet.field(0, "Namespace", "default")
    sheet.add(0, "Pod Template:")
    sheet.field(2, "Labels", "app=web")
    assert sheet.text() == "Name:       web\nNamespace:  default\nPod Template:\n  Labels:  app=web\n"


def test_timestamp_reads_like_kubectl() -> None:
    assert timestamp("2026-11-26T02:45:24Z") == "Thu, 26 Nov 2026 02:45:24 +0000"
    assert timestamp(None) == "<none>"


def test_deployment_page() -> None:
    dep = {"kind": "Deployment", "metadata": {"name": "web", "namespace": "default", "uid": "d1",
                                              "creationTimestamp": "2026-11-26T11:00:00Z",
                                              "annotations": {"deployment.kubernetes.io/revision": "2"}},
           "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE,
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "50%"}}},
           "status": {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 2, "unavailableReplicas": 1,
                      "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}}
    new_rs = {"metadata": {"name": "web-2", "annotations": {"deployment.kubernetes.io/revision": "2"}},
              "spec": {"replicas": 3}, "status": {"replicas": 3}}
    old_rs = {"metadata": {"name": "web-1", "annotations": {"deployment.kubernetes.io/revision": "1"}},
              "spec": {"replicas": 0}, "status": {"replicas": 0}}
    events = [event("ScalingReplicaSet", "Scaled up replica set web-2 to 3", last="2026-11-26T11:59:50Z",
                    first="2026-11-26T11:58:00Z", count=2)]
    text = describe_deployment(dep, [old_rs, new_rs], events, NOW)
    lines = text.splitlines()
    assert lines[0] == "Name:                   web"
    assert "Replicas:               3 desired | 3 updated | 3 total | 2 available | 1 unavailable" in lines
    assert "RollingUpdateStrategy:  1 max unavailable, 50% max surge" in lines
    assert any(line.startswith("    Port:") and line.endswith("80/TCP") for line in lines)
    assert "      MODE:  prod" in lines
    assert any(line.startswith("  Available") and "MinimumReplicasAvailable" in line for line in lines)
    assert any(line.startswith("NewReplicaSet:") and "web-2 (3/3 replicas created)" in line for line in lines)
    assert any(line.startswith("OldReplicaSets:") and "<none>" in line for line in lines)
    assert lines[-3:] == [
        "  Type    Reason             Age               From                   Message",
        "  ----    ------             ----              ----                   -------",
        "  Normal  ScalingReplicaSet  10s (x2 over 2m)  deployment-controller  Scaled up replica set web-2 to 3",
    ]


def test_pod_page_shows_container_state_and_no_events() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"},
                                       "ownerReferences": [{"kind": "ReplicaSet", "name": "web-2", "controller": True}]},
           "spec": {"nodeName": "n1", "containers": TEMPLATE["spec"]["containers"]},
           "status": {"phase": "Running", "podIP": "172.17.0.5", "hostIP": "10.0.0.1",
                      "containerStatuses": [{"name": "web", "ready": True, "restartCount": 2,
                                             "state": {"running": {"startedAt": "2026-11-26T11:59:00Z"}},
                                             "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}
    text = describe_pod(pod, [], NOW)
    assert any(line.startswith("Controlled By:") and "ReplicaSet/web-2" in line for line in text.splitlines())
    for expected in ("Node:", "n1/10.0.0.1", "Running", "Exit Code:", "Restart Count:", "Events:"):
        assert expected in text
    assert text.rstrip().endswith("<none>")


def test_replicaset_page_counts_pod_phases() -> None:
    rs = {"kind": "ReplicaSet", "metadata": {"name": "web-2", "namespace": "default"},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
          "status": {"replicas": 2}}
    pods = [{"status": {"phase": "Running"}}, {"status": {"phase": "Pending"}}]
    text = describe_replicaset(rs, pods, [], NOW)
    assert any(line.startswith("Replicas:") and "2 current / 2 desired" in line for line in text.splitlines())
    assert "1 Running / 1 Waiting / 0 Succeeded / 0 Failed" in text


def test_node_page_lists_conditions_and_pods() -> None:
    node = {"kind": "Node", "metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/worker": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "kubelet is posting ready status"}],
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                       "capacity": {"cpu": "2", "pods": "110"}}}
    pods = [{"metadata": {"name": "web-1", "namespace": "default", "creationTimestamp": "2026-11-26T11:59:00Z"},
             "spec": {"containers": [{"resources": {"requests": {"cpu": "100m"}}}]}, "status": {"phase": "Running"}}]
    text = describe_node(node, pods, [], NOW)
    assert any(line.startswith("Roles:") and "worker" in line for line in text.splitlines())
    assert any(line.startswith("Unschedulable:") and "true" in line for line in text.splitlines())
    assert "KubeletReady" in text and "InternalIP: 10.0.0.1" in text
    assert any("web-1" in line and "100m" in line and "60s" in line for line in text.splitlines())


def test_job_page() -> None:
    from podctl.describe import describe_job

    job = {"kind": "Job", "metadata": {"name": "pi", "namespace": "default", "uid": "j1",
                                       "creationTimestamp": "2026-11-26T11:00:00Z"},
           "spec": {"parallelism": 2, "completions": 3, "completionMode": "Indexed", "backoffLimit": 6,
                    "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "j1"}}, "template": TEMPLATE},
           "status": {"startTime": "2026-11-26T11:00:00Z", "completionTime": "2026-11-26T11:00:42Z",
                      "succeeded": 3, "completedIndexes": "0-2",
                      "conditions": [{"type": "Complete", "status": "True", "reason": "CompletionsReached"}]}}
    text = describe_job(job, [], NOW)
    assert "Selector:" in text and "batch.kubernetes.io/controller-uid=j1" in text
    assert "Completion Mode:" in text and "Indexed" in text
    assert "Duration:" in text and "42s" in text
    assert "Pods Statuses:" in text and "0 Active (0 Ready) / 3 Succeeded / 0 Failed" in text
    assert "Completed Indexes:" in text and "0-2" in text
    assert "Complete" in text and "CompletionsReached" in text
