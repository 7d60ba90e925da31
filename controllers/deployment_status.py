"""Deployment status and conditions, as pure functions of the ReplicaSets observed.

``kubectl rollout status`` decides from exactly these fields: observedGeneration, replicas,
updatedReplicas, availableReplicas and the Progressing condition (ProgressDeadlineExceeded is a
failure). The condition rules are Kubernetes': setting a condition with the same status and reason
is a no-op (so lastUpdateTime only moves when progress is made), and lastTransitionTime survives
changes that keep the status.
"""

from __future__ import annotations

from apimachinery.conditions import FALSE, TRUE, UNKNOWN, get_condition
from apimachinery.models.apps import Deployment, DeploymentStatus, ReplicaSet
from apimachinery.models.meta import Condition
from apimachinery.timeutil import parse_time
from controllers.deployment_util import desired, max_unavailable, total_status

AVAILABLE, PROGRESSING, REPLICA_FAILURE = "Available", "Progressing", "ReplicaFailure"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
FAILED_RS_CREATE = "ReplicaSetCreateError"
PAUSED, RESUMED = "DeploymentPaused", "DeploymentResumed"


def new_condition(kind: str, status: str, reason: str, message: str, *, now: str) -> Condition:
    return Condition(type=kind, status=status, reason=reason, message=message,
                     last_update_time=now, last_transition_time=now)


def set_condition(status: DeploymentStatus, cond: Condition) -> None:
    """SetDeploymentCondition: same status and reason changes nothing; the status keeps its
    transition time; the new condition goes last."""
    current = get_condition(status.conditions, cond.type)
    if current is not None and current.status == cond.status and current.reason == cond.reason:
        return
    if current is not None and current.status == cond.status:
        cond = cond.model_copy(update={"last_transition_time": current.last_transition_time})
    status.conditions = [c for c in status.conditions or [] if c.type != cond.type] + [cond]


def remove_condition(status: DeploymentStatus, kind: str) -> None:
    status.conditions = [c for c in status.conditions or [] if c.type != kind] or None


def has_progress_deadline(d: Deployment) -> bool:
    seconds = d.spec.progress_deadline_seconds
    return seconds is not None and seconds < 2**31 - 1


def calculate_status(all_rss: list[ReplicaSet | None], new_rs: ReplicaSet | None, d: Deployment, *,
                     now: str) -> DeploymentStatus:
    """Counts from the ReplicaSets' status plus the Available condition; other conditions kept."""
    present = [rs for rs in all_rss if rs is not None]
    available = total_status(present, "available_replicas")
    total = total_status(present, "replicas")
    old = d.status or DeploymentStatus()
    status = DeploymentStatus(
        observed_generation=d.metadata.generation,
        replicas=total or None,
        updated_replicas=total_status([new_rs] if new_rs else [], "replicas") or None,
        ready_replicas=total_status(present, "ready_replicas") or None,
        available_replicas=available or None,
        unavailable_replicas=max(total - available, 0) or None,
        collision_count=old.collision_count,
        conditions=[c.model_copy() for c in old.conditions or []] or None,
    )
    if available >= desired(d) - max_unavailable(d):
        cond = new_condition(AVAILABLE, TRUE, MIN_AVAILABLE, "Deployment has minimum availability.", now=now)
    else:
        cond = new_condition(AVAILABLE, FALSE, MIN_UNAVAILABLE, "Deployment does not have minimum availability.",
                             now=now)
    set_condition(status, cond)
    return status


def _n(value: int | None) -> int:
    return value or 0


def is_complete(d: Deployment, status: DeploymentStatus) -> bool:
    """Every replica updated and available, nothing old left, and the latest spec observed."""
    want = desired(d)
    return (_n(status.updated_replicas) == want and _n(status.replicas) == want
            and _n(status.available_replicas) == want
            and _n(status.observed_generation) >= _n(d.metadata.generation))


def is_progressing(d: Deployment, status: DeploymentStatus) -> bool:
    """Something moved since the recorded status: more updated/ready/available or fewer old pods."""
    old = d.status or DeploymentStatus()
    old_old = _n(old.replicas) - _n(old.updated_replicas)
    new_old = _n(status.replicas) - _n(status.updated_replicas)
    return (_n(status.updated_replicas) > _n(old.updated_replicas) or new_old < old_old
            or _n(status.ready_replicas) > _n(old.ready_replicas)
            or _n(status.available_replicas) > _n(old.available_replicas))


def seconds_until_deadline(d: Deployment, status: DeploymentStatus, *, now: float) -> float | None:
    """Seconds left before the Progressing condition times out (<= 0: passed); None: no deadline."""
    if not has_progress_deadline(d):
        return None
    cond = get_condition(status.conditions, PROGRESSING)
    if cond is None or cond.reason in (NEW_RS_AVAILABLE, TIMED_OUT) or not cond.last_update_time:
        return None
    try:
        since = parse_time(cond.last_update_time).timestamp()
    except ValueError:
        return None
    return since + float(d.spec.progress_deadline_seconds or 0) - now


def timed_out(d: Deployment, status: DeploymentStatus, *, now: float) -> bool:
    cond = get_condition(status.conditions, PROGRESSING)
    if not has_progress_deadline(d) or cond is None or cond.reason == NEW_RS_AVAILABLE:
        return False
    if cond.reason == TIMED_OUT:
        return True
    left = seconds_until_deadline(d, status, now=now)
    return left is not None and left < 0


def rollout_status(all_rss: list[ReplicaSet | None], new_rs: ReplicaSet | None, d: Deployment, *,
                   now: float, now_text: str) -> DeploymentStatus:
    """calculate_status plus the Progressing condition of a rollout in flight (syncRolloutStatus)."""
    status = calculate_status(all_rss, new_rs, d, now=now_text)
    if not has_progress_deadline(d):
        remove_condition(status, PROGRESSING)
        return status
    current = get_condition(status.conditions, PROGRESSING)
    finished = (_n(status.replicas) == _n(status.updated_replicas) and current is not None
                and current.reason == NEW_RS_AVAILABLE)
    if finished:
        return status
    name = new_rs.metadata.name if new_rs is not None else ""
    if is_complete(d, status):
        set_condition(status, new_condition(PROGRESSING, TRUE, NEW_RS_AVAILABLE,
                                            f'ReplicaSet "{name}" has successfully progressed.', now=now_text))
    elif is_progressing(d, status):
        cond = new_condition(PROGRESSING, TRUE, RS_UPDATED, f'ReplicaSet "{name}" is progressing.', now=now_text)
        if current is not None and current.status == TRUE:
            cond.last_transition_time = current.last_transition_time
        remove_condition(status, PROGRESSING)
        set_condition(status, cond)
    elif timed_out(d, status, now=now):
        set_condition(status, new_condition(PROGRESSING, FALSE, TIMED_OUT,
                                            f'ReplicaSet "{name}" has timed out progressing.', now=now_text))
    return status


def paused_condition(d: Deployment, *, now: str) -> Condition | None:
    """The Progressing condition a pause or resume calls for, or None when nothing changes."""
    if not has_progress_deadline(d):
        return None
    current = get_condition(d.status.conditions if d.status else None, PROGRESSING)
    if current is not None and current.reason == TIMED_OUT:
        return None
    paused_shown = current is not None and current.reason == PAUSED
    if d.spec.paused and not paused_shown:
        return new_condition(PROGRESSING, UNKNOWN, PAUSED, "Deployment is paused", now=now)
    if not d.spec.paused and paused_shown:
        return new_condition(PROGRESSING, UNKNOWN, RESUMED, "Deployment is resumed", now=now)
    return None
