"""Pod status as a pure function of what the kubelet observed.

The pod worker gathers a :class:`PodView` (the runtime's containers plus the kubelet's own
decisions: back-off, image errors, probe results) and :func:`compute_pod_status` turns it
into the ``PodStatus`` Kubernetes would report. No I/O, no clock reads: ``now`` is passed in,
so every rule is table-tested without Docker.

The phase follows the kubelet's ``getPhase``: a waiting container keeps the pod Pending
unless it has terminated before (a crash-looping container counts as stopped); all stopped
means Succeeded or Failed by exit codes and restart policy; a terminal phase never changes.
Sidecars (init containers with ``restartPolicy: Always``) do not count toward the phase: a
Job-like pod completes when its app containers do. The pod's supervisor may end the pod
itself (a :class:`Verdict`: restart intensity exceeded, or auto-shutdown), and reports its
budget and a RestartAllContainers in progress as conditions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from apimachinery.conditions import FALSE, TRUE, set_condition
from apimachinery.models.core import (
    ContainerState as ApiContainerState,
)
from apimachinery.models.core import (
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    Pod,
    PodIP,
    PodStatus,
)
from apimachinery.models.meta import Condition
from apimachinery.supervision import (
    ALL_CONTAINERS_RESTARTING,
    INTENSITY_CONDITION,
    RESTART_INTENSITY_EXCEEDED,
    WITHIN_INTENSITY,
)
from apimachinery.timeutil import format_rfc3339
from kubelet.restart import CONTAINER_CREATING, POD_INITIALIZING, exit_reason
from kubelet.runtime.base import ContainerInfo, ContainerState

PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"
TERMINAL_PHASES = frozenset({SUCCEEDED, FAILED})

POD_READY_TO_START = "PodReadyToStartContainers"
INITIALIZED = "Initialized"
CONTAINERS_READY = "ContainersReady"
READY = "Ready"
POD_SCHEDULED = "PodScheduled"

CONTAINERS_NOT_INITIALIZED = "ContainersNotInitialized"
CONTAINERS_NOT_READY = "ContainersNotReady"
POD_COMPLETED = "PodCompleted"


@dataclass(frozen=True)
class Waiting:
    """A waiting reason the kubelet imposes on a container (back-off, image errors, creating)."""

    reason: str
    message: str = ""


@dataclass(frozen=True)
class Verdict:
    """The pod's supervisor ended the pod: its phase, reason and message."""

    phase: str
    reason: str
    message: str


@dataclass
class ContainerView:
    """One container of the pod spec as observed: its latest attempt and the one before."""

    name: str
    image: str
    current: ContainerInfo | None = None  # the latest attempt, detailed (inspected)
    previous: ContainerInfo | None = None  # the attempt before it, for lastState
    restart_count: int = 0
    waiting: Waiting | None = None
    ready: bool = True  # readiness probe result; True when the container has no readiness probe
    image_id: str = ""  # known even before the first container exists
    started: bool = True  # its startup probe succeeded (or it has none)
    sidecar: bool = False  # an init container with restartPolicy Always

    @property
    def running(self) -> bool:
        return self.current is not None and self.current.state is ContainerState.RUNNING

    @property
    def exited(self) -> bool:
        return self.current is not None and self.current.state is ContainerState.EXITED

    @property
    def succeeded(self) -> bool:
        return self.exited and self.current is not None and self.current.exit_code == 0


@dataclass
class PodView:
    """Everything the status of one pod is computed from."""

    init_containers: list[ContainerView] = field(default_factory=list)
    containers: list[ContainerView] = field(default_factory=list)
    ephemeral_containers: list[ContainerView] = field(default_factory=list)  # never ready, no part of the phase
    sandbox: ContainerInfo | None = None
    host_ip: str = ""
    runtime_scheme: str = "docker"
    init_failed: bool = False  # an init container failed and will not be retried
    initialized: bool | None = None  # None: every init container succeeded (sidecars: are running)
    verdict: Verdict | None = None
    budget: str | None = None  # "3/5 restarts in 60s" when the pod has a restart intensity
    restarting_all: bool | None = None  # None: no RestartAllContainers happened


def compute_pod_status(pod: Pod, view: PodView, *, now: datetime) -> PodStatus:
    """The status to report for ``pod``; the previous status supplies transition times and startTime."""
    old = pod.status or PodStatus()
    status = old.model_copy(deep=True)
    initialized = view.initialized
    if initialized is None:
        initialized = all(c.succeeded or (c.sidecar and c.running and c.started) for c in view.init_containers)
    status.init_container_statuses = [
        _container_status(c, view.runtime_scheme, default_reason=POD_INITIALIZING) for c in view.init_containers
    ] or None
    app_default = CONTAINER_CREATING if initialized else POD_INITIALIZING
    status.container_statuses = [
        _container_status(c, view.runtime_scheme, default_reason=app_default) for c in view.containers
    ]
    status.ephemeral_container_statuses = [
        _container_status(c, view.runtime_scheme, default_reason=CONTAINER_CREATING)
        for c in view.ephemeral_containers
    ] or None
    stamp = format_rfc3339(now)
    if old.phase in TERMINAL_PHASES:
        status.phase = old.phase  # reason and message stay too
    elif view.verdict is not None:
        status.phase, status.reason, status.message = view.verdict.phase, view.verdict.reason, view.verdict.message
    else:
        status.phase = pod_phase(pod, view, initialized=initialized)
        status.message = status.reason = None
    status.conditions = _conditions(old.conditions, view, phase=status.phase, initialized=initialized, now=stamp)
    if old.phase not in TERMINAL_PHASES:
        status.conditions = _supervisor_conditions(status.conditions, view, now=stamp)
    _set_addresses(status, old, view, host_network=pod.spec.host_network is True)
    status.start_time = old.start_time or stamp
    return status


def _supervisor_conditions(conditions: list[Condition], view: PodView, *, now: str) -> list[Condition]:
    """The intensity budget and KEP-5532's AllContainersRestarting, when they apply."""
    if view.budget is not None:
        if view.verdict is not None and view.verdict.reason == RESTART_INTENSITY_EXCEEDED:
            cond = Condition(type=INTENSITY_CONDITION, status=FALSE, reason=RESTART_INTENSITY_EXCEEDED,
                             message=view.verdict.message)
        else:
            cond = Condition(type=INTENSITY_CONDITION, status=TRUE, reason=WITHIN_INTENSITY, message=view.budget)
        conditions = set_condition(conditions, cond, now=now)
    if view.restarting_all is not None:
        cond = Condition(type=ALL_CONTAINERS_RESTARTING, status=TRUE if view.restarting_all else FALSE)
        conditions = set_condition(conditions, cond, now=now)
    return conditions


def pod_phase(pod: Pod, view: PodView, *, initialized: bool) -> str:
    """Kubernetes' getPhase over the observed containers."""
    policy = pod.spec.restart_policy or "Always"
    if view.init_failed and policy == "Never":
        return FAILED
    running = waiting = stopped = succeeded = 0
    for container in view.containers:
        if container.waiting is not None or container.current is None:
            if container.waiting is not None and _has_terminated(container):
                stopped += 1
                succeeded += 1 if _last_exit_code(container) == 0 else 0
            else:
                waiting += 1
        elif container.running:
            running += 1
        elif container.exited:
            stopped += 1
            succeeded += 1 if container.succeeded else 0
        else:  # created, not started yet
            waiting += 1
    if not initialized or waiting > 0:
        return PENDING
    if running > 0:
        return RUNNING
    if stopped > 0:
        if policy == "Always":
            return RUNNING
        if stopped == succeeded:
            return SUCCEEDED
        return FAILED if policy == "Never" else RUNNING
    return PENDING


def _has_terminated(container: ContainerView) -> bool:
    return container.exited or (container.previous is not None and container.previous.state is ContainerState.EXITED)


def _last_exit_code(container: ContainerView) -> int | None:
    source = container.current if container.exited else container.previous
    return source.exit_code if source is not None else None


def _container_status(view: ContainerView, scheme: str, *, default_reason: str) -> ContainerStatus:
    current = view.current
    status = ContainerStatus(
        name=view.name,
        image=view.image,
        image_id=(current.image_id if current is not None and current.image_id else view.image_id),
        restart_count=view.restart_count,
        ready=False,
        started=False,
    )
    last = view.previous
    if view.waiting is not None:
        status.state = ApiContainerState(waiting=_waiting(view.waiting))
        last = current if current is not None and current.state is ContainerState.EXITED else view.previous
    elif current is None or current.state is ContainerState.CREATED:
        status.state = ApiContainerState(waiting=ContainerStateWaiting(reason=default_reason))
    elif current.state is ContainerState.RUNNING:
        status.state = ApiContainerState(running=ContainerStateRunning(started_at=_stamp(current.started_at)))
        status.started = view.started
        status.ready = view.ready and view.started
    else:
        status.state = ApiContainerState(terminated=_terminated(current, scheme))
    if current is not None and current.state is not ContainerState.CREATED:
        status.container_id = f"{scheme}://{current.id}"
    if last is not None and last.state is ContainerState.EXITED:
        status.last_state = ApiContainerState(terminated=_terminated(last, scheme))
    else:
        status.last_state = ApiContainerState()
    return status


def _waiting(waiting: Waiting) -> ContainerStateWaiting:
    return ContainerStateWaiting(reason=waiting.reason, message=waiting.message or None)


def _terminated(info: ContainerInfo, scheme: str) -> ContainerStateTerminated:
    code = info.exit_code if info.exit_code is not None else 0
    return ContainerStateTerminated(
        exit_code=code,
        reason=exit_reason(code, oom_killed=info.oom_killed),
        message=info.error or None,
        started_at=_stamp(info.started_at),
        finished_at=_stamp(info.finished_at),
        container_id=f"{scheme}://{info.id}",
    )


def _stamp(moment: datetime | None) -> str | None:
    return format_rfc3339(moment) if moment is not None else None


def _conditions(
    old: list[Condition] | None, view: PodView, *, phase: str, initialized: bool, now: str
) -> list[Condition]:
    sandbox_ready = view.sandbox is not None and view.sandbox.state is ContainerState.RUNNING
    unready = [c.name for c in view.containers if not (c.running and c.ready)]
    incomplete = [c.name for c in view.init_containers if not c.succeeded]
    if phase in TERMINAL_PHASES:
        ready = Condition(type=READY, status=FALSE, reason=POD_COMPLETED)
    elif unready:
        ready = Condition(
            type=READY, status=FALSE, reason=CONTAINERS_NOT_READY,
            message=f"containers with unready status: [{' '.join(unready)}]",
        )
    else:
        ready = Condition(type=READY, status=TRUE)
    if initialized:
        init = Condition(type=INITIALIZED, status=TRUE)
    else:
        init = Condition(
            type=INITIALIZED, status=FALSE, reason=CONTAINERS_NOT_INITIALIZED,
            message=f"containers with incomplete status: [{' '.join(incomplete)}]",
        )
    wanted = [
        Condition(type=POD_READY_TO_START, status=TRUE if sandbox_ready else FALSE),
        init,
        ready,
        ready.model_copy(update={"type": CONTAINERS_READY}),
        Condition(type=POD_SCHEDULED, status=TRUE),
    ]
    conditions = [c for c in old or [] if c.type not in {w.type for w in wanted}]
    for condition in wanted:
        previous = next((c for c in old or [] if c.type == condition.type), None)
        kept = set_condition([previous] if previous else [], condition, now=now)
        conditions.append(kept[0])
    order = {w.type: i for i, w in enumerate(wanted)}
    return sorted(conditions, key=lambda c: order.get(c.type, len(order)))


def _set_addresses(status: PodStatus, old: PodStatus, view: PodView, *, host_network: bool = False) -> None:
    sandbox = view.sandbox
    ip = sandbox.ip if sandbox is not None and sandbox.state is ContainerState.RUNNING else None
    if host_network and sandbox is not None and sandbox.state is ContainerState.RUNNING:
        ip = view.host_ip or ip  # the pod shares the node's addresses, as in Kubernetes
    ip = ip or old.pod_ip  # a stopped sandbox keeps the pod's last IP on record, as Kubernetes does
    status.pod_ip = ip
    status.pod_ips = [PodIP(ip=ip)] if ip else None
    if view.host_ip:
        status.host_ip = view.host_ip
        status.host_ips = [PodIP(ip=view.host_ip)]
