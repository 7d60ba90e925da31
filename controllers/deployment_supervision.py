"""The Deployment as its pods' supervisor's supervisor: count escalations, stop, roll back.

A pod escalates when its own supervisor gives up (:func:`controllers.podutil.is_escalated`); its
ReplicaSet replaces it. The Deployment's annotations ``supervision.podvisor.io/intensity`` and
``.../period`` apply OTP's rule one level up: ``intensity`` escalations of the newest ReplicaSet's
pods within ``period`` seconds are tolerated, one more and the rollout gives up. Giving up means:

* Progressing=False, reason RestartIntensityExceeded, and no further step of the rollout (while
  the escalations stay in the window; the progress deadline still turns it into
  ProgressDeadlineExceeded later, as for any stuck rollout);
* with ``.../auto-rollback: "true"``, instead, ``kubectl rollout undo --to-revision=N`` to the last
  revision seen fully available (``.../last-available-revision``, written here whenever a rollout
  completes): the old ReplicaSet's template goes back into ``spec.template`` with a
  ``kubernetes.io/change-cause`` naming why, and the bad template's pod-template-hash is kept in
  ``.../rejected-template``. While the Deployment sits on its last available revision, re-applying
  the rejected template is held (Progressing=False, RevisionRejected); any other template clears
  the annotation and rolls out as usual.

Each step is one write, and the decision (:func:`plan`) is a pure function of the Deployment, its
ReplicaSets and the escalation times; the controller only carries it out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from apimachinery.conditions import FALSE, get_condition
from apimachinery.events import NORMAL, WARNING
from apimachinery.models.apps import Deployment, DeploymentStatus, ReplicaSet
from apimachinery.models.core import Pod, PodTemplateSpec
from apimachinery.supervision import (
    LAST_AVAILABLE_REVISION,
    REJECTED_TEMPLATE,
    RESTART_INTENSITY_EXCEEDED,
    REVISION_REJECTED,
    ROLLED_BACK,
    DeploymentSupervisorSpec,
    Intensity,
    parse_deployment,
)
from apimachinery.timeutil import Clock, now_rfc3339
from controllers import deployment_util as du
from controllers import podutil
from controllers.base import CONTROLLER_UID_INDEX, Cache, Client, Queue, Recorder, key_of
from controllers.deployment_status import (
    NEW_RS_AVAILABLE,
    PROGRESSING,
    TIMED_OUT,
    calculate_status,
    has_progress_deadline,
    is_complete,
    new_condition,
    set_condition,
    timed_out,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from controllers.metrics import ControllerMetrics

CHANGE_CAUSE = "kubernetes.io/change-cause"


class Verdict(Enum):
    PROCEED = "proceed"  # roll out as usual
    HOLD = "hold"  # the template is the rejected one: do nothing but say so
    CLEAR = "clear"  # the template changed: forget the rejected one
    STOP = "stop"  # intensity exceeded, no rollback: the rollout stops
    ROLL_BACK = "roll-back"  # intensity exceeded: back to the last available revision


@dataclass(frozen=True)
class Plan:
    verdict: Verdict
    message: str = ""  # the condition's message; ROLL_BACK: the Warning event's
    target: ReplicaSet | None = None  # ROLL_BACK: the ReplicaSet whose template comes back
    rolled_back: str = ""  # ROLL_BACK: the RolledBack event's message
    rejected: str = ""  # ROLL_BACK: the bad template's pod-template-hash
    cause: str = ""  # ROLL_BACK: the change-cause
    recheck_after: float | None = None  # STOP: when the oldest counted escalation leaves the window


PROCEED = Plan(Verdict.PROCEED)


# --- pure parts -----------------------------------------------------------------------------------


def escalation_times(pods: Iterable[Pod], *, first_seen: Mapping[str, float]) -> list[float]:
    """When each escalated pod gave up; ``first_seen`` (by uid) stands in when the pod does not say."""
    times = []
    for pod in pods:
        if not podutil.is_escalated(pod):
            continue
        when = podutil.escalated_at(pod)
        if when is None:
            when = first_seen.get(pod.metadata.uid or "")
        if when is not None:
            times.append(when)
    return sorted(times)


def within_period(times: Iterable[float], *, now: float, intensity: Intensity) -> list[float]:
    return [t for t in times if t >= now - intensity.period]


def exceeded_message(*, count: int, revision: int, intensity: Intensity) -> str:
    return (
        f"{count} pods of revision {revision} exceeded their restart intensity in {intensity.period}s "
        f"(intensity {intensity.restarts})"
    )


def rejected_message(rejected: str) -> str:
    return (
        f"The pod template (pod-template-hash {rejected}) was rolled back after its pods exceeded their "
        f"restart intensity; change the template, or remove the annotation {REJECTED_TEMPLATE}, to retry it"
    )


def pod_template_hash(d: Deployment, rs: ReplicaSet) -> str:
    label = (rs.metadata.labels or {}).get(du.HASH_LABEL)
    return label or du.template_hash(d.spec.template, d.status.collision_count if d.status else None)


def is_rejected(d: Deployment, rss: list[ReplicaSet], rejected: str) -> bool:
    """The Deployment's template is the one rolled back (compared with that ReplicaSet when kept)."""
    bad = next((rs for rs in rss if (rs.metadata.labels or {}).get(du.HASH_LABEL) == rejected), None)
    if bad is not None:
        return du.equal_ignore_hash(bad.spec.template, d.spec.template)
    return du.template_hash(d.spec.template, d.status.collision_count if d.status else None) == rejected


def holds_revision(rs: ReplicaSet, revision: int) -> bool:
    """The ReplicaSet is (or was, before a rollback bumped it) that revision."""
    history = (rs.metadata.annotations or {}).get(du.REVISION_HISTORY, "")
    return du.revision(rs) == revision or str(revision) in history.split(",")


def rollback_target(rss: list[ReplicaSet], new_rs: ReplicaSet, revision: int | None) -> ReplicaSet | None:
    """The ReplicaSet of the last fully available revision, unless that is the failing one."""
    if revision is None or holds_revision(new_rs, revision):
        return None  # none recorded, or it is the failing one itself: nothing older is known
    return next(
        (rs for rs in rss if holds_revision(rs, revision) and rs.metadata.uid != new_rs.metadata.uid), None
    )


def plan(
    d: Deployment, rss: list[ReplicaSet], new_rs: ReplicaSet | None, *, escalations: list[float], now: float
) -> Plan:
    """What the Deployment's supervision calls for in this sync (``escalations``: of ``new_rs``'s pods)."""
    spec = parse_deployment(d.metadata.annotations)
    if spec.rejected_template is not None:
        if is_rejected(d, rss, spec.rejected_template):
            return Plan(Verdict.HOLD, rejected_message(spec.rejected_template))
        if (
            new_rs is None
            or spec.last_available_revision is None
            or not holds_revision(new_rs, spec.last_available_revision)
        ):
            return Plan(Verdict.CLEAR)
    if spec.intensity is None or new_rs is None:
        return PROCEED
    counted = within_period(escalations, now=now, intensity=spec.intensity)
    if len(counted) <= spec.intensity.restarts:
        return PROCEED
    return _give_up(d, rss, new_rs, spec, counted=counted, now=now)


def _give_up(
    d: Deployment,
    rss: list[ReplicaSet],
    new_rs: ReplicaSet,
    spec: DeploymentSupervisorSpec,
    *,
    counted: list[float],
    now: float,
) -> Plan:
    assert spec.intensity is not None
    revision = du.revision(new_rs)
    message = exceeded_message(count=len(counted), revision=revision, intensity=spec.intensity)
    target = rollback_target(rss, new_rs, spec.last_available_revision) if spec.auto_rollback else None
    if target is not None:
        to = spec.last_available_revision
        cause = (
            f"auto-rollback from revision {revision} to {to}: {RESTART_INTENSITY_EXCEEDED} "
            f"({len(counted)} pods in {spec.intensity.period}s)"
        )
        return Plan(
            Verdict.ROLL_BACK,
            message,
            target=target,
            rejected=pod_template_hash(d, new_rs),
            cause=cause,
            rolled_back=f"Rolled back from revision {revision} to {to}: {message}",
        )
    if spec.auto_rollback:
        message += "; no fully available revision to roll back to"
    recheck = min(counted) + spec.intensity.period - now
    return Plan(Verdict.STOP, message, recheck_after=max(recheck, 0.0) + 1.0)


def template_without_hash(rs: ReplicaSet) -> PodTemplateSpec:
    """A ReplicaSet's template as its Deployment holds it (what ``rollout undo`` writes back)."""
    template = (rs.spec.template or PodTemplateSpec()).model_copy(deep=True)
    if template.metadata is not None and template.metadata.labels:
        labels = {k: v for k, v in template.metadata.labels.items() if k != du.HASH_LABEL}
        template.metadata.labels = labels or None
    return template


def completed_revision(d: Deployment, new_rs: ReplicaSet | None) -> int | None:
    """The new ReplicaSet's revision when the recorded status shows the rollout complete."""
    status = d.status
    if new_rs is None or status is None or not is_complete(d, status) or du.revision(new_rs) <= 0:
        return None
    cond = get_condition(status.conditions, PROGRESSING)
    if has_progress_deadline(d) and (cond is None or cond.reason != NEW_RS_AVAILABLE):
        return None
    return du.revision(new_rs)


def stopped_status(
    d: Deployment,
    all_rss: list[ReplicaSet | None],
    new_rs: ReplicaSet | None,
    *,
    reason: str,
    message: str,
    now: float,
    now_text: str,
) -> DeploymentStatus:
    """The counts, and Progressing=False for ``reason``. A rollout stopped by escalations becomes
    ProgressDeadlineExceeded once the deadline passes, as any stuck rollout; a held template keeps
    saying why it is held."""
    status = calculate_status(all_rss, new_rs, d, now=now_text)
    current = get_condition(status.conditions, PROGRESSING)
    stuck = reason == RESTART_INTENSITY_EXCEEDED
    if stuck and current is not None and current.reason == TIMED_OUT:
        return status
    if stuck and current is not None and current.reason == reason and timed_out(d, status, now=now):
        name = new_rs.metadata.name if new_rs is not None else ""
        set_condition(
            status,
            new_condition(
                PROGRESSING, FALSE, TIMED_OUT, f'ReplicaSet "{name}" has timed out progressing.', now=now_text
            ),
        )
        return status
    set_condition(status, new_condition(PROGRESSING, FALSE, reason, message, now=now_text))
    return status


# --- the steps ------------------------------------------------------------------------------------


class SupervisionSteps:
    """Mixed into the DeploymentController, which provides the attributes declared here."""

    client: Client
    clock: Clock
    recorder: Recorder
    metrics: ControllerMetrics
    queue: Queue
    pods: Cache[Pod]
    first_seen: dict[str, float]
    _write_status: Callable[..., Awaitable[Deployment]]
    _requeue_stuck: Callable[..., None]

    async def supervise(self, d: Deployment, rss: list[ReplicaSet]) -> Deployment | None:
        """The Deployment to roll out, or None when supervision took this sync's step."""
        new_rs = du.find_new_replica_set(d, rss)
        d = await self._record_last_available(d, new_rs)
        now = self.clock.time()
        decision = plan(d, rss, new_rs, escalations=self._escalations(new_rs, now=now), now=now)
        match decision.verdict:
            case Verdict.PROCEED:
                return d
            case Verdict.CLEAR:
                patch = {"metadata": {"annotations": {REJECTED_TEMPLATE: None}}}
                await self.client.patch(Deployment, d.metadata.name or "", patch, d.metadata.namespace)
            case Verdict.HOLD:
                await self._stop(d, rss, new_rs, reason=REVISION_REJECTED, message=decision.message)
            case Verdict.STOP:
                await self._stop(d, rss, new_rs, reason=RESTART_INTENSITY_EXCEEDED, message=decision.message)
                if decision.recheck_after is not None:
                    self.queue.add_after(key_of(d), decision.recheck_after)
            case Verdict.ROLL_BACK:
                await self._roll_back(d, decision)
        return None

    def _escalations(self, new_rs: ReplicaSet | None, *, now: float) -> list[float]:
        if new_rs is None:
            return []
        pods = [
            p
            for p in self.pods.by_index(CONTROLLER_UID_INDEX, new_rs.metadata.uid or "")
            if podutil.is_escalated(p)
        ]
        for pod in pods:
            if podutil.escalated_at(pod) is None:
                self.first_seen.setdefault(pod.metadata.uid or "", now)
        return escalation_times(pods, first_seen=self.first_seen)

    async def _record_last_available(self, d: Deployment, new_rs: ReplicaSet | None) -> Deployment:
        revision = completed_revision(d, new_rs)
        if revision is None or (d.metadata.annotations or {}).get(LAST_AVAILABLE_REVISION) == str(revision):
            return d
        patch = {"metadata": {"annotations": {LAST_AVAILABLE_REVISION: str(revision)}}}
        return await self.client.patch(Deployment, d.metadata.name or "", patch, d.metadata.namespace)

    async def _stop(
        self, d: Deployment, rss: list[ReplicaSet], new_rs: ReplicaSet | None, *, reason: str, message: str
    ) -> None:
        now = self.clock.time()
        status = stopped_status(
            d, [*rss], new_rs, reason=reason, message=message, now=now, now_text=now_rfc3339(self.clock)
        )
        before = get_condition(d.status.conditions if d.status else None, PROGRESSING)
        after = get_condition(status.conditions, PROGRESSING)
        if status != d.status:
            await self._write_status(d, status)
            if after is not None and after.reason == reason and (before is None or before.reason != reason):
                self.recorder.event(d, WARNING, reason, message)
        if reason == RESTART_INTENSITY_EXCEEDED:  # a held template waits for a change, not a deadline
            self._requeue_stuck(d, status, now=now)

    async def _roll_back(self, d: Deployment, decision: Plan) -> None:
        """``rollout undo --to-revision``: the old template back, the cause recorded, one write."""
        assert decision.target is not None
        updated = d.model_copy(deep=True)
        updated.spec.template = template_without_hash(decision.target)
        updated.metadata.annotations = {
            **(updated.metadata.annotations or {}),
            CHANGE_CAUSE: decision.cause,
            REJECTED_TEMPLATE: decision.rejected,
        }
        await self.client.replace(updated)
        self.metrics.auto_rollbacks.inc()
        self.recorder.event(d, WARNING, RESTART_INTENSITY_EXCEEDED, decision.message)
        self.recorder.event(d, NORMAL, ROLLED_BACK, decision.rolled_back)
