"""``run_scheduler``: the scheduler process, wired to the apiserver through the API client.

Three informers feed it (see :mod:`scheduler.handlers`): pending pods, assigned pods (both
leaving out finished pods, which hold no resources) and nodes. They run whether or not this
instance leads, so a standby has a warm cache; only the leader pops the queue and binds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from pathlib import Path
from typing import Any

from apimachinery.client import ApiClient
from apimachinery.events import EventRecorder
from apimachinery.informer import Informer
from apimachinery.leaderelection import LeaderElector
from apimachinery.models.core import Node, Pod
from apimachinery.models.storage import PersistentVolume, PersistentVolumeClaim, StorageClass
from scheduler.handlers import Handlers
from scheduler.metrics import SchedulerMetrics
from scheduler.scheduler import DEFAULT_PARALLELISM, DEFAULT_SCHEDULER_NAME, Scheduler
from scheduler.volumebinding import InformerVolumes

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-system"
LEASE_NAME = "podvisor-scheduler"
NOT_FINISHED = "status.phase!=Succeeded,status.phase!=Failed"
PENDING_PODS = f"spec.nodeName=,{NOT_FINISHED}"
ASSIGNED_PODS = f"spec.nodeName!=,{NOT_FINISHED}"
SYNC_TIMEOUT = 60.0
LEASE_DURATION = 15.0  # kube-scheduler's --leader-elect-lease-duration default


def default_identity() -> str:
    """``<host>_<random>``: unique per process, readable in ``kubectl get lease``."""
    return f"{socket.gethostname()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def _elector(client: ApiClient, identity: str, lease_duration: float) -> LeaderElector:
    """client-go's timing (15 s lease, 10 s renew deadline, 2 s retry), scaled to ``lease_duration``."""
    return LeaderElector(client, LEASE_NAMESPACE, LEASE_NAME, identity, lease_duration=lease_duration,
                         renew_deadline=lease_duration * 2 / 3, retry_period=lease_duration * 2 / 15)


async def run_scheduler(kubeconfig: Path | str | None = None, *, identity: str | None = None,
                        parallelism: int = DEFAULT_PARALLELISM, leader_elect: bool = True,
                        lease_duration: float = LEASE_DURATION, metrics: SchedulerMetrics | None = None) -> None:
    """Run the scheduler against the apiserver named by ``kubeconfig`` until cancelled; ``metrics``
    (its registry) is what ``podvisor server`` serves at ``/metrics``."""
    client = ApiClient.from_kubeconfig(kubeconfig, user_agent="podvisor-scheduler",
                                       max_connections=max(parallelism * 2, 32))
    async with client:
        await run_with_client(client, identity=identity or default_identity(), parallelism=parallelism,
                              leader_elect=leader_elect, lease_duration=lease_duration, metrics=metrics)


async def run_with_client(client: ApiClient, *, identity: str, parallelism: int = DEFAULT_PARALLELISM,
                          leader_elect: bool = True, lease_duration: float = LEASE_DURATION,
                          metrics: SchedulerMetrics | None = None) -> None:
    pending: Informer[Pod] = Informer(client, Pod, field_selector=PENDING_PODS)
    assigned: Informer[Pod] = Informer(client, Pod, field_selector=ASSIGNED_PODS)
    nodes: Informer[Node] = Informer(client, Node)
    claims, volumes = Informer(client, PersistentVolumeClaim), Informer(client, PersistentVolume)
    classes = Informer(client, StorageClass)
    recorder = EventRecorder(client, DEFAULT_SCHEDULER_NAME, identity)
    scheduler = Scheduler(client, pending, recorder=recorder, parallelism=parallelism,
                          volumes=InformerVolumes(claims=claims, volumes=volumes, classes=classes), metrics=metrics)
    handlers = Handlers(scheduler)
    handlers.connect(unscheduled=pending, assigned=assigned, nodes=nodes)
    handlers.connect_volumes(claims=claims, volumes=volumes, classes=classes)
    tasks = [asyncio.create_task(inf.run(), name=f"informer-{name}")
             for name, inf in (("nodes", nodes), ("assigned-pods", assigned), ("pending-pods", pending),
                               ("claims", claims), ("volumes", volumes), ("classes", classes))]
    try:
        await _wait_synced(claims, volumes, classes, nodes, assigned, pending)
        if leader_elect:
            elector = _elector(client, identity, lease_duration)
            await elector.run(scheduler.run)
        else:
            await scheduler.run()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await recorder.flush()


async def _wait_synced(*informers: Informer[Any]) -> None:
    """Nodes and assigned pods first, so the first decisions see the real usage of every node."""
    for informer in informers:
        while True:
            try:
                await informer.wait_synced(SYNC_TIMEOUT)
                break
            except TimeoutError:
                log.warning("%s informer not synced after %.0fs; still waiting", informer.rt.plural, SYNC_TIMEOUT)
