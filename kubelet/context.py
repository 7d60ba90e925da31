"""What every pod worker of a node shares: settings, runtime, API access, image manager, clock.

The API side is a Protocol (``PodApi``) with the real implementation over ``ApiClient`` and
``EventRecorder`` here and an in-memory fake in the tests, so the worker's decisions are
tested without an apiserver.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.events import EventRecorder
from apimachinery.models.core import Pod, Service
from apimachinery.timeutil import Clock
from kubelet import naming, serviceenv
from kubelet.apirelay import InClusterApi
from kubelet.config import KubeletConfig
from kubelet.dns import PodDns
from kubelet.images import ImageManager
from kubelet.metrics import KubeletMetrics
from kubelet.naming import PodRef
from kubelet.runtime.base import ContainerRuntime
from kubelet.threads import Runner
from kubelet.volumes import ConfigMapSource, ProjectedVolumes

log = logging.getLogger(__name__)


class PodApi(Protocol):
    """The apiserver as a pod worker sees it."""

    async def replace_status(self, pod: Pod) -> Pod:
        """PUT the pod's status; raises ApiError (409 on a stale resourceVersion, 404 if gone)."""
        ...

    async def get_pod(self, namespace: str, name: str) -> Pod | None: ...

    async def delete_pod(self, ref: PodRef) -> None:
        """Remove the pod object now (gracePeriodSeconds=0), only if its uid is still ``ref.uid``."""
        ...

    def event(self, pod: Pod, type_: str, reason: str, message: str, *, field_path: str | None = None) -> None:
        """Record an Event about the pod in the background."""
        ...


class ClientPodApi:
    """``PodApi`` over the real API client.

    Every call waits for a slot of ``limit`` (shared by all nodes of a process), so thousands
    of pod workers queue here, in order and without a timeout, rather than in the client's
    connection pool. Events go through the recorder's own queue and budget instead: on the pod
    start path the Created/Started events must not queue in front of the status write that
    users and controllers wait for.
    """

    def __init__(self, client: ApiClient, recorder: EventRecorder, *, limit: asyncio.Semaphore) -> None:
        self.client = client
        self.recorder = recorder
        self.limit = limit

    async def replace_status(self, pod: Pod) -> Pod:
        async with self.limit:
            return await self.client.replace_status(pod)

    async def get_pod(self, namespace: str, name: str) -> Pod | None:
        try:
            async with self.limit:
                return await self.client.get(Pod, name, namespace)
        except ApiError as err:
            if err.code == 404:
                return None
            raise

    async def delete_pod(self, ref: PodRef) -> None:
        try:
            async with self.limit:
                await self.client.delete(Pod, ref.name, ref.namespace, grace_period=0, preconditions={"uid": ref.uid})
        except ApiError as err:
            if err.code not in (404, 409):  # gone already, or a new pod of the same name
                raise

    def event(self, pod: Pod, type_: str, reason: str, message: str, *, field_path: str | None = None) -> None:
        self.recorder.event(pod, type_, reason, message, field_path=field_path)


@dataclass
class NodeContext:
    """Shared by the pod workers of one node."""

    cfg: KubeletConfig
    runtime: ContainerRuntime
    run: Runner
    api: PodApi
    images: ImageManager
    clock: Clock
    lookup: Callable[[str], Pod | None]  # "ns/name" -> the desired pod, from the informer cache
    runtime_scheme: str = "docker"
    services: Callable[[], list[Service]] = list  # the cluster's Services, for the service variables
    projected: ProjectedVolumes | None = None  # None: a hollow node, which writes no files
    config_objects: ConfigMapSource | None = None  # the ConfigMaps and Secrets pods' env reads
    allocatable: dict[str, str] = field(default_factory=dict)  # the node's, for unset resource limits
    in_cluster: InClusterApi | None = None  # where pods reach the API server (None: they cannot)
    pod_dns: PodDns | None = None  # writes pods' resolv.conf (None: a hollow node, Docker's default)
    metrics: KubeletMetrics | None = None  # this node's registry (None: nothing is recorded)

    @property
    def node(self) -> str:
        return self.cfg.node_name

    @property
    def network(self) -> str:
        return naming.network_name(self.cfg.node_name, self.cfg.network)

    def service_env(self, pod: Pod) -> dict[str, str]:
        """The Services' variables (:mod:`kubelet.serviceenv`), then the relayed ``kubernetes``
        Service's (:mod:`kubelet.apirelay`): the address pods reach the API server at today."""
        relayed = self.in_cluster.env() if self.in_cluster is not None else {}
        return {**serviceenv.service_env(pod, self.services()), **relayed}

    @property
    def host_ip(self) -> str:
        return self.cfg.address
