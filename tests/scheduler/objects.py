"""Nodes and pods for scheduler tests: a few knobs each, sensible defaults."""

from __future__ import annotations

from typing import Any

from apimachinery.models.core import (
    Container,
    ContainerPort,
    Node,
    NodeSpec,
    NodeStatus,
    Pod,
    PodSpec,
    PodStatus,
    ResourceRequirements,
    Taint,
    Toleration,
)
from apimachinery.models.meta import Condition, ObjectMeta, OwnerReference


def make_node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: int = 110, labels: dict[str, str] | None = None,
              taints: list[Taint] | None = None, ready: bool = True, unschedulable: bool = False) -> Node:
    capacity = {"cpu": cpu, "memory": memory, "pods": str(pods)}
    return Node(
        metadata=ObjectMeta(name=name, labels={"kubernetes.io/hostname": name, **(labels or {})}),
        spec=NodeSpec(taints=taints, unschedulable=unschedulable or None),
        status=NodeStatus(capacity=capacity, allocatable=dict(capacity),
                          conditions=[Condition(type="Ready", status="True" if ready else "False")]),
    )


def make_pod(name: str, *, namespace: str = "default", cpu: str | None = None, memory: str | None = None,
             owner_uid: str | None = None, node_selector: dict[str, str] | None = None,
             tolerations: list[Toleration] | None = None, host_port: int | None = None,
             affinity: dict[str, Any] | None = None, scheduler_name: str | None = None,
             annotations: dict[str, str] | None = None) -> Pod:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container = Container(name="main", image="podvisor/busybox:latest",
                          resources=ResourceRequirements(requests=requests) if requests else None,
                          ports=[ContainerPort(container_port=host_port, host_port=host_port)] if host_port else None)
    owners = [OwnerReference(api_version="apps/v1", kind="ReplicaSet", name=f"rs-{owner_uid}", uid=owner_uid,
                             controller=True)] if owner_uid else None
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, owner_references=owners, annotations=annotations),
        spec=PodSpec(containers=[container], node_selector=node_selector, tolerations=tolerations,
                     affinity=affinity, scheduler_name=scheduler_name),
        status=PodStatus(phase="Pending"),
    )
