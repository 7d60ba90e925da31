"""Builders of the objects controller tests feed their fakes: short, with sensible defaults."""

from __future__ import annotations

from typing import Any

from apimachinery.models.apps import Deployment, ReplicaSet
from apimachinery.models.core import ContainerState, ContainerStateTerminated, Node, Pod
from apimachinery.models.meta import Condition, OwnerReference
from apimachinery.supervision import INTENSITY_CONDITION, RESTART_INTENSITY_EXCEEDED
from apimachinery.timeutil import FakeClock, now_rfc3339

NS = "default"
LABELS = {"app": "web"}


def template(image: str = "busybox:1", labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"labels": dict(labels or LABELS)},
            "spec": {"containers": [{"name": "c", "image": image}], **extra}}


def replicaset(name: str = "web", replicas: int = 3, *, labels: dict[str, str] | None = None,
               min_ready: int | None = None, owner: Any = None, uid: str | None = None) -> ReplicaSet:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "labels": dict(labels or LABELS), "uid": uid or f"rs-{name}"}
    if owner is not None:
        meta["ownerReferences"] = [ref_to(owner)]
    spec: dict[str, Any] = {"replicas": replicas, "selector": {"matchLabels": dict(labels or LABELS)},
                            "template": template(labels=labels)}
    if min_ready is not None:
        spec["minReadySeconds"] = min_ready
    return ReplicaSet.model_validate({"metadata": meta, "spec": spec})


def deployment(name: str = "web", replicas: int = 3, *, image: str = "busybox:1", surge: Any = "25%",
               unavailable: Any = "25%", strategy: str = "RollingUpdate", **spec: Any) -> Deployment:
    strat: dict[str, Any] = {"type": strategy}
    if strategy == "RollingUpdate":
        strat["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    body = {"replicas": replicas, "selector": {"matchLabels": dict(LABELS)}, "template": template(image),
            "strategy": strat, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600, **spec}
    return Deployment.model_validate({"metadata": {"name": name, "namespace": NS, "uid": f"d-{name}"}, "spec": body})


def ref_to(owner: Any, *, controller: bool = True, block: bool = True) -> dict[str, Any]:
    return {"apiVersion": owner.api_version, "kind": owner.kind, "name": owner.metadata.name,
            "uid": owner.metadata.uid, "controller": controller, "blockOwnerDeletion": block}


def pod(name: str, *, owner: Any = None, labels: dict[str, str] | None = None, node: str | None = None,
        phase: str = "Running", ready: bool | None = None, ready_since: str | None = None, restarts: int = 0,
        created: str = "2026-01-01T00:00:00Z", deleting: bool = False, refs: list[dict[str, Any]] | None = None,
        uid: str | None = None) -> Pod:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "labels": dict(LABELS if labels is None else labels),
                            "uid": uid or f"pod-{name}", "creationTimestamp": created}
    if owner is not None:
        meta["ownerReferences"] = [ref_to(owner)]
    if refs is not None:
        meta["ownerReferences"] = refs
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:10:00Z"
    status: dict[str, Any] = {"phase": phase}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False",
                                 "lastTransitionTime": ready_since or created}]
    status["containerStatuses"] = [{"name": "c", "restartCount": restarts, "ready": bool(ready)}]
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox:1"}]}
    if node:
        spec["nodeName"] = node
    return Pod.model_validate({"metadata": meta, "spec": spec, "status": status})


def escalated(name: str, *, owner: Any, node: str | None = "n1", failed_at: str | None = "2026-01-01T00:05:00Z",
              finished_at: str | None = None, uid: str | None = None) -> Pod:
    """A pod the kubelet failed because its restart intensity was exceeded (``failed_at``: the
    intensity condition's lastTransitionTime; ``finished_at``: the container's last exit)."""
    failed = pod(name, owner=owner, node=node, phase="Failed", uid=uid)
    assert failed.status is not None
    failed.status.reason = RESTART_INTENSITY_EXCEEDED
    failed.status.message = "3 restarts in 60s exceeded intensity 2"
    if failed_at is not None:
        failed.status.conditions = [Condition(type=INTENSITY_CONDITION, status="False", reason=RESTART_INTENSITY_EXCEEDED,
                                              last_transition_time=failed_at)]
    if finished_at is not None:
        (container,) = failed.status.container_statuses or []
        container.state = ContainerState(terminated=ContainerStateTerminated(exit_code=1, finished_at=finished_at))
    return failed


def node(name: str, *, ready: str | None = "True", heartbeat: str | None = None, taints: list[dict[str, Any]] | None = None,
         zone: str | None = None) -> Node:
    meta: dict[str, Any] = {"name": name, "uid": f"node-{name}"}
    if zone:
        meta["labels"] = {"topology.kubernetes.io/zone": zone}
    status: dict[str, Any] = {}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready, "reason": "KubeletReady",
                                 "lastHeartbeatTime": heartbeat or "2026-01-01T00:00:00Z",
                                 "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    return Node.model_validate({"metadata": meta, "spec": {"taints": taints} if taints else {}, "status": status})


def at(clock: FakeClock, offset: float = 0.0) -> str:
    """A timestamp ``offset`` seconds from the fake clock's now."""
    probe = FakeClock(start=clock.time() + offset)
    return now_rfc3339(probe)


__all__ = ["NS", "LABELS", "OwnerReference", "at", "deployment", "escalated", "node", "pod", "ref_to", "replicaset", "template"]
