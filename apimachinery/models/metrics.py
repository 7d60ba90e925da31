"""metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics: the resource usage ``kubectl top`` and the
HorizontalPodAutoscaler read.

The objects are not stored: the API server's metrics provider (the metrics-server role) keeps
the latest sample of each node and pod, gathered from the kubelets' Summary API, and serves
them read-only. ``usage`` holds ``cpu`` (cores, e.g. ``"12m"`` or ``"1234567n"``) and ``memory``
(the working set, e.g. ``"13Mi"`` or ``"13924352"``) as quantities; ``window`` is the span the
CPU rate was measured over (a duration such as ``"15s"``); ``timestamp`` is the end of it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import K8sModel, TypedObject
from apimachinery.models.meta import ListMeta, ObjectMeta

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
#: The keys of ``usage``.
CPU, MEMORY = "cpu", "memory"


class ContainerMetrics(K8sModel):
    """One container's usage in the window."""

    name: str = ""
    usage: dict[str, str] = {}


class NodeMetrics(TypedObject):
    """A node's usage: the whole machine as its kubelet measures it."""

    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "NodeMetrics"
    api_version: str = API_VERSION
    kind: str = "NodeMetrics"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    timestamp: str | None = None
    window: str | None = None
    usage: dict[str, str] = {}


class PodMetrics(TypedObject):
    """A pod's usage, per container (the pod's own is their sum)."""

    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "PodMetrics"
    api_version: str = API_VERSION
    kind: str = "PodMetrics"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    timestamp: str | None = None
    window: str | None = None
    containers: list[ContainerMetrics] = []


class NodeMetricsList(K8sModel):
    api_version: str = API_VERSION
    kind: str = "NodeMetricsList"
    metadata: ListMeta = ListMeta()
    items: list[NodeMetrics] = []


class PodMetricsList(K8sModel):
    api_version: str = API_VERSION
    kind: str = "PodMetricsList"
    metadata: ListMeta = ListMeta()
    items: list[PodMetrics] = []
