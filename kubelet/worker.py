"""One worker per pod: an asyncio task that brings the pod's containers to its spec.

The worker is woken by the pod informer (spec or deletion changed), by runtime events (one of
its containers died), by probe verdicts and by its own timers (back-off ends); each wake runs
one idempotent :meth:`PodWorker.sync`:

1. observe: list the pod's containers by label, inspect only those whose state changed;
2. if the pod is gone or being deleted: stop containers gracefully, remove them and the
   pod's volumes, then delete the pod object (uid precondition) and end;
3. tell the pod's supervisor (:mod:`kubelet.supervisor`) about starts and exits it has not
   seen, and carry out each plan it answers in one ``match``;
4. make the sandbox run, run init containers in order (a sidecar counts once it has started),
   then start the app containers: concurrently, or one after another when the supervisor's
   strategy is ordered; start whatever the supervisor planned to restart once it is due;
5. compute the status (a pure function) and write it only if it changed; a pod that ended
   (completed, failed, or given up by its supervisor) has its containers stopped in reverse
   start order, then its sandbox.

Everything the worker must know after a kubelet restart is in container labels, so a fresh
worker adopting running containers changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from datetime import UTC, datetime

from apimachinery.errors import ApiError
from apimachinery.models.core import Container, Pod, PodStatus
from apimachinery.supervision import parse_pod
from kubelet import naming, podspec
from kubelet.context import NodeContext
from kubelet.ephemeral import start_ephemeral_containers
from kubelet.lifecycle import (
    RESTARTS_LABEL,
    START_FAILED_EXIT_CODE,
    ContainerRecord,
    field_path,
    start_container,
    start_existing,
)
from kubelet.metrics import PodSample
from kubelet.monitor import Monitor
from kubelet.podmetrics import PodStartTracker, exit_reason
from kubelet.restart import CRASH_LOOP_BACK_OFF
from kubelet.runtime.base import ContainerInfo, ContainerRuntimeError, ContainerState
from kubelet.sandbox import SandboxHandle, ensure_sandbox, remove_pod_resources, sandbox_name, stop_containers
from kubelet.status import (
    FAILED,
    SUCCEEDED,
    TERMINAL_PHASES,
    ContainerView,
    PodView,
    Verdict,
    Waiting,
    compute_pod_status,
)
from kubelet.supervisor import Child, ChildKind, Escalate, Leave, Plan, PodSupervisor, Restart, Shutdown

log = logging.getLogger(__name__)
ERROR_RETRY = 1.0
_HISTORY_PARTS = 256  # entries read from a restart-history label (it holds far fewer)
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
        self.monitor = Monitor(ctx, records=self.records, wake=self.wake)
        self.supervisor: PodSupervisor | None = None
        self.verdict: Verdict | None = None  # the supervisor ended the pod
        self.initialized = False  # init containers done (sticky until a RestartAllContainers)
        self.restarting_all: bool | None = None
        self.stopped: set[str] = set()  # containers the supervisor stopped: their exits are no crashes
        self._stopping_now = False  # this sync asked for stops: what it observed is stale
        self._details: dict[str, ContainerInfo] = {}
        self._wake = asyncio.Event()
        self._written: PodStatus | None = None
        self._written_rv = -1
        self._errors = 0
        self._changed: set[str] = set()
        self.start_tracker = PodStartTracker(ctx.metrics, seen_at=ctx.clock.monotonic())
        self._observed = False
        self._groups: dict[str, list[ContainerInfo]] = {}  # the last observation, for the gauges

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
        self.monitor.stop()

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
        self._stopping_now = False
        pod = self.desired_pod()
        infos = await self.observe()
        if pod is None or pod.metadata.deletion_timestamp:
            await self.terminate(pod, infos)
            return
        self.pod = pod
        await self.monitor.collect_garbage(infos)
        groups = group_by_container(infos)
        if (pod.status.phase if pod.status else None) in TERMINAL_PHASES:
            if self.ctx.projected is not None:
                self.ctx.projected.untrack(self.uid)
            await self.report(pod, groups)
            await self.wind_down(pod, groups)
            return
        if self.ctx.projected is not None:
            self.ctx.projected.track(pod)  # tokens of adopted pods are renewed too
        self._first_look(pod, groups)
        self.note_starts_and_exits(pod, groups)
        if self.verdict is None:
            sandbox = await self.sandbox_and_act(pod, groups)
            if sandbox is not None:
                groups = group_by_container(await self.observe()) if sandbox[1] else groups
                self.watch(pod, groups, sandbox[0])
        status = await self.report(pod, groups)
        self._groups = groups
        self.start_tracker.pulling = sum(r.pulling for r in self.records.values())
        self.start_tracker.observe(pod, _apps(pod, groups), now=self._now(), monotonic=self.ctx.clock.monotonic())
        if status is not None and status.phase in TERMINAL_PHASES:
            await self.wind_down(pod, groups)

    def _first_look(self, pod: Pod, groups: dict[str, list[ContainerInfo]]) -> None:
        if not self._observed:
            self._observed = True
            self.start_tracker.first_observation(_apps(pod, groups))

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
        self.stopped &= listed_ids
        return [self._details[i.id] for i in listed if i.id in self._details]

    def differs(self, listed: list[ContainerInfo]) -> bool:
        """Whether a listing of the pod's containers shows something this worker has not seen."""
        if {i.id for i in listed} != set(self._details):
            return True
        return any(self._stale(info) for info in listed)

    def _stale(self, listed: ContainerInfo) -> bool:
        known = self._details.get(listed.id)
        return known is None or known.state is not listed.state or known.exit_code != listed.exit_code

    # -- supervising ---------------------------------------------------------------------------

    def supervisor_for(self, pod: Pod, groups: dict[str, list[ContainerInfo]]) -> PodSupervisor:
        """The pod's supervisor; a new one (a new worker, or a kubelet restart) reads its restart
        history from the containers' labels. The spec follows the pod's (mutable) annotations."""
        if self.supervisor is None:
            history = [t for attempts in groups.values() for info in attempts for t in _restart_times(info)]
            self.supervisor = PodSupervisor.for_pod(pod, clock=self.ctx.clock, backoff=self.ctx.cfg.backoff(),
                                                    history=history)
            self.initialized = any(groups.get(name) for name in self.supervisor.apps())
        else:
            self.supervisor.spec = parse_pod(pod.metadata.annotations)
        return self.supervisor

    def note_starts_and_exits(self, pod: Pod, groups: dict[str, list[ContainerInfo]]) -> None:
        """Tell the supervisor what it has not seen (adopted containers included) and carry out its plans."""
        supervisor = self.supervisor_for(pod, groups)
        for child in supervisor.children:
            rec = self.record(child.name)
            latest = _latest(groups, child.name)
            if latest is None:
                continue
            if latest.state is ContainerState.RUNNING:
                self._note_start(child.name, rec, latest.id)
                continue
            failed_start = latest.state is ContainerState.CREATED and rec.start_failed == latest.id
            if (latest.state is not ContainerState.EXITED and not failed_start) or rec.exit_seen == latest.id:
                continue
            self._note_start(child.name, rec, latest.id)  # an adopted container did run
            rec.exit_seen = latest.id
            if latest.id in self.stopped:
                continue  # the supervisor stopped it; what follows is planned already
            code = START_FAILED_EXIT_CODE if failed_start else latest.exit_code or 0
            plan = supervisor.on_exit(child.name, code)
            self._count(plan, exit_reason(latest, code=code, start_failed=failed_start))
            self.carry_out(pod, child, plan, groups)

    def _count(self, plan: Plan, reason: str) -> None:
        """Restarts by the exit's reason, group restarts by strategy, escalations."""
        metrics = self.ctx.metrics
        if metrics is None:
            return
        match plan:
            case Restart(start=start, all_containers=all_containers):
                metrics.restarts.labels(reason).inc()
                if len(start) > 1:
                    metrics.group_restarts.labels("RestartAllContainers" if all_containers
                                                  else self.supervisor_strategy()).inc()
            case Escalate():
                metrics.escalations.inc()

    def _note_start(self, name: str, rec: ContainerRecord, container_id: str) -> None:
        if rec.started_id == container_id or self.supervisor is None:
            return
        self.supervisor.on_start(name, by_supervisor=rec.by_supervisor)
        rec.started_id = container_id
        rec.by_supervisor = False
        rec.restart_at = None
        rec.done = False

    def carry_out(self, pod: Pod, child: Child, plan: Plan, groups: dict[str, list[ContainerInfo]]) -> None:
        """What the supervisor decided about ``child``'s exit."""
        rec = self.record(child.name)
        match plan:
            case Restart(start=()):
                pass  # it restarts with the group it already belongs to
            case Restart(start=start, stop=stop, delay=delay, all_containers=all_containers):
                due = self.ctx.clock.monotonic() + delay
                for name in start:
                    other = self.record(name)
                    other.restart_at, other.done, other.by_supervisor = due, False, name != child.name
                if delay > 0:
                    self._back_off(pod, child, rec, delay)
                if all_containers:
                    self.initialized, self.restarting_all = False, True
                if len(start) > 1:
                    what = "RestartAllContainers" if all_containers else self.supervisor_strategy()
                    self.ctx.api.event(pod, "Normal", "Restarting",
                                       f"{what}: container {child.name} exited; restarting {', '.join(start)}")
                self._stop(pod, [_latest(groups, name) for name in stop])
            case Leave():
                rec.done, rec.restart_at, rec.waiting = True, None, None
            case Escalate(reason=reason, message=message):
                self.verdict = Verdict(FAILED, reason, message)
                self.ctx.api.event(pod, "Warning", reason, message)
            case Shutdown(reason=reason, message=message):
                self.verdict = Verdict(SUCCEEDED, reason, message)
                self.ctx.api.event(pod, "Normal", reason, message)

    def supervisor_strategy(self) -> str:
        return self.supervisor.spec.strategy.value if self.supervisor is not None else ""

    def _back_off(self, pod: Pod, child: Child, rec: ContainerRecord, delay: float) -> None:
        name = podspec.pod_ref(pod).full_name
        rec.waiting = Waiting(CRASH_LOOP_BACK_OFF,
                              f"back-off {math.ceil(delay):d}s restarting failed container={child.name} pod={name}")
        container = _spec_container(pod, child.name)
        if container is not None:
            self.ctx.api.event(pod, "Warning", "BackOff",
                               f"Back-off restarting failed container {child.name} in pod {name}",
                               field_path=field_path(pod, container))

    def _stop(self, pod: Pod, infos: list[ContainerInfo | None]) -> None:
        """Stop these (the running ones), in this order, in the background; their exits are no crashes."""
        running = [i for i in infos if i is not None and i.state is ContainerState.RUNNING]
        self._stopping_now = self._stopping_now or bool(running)
        self.stopped.update(i.id for i in running)
        self.monitor.stop_in_order(pod, running, grace=_grace_period(pod))

    async def wind_down(self, pod: Pod, groups: dict[str, list[ContainerInfo]]) -> None:
        """The pod ended: stop what still runs in reverse start order (app containers, then sidecars),
        then the sandbox. A finished pod keeps its exited containers (logs)."""
        order = [c.name for c in [*(pod.spec.init_containers or []), *pod.spec.containers,
                                  *(pod.spec.ephemeral_containers or [])]]
        running = [_latest(groups, name) for name in reversed(order)]
        if any(i is not None and i.state is ContainerState.RUNNING for i in running):
            self._stop(pod, running)
            return
        if not self.monitor.busy:
            await self.monitor.stop_sandbox(groups)

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
        task = asyncio.ensure_future(ensure_sandbox(self.ctx, pod, groups, retry_in=self._retry_in))
        handle = SandboxHandle(name=sandbox_name(pod, groups), ready=task)
        if not fresh and await task is None:
            return None
        try:
            changed = await self.act(pod, groups, handle)
        finally:
            sandbox = await task
        return (sandbox, changed) if sandbox is not None else None

    def _retry_in(self, seconds: float) -> None:
        self.next_delay = seconds if self.next_delay is None else min(self.next_delay, seconds)

    async def act(self, pod: Pod, groups: dict[str, list[ContainerInfo]], sandbox: SandboxHandle) -> bool:
        """Start what must run; True if anything was started (the caller observes again)."""
        if self.monitor.busy or self._stopping_now:
            return False  # a group is being stopped: OTP restarts it only once all of it is down
        changed = await start_ephemeral_containers(self.ctx, pod, groups, record=self.record, sandbox=sandbox)
        initialized, started = await self.sync_init(pod, groups, sandbox)
        changed = changed or started
        if initialized:
            changed = await self.sync_app(pod, groups, sandbox) or changed
        return changed

    async def sync_init(
        self, pod: Pod, groups: dict[str, list[ContainerInfo]], sandbox: SandboxHandle
    ) -> tuple[bool, bool]:
        """Run init containers one at a time, in order: (all done, something started). A sidecar
        is done once it has started; it keeps running beside the app containers."""
        if self.initialized:
            return True, False
        assert self.supervisor is not None
        changed = False
        for child in self.supervisor.children:
            if child.kind is ChildKind.APP:
                break
            rec, latest = self.record(child.name), _latest(groups, child.name)
            running = latest is not None and latest.state is ContainerState.RUNNING
            if child.kind is ChildKind.SIDECAR and running and self._started(pod, child, rec, latest):
                continue
            if child.kind is ChildKind.INIT and rec.done and latest is not None and latest.exit_code == 0:
                continue
            if running or rec.done or not self._may_start(rec, latest):
                return False, changed
            started = await self.start(pod, child, rec, latest, sandbox=sandbox)
            changed = changed or started
            container = _spec_container(pod, child.name)
            if not (started and child.kind is ChildKind.SIDECAR and container and container.startup_probe is None):
                return False, changed
        self.initialized = True
        return True, changed

    async def sync_app(self, pod: Pod, groups: dict[str, list[ContainerInfo]], sandbox: SandboxHandle) -> bool:
        """Start the app containers (and restart sidecars) that are due: concurrently, or in order,
        each once the one before it has started, when the supervisor's strategy is ordered."""
        assert self.supervisor is not None
        ordered = self.supervisor.spec.ordered
        concurrent = []
        in_order = True
        started_any = False
        for child in self.supervisor.children:
            if child.kind is ChildKind.INIT:
                continue
            rec, latest = self.record(child.name), _latest(groups, child.name)
            if latest is not None and latest.state is ContainerState.RUNNING:
                in_order = in_order and self._started(pod, child, rec, latest)
                continue
            if rec.done or not self._may_start(rec, latest):
                in_order = in_order and rec.done
                continue
            step = self.start(pod, child, rec, latest, sandbox=sandbox)
            if not ordered or child.kind is ChildKind.SIDECAR:
                concurrent.append(step)
            elif in_order:
                started = await step
                started_any = started_any or started
                in_order = started and _spec_container(pod, child.name) is not None and \
                    _spec_container(pod, child.name).startup_probe is None  # type: ignore[union-attr]
            else:
                step.close()
        results = await asyncio.gather(*concurrent)
        return started_any or any(results)

    def _may_start(self, rec: ContainerRecord, latest: ContainerInfo | None) -> bool:
        """Never started, created but not started, or a planned restart that is due."""
        if latest is None or (latest.state is ContainerState.CREATED and rec.start_failed != latest.id):
            return True
        return rec.due(self.ctx.clock.monotonic())

    def _started(self, pod: Pod, child: Child, rec: ContainerRecord, latest: ContainerInfo | None) -> bool:
        """Running and past its startup probe (if it has one): the next child may start."""
        container = _spec_container(pod, child.name)
        if latest is None or latest.state is not ContainerState.RUNNING:
            return False
        return container is None or container.startup_probe is None or rec.started == latest.id

    async def start(
        self, pod: Pod, child: Child, rec: ContainerRecord, latest: ContainerInfo | None, *, sandbox: SandboxHandle
    ) -> bool:
        """Start ``child``'s next attempt (or its created one); the supervisor is told of the start."""
        container = _spec_container(pod, child.name)
        if container is None:
            return False
        rec.stop_probers()
        if latest is not None and latest.state is ContainerState.CREATED and rec.start_failed != latest.id:
            started = await start_existing(self.ctx, pod, container, rec, latest, sandbox)
            if started or rec.start_failed == latest.id:
                self._note_start(child.name, rec, latest.id)
            return started
        attempt = naming.attempt_of(latest) + 1 if latest is not None else 0
        failed_before = rec.start_failed
        history = ",".join(f"{t:.3f}" for t in self.supervisor.history()) if self.supervisor else ""
        container_id = await start_container(self.ctx, pod, container, rec, attempt=attempt,
                                             init=child.kind is not ChildKind.APP, sandbox=sandbox,
                                             labels={RESTARTS_LABEL: history} if history else None)
        if container_id is not None:
            self._note_start(child.name, rec, container_id)
        elif rec.start_failed is not None and rec.start_failed != failed_before:
            self._note_start(child.name, rec, rec.start_failed)  # created; its start failed (exit 128)
        return container_id is not None

    def watch(self, pod: Pod, groups: dict[str, list[ContainerInfo]], sandbox: ContainerInfo) -> None:
        """Probes and liveness kills for the sidecars and app containers running now."""
        for container in [*(pod.spec.init_containers or []), *pod.spec.containers]:
            child = self.supervisor.child(container.name) if self.supervisor else None
            latest = _latest(groups, container.name)
            if child is None or child.kind is ChildKind.INIT:
                continue
            if latest is not None and latest.state is ContainerState.RUNNING and latest.id not in self.stopped:
                self.monitor.supervise(pod, container, self.record(container.name), latest, sandbox)

    def record(self, name: str) -> ContainerRecord:
        rec = self.records.get(name)
        if rec is None:
            rec = self.records[name] = ContainerRecord()
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
        init_views = [self._container_view(c, groups, sidecar=c.restart_policy == "Always")
                      for c in pod.spec.init_containers or []]
        init_failed = any(
            not v.sidecar and v.exited and not v.succeeded and self.record(v.name).done for v in init_views
        )
        supervisor = self.supervisor
        budget = supervisor.budget() if supervisor is not None else None
        if self.restarting_all and supervisor is not None:
            self.restarting_all = any(supervisor.pending(c.name) for c in supervisor.children)
        return PodView(
            init_containers=init_views,
            containers=[self._container_view(c, groups) for c in pod.spec.containers],
            ephemeral_containers=[self._container_view(c, groups, ephemeral=True)
                                  for c in pod.spec.ephemeral_containers or []],
            sandbox=sandboxes[0] if sandboxes else None,
            host_ip=self.ctx.host_ip,
            runtime_scheme=self.ctx.runtime_scheme,
            init_failed=init_failed,
            initialized=self.initialized if supervisor is not None else None,
            verdict=self.verdict,
            budget=budget[1] if budget is not None else None,
            restarting_all=self.restarting_all,
        )

    def _container_view(
        self, container: Container, groups: dict[str, list[ContainerInfo]], *, sidecar: bool = False,
        ephemeral: bool = False,
    ) -> ContainerView:
        attempts = groups.get(container.name, [])
        rec = self.records.get(container.name)
        current = attempts[0] if attempts else None
        started = container.startup_probe is None or (rec is not None and current is not None and rec.started == current.id)
        return ContainerView(
            name=container.name,
            image=container.image or "",
            current=current,
            previous=attempts[1] if len(attempts) > 1 else None,
            restart_count=naming.attempt_of(current) if current is not None else 0,
            waiting=rec.waiting if rec is not None else None,
            ready=rec.ready if rec is not None and not ephemeral else not ephemeral,
            image_id=rec.image_id if rec is not None else "",
            started=started,
            sidecar=sidecar,
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
        times = [t for r in self.records.values() for t in (r.retry_at, r.restart_at) if t is not None]
        due = [t - now for t in times if t > now]
        if due:
            delay = max(min(due), 0.001)
            self.next_delay = delay if self.next_delay is None else min(self.next_delay, delay)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.ctx.clock.time(), UTC)

    # -- termination ---------------------------------------------------------------------------

    async def terminate(self, pod: Pod | None, infos: list[ContainerInfo]) -> None:
        """Stop (gracefully), remove everything of the pod, then delete the pod object."""
        self.monitor.stop()
        known = pod or self.pod
        await stop_containers(self.ctx, known, infos, grace=_grace_period(pod))
        await remove_pod_resources(self.ctx, known, infos)
        if pod is not None:
            await self.ctx.api.delete_pod(podspec.pod_ref(pod))
        self.done = True
        self._groups = {}
        if self.ctx.metrics is not None and known is not None:
            self.ctx.metrics.forget_pod_probes(pod=known.metadata.name or "", namespace=known.metadata.namespace or "",
                                               pod_uid=self.uid)

    def sample(self) -> PodSample | None:
        """What the gauges show of this pod (None: gone, or not observed yet)."""
        pod, groups = self.pod, self._groups
        if pod is None or self.done or not groups:
            return None
        sandboxes = groups.get(naming.SANDBOX_NAME, [])
        budget = self.supervisor.budget() if self.supervisor is not None else None
        intensity = self.supervisor.spec.intensity if self.supervisor is not None else None
        current = [attempts[0] for name, attempts in groups.items() if name != naming.SANDBOX_NAME and attempts]
        return PodSample(
            namespace=pod.metadata.namespace or "", name=pod.metadata.name or "",
            sandbox_running=bool(sandboxes) and sandboxes[0].state is ContainerState.RUNNING,
            container_states=tuple(i.state.value for i in current),
            budget_used=budget[0] if budget is not None else None,
            budget_limit=intensity.restarts if intensity is not None else None,
            crash_looping=sum(1 for r in self.records.values()
                              if r.waiting is not None and r.waiting.reason == CRASH_LOOP_BACK_OFF),
        )


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


def _spec_container(pod: Pod, name: str) -> Container | None:
    return next((c for c in [*(pod.spec.init_containers or []), *pod.spec.containers] if c.name == name), None)


def _restart_times(info: ContainerInfo) -> list[float]:
    """The restart history a container was started with (its label); bad entries are skipped."""
    out = []
    for part in info.labels.get(RESTARTS_LABEL, "").split(",")[:_HISTORY_PARTS]:
        try:
            value = float(part)
        except ValueError:
            continue
        if math.isfinite(value):
            out.append(value)
    return out


def _apps(pod: Pod, groups: dict[str, list[ContainerInfo]]) -> list[ContainerInfo | None]:
    return [_latest(groups, c.name) for c in pod.spec.containers]


def _latest(groups: dict[str, list[ContainerInfo]], name: str) -> ContainerInfo | None:
    attempts = groups.get(name)
    return attempts[0] if attempts else None


def _revision(pod: Pod) -> int:
    try:
        return int(pod.metadata.resource_version or -1)
    except ValueError:
        return -1

