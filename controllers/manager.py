"""The controller manager: shared informers, leader election, and every controller's workers.

``run_controllers`` is what ``podvisor server`` runs in-process and ``podvisor controllers``
runs alone; either way it is an ordinary API client. Only the Lease holder
(``kube-system/podvisor-controller-manager``) runs controllers, so two managers never act at
once. Each leadership term builds its informers and controllers afresh: a term that ends (lease
lost) leaves no queue, expectation or timer behind to act on a stale view.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from apimachinery.client import ApiClient
from apimachinery.informer import Informer
from apimachinery.kubeconfig import KubeconfigError, load_kubeconfig
from apimachinery.leaderelection import LeaderElector
from apimachinery.models.apps import ControllerRevision, DaemonSet, Deployment, Lease, ReplicaSet, StatefulSet
from apimachinery.models.authentication import ServiceAccount
from apimachinery.models.batch import CronJob, Job
from apimachinery.models.core import (
    ConfigMap,
    Endpoints,
    Namespace,
    Node,
    Pod,
    ReplicationController,
    Service,
)
from apimachinery.models.discovery import EndpointSlice
from apimachinery.models.policy import PodDisruptionBudget
from apimachinery.models.storage import PersistentVolumeClaim
from apimachinery.resources import CRONJOBS, REPLICATIONCONTROLLERS, ResourceType
from apimachinery.serviceaccounts import ROOT_CA_CONFIGMAP
from apimachinery.timeutil import SystemClock
from apimachinery.workqueue import WorkQueue, run_worker
from controllers.base import ControllerContext, Informers, add_standard_indexers, api_recorder
from controllers.cronjob import CronJobController
from controllers.daemonset import DaemonSetController
from controllers.deployment import DeploymentController
from controllers.disruption import DisruptionController
from controllers.endpoints import EndpointsController
from controllers.endpointslice import EndpointSliceController
from controllers.garbagecollector import GarbageCollector
from controllers.job import JobController
from controllers.metrics import ControllerMetrics, queue_name
from controllers.namespace import NamespaceController
from controllers.nodelifecycle import LEASE_NAMESPACE, NodeLifecycleController
from controllers.persistentvolume import build_storage_controllers
from controllers.podautoscaler import SYNC_PERIOD, build_podautoscaler
from controllers.replicaset import ReplicaSetController
from controllers.replicationcontroller import ReplicationControllerController
from controllers.serviceaccounts import RootCAPublisher, ServiceAccountsController
from controllers.statefulset import StatefulSetController
from controllers.tainteviction import TaintEvictionController
from controllers.ttlafterfinished import TTLAfterFinishedController

log = logging.getLogger("podvisor.controllers")

LEASE_NAME = "podvisor-controller-manager"
LEASE_NAMESPACE_SYSTEM = "kube-system"
SYNC_TIMEOUT = 60.0
RESTART_DELAY = 2.0
LEASE_DURATION = 15.0  # kube-controller-manager's --leader-elect-lease-duration default


class Controller(Protocol):
    name: str
    workers: int
    queue: Any

    async def sync(self, key: str) -> None: ...


def build_informers(client: ApiClient) -> tuple[Informers, list[Informer[Any]]]:
    """The shared caches (with their standard indexes) and the informers to run."""
    pods = Informer(client, Pod)
    replicasets = Informer(client, ReplicaSet)
    deployments = Informer(client, Deployment)
    nodes = Informer(client, Node)
    leases = Informer(client, Lease, namespace=LEASE_NAMESPACE)
    namespaces = Informer(client, Namespace)
    services, endpoints, endpointslices = Informer(client, Service), Informer(client, Endpoints), Informer(
        client, EndpointSlice)
    statefulsets, claims = Informer(client, StatefulSet), Informer(client, PersistentVolumeClaim)
    jobs = Informer(client, Job)
    informers = Informers(pods=pods, replicasets=replicasets, deployments=deployments, nodes=nodes, leases=leases,
                          namespaces=namespaces, services=services, endpoints=endpoints, endpointslices=endpointslices,
                          statefulsets=statefulsets, persistentvolumeclaims=claims, jobs=jobs)
    informers.add_standard_indexers()
    return informers, [pods, replicasets, deployments, nodes, leases, namespaces, services, endpoints, endpointslices,
                       statefulsets, claims, jobs]


@dataclass
class OwnCaches:
    """Caches of kinds whose controllers keep their own; the CronJob controller's Jobs are shared."""

    replicationcontrollers: Informer[ReplicationController]
    cronjobs: Informer[CronJob]

    @classmethod
    def build(cls, client: ApiClient) -> OwnCaches:
        caches = cls(Informer(client, ReplicationController), Informer(client, CronJob))
        for cache in caches.all():
            add_standard_indexers(cache)
        return caches

    def all(self) -> list[Informer[Any]]:
        return [self.replicationcontrollers, self.cronjobs]


def build_controllers(ctx: ControllerContext, *, node_grace_period: float, own: OwnCaches) -> list[Controller]:
    # Jobs are already in the collector's shared caches (informers.jobs).
    collected: dict[ResourceType, Any] = {REPLICATIONCONTROLLERS: own.replicationcontrollers, CRONJOBS: own.cronjobs}
    return [
        ReplicaSetController(ctx),
        ReplicationControllerController(ctx, own.replicationcontrollers),
        CronJobController(ctx, own.cronjobs),
        DeploymentController(ctx),
        JobController(ctx),
        TTLAfterFinishedController(ctx),
        GarbageCollector(ctx, more=collected),
        NodeLifecycleController(ctx, grace_period=node_grace_period),
        TaintEvictionController(ctx),
        NamespaceController(ctx),
        EndpointsController(ctx),
        EndpointSliceController(ctx),
        StatefulSetController(ctx),
    ]


def build_serviceaccount_controllers(client: ApiClient, ctx: ControllerContext, *,
                                     root_ca: str | None) -> tuple[list[Controller], list[Informer[Any]]]:
    """The ``default`` ServiceAccount and ``kube-root-ca.crt`` publishers, over their own caches."""
    accounts = Informer(client, ServiceAccount)
    controllers: list[Controller] = [ServiceAccountsController(ctx, accounts)]
    runnable: list[Informer[Any]] = [accounts]
    if root_ca:
        configmaps = Informer(client, ConfigMap, field_selector=f"metadata.name={ROOT_CA_CONFIGMAP}")
        controllers.append(RootCAPublisher(ctx, configmaps, root_ca=root_ca))
        runnable.append(configmaps)
    return controllers, runnable


def build_workload_controllers(client: ApiClient, ctx: ControllerContext) -> tuple[list[Controller], list[Informer[Any]]]:
    """The DaemonSet and disruption controllers, over caches of their own kinds."""
    daemonsets, budgets = Informer(client, DaemonSet), Informer(client, PodDisruptionBudget)
    revisions = Informer(client, ControllerRevision)
    for cache in (daemonsets, budgets, revisions):
        add_standard_indexers(cache)
    controllers: list[Controller] = [DaemonSetController(ctx, daemonsets, revisions=revisions),
                                     DisruptionController(ctx, budgets)]
    return controllers, [daemonsets, budgets, revisions]


def garbage_collect(controllers: list[Controller], informers: list[Informer[Any]]) -> None:
    """Let the garbage collector follow the kinds of informers built outside :class:`Informers`."""
    for collector in (c for c in controllers if isinstance(c, GarbageCollector)):
        for informer in informers:
            collector.watch(informer.rt, informer)


async def run_term(client: ApiClient, *, node_grace_period: float, root_ca: str | None = None,
                   metrics: ControllerMetrics | None = None, hpa_sync_period: float = SYNC_PERIOD) -> None:
    """One leadership term: informers, then controllers' workers, until cancelled."""
    informers, runnable = build_informers(client)
    metrics = metrics or ControllerMetrics()
    ctx = ControllerContext(client=client, informers=informers, recorder_for=api_recorder(client, socket.gethostname()),
                            clock=SystemClock(), metrics=metrics)
    own = OwnCaches.build(client)
    runnable += own.all()
    controllers = build_controllers(ctx, node_grace_period=node_grace_period, own=own)
    more, more_informers = build_serviceaccount_controllers(client, ctx, root_ca=root_ca)
    controllers += more
    runnable += more_informers
    storage, storage_informers = build_storage_controllers(client, ctx)
    controllers += storage
    runnable += storage_informers
    workloads, workload_informers = build_workload_controllers(client, ctx)
    garbage_collect(controllers, workload_informers)
    controllers += workloads
    runnable += workload_informers
    autoscalers, autoscaler_informers = build_podautoscaler(client, ctx, sync_period=hpa_sync_period)
    garbage_collect(controllers, autoscaler_informers)
    controllers += autoscalers
    runnable += autoscaler_informers
    name_queues(controllers, metrics)
    tasks = [asyncio.create_task(inf.run(), name=f"informer-{inf.rt.plural}") for inf in runnable]
    try:
        await asyncio.gather(*(inf.wait_synced(SYNC_TIMEOUT) for inf in runnable))
        log.info("caches synced; starting %s", ", ".join(c.name for c in controllers))
        for controller in controllers:
            for n in range(controller.workers):
                tasks.append(asyncio.create_task(run_worker(controller.queue, controller.sync, name=controller.name),
                                                 name=f"{controller.name}-{n}"))
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        for controller in controllers:
            if isinstance(controller.queue, WorkQueue):
                await controller.queue.shut_down()
        await asyncio.gather(*tasks, return_exceptions=True)


def name_queues(controllers: list[Controller], metrics: ControllerMetrics) -> None:
    """Each controller's queue reports as ``workqueue_*{name=...}``, before any informer adds a key."""
    for controller in controllers:
        if isinstance(controller.queue, WorkQueue):
            controller.queue.use_metrics(metrics.workqueue.for_queue(queue_name(controller.name)))


def _elector(client: ApiClient, identity: str, lease_duration: float) -> LeaderElector:
    """client-go's timing (15 s lease, 10 s renew deadline, 2 s retry), scaled to ``lease_duration``."""
    return LeaderElector(client, LEASE_NAMESPACE_SYSTEM, LEASE_NAME, identity, lease_duration=lease_duration,
                         renew_deadline=lease_duration * 2 / 3, retry_period=lease_duration * 2 / 15)


async def run_controllers(kubeconfig: Path, *, node_grace_period: float, eviction_timeout: float,
                          identity: str | None = None, lease_duration: float = LEASE_DURATION,
                          root_ca: str | None = None, metrics: ControllerMetrics | None = None,
                          hpa_sync_period: float = SYNC_PERIOD) -> None:
    """Run the controller manager until cancelled.

    ``eviction_timeout`` is the apiserver's default toleration of unreachable/not-ready nodes;
    the controllers read each pod's own tolerations, so it is only logged here. ``lease_duration``
    is how long a standby waits for a leader that stopped renewing (one killed, not stopped).
    ``root_ca`` is the cluster CA (PEM) published as ``kube-root-ca.crt`` in every namespace
    (kube-controller-manager's ``--root-ca-file``); without it, the kubeconfig's CA is used.
    ``metrics`` outlives every term; ``podvisor server`` serves its registry at ``/metrics``.
    ``hpa_sync_period`` is how often each HorizontalPodAutoscaler is evaluated."""
    client = ApiClient.from_kubeconfig(kubeconfig, user_agent="podvisor-controller-manager")
    identity = identity or f"{socket.gethostname()}_{uuid.uuid4()}"
    log.info("controller manager %s: node grace period %.1fs, eviction timeout %.1fs",
             identity, node_grace_period, eviction_timeout)
    elector = _elector(client, identity, lease_duration)
    root_ca = root_ca or _kubeconfig_ca(kubeconfig)
    metrics = metrics or ControllerMetrics()
    leading: Callable[[], Awaitable[None]] = lambda: run_term(  # noqa: E731
        client, node_grace_period=node_grace_period, root_ca=root_ca, metrics=metrics, hpa_sync_period=hpa_sync_period)
    try:
        while True:
            try:
                await elector.run(leading)
            except asyncio.CancelledError:
                raise
            except Exception:  # a term that crashed (e.g. caches never synced) must not end the manager
                log.exception("controller manager term failed; competing again in %.0fs", RESTART_DELAY)
                await asyncio.sleep(RESTART_DELAY)
    finally:
        with contextlib.suppress(Exception):
            await client.close()


def _kubeconfig_ca(kubeconfig: Path) -> str | None:
    try:
        ca = load_kubeconfig(kubeconfig).ca_data
    except (KubeconfigError, OSError):
        return None
    return ca.decode() if ca else None
