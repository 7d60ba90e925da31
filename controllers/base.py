"""What every controller is built from: a client, informer caches, a recorder and a clock.

Controllers never construct their own I/O. They receive a :class:`ControllerContext` - the API
client, the shared informer caches, an event-recorder factory and a clock - so the controller
manager wires real informers over HTTPS while unit tests hand in :class:`apimachinery.testing.FakeApi`
and its informers and call ``sync(key)`` directly. The Protocols below are the exact
surface the controllers use; :class:`apimachinery.client.ApiClient`,
:class:`apimachinery.informer.Informer` and :class:`apimachinery.workqueue.WorkQueue` satisfy them.

The standard indexes (by namespace, node, uid, owner uid) are registered once here so every
controller asks the same questions of the same caches.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from apimachinery.api import Api
from apimachinery.errors import ApiError
from apimachinery.events import EventRecorder
from apimachinery.models.apps import Deployment, Lease, ReplicaSet, StatefulSet
from apimachinery.models.base import TypedObject
from apimachinery.models.batch import Job
from apimachinery.models.core import Endpoints, Namespace, Node, Pod, Service
from apimachinery.models.discovery import SERVICE_NAME_LABEL, EndpointSlice
from apimachinery.models.meta import OwnerReference
from apimachinery.models.storage import PersistentVolumeClaim
from apimachinery.timeutil import Clock, format_rfc3339
from controllers.metrics import ControllerMetrics

log = logging.getLogger(__name__)

T = TypeVar("T", bound=TypedObject)

NAMESPACE_INDEX = "namespace"
NODE_INDEX = "node"
UID_INDEX = "uid"
OWNER_UID_INDEX = "owner-uid"
CONTROLLER_UID_INDEX = "controller-uid"
SERVICE_NAME_INDEX = "service-name"


# The typed calls the controllers make: the shared package's API Protocol, which the real
# ApiClient and the test fake both satisfy.
Client = Api


class Cache(Protocol[T]):
    """An informer's read side: a keyed cache with indexes and change notifications."""

    def get(self, key: str) -> T | None: ...

    def list(self) -> builtins.list[T]: ...

    def add_indexer(self, name: str, fn: Callable[[T], builtins.list[str]]) -> None: ...

    def by_index(self, name: str, value: str) -> builtins.list[T]: ...

    def add_handler(
        self,
        on_add: Callable[[Any], None] | None = None,
        on_update: Callable[[Any, Any], None] | None = None,
        on_delete: Callable[[Any], None] | None = None,
    ) -> None: ...


class Queue(Protocol):
    """What a controller's handlers and ``sync`` do with its work queue."""

    def add(self, key: str) -> None: ...

    def add_after(self, key: str, delay: float) -> None: ...


class Recorder(Protocol):
    def event(self, obj: Any, type_: str, reason: str, message: str) -> None: ...


@dataclass
class Informers:
    """The shared caches, built once and read by every controller."""

    pods: Cache[Pod]
    replicasets: Cache[ReplicaSet]
    deployments: Cache[Deployment]
    nodes: Cache[Node]
    leases: Cache[Lease]  # node heartbeats in kube-node-lease
    namespaces: Cache[Namespace]
    services: Cache[Service]
    endpoints: Cache[Endpoints]
    endpointslices: Cache[EndpointSlice]
    statefulsets: Cache[StatefulSet]
    persistentvolumeclaims: Cache[PersistentVolumeClaim]
    jobs: Cache[Job]

    def add_standard_indexers(self) -> None:
        for cache in (self.pods, self.replicasets, self.deployments, self.nodes, self.leases, self.services,
                      self.endpoints, self.endpointslices, self.statefulsets, self.persistentvolumeclaims,
                      self.jobs):
            add_standard_indexers(cache)
        self.pods.add_indexer(NODE_INDEX, _node_of)
        self.endpointslices.add_indexer(SERVICE_NAME_INDEX, _service_of_slice)


def add_standard_indexers(cache: Cache[Any]) -> None:
    """By namespace, uid, owner uid and controller uid: also for a controller's own caches."""
    cache.add_indexer(NAMESPACE_INDEX, _namespace_of)
    cache.add_indexer(UID_INDEX, _uid_of)
    cache.add_indexer(OWNER_UID_INDEX, _owner_uids)
    cache.add_indexer(CONTROLLER_UID_INDEX, _controller_uid)


@dataclass
class ControllerContext:
    """The small bundle a controller is constructed from."""

    client: Client
    informers: Informers
    recorder_for: Callable[[str], Recorder]
    clock: Clock
    metrics: ControllerMetrics = field(default_factory=ControllerMetrics)  # a throwaway registry unless served


def api_recorder(client: Any, host: str | None = None) -> Callable[[str], Recorder]:
    """Events written through the API, one recorder (source component) per controller."""
    return lambda component: EventRecorder(client, component, host)


# --- index functions ----------------------------------------------------------------------------


def _namespace_of(obj: TypedObject) -> list[str]:
    return [obj.metadata.namespace or ""]  # type: ignore[attr-defined]


def _uid_of(obj: TypedObject) -> list[str]:
    uid = obj.metadata.uid  # type: ignore[attr-defined]
    return [uid] if uid else []


def _owner_uids(obj: TypedObject) -> list[str]:
    return [ref.uid for ref in obj.metadata.owner_references or []]  # type: ignore[attr-defined]


def _controller_uid(obj: TypedObject) -> list[str]:
    ref = obj.metadata.controller_ref()  # type: ignore[attr-defined]
    return [ref.uid] if ref is not None else []


def _node_of(pod: Pod) -> list[str]:
    return [pod.spec.node_name] if pod.spec.node_name else []


def _service_of_slice(endpoint_slice: EndpointSlice) -> list[str]:
    """``namespace/service`` of the Service a slice names in its ``kubernetes.io/service-name`` label."""
    service = (endpoint_slice.metadata.labels or {}).get(SERVICE_NAME_LABEL)
    return [f"{endpoint_slice.metadata.namespace}/{service}"] if service else []


# --- small helpers every controller needs -------------------------------------------------------


def key_of(obj: Any) -> str:
    """``namespace/name`` (or ``name`` for cluster-scoped objects), as informers key them."""
    meta = obj.metadata
    return f"{meta.namespace}/{meta.name}" if meta.namespace else str(meta.name)


def rfc3339_at(seconds: float) -> str:
    """An epoch instant as Kubernetes writes timestamps (``2026-11-26T02:45:24Z``)."""
    return format_rfc3339(datetime.fromtimestamp(seconds, UTC))


def split_key(key: str) -> tuple[str | None, str]:
    namespace, _, name = key.rpartition("/")
    return (namespace or None), name


def is_stale_write(err: ApiError) -> bool:
    """A compare-and-swap lost to a newer version of the object.

    The newer version is on its way through the informer, and its event enqueues the key again,
    so a sync that hits this can simply end: retrying now would only repeat the stale view."""
    return err.code == 409 and err.reason == "Conflict"


async def end_on_stale_write(kind: str, key: str, step: Awaitable[None]) -> None:
    """Run one sync step; a stale write ends it quietly (see :func:`is_stale_write`)."""
    try:
        await step
    except ApiError as err:
        if not is_stale_write(err):
            raise
        log.debug("%s %s: %s; the newer version's event brings it back", kind, key, err.message)


def controller_ref_to(owner: Any) -> OwnerReference:
    """The ownerReference a controller puts on what it creates or adopts."""
    return OwnerReference(api_version=owner.api_version, kind=owner.kind, name=owner.metadata.name,
                          uid=owner.metadata.uid, controller=True, block_owner_deletion=True)


def resolve_controller(cache: Cache[T], namespace: str | None, ref: OwnerReference | None, kind: str) -> T | None:
    """The cached owner a controller reference points at, only when its uid matches."""
    if ref is None or ref.kind != kind:
        return None
    owner = cache.get(f"{namespace}/{ref.name}" if namespace else ref.name)
    if owner is None or owner.metadata.uid != ref.uid:  # type: ignore[attr-defined]
        return None
    return owner
