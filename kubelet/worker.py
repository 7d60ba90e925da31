"""One worker per pod: an asyncio task that brings the pod's containers to its spec.

The worker is woken by the pod informer (spec or deletion changed), by runtime events (one of
its containers died), by probe verdicts and by its own timers (back-off ends); each wake runs
one idempotent :meth:`PodWorker.sync`:

1. observe: list the pod's containers by label, inspect only those whose state changed;
2. if the pod is gone or being deleted: stop containers gracefully, remove them and the
   pod's volumes, then delete the pod object (uid precondition) and end;
3. otherwise make the sandbox run, run init containers in order, then start, restart (per
   restart policy and back-off) or leave the app containers, concurrently;
4. compute the status (a pure function) and write it only if it changed.

Everything the worker must know after a kubelet restart is in container labels, so a fresh
worker adopting running containers changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from apimachinery.errors import ApiError
from apimachinery.models.core import Container, Pod, PodStatus
from kubelet import naming, podspec
from kubelet.context import NodeContext
from kubelet.lifecycle import ContainerRecord, decide_exit, policy_for, start_container, start_existing
from kubelet.restart import RestartState, RestartTracker
from kubelet.runtime.base import ContainerInfo, ContainerRuntimeError, ContainerState
from kubelet.sandbox import SandboxHandle, ensure_sandbox, remove_pod_resources, sandbox_name, stop_containers
from kubelet.status import TERMINAL_PHASES, ContainerView, PodView, compute_pod_status
from kubelet.supervision import Supervision

log = logging.getLogger(__name__)
ERROR_RETRY = 1.0
FORCED_DELETE_GRACE = 2


class PodWorker:
    def __init__(self, ctx: NodeContext, *, key: str, uid: str) -> None:
        self.ctx = ctx
        self.key = key
        self.uid = uid
        self.done = False
        self.next_delay: float | None = None
        self.pod: Pod | None = None  # the last desired pod seen (volume names after it is gone)
        self.records: dict[str, ContainerRecord] = {}
        self.supervision = Supervision(ctx, self)
        self._details: dict[str, ContainerInfo] = {}
        self._wake = asyncio.Event()
        self._written: PodStatus | None = None
        self._written_rv = -1
        self._errors = 0
        self._changed: set[str] = set()

    # -- the loop ------------------------------------------------------------------------------

    def wake(self, container_id: str = "") -> None:
        """Sync soon; ``container_id`` names a container a runtime event says changed. Docker's
        list lags its events (a container that just died still lists as running), so such a
        container is inspected on the next sync whatever the list says."""
        if container_id:
            self._changed.add(container_id)
        self._wake.set()

    async def run(self) -> None:
        """Sync on every wake or timer until the pod is gone and cleaned up."""
        while not self.done:
            self._wake.clear()
            try:
                await self.sync()
                self._errors = 0
            except asyncio.CancelledError:
                raise
            except (ContainerRuntimeError, ApiError) as err:  # runtime or apiserver away: no traceback
                self._failed()
                log.warning("sync of pod %s failed: %s", self.key, err)
            except Exception:
                self._failed()
                log.exception("sync of pod %s failed", self.key)
            if self.done:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.next_delay)
        self.supervision.stop()

    def _failed(self) -> None:
        """Retry a failed sync with back-off; a relist or an event wakes the worker sooner."""
        self._errors += 1
        self.next_delay = min(ERROR_RETRY * 2 ** min(self._errors, 6), 30.0)

    async def sync(self) -> None:
        """One pass: observe, act, report."""
        began = time.perf_counter()
        try:
            await self._sync()
        finally:
            log.debug("pod %s synced in %.3fs", self.key, time.perf_counter() - began)

    async def _sync(self) -> None:
        self.next_delay = None
        pod = self.desired_pod()
        infos = await self.observe()
        if pod is None or pod.metadata.deletion_timestamp:
            await self.terminate(pod, infos)
            return
        self.pod = pod
        await self.supervision.collect_garbage(infos)
        groups = group_by_container(infos)
        if (pod.status.phase if pod.status else None) in TERMINAL_PHASES:
            if self.ctx.projected is not None:
                self.ctx.projected.untrack(self.uid)
            await self.report(pod, groups)
            await self.supervision.stop_sandbox(groups)
            return
        if self.ctx.projected is not None:
            self.ctx.projected.track(pod)  # tokens of adopted pods are renewed too
        sandbox = await self.sandbox_and_act(pod, groups)
        if sandbox is not None:
            groups = group_by_container(await self.observe()) if sandbox[1] else groups
            self.supervise(pod, groups, sandbox[0])
        status = await self.report(pod, groups)
        if status is not None and status.phase in TERMINAL_PHASES:
            await self.supervision.stop_sandbox(groups)

    def desired_pod(self) -> Pod | None:
        pod = self.ctx.lookup(self.key)
        if pod is None or pod.metadata.uid != self.uid or pod.spec.node_name != self.ctx.node:
            return None
        return pod

    async def observe(self) -> list[ContainerInfo]:
        """The pod's containers, detailed; only containers whose state changed are inspected."""
        labels = {**naming.node_labels(self.ctx.node), naming.POD_UID: self.uid}
        listed = await self.ctx.run(self.ctx.runtime.list_containers, labels)
        stale = [i for i in listed if self._stale(i) or i.id in self._changed]
        self._changed.clear()
        inspected = await asyncio.gather(*(self.ctx.run(self.ctx.runtime.inspect_container, i.id) for i in stale))
        for info in inspected:
            if info is not None:
                self._details[info.id] = info
        listed_ids = {i.id for i in listed}
        self._details = {k: v for k, v in self._details.items() if k in listed_ids}
        return [self._details[i.id] for i in listed if i.id in self._details]

    def differs(self, listed: list[ContainerInfo]) -> bool:
        """Whether a listing of the pod's containers shows something this worker has not seen."""
        if {i.id for i in listed} != set(self._details):
            return True
        return any(self._stale(info) for info in listed)

    def _stale(self, listed: ContainerInfo) -> bool:
        known = self._details.get(listed.id)
        return known is None or known.state is not listed.state or known.exit_code != listed.exit_code

    # -- acting --------------------------------------------------------------------------------

    async def sandbox_and_act(
        self, pod: Pod, groups: dict[str, list[ContainerInfo]]
    ) -> tuple[ContainerInfo, bool] | None:
        """Ensure the sandbox and start containers: (running sandbox, anything started), or None.

        A new pod (no sandbox yet) creates its containers while the sandbox starts: the
        fast path of pod start-up. Otherwise the sandbox is settled first (a dead one takes
        its containers down with it).
        """
        fresh = not groups.get(naming.SANDBOX_NAME)
        task = asyncio.ensure_future(ensure_sandbox(self.ctx, self, pod, groups))
        handle = SandboxHandle(name=sandbox_name(pod, groups), ready=task)
        if not fresh and await task is None:
            return None
        try:
            changed = await self.act(pod, groups, handle)
        finally:
            sandbox = await task
        return (sandbox, changed) if sandbox is not None else None

    async def act(self, pod: Pod, groups: dict[str, list[ContainerInfo]], sandbox: SandboxHandle) -> bool:
        """Start what must run; True if anything was started (the caller observes again)."""
        initialized, changed = await self.sync_init(pod, groups, sandbox)
        if initialized:
            changed = await self.sync_app(pod, groups, sandbox) or changed
        return changed

    async def sync_init(
        self, pod: Pod, groups: dict[str, list[ContainerInfo]], sandbox: SandboxHandle
    ) -> tuple[bool, bool]:
        """Run init containers one at a time, in order: (all succeeded, something started)."""
        for container in pod.spec.init_containers or []:
            rec = self.record(pod, container, init=True)
            latest = _latest(groups, container.name)
            if latest is not None and latest.state is ContainerState.EXITED and latest.exit_code == 0:
                continue
            if latest is not None and latest.state is ContainerState.RUNNING:
                if rec.started_id != latest.id:
                    rec.tracker.on_start()  # adopted
                    rec.started_id = latest.id
                rec.waiting = None
                return False, False
            return False, await self.step(pod, container, rec, latest, sandbox=sandbox, init=True)
        return True, False

    async def sync_app(self, pod: Pod, groups: dict[str, list[ContainerInfo]], sandbox: SandboxHandle) -> bool:
        steps = []
        for container in pod.spec.containers:
            rec = self.record(pod, container, init=False)
            latest = _latest(groups, container.name)
            if latest is not None and latest.state is ContainerState.RUNNING:
                continue
            steps.append(self.step(pod, container, rec, latest, sandbox=sandbox, init=False))
        return any(await asyncio.gather(*steps))

    def supervise(self, pod: Pod, groups: dict[str, list[ContainerInfo]], sandbox: ContainerInfo) -> None:
        """Probes and liveness kills for the app containers running now."""
        for container in pod.spec.containers:
            latest = _latest(groups, container.name)
            if latest is not None and latest.state is ContainerState.RUNNING:
                self.supervision.supervise(pod, container, self.record(pod, container, init=False), latest, sandbox)

    async def step(
        self, pod: Pod, container: Container, rec: ContainerRecord, latest: ContainerInfo | None,
        *, sandbox: SandboxHandle, init: bool,
    ) -> bool:
        """Bring one not-running container forward: start, wait out back-off, or leave it done."""
        rec.stop_probers()
        if latest is None:
            started = await start_container(self.ctx, pod, container, rec, attempt=0, init=init, sandbox=sandbox)
            return started is not None
        if latest.state is ContainerState.CREATED and rec.start_failed != latest.id:
            return await start_existing(self.ctx, pod, container, rec, latest, sandbox)
        if decide_exit(self.ctx, pod, container, rec, latest) is not RestartState.RESTART_NOW:
            return False
        attempt = naming.attempt_of(latest) + 1
        started = await start_container(self.ctx, pod, container, rec, attempt=attempt, init=init, sandbox=sandbox)
        return started is not None

    def record(self, pod: Pod, container: Container, *, init: bool) -> ContainerRecord:
        rec = self.records.get(container.name)
        if rec is None:
            tracker = RestartTracker(policy_for(pod, init=init), self.ctx.cfg.backoff(), clock=self.ctx.clock.monotonic)
            rec = ContainerRecord(tracker=tracker)
            self.records[container.name] = rec
        return rec

    # -- reporting -----------------------------------------------------------------------------

    async def report(self, pod: Pod, groups: dict[str, list[ContainerInfo]]) -> PodStatus | None:
        """Compute the status and write it if it changed; schedule the next timed wake."""
        self._schedule()
        base = pod
        if self._written is not None and _revision(pod) <= self._written_rv:
            base = pod.model_copy(update={"status": self._written})
        status = compute_pod_status(base, self.view(pod, groups), now=self._now())
        if base.status is not None and status.to_dict() == base.status.to_dict():
            return status
        await self.write_status(pod, status)
        return status

    def view(self, pod: Pod, groups: dict[str, list[ContainerInfo]]) -> PodView:
        sandboxes = groups.get(naming.SANDBOX_NAME, [])
        init_failed = False
        init_views = []
        for container in pod.spec.init_containers or []:
            view = self._container_view(container, groups)
            init_failed = init_failed or (view.exited and not view.succeeded and view.waiting is None)
            init_views.append(view)
        return PodView(
            init_containers=init_views,
            containers=[self._container_view(c, groups) for c in pod.spec.containers],
            sandbox=sandboxes[0] if sandboxes else None,
            host_ip=self.ctx.host_ip,
            runtime_scheme=self.ctx.runtime_scheme,
            init_failed=init_failed,
        )

    def _container_view(self, container: Container, groups: dict[str, list[ContainerInfo]]) -> ContainerView:
        attempts = groups.get(container.name, [])
        rec = self.records.get(container.name)
        current = attempts[0] if attempts else None
        return ContainerView(
            name=container.name,
            image=container.image or "",
            current=current,
            previous=attempts[1] if len(attempts) > 1 else None,
            restart_count=naming.attempt_of(current) if current is not None else 0,
            waiting=rec.waiting if rec is not None else None,
            ready=rec.ready if rec is not None else True,
            image_id=rec.image_id if rec is not None else "",
        )

    async def write_status(self, pod: Pod, status: PodStatus) -> None:
        """PUT /status; on a conflict re-read the pod and retry with the same status."""
        target = pod
        for _ in range(5):
            body = target.model_copy(update={"status": status})
            try:
                written = await self.ctx.api.replace_status(body)
            except ApiError as err:
                if err.code == 404:
                    return
                if err.code != 409:
                    raise
                fresh = await self.ctx.api.get_pod(target.metadata.namespace or "default", target.metadata.name or "")
                if fresh is None or fresh.metadata.uid != self.uid:
                    return
                target = fresh
                continue
            self._written = status
            self._written_rv = _revision(written)
            return
        raise ApiError(409, "Conflict", f"status of pod {self.key} kept conflicting")

    def _schedule(self) -> None:
        now = self.ctx.clock.monotonic()
        due = [r.retry_at - now for r in self.records.values() if r.retry_at is not None and r.retry_at > now]
        if due:
            delay = max(min(due), 0.001)
            self.next_delay = delay if self.next_delay is None else min(self.next_delay, delay)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.ctx.clock.time(), UTC)

    # -- termination ---------------------------------------------------------------------------

    async def terminate(self, pod: Pod | None, infos: list[ContainerInfo]) -> None:
        """Stop (gracefully), remove everything of the pod, then delete the pod object."""
        self.supervision.stop()
        known = pod or self.pod
        await stop_containers(self.ctx, known, infos, grace=_grace_period(pod))
        await remove_pod_resources(self.ctx, known, infos)
        if pod is not None:
            await self.ctx.api.delete_pod(podspec.pod_ref(pod))
        self.done = True


def _grace_period(pod: Pod | None) -> float:
    """The pod's deletion grace period; a pod that vanished without one gets a short grace."""
    if pod is None:
        return float(FORCED_DELETE_GRACE)
    for seconds in (pod.metadata.deletion_grace_period_seconds, pod.spec.termination_grace_period_seconds):
        if seconds is not None:
            return float(seconds)
    return 30.0


def group_by_container(infos: list[ContainerInfo]) -> dict[str, list[ContainerInfo]]:
    """Container name -> its attempts, newest first."""
    groups: dict[str, list[ContainerInfo]] = {}
    for info in infos:
        groups.setdefault(naming.container_of(info), []).append(info)
    for attempts in groups.values():
        attempts.sort(key=naming.attempt_of, reverse=True)
    return groups


def _latest(groups: dict[str, list[ContainerInfo]], name: str) -> ContainerInfo | None:
    attempts = groups.get(name)
    return attempts[0] if attempts else None


def _revision(pod: Pod) -> int:
    try:
        return int(pod.metadata.resource_version or -1)
    except ValueError:
        return -1

