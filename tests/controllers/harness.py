"""Controllers wired to the one fake API for tests that call ``sync(key)`` directly.

:func:`fake_context` builds a :class:`ControllerContext` from :class:`apimachinery.testing.FakeApi`
(its informers are the real informer cache, fed by the fake), a :class:`RecordingRecorder` and a
fake clock. Without ``auto_deliver`` the informers see the controller's own writes only when the
test calls ``cluster.client.deliver()``; :class:`FakeQueue` records what was enqueued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apimachinery.models.apps import Deployment, Lease, ReplicaSet, StatefulSet
from apimachinery.models.batch import Job
from apimachinery.models.core import Endpoints, Namespace, Node, Pod, Service
from apimachinery.models.discovery import EndpointSlice
from apimachinery.resources import PERSISTENTVOLUMECLAIMS
from apimachinery.testing import FakeApi, FakeInformer, RecordingRecorder
from apimachinery.timeutil import FakeClock
from controllers.base import ControllerContext, Informers
from controllers.nodelifecycle import LEASE_NAMESPACE


@dataclass
class FakeQueue:
    """The controllers' ``Queue``: records keys instead of working them."""

    added: list[str] = field(default_factory=list)
    after: list[tuple[str, float]] = field(default_factory=list)

    def add(self, key: str) -> None:
        self.added.append(key)

    def add_after(self, key: str, delay: float) -> None:
        if delay <= 0:
            self.add(key)
        else:
            self.after.append((key, delay))

    def clear(self) -> None:
        self.added.clear()
        self.after.clear()


@dataclass
class FakeCluster:
    client: FakeApi
    pods: FakeInformer[Pod]
    replicasets: FakeInformer[ReplicaSet]
    deployments: FakeInformer[Deployment]
    nodes: FakeInformer[Node]
    leases: FakeInformer[Lease]
    namespaces: FakeInformer[Namespace]
    services: FakeInformer[Service]
    endpoints: FakeInformer[Endpoints]
    endpointslices: FakeInformer[EndpointSlice]
    statefulsets: FakeInformer[StatefulSet]
    persistentvolumeclaims: FakeInformer[Any]
    jobs: FakeInformer[Job]
    recorder: RecordingRecorder
    clock: FakeClock
    ctx: ControllerContext


def fake_context(*, auto_deliver: bool = False, clock: FakeClock | None = None, api: FakeApi | None = None) -> FakeCluster:
    """``api``: an existing fake (its store) for a controller rebuilt as after a restart."""
    clock = clock or FakeClock()
    api = api or FakeApi(clock=clock, auto_deliver=auto_deliver)
    pods, replicasets, deployments = api.informer(Pod), api.informer(ReplicaSet), api.informer(Deployment)
    nodes, leases = api.informer(Node), api.informer(Lease, namespace=LEASE_NAMESPACE)
    namespaces = api.informer(Namespace)
    services, endpoints, endpointslices = api.informer(Service), api.informer(Endpoints), api.informer(EndpointSlice)
    statefulsets, claims = api.informer(StatefulSet), api.informer(PERSISTENTVOLUMECLAIMS.model)
    jobs = api.informer(Job)
    informers = Informers(pods=pods, replicasets=replicasets, deployments=deployments, nodes=nodes, leases=leases,
                          namespaces=namespaces, services=services, endpoints=endpoints, endpointslices=endpointslices,
                          statefulsets=statefulsets, persistentvolumeclaims=claims, jobs=jobs)
    informers.add_standard_indexers()
    recorder = RecordingRecorder()
    ctx = ControllerContext(client=api, informers=informers, recorder_for=lambda _: recorder, clock=clock)
    return FakeCluster(client=api, pods=pods, replicasets=replicasets, deployments=deployments, nodes=nodes,
                       leases=leases, namespaces=namespaces, services=services, endpoints=endpoints,
                       endpointslices=endpointslices, statefulsets=statefulsets, persistentvolumeclaims=claims,
                       jobs=jobs, recorder=recorder, clock=clock, ctx=ctx)
