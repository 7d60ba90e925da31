"""What the scheduler needs to know about a pod, computed once per scheduling attempt.

Filters run for every (pod, node) pair, so everything derived from the pod alone (resource
requests as integers, host ports, the compiled node affinity, the controller owner) is computed
here once instead of once per node. The request arithmetic is Kubernetes' (``PodRequests``):
app containers and restartable ("sidecar") init containers run together and add up; each
ordinary init container runs alone beside the sidecars started before it; the pod needs the
larger of the two, plus ``spec.overhead``.

``failed_on`` is the ReplicaSet's note (``supervision.podvisor.io/failed-on``) of the nodes where
earlier pods of the same set exceeded their restart intensity; the score avoids them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from apimachinery.models.core import Container, Pod, Toleration
from apimachinery.nodeaffinity import NodeSelectorTerm, required_node_affinity
from apimachinery.quantity import cpu_millis, memory_bytes
from apimachinery.supervision import FAILED_ON, parse_pod

if TYPE_CHECKING:
    from scheduler.volumebinding import PodVolumes

CPU, MEMORY, PODS = "cpu", "memory", "pods"
# Kubernetes scores pods that request nothing as if they asked for this much, so that
# least-allocated scoring still spreads them (DefaultMilliCPURequest / DefaultMemoryRequest).
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

TCP = "TCP"
ANY_IP = "0.0.0.0"


Resources = dict[str, int]


@dataclass(frozen=True, slots=True)
class HostPort:
    """One host port a pod claims on its node; ``0.0.0.0`` claims every address."""

    ip: str
    protocol: str
    port: int


@dataclass(slots=True)
class PodInfo:
    """A pod as the filters and the node cache see it."""

    pod: Pod
    key: str
    uid: str
    owner_uid: str | None
    requests: Resources  # cpu in millicores, memory and everything else in units (Value())
    nonzero_cpu: int
    nonzero_memory: int
    host_ports: tuple[HostPort, ...]
    node_selector: dict[str, str]
    affinity_terms: tuple[NodeSelectorTerm, ...] | None  # None: no required node affinity
    tolerations: tuple[Toleration, ...] = field(default=())
    positive_requests: tuple[tuple[str, int], ...] = field(default=())  # what the resource filter checks
    failed_on: frozenset[str] = field(default=frozenset())  # nodes where an earlier pod escalated
    volumes: PodVolumes | None = None  # what its claims ask of the node (set per cycle by the scheduler)

    @classmethod
    def from_pod(cls, pod: Pod) -> PodInfo:
        meta, spec = pod.metadata, pod.spec
        owner = meta.controller_ref()
        nonzero = pod_requests(pod, default_cpu=DEFAULT_MILLI_CPU_REQUEST, default_memory=DEFAULT_MEMORY_REQUEST)
        requests = pod_requests(pod)
        return cls(
            pod=pod,
            key=f"{meta.namespace}/{meta.name}",
            uid=meta.uid or f"{meta.namespace}/{meta.name}",
            owner_uid=owner.uid if owner else None,
            requests=requests,
            nonzero_cpu=nonzero.get(CPU, 0),
            nonzero_memory=nonzero.get(MEMORY, 0),
            host_ports=host_ports(pod),
            node_selector=dict(spec.node_selector or {}),
            affinity_terms=required_node_affinity(spec.affinity),
            tolerations=tuple(spec.tolerations or ()),
            positive_requests=tuple((name, value) for name, value in requests.items() if value > 0),
            failed_on=failed_on_nodes(pod),
        )


def failed_on_nodes(pod: Pod) -> frozenset[str]:
    annotations = pod.metadata.annotations
    if not annotations or FAILED_ON not in annotations:
        return frozenset()
    return frozenset(parse_pod(annotations).failed_on)


def _container_requests(container: Container, *, default_cpu: int, default_memory: int) -> Resources:
    raw = (container.resources.requests if container.resources else None) or {}
    out: Resources = {}
    for name, quantity in raw.items():
        try:
            out[name] = cpu_millis(quantity) if name == CPU else memory_bytes(quantity)
        except ValueError:
            continue  # the apiserver validates quantities; never crash the scheduler on one
    if default_cpu and CPU not in raw:
        out[CPU] = default_cpu
    if default_memory and MEMORY not in raw:
        out[MEMORY] = default_memory
    return out


def _add(into: Resources, more: Resources) -> None:
    for name, value in more.items():
        into[name] = into.get(name, 0) + value


def _max(into: Resources, other: Resources) -> None:
    for name, value in other.items():
        if value > into.get(name, 0):
            into[name] = value


def pod_requests(pod: Pod, *, default_cpu: int = 0, default_memory: int = 0) -> Resources:
    """The pod's effective requests (see the module docstring); defaults fill missing cpu/memory."""
    spec = pod.spec
    per = {"default_cpu": default_cpu, "default_memory": default_memory}
    total: Resources = {}
    for container in spec.containers:
        _add(total, _container_requests(container, **per))
    sidecars: Resources = {}
    init_peak: Resources = {}
    for container in spec.init_containers or []:
        requests = _container_requests(container, **per)
        if container.restart_policy == "Always":
            _add(total, requests)
            _add(sidecars, requests)
            running = dict(sidecars)
        else:
            running = dict(requests)
            _add(running, sidecars)
        _max(init_peak, running)
    _max(total, init_peak)
    overhead: Resources = {}
    for name, quantity in (spec.overhead or {}).items():
        try:
            overhead[name] = cpu_millis(quantity) if name == CPU else memory_bytes(quantity)
        except ValueError:
            continue
    _add(total, overhead)
    return total


def host_ports(pod: Pod) -> tuple[HostPort, ...]:
    """Host ports of the app and sidecar containers (the apiserver defaults them for hostNetwork)."""
    containers: Iterable[Container] = [
        *pod.spec.containers, *(c for c in pod.spec.init_containers or [] if c.restart_policy == "Always")
    ]
    found: list[HostPort] = []
    for container in containers:
        for port in container.ports or []:
            if port.host_port:
                found.append(HostPort(port.host_ip or ANY_IP, port.protocol or TCP, port.host_port))
    return tuple(found)
