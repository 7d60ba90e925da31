"""The node's sync loop: one worker per pod uid, woken by the pod informer, runtime events and relists.

* Pod informer events (``spec.nodeName=<node>``) create the pod's worker on first sight and
  wake it on every change, so a new pod starts without waiting for any timer.
* Runtime events ("die", "oom", ...) arrive from a thread and wake the worker of the pod
  named in the container's labels.
* Every ``relist_interval`` seconds the node's containers are listed: workers are woken (an
  event may have been missed) and containers whose pod no longer exists get a worker that
  finds no pod and tears them down. Containers without the node's labels are never listed,
  so never touched.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Iterable
from typing import Any

from apimachinery.informer import object_key
from apimachinery.models.core import Pod
from kubelet import naming
from kubelet.context import NodeContext
from kubelet.metrics import PodSample
from kubelet.restart import Backoff
from kubelet.runtime.base import ContainerInfo, ContainerRuntimeError, RuntimeEvent
from kubelet.worker import PodWorker

log = logging.getLogger(__name__)
# the wait before subscribing to runtime events again: doubles while the runtime stays away
RESUBSCRIBE_BACKOFF = Backoff(initial=0.5, maximum=2.0)


class PodManager:
    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.workers: dict[str, PodWorker] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.ready = False  # set once desired pods are known: before that, no container is an orphan

    def samples(self) -> list[PodSample]:
        """Each live pod as its worker last observed it, for the node's scrape-time gauges."""
        return [s for w in list(self.workers.values()) if (s := w.sample()) is not None]

    # -- wiring ------------------------------------------------------------------------------

    def on_pod(self, pod: Pod) -> None:
        """Informer add/update: make sure the pod has a worker, and wake it."""
        if pod.spec.node_name != self.ctx.node or not pod.metadata.uid:
            return
        self.worker_for(object_key(pod), pod.metadata.uid).wake()

    def on_pod_update(self, _old: Pod, new: Pod) -> None:
        self.on_pod(new)

    def on_pod_deleted(self, pod: Pod) -> None:
        worker = self.workers.get(pod.metadata.uid or "")
        if worker is not None:
            worker.wake()

    def on_runtime_event(self, event: RuntimeEvent) -> None:
        worker = self.workers.get(event.labels.get(naming.POD_UID, ""))
        if worker is not None:
            worker.wake(event.container_id)

    def worker_for(self, key: str, uid: str) -> PodWorker:
        worker = self.workers.get(uid)
        if worker is None:
            worker = PodWorker(self.ctx, key=key, uid=uid)
            self.workers[uid] = worker
            task = asyncio.get_running_loop().create_task(worker.run(), name=f"pod-worker {key}")
            self._tasks[uid] = task
            task.add_done_callback(functools.partial(self._finished, uid))
        return worker

    def _finished(self, uid: str, _task: object = None) -> None:
        self.workers.pop(uid, None)
        self._tasks.pop(uid, None)

    # -- relist --------------------------------------------------------------------------------

    async def relist(self) -> None:
        """Wake the workers whose containers changed unseen; give orphans a worker that removes them.

        One list call for the whole node. Workers whose containers look as they last saw them
        are left alone, so a relist costs little even with thousands of (hollow) pods.
        """
        containers = await self.ctx.run(self.ctx.runtime.list_containers, naming.node_labels(self.ctx.node))
        self.adopt(containers)
        by_uid: dict[str, list[ContainerInfo]] = {}
        for info in containers:
            by_uid.setdefault(naming.pod_uid_of(info), []).append(info)
        for uid, worker in list(self.workers.items()):
            if worker.differs(by_uid.get(uid, [])):
                worker.wake()

    def adopt(self, containers: Iterable[ContainerInfo]) -> None:
        for info in containers:
            uid = naming.pod_uid_of(info)
            if not uid or uid in self.workers or not self.ready:
                continue
            key = f"{info.labels.get(naming.POD_NAMESPACE, '')}/{info.labels.get(naming.POD_NAME, '')}"
            self.worker_for(key, uid).wake()

    async def relist_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.relist()
            except ContainerRuntimeError as err:
                log.warning("relist failed: %s", err)

    # -- runtime events ------------------------------------------------------------------------

    async def pump_events(self) -> None:
        """Forward runtime events from a thread to the loop, for as long as the kubelet runs.

        The stream ends when the daemon restarts or goes away; the pump then subscribes again,
        with back-off while the daemon is unreachable, and relists once each new subscription
        stands (subscribe, then list: nothing that happened while no stream was open is missed).
        Nothing the runtime raises ends the pump.
        """
        loop = asyncio.get_running_loop()
        stop = threading.Event()
        failures = 0
        try:
            while True:
                subscribed = asyncio.Event()
                reader = loop.run_in_executor(None, self._read_events, loop, stop, subscribed)
                waiter = asyncio.ensure_future(subscribed.wait())
                either: list[asyncio.Future[Any]] = [reader, waiter]
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if subscribed.is_set():
                    failures = 0
                    if self.ready:  # before adoption the kubelet's own first relist comes next
                        await self._relist_logged()
                await reader
                failures = 0 if subscribed.is_set() else failures + 1
                await asyncio.sleep(RESUBSCRIBE_BACKOFF.delay(failures))
        finally:
            stop.set()

    async def _relist_logged(self) -> None:
        try:
            await self.relist()
        except ContainerRuntimeError as err:
            log.warning("relist after resubscribing failed: %s", err)

    def _read_events(self, loop: asyncio.AbstractEventLoop, stop: threading.Event, subscribed: asyncio.Event) -> None:
        try:
            stream = self.ctx.runtime.events(naming.node_labels(self.ctx.node), stop)
            loop.call_soon_threadsafe(subscribed.set)
            for event in stream:
                loop.call_soon_threadsafe(self.on_runtime_event, event)
        except ContainerRuntimeError as err:
            if not stop.is_set():
                log.warning("runtime event stream ended: %s", err)
        except RuntimeError:  # the loop closed under us during shutdown
            stop.set()

    async def stop(self) -> None:
        """Stop all workers (containers keep running; a restarted kubelet adopts them)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for worker in list(self.workers.values()):
            worker.monitor.stop()
