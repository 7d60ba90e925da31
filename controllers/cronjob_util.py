"""The pure part of the CronJob controller: which scheduled time is due, and the Job it makes.

Kubernetes' ``pkg/controller/cronjob/utils.go``, over wire-shaped Jobs (plain dicts) so that
the controller needs nothing of the Job kind but its standard shape.

Missed schedules: the times between the last one started (or the CronJob's creation) and now.
Only the most recent is ever started; the others are lost, as in Kubernetes. With
``startingDeadlineSeconds`` the search starts no earlier than ``now - deadline``, so a long outage
does not count the times nobody could have started anyway. More than :data:`MAX_MISSED` missed
times is worth a Warning (a stopped controller, a clock jump, a deadline too long).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apimachinery.cron import Schedule
from apimachinery.models.batch import CronJob
from apimachinery.timeutil import format_rfc3339, parse_time
from controllers.base import controller_ref_to

SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
MAX_MISSED = 100
#: Woken this long after a scheduled time, so the time is surely past when the sync runs.
NEXT_SCHEDULE_DELTA = 0.1
COMPLETE, FAILED = "Complete", "Failed"


@dataclass(frozen=True)
class Due:
    """What the schedule says at ``now``."""

    earliest: datetime
    """Where the search started: the last scheduled time, the creation, or now - deadline."""
    most_recent: datetime | None
    """The latest scheduled time in (earliest, now], if any."""
    missed: int
    """How many scheduled times fell in (earliest, now] (estimated when very many)."""


def _instant(text: str | None) -> datetime | None:
    return parse_time(text) if text else None


def earliest_time(cronjob: CronJob, now: datetime, *, with_deadline: bool) -> datetime:
    status = cronjob.status
    earliest = _instant(status.last_schedule_time if status else None)
    if earliest is None:
        earliest = _instant(cronjob.metadata.creation_timestamp) or now
    deadline = cronjob.spec.starting_deadline_seconds
    if with_deadline and deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=deadline))
    return earliest


def most_recent_schedule(cronjob: CronJob, schedule: Schedule, now: datetime, *, with_deadline: bool) -> Due:
    """The latest scheduled time not yet started (mostRecentScheduleTime)."""
    earliest = earliest_time(cronjob, now, with_deadline=with_deadline)
    first = schedule.next(earliest)
    if first > now:
        return Due(earliest, None, 0)
    latest, missed = first, 1
    while missed <= MAX_MISSED:
        following = schedule.next(latest)
        if following > now:
            return Due(earliest, latest, missed)
        latest, missed = following, missed + 1
    # Very many: estimate the count from the first interval, and find the latest near now.
    interval = (schedule.next(first) - first).total_seconds()
    estimate = int((now - first).total_seconds() // interval) + 1 if interval > 0 else missed
    return Due(earliest, _latest_before(schedule, now, after=latest), max(estimate, missed))


def _latest_before(schedule: Schedule, now: datetime, *, after: datetime) -> datetime:
    """The last firing in (after, now]: look back over a window doubling until it holds one."""
    window = timedelta(minutes=1)
    while True:
        start = max(now - window, after)
        found = schedule.next(start)
        if found <= now:
            while (following := schedule.next(found)) <= now:
                found = following
            return found
        window *= 2


def next_wake(cronjob: CronJob, schedule: Schedule, now: datetime) -> float:
    """Seconds until the sync after the next scheduled time (nextScheduleTimeDuration)."""
    due = most_recent_schedule(cronjob, schedule, now, with_deadline=False)
    base = due.most_recent or due.earliest
    return max((schedule.next(base) - now).total_seconds(), 0.0) + NEXT_SCHEDULE_DELTA


def job_name(cronjob: CronJob, scheduled: datetime) -> str:
    """``<cronjob>-<minutes since the epoch>``: the same time always names the same Job."""
    return f"{cronjob.metadata.name}-{int(scheduled.timestamp()) // 60}"


def rfc3339_in_zone(moment: datetime) -> str:
    """Go's ``time.RFC3339`` in the moment's own zone (``Z`` for UTC)."""
    if moment.utcoffset() == timedelta(0):
        return format_rfc3339(moment.astimezone(UTC))
    return moment.replace(microsecond=0).isoformat()


def job_from_template(cronjob: CronJob, scheduled: datetime) -> dict[str, Any]:
    """The Job (wire form) started for ``scheduled``: the template, named by the time, owned."""
    template = cronjob.spec.job_template
    meta = template.metadata
    annotations = dict(meta.annotations or {}) if meta else {}
    annotations[SCHEDULED_TIMESTAMP] = rfc3339_in_zone(scheduled)
    metadata: dict[str, Any] = {
        "name": job_name(cronjob, scheduled),
        "namespace": cronjob.metadata.namespace,
        "annotations": annotations,
        "ownerReferences": [controller_ref_to(cronjob).to_dict()],
    }
    if meta and meta.labels:
        metadata["labels"] = dict(meta.labels)
    spec = template.spec.to_dict() if template.spec is not None else {}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}


def finished_condition(job: dict[str, Any]) -> str | None:
    """``Complete`` or ``Failed`` when the Job has finished (IsJobFinished), else None."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in (COMPLETE, FAILED) and condition.get("status") == "True":
            return str(condition["type"])
    return None


def completion_time(job: dict[str, Any]) -> datetime | None:
    return _instant((job.get("status") or {}).get("completionTime"))


def _start_key(job: dict[str, Any]) -> tuple[bool, datetime, str]:
    """byJobStartTime: by status.startTime, Jobs without one last, then by name."""
    started = _instant((job.get("status") or {}).get("startTime"))
    name = str((job.get("metadata") or {}).get("name") or "")
    return started is None, started or datetime.max.replace(tzinfo=UTC), name


def history_to_delete(
    jobs: list[dict[str, Any]], *, successful: int | None, failed: int | None
) -> list[dict[str, Any]]:
    """The finished Jobs beyond the history limits, oldest first (a limit of None keeps all)."""
    victims: list[dict[str, Any]] = []
    for outcome, limit in ((COMPLETE, successful), (FAILED, failed)):
        if limit is None:
            continue
        finished = sorted((j for j in jobs if finished_condition(j) == outcome), key=_start_key)
        victims += finished[: max(len(finished) - limit, 0)]
    return victims
