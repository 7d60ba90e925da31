"""The scheduler: take a pending pod from the queue, choose its node, bind it.

One scheduling cycle (:meth:`Scheduler.schedule_one`) is synchronous and cheap: read the pod from
the informer cache, run the algorithm against the node cache, and *assume* the result (count
the pod on its node at once). Only then does I/O start, in the background: the binding, or for a
pod that fits nowhere, its ``PodScheduled=False`` condition and a ``FailedScheduling`` event.
Background work is bounded (``parallelism`` slots, 16 by default) and a cycle waits for a free
slot first, so a burst of thousands of pods keeps 16 requests in flight instead of paying one
round-trip per pod, and never piles up unbounded tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

from apimachinery.conditions import FALSE, get_condition, set_condition
from apimachinery.errors import ApiError
from apimachinery.events import NORMAL, WARNING
from apimachinery.models.base import TypedObject
from apimachinery.models.core import Pod, PodStatus
from apimachinery.models.meta import Condition
from apimachinery.models.storage import PersistentVolumeClaim
from apimachinery.timeutil import Clock, SystemClock, now_rfc3339
from scheduler.algorithm import Algorithm, Decision
from scheduler.cache import SchedulerCache
from scheduler.metrics import ERROR, SCHEDULED, UNSCHEDULABLE, SchedulerMetrics
from scheduler.podinfo import PodInfo
from scheduler.queue import SchedulingQueue
from scheduler.volumebinding import VolumeLister, pod_volumes, selected_node_patch

log = logging.getLogger(__name__)
T = TypeVar("T", bound=TypedObject)

DEFAULT_SCHEDULER_NAME = "default-scheduler"
POD_SCHEDULED = "PodScheduled"
REASON_UNSCHEDULABLE = "Unschedulable"
EVENT_SCHEDULED = "Scheduled"
EVENT_FAILED_SCHEDULING = "FailedScheduling"
DEFAULT_PARALLELISM = 16
TICK_SECONDS = 0.5
TERMINAL_PHASES = ("Succeeded", "Failed")


class SchedulerApi(Protocol):
    """The API calls the scheduler makes (:class:`ApiClient` has them; tests use a fake)."""

    async def bind(self, namespace: str, pod: str, node: str, *, uid: str | None = None) -> None: ...

    async def get(self, model: type[T], name: str, namespace: str | None = None) -> T: ...

    async def replace_status(self, obj: T) -> T: ...

    async def patch(self, model: type[T], name: str, patch: Any, namespace: str | None = None, *,
                    patch_type: str = "merge", subresource: str | None = None) -> T: ...


class PodLister(Protocol):
    """Pending pods by ``namespace/name`` (the unscheduled-pod informer)."""

    def get(self, key: str) -> Pod | None: ...


class EventSink(Protocol):
    def event(self, obj: Any, type_: str, reason: str, message: str) -> None: ...


def responsible_for(pod: Pod, scheduler_name: str = DEFAULT_SCHEDULER_NAME) -> bool:
    """Pending, ours, not being deleted, not finished and not held back by scheduling gates."""
    spec = pod.spec
    if spec.node_name or pod.metadata.deletion_timestamp or spec.scheduling_gates:
        return False
    if (spec.scheduler_name or DEFAULT_SCHEDULER_NAME) != scheduler_name:
        return False
    return not (pod.status and pod.status.phase in TERMINAL_PHASES)


def unschedulable_status(pod: Pod, message: str, *, now: str) -> PodStatus | None:
    """The pod's status with PodScheduled False/Unschedulable/message; None when already so."""
    conditions = pod.status.conditions if pod.status else None
    current = get_condition(conditions, POD_SCHEDULED)
    if (current is not None and current.status == FALSE and current.reason == REASON_UNSCHEDULABLE
            and current.message == message):
        return None
    wanted = Condition(type=POD_SCHEDULED, status=FALSE, reason=REASON_UNSCHEDULABLE, message=message)
    status = pod.status.model_copy() if pod.status else PodStatus(phase="Pending")
    status.conditions = set_condition(conditions, wanted, now=now)
    return status


def scheduled_message(pod: Pod, decision: Decision) -> str:
    """The Scheduled event's text, saying so when nodes where an earlier pod failed were passed over."""
    text = f"Successfully assigned {pod.metadata.namespace}/{pod.metadata.name} to {decision.node}"
    if decision.avoided:
        text += (f" (preferred over {', '.join(decision.avoided)}, where an earlier pod exceeded its "
                 "restart intensity)")
    return text


class Scheduler:
    def __init__(
        self,
        api: SchedulerApi,
        pods: PodLister,
        *,
        recorder: EventSink,
        clock: Clock | None = None,
        name: str = DEFAULT_SCHEDULER_NAME,
        parallelism: int = DEFAULT_PARALLELISM,
        percentage_of_nodes_to_score: int = 0,
        volumes: VolumeLister | None = None,
        metrics: SchedulerMetrics | None = None,
    ) -> None:
        self.api = api
        self.pods = pods
        self.volumes = volumes  # None: claims are not looked at (tests of other plugins)
        self.recorder = recorder
        self.clock = clock or SystemClock()
        self.name = name
        self.cache = SchedulerCache(clock=self.clock.monotonic)
        self.queue = SchedulingQueue(clock=self.clock.monotonic)
        self.metrics = metrics or SchedulerMetrics()
        self.metrics.track(self.queue)
        self.algorithm = Algorithm(self.cache, percentage_of_nodes_to_score=percentage_of_nodes_to_score)
        self._slots = asyncio.Semaphore(parallelism)
        self._tasks: set[asyncio.Task[None]] = set()
        self.bound = 0
        self.failed = 0

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Schedule until cancelled; runs only while this instance holds the leader lease."""
        ticker = asyncio.create_task(self._tick_forever())
        try:
            while True:
                key, cycle = await self.queue.pop()
                await self.schedule_one(key, cycle)
                await asyncio.sleep(0)  # let watch events and finished bindings in
        finally:
            ticker.cancel()
            await self.stop_background()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self.tick()

    def tick(self) -> None:
        """Timed work: back-offs that ran out, long-parked pods, assumptions that lapsed."""
        if self.cache.cleanup():
            self.queue.move_all()
        self.queue.flush()

    async def schedule_one(self, key: str, cycle: int = 0) -> Decision | None:
        """One scheduling cycle for the pod under ``key``; its I/O continues in the background."""
        try:
            await self._slots.acquire()
        except asyncio.CancelledError:
            self.queue.add_backoff(key)  # popped but never tried: keep it for the next leader term
            raise
        pod = self.pods.get(key)
        if pod is None or not responsible_for(pod, self.name) or self.cache.knows(pod.metadata.uid or key):
            self._slots.release()
            self.queue.done(key)
            return None
        started = self.clock.monotonic()
        try:
            info = PodInfo.from_pod(pod)
            decision = self._find_node(info)
            if decision.node is not None:
                self.cache.assume(info, decision.node)
        except Exception:
            self._slots.release()
            self.queue.add_backoff(key)
            self._attempted(ERROR, started)
            raise
        if decision.node is None:
            self.failed += 1
            self.queue.add_unschedulable(key, cycle)
            self._attempted(UNSCHEDULABLE, started)
            self._spawn(self._report_unschedulable(pod, decision.message))
        else:
            self._spawn(self._bind(pod, info, decision.node, scheduled_message(pod, decision), started=started))
        return decision

    def _attempted(self, result: str, started: float) -> None:
        self.metrics.attempted(result, profile=self.name, seconds=self.clock.monotonic() - started)

    def _find_node(self, info: PodInfo) -> Decision:
        """The algorithm's choice, after the pod's claims had their say (:mod:`scheduler.volumebinding`)."""
        if self.volumes is not None:
            info.volumes = pod_volumes(info.pod, self.volumes, placed=self._placed_pods)
            if info.volumes is not None and info.volumes.error is not None:
                total = len(self.cache.node_list())
                return Decision(None, f"0/{total} nodes are available: {info.volumes.error}.")
        return self.algorithm.find_node(info)

    def _placed_pods(self) -> list[Pod]:
        return [p.pod for node in self.cache.node_list() for p in node.pods.values()]

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("scheduler background task failed", exc_info=task.exception())

    async def wait_idle(self) -> None:
        """Wait until no binding or status write is in flight (tests, benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop_background(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.wait_idle()

    # -- binding ---------------------------------------------------------------------------

    async def _bind(self, pod: Pod, info: PodInfo, node: str, message: str, *, started: float) -> None:
        namespace, name = str(pod.metadata.namespace), str(pod.metadata.name)
        try:
            for claim in info.volumes.to_select if info.volumes is not None else ():
                await self.api.patch(PersistentVolumeClaim, claim, selected_node_patch(node), namespace)
            await self.api.bind(namespace, name, node, uid=pod.metadata.uid)
        except asyncio.CancelledError:
            self.cache.forget(info.uid)
            self.queue.add_backoff(info.key)
            raise
        except Exception as err:  # an unexpected error must still undo the assumption and requeue
            failure = err if isinstance(err, ApiError) else ApiError(500, "InternalError", repr(err))
            self._attempted(ERROR, started)
            self._binding_failed(pod, info, failure)
            return
        self.cache.finish_binding(info.uid)
        self.queue.done(info.key)
        self._attempted(SCHEDULED, started)
        self.bound += 1
        self.recorder.event(pod, NORMAL, EVENT_SCHEDULED, message)

    def _binding_failed(self, pod: Pod, info: PodInfo, err: ApiError) -> None:
        self.cache.forget(info.uid)
        self.queue.move_all()  # the room the assumption held is free again
        if err.code in (404, 409):  # deleted, being deleted, or bound by someone else: nothing to retry
            log.info("not binding %s: %s", info.key, err.message)
            self.queue.done(info.key)
            return
        log.warning("binding %s failed: %s", info.key, err.message)
        self.recorder.event(pod, WARNING, EVENT_FAILED_SCHEDULING, f"Binding rejected: {err.message}")
        self.queue.add_backoff(info.key)

    # -- reporting a pod that fits nowhere -------------------------------------------------

    async def _report_unschedulable(self, pod: Pod, message: str) -> None:
        self.recorder.event(pod, WARNING, EVENT_FAILED_SCHEDULING, message)
        for attempt in (1, 2):
            status = unschedulable_status(pod, message, now=now_rfc3339(self.clock))
            if status is None:
                return
            try:
                await self.api.replace_status(pod.model_copy(update={"status": status}))
                return
            except ApiError as err:
                if err.code != 409 or attempt == 2:
                    if err.code != 404:
                        log.warning("cannot mark %s/%s unschedulable: %s", pod.metadata.namespace,
                                    pod.metadata.name, err.message)
                    return
            fresh = await self._reread(pod)
            if fresh is None:
                return
            pod = fresh

    async def _reread(self, pod: Pod) -> Pod | None:
        """The pod as the server has it now, or None when it no longer waits for us."""
        with contextlib.suppress(ApiError):
            fresh = await self.api.get(Pod, str(pod.metadata.name), pod.metadata.namespace)
            if fresh.metadata.uid == pod.metadata.uid and responsible_for(fresh, self.name):
                return fresh
        return None
