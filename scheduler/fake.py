"""An in-memory cluster for the scheduler: the API it calls, the informers it reads, the events it records.

:class:`FakeCluster` stands in for the apiserver and the three informers together. A binding
moves a pod from the pending view to the assigned view exactly as a field-selected watch does
(DELETED from one, ADDED to the other), so tests and benchmarks exercise the same confirmation
path as production. :meth:`FakeCluster.pause_watch` holds notifications back, to show that
decisions made while the informers lag (a burst) still respect capacity through assumed pods.
``latency`` delays every API call, to measure what concurrent binding buys.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from apimachinery.errors import ApiError, conflict, not_found
from apimachinery.informer import object_key
from apimachinery.models.base import TypedObject
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

T = TypeVar("T", bound=TypedObject)
Obj = TypeVar("Obj", bound=TypedObject)

_uids = itertools.count(1)


class FakeInformer(Generic[Obj]):
    """The informer surface the scheduler uses: ``get``, ``list``, ``add_handler``."""

    def __init__(self, selects: Callable[[Obj], bool]) -> None:
        self.selects = selects
        self._cache: dict[str, Obj] = {}
        self._handlers: list[tuple[Any, Any, Any]] = []

    def get(self, key: str) -> Obj | None:
        return self._cache.get(key)

    def list(self) -> list[Obj]:
        return list(self._cache.values())

    def add_handler(self, on_add: Any = None, on_update: Any = None, on_delete: Any = None) -> None:
        self._handlers.append((on_add, on_update, on_delete))
        for obj in self._cache.values():
            if on_add:
                on_add(obj)

    def observe(self, old: Obj | None, new: Obj | None) -> None:
        """Deliver one change the way a field-selected watch does."""
        before = old is not None and self.selects(old)
        after = new is not None and self.selects(new)
        if after and new is not None:
            key = object_key(new)
            previous = self._cache.get(key)
            self._cache[key] = new
            for on_add, on_update, _ in self._handlers:
                if previous is None and on_add:
                    on_add(new)
                elif previous is not None and on_update:
                    on_update(previous, new)
        elif before and old is not None:
            gone = self._cache.pop(object_key(old), None)
            if gone is not None:
                for _, _, on_delete in self._handlers:
                    if on_delete:
                        on_delete(new if new is not None else gone)


def _pending(pod: Pod) -> bool:
    return not pod.spec.node_name and not (pod.status and pod.status.phase in ("Succeeded", "Failed"))


def _assigned(pod: Pod) -> bool:
    return bool(pod.spec.node_name) and not (pod.status and pod.status.phase in ("Succeeded", "Failed"))


class FakeCluster:
    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.pods: dict[str, Pod] = {}
        self.nodes: dict[str, Node] = {}
        self.pending: FakeInformer[Pod] = FakeInformer(_pending)
        self.assigned: FakeInformer[Pod] = FakeInformer(_assigned)
        self.node_informer: FakeInformer[Node] = FakeInformer(lambda n: True)
        self.events: list[tuple[str, str, str, str]] = []  # (object key, type, reason, message)
        self.binds: list[tuple[str, str]] = []
        self.status_writes = 0
        self.binds_in_flight = 0
        self.max_binds_in_flight = 0
        self.bind_errors: dict[str, ApiError] = {}  # pod key -> error its next binding raises
        self._rv = itertools.count(1)
        self._held: list[Callable[[], None]] | None = None

    # -- the watch -------------------------------------------------------------------------

    def pause_watch(self) -> None:
        self._held = []

    def resume_watch(self) -> None:
        held, self._held = self._held or [], None
        for deliver in held:
            deliver()

    def _notify(self, deliver: Callable[[], None]) -> None:
        if self._held is not None:
            self._held.append(deliver)
        else:
            deliver()

    def _write_pod(self, old: Pod | None, new: Pod | None) -> None:
        if new is not None:
            new.metadata.resource_version = str(next(self._rv))
            self.pods[object_key(new)] = new
        elif old is not None:
            self.pods.pop(object_key(old), None)

        def deliver() -> None:
            self.pending.observe(old, new)
            self.assigned.observe(old, new)

        self._notify(deliver)

    def _write_node(self, old: Node | None, new: Node | None) -> None:
        if new is not None:
            new.metadata.resource_version = str(next(self._rv))
            self.nodes[str(new.metadata.name)] = new
        elif old is not None:
            self.nodes.pop(str(old.metadata.name), None)
        self._notify(lambda: self.node_informer.observe(old, new))

    # -- what tests do to the cluster ------------------------------------------------------

    def add_node(self, node: Node) -> None:
        self._write_node(self.nodes.get(str(node.metadata.name)), node.model_copy(deep=True))

    def update_node(self, name: str, change: Callable[[Node], None]) -> None:
        old = self.nodes[name]
        new = old.model_copy(deep=True)
        change(new)
        self._write_node(old, new)

    def delete_node(self, name: str) -> None:
        self._write_node(self.nodes[name], None)

    def create_pod(self, pod: Pod) -> None:
        new = pod.model_copy(deep=True)
        new.metadata.uid = new.metadata.uid or f"uid-{next(_uids)}"
        self._write_pod(None, new)

    def delete_pod(self, key: str) -> None:
        self._write_pod(self.pods[key], None)

    def placement(self) -> dict[str, str | None]:
        return {key: pod.spec.node_name for key, pod in self.pods.items()}

    # -- the API the scheduler calls (SchedulerApi) ----------------------------------------

    async def bind(self, namespace: str, pod: str, node: str, *, uid: str | None = None) -> None:
        self.binds_in_flight += 1
        self.max_binds_in_flight = max(self.max_binds_in_flight, self.binds_in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self.binds_in_flight -= 1
        key = f"{namespace}/{pod}"
        if key in self.bind_errors:
            raise self.bind_errors.pop(key)
        current = self.pods.get(key)
        if current is None or (uid and current.metadata.uid != uid):
            raise not_found("pods", pod)
        if current.spec.node_name:
            raise ApiError(409, "Conflict", f'pod {pod} is already assigned to node "{current.spec.node_name}"')
        status = current.status.model_copy() if current.status else PodStatus(phase="Pending")
        status.conditions = [c for c in status.conditions or [] if c.type != "PodScheduled"]
        status.conditions.append(Condition(type="PodScheduled", status="True"))
        new = current.model_copy(update={"metadata": current.metadata.model_copy(), "status": status,
                                         "spec": current.spec.model_copy(update={"node_name": node})})
        self.binds.append((key, node))
        self._write_pod(current, new)

    async def get(self, model: type[T], name: str, namespace: str | None = None) -> T:
        if self.latency:
            await asyncio.sleep(self.latency)
        found: Any = self.pods.get(f"{namespace}/{name}") if model is Pod else self.nodes.get(name)
        if found is None:
            raise not_found(model.__name__.lower() + "s", name)
        return cast(T, found.model_copy(deep=True))

    async def replace_status(self, obj: T) -> T:
        if self.latency:
            await asyncio.sleep(self.latency)
        pod = cast(Pod, obj)
        key = object_key(pod)
        current = self.pods.get(key)
        if current is None:
            raise not_found("pods", str(pod.metadata.name))
        if pod.metadata.resource_version and pod.metadata.resource_version != current.metadata.resource_version:
            raise conflict("pods", str(pod.metadata.name))
        new = current.model_copy(deep=True)
        new.status = pod.status.model_copy(deep=True) if pod.status else None
        self.status_writes += 1
        self._write_pod(current, new)
        return cast(T, new.model_copy(deep=True))

    # -- events (EventSink) ----------------------------------------------------------------

    def event(self, obj: Any, type_: str, reason: str, message: str) -> None:
        self.events.append((object_key(obj), type_, reason, message))

    def events_for(self, key: str, reason: str | None = None) -> list[str]:
        return [m for k, _, r, m in self.events if k == key and (reason is None or r == reason)]


# -- builders ------------------------------------------------------------------------------


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
             affinity: dict[str, Any] | None = None, scheduler_name: str | None = None) -> Pod:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container = Container(name="main", image="podvisor/busybox:latest",
                          resources=ResourceRequirements(requests=requests) if requests else None,
                          ports=[ContainerPort(container_port=host_port, host_port=host_port)] if host_port else None)
    owners = [OwnerReference(api_version="apps/v1", kind="ReplicaSet", name=f"rs-{owner_uid}", uid=owner_uid,
                             controller=True)] if owner_uid else None
    return Pod(
        metadata=ObjectMeta(name=name, namespace=namespace, owner_references=owners),
        spec=PodSpec(containers=[container], node_selector=node_selector, tolerations=tolerations,
                     affinity=affinity, scheduler_name=scheduler_name),
        status=PodStatus(phase="Pending"),
    )
