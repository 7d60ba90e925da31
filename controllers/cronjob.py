"""The CronJob controller: start a Job at each scheduled time (``cronjob_controllerv2.go``).

One idempotent ``sync(key)``: re-read the CronJob from the cache, bring ``status.active`` in line
with the Jobs it controls (finished ones leave it and may set ``lastSuccessfulTime``, vanished
ones leave it), start the Job of the most recent unmet scheduled time if the concurrency policy
allows, trim finished Jobs to the history limits, write the status when it changed, and ask the
queue to come back just after the next scheduled time: nothing polls.

A Job's name is ``<cronjob>-<scheduled minute since the epoch>``. That name is the lock that
keeps a restart from starting a time twice: a controller that created the Job but died before
writing ``status.active`` finds the name taken on its next try, sees the Job is its own, and
only records it.

The Job kind is used only through its wire shape (:mod:`controllers.cronjob_util`), with the
model registered for ``batch/v1`` Job in :mod:`apimachinery.resources`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from apimachinery.cron import CronError, load_zone, parse
from apimachinery.errors import ApiError
from apimachinery.events import NORMAL, WARNING
from apimachinery.models.base import TypedObject
from apimachinery.models.batch import CronJob, CronJobStatus
from apimachinery.models.core import ObjectReference
from apimachinery.resources import JOBS
from apimachinery.timeutil import format_rfc3339, parse_time
from apimachinery.workqueue import WorkQueue
from controllers.base import CONTROLLER_UID_INDEX, Cache, ControllerContext, Queue, key_of, resolve_controller
from controllers.cronjob_util import (
    COMPLETE,
    MAX_MISSED,
    completion_time,
    finished_condition,
    history_to_delete,
    job_from_template,
    job_name,
    most_recent_schedule,
    next_wake,
)

log = logging.getLogger(__name__)

FORBID, REPLACE = "Forbid", "Replace"


def _wire(job: TypedObject) -> dict[str, Any]:
    return job.to_dict()


def _name_of(job: dict[str, Any]) -> str:
    return str((job.get("metadata") or {}).get("name") or "")


def _uid_of(job: dict[str, Any]) -> str:
    return str((job.get("metadata") or {}).get("uid") or "")


def _reference(job: dict[str, Any]) -> ObjectReference:
    meta = job.get("metadata") or {}
    return ObjectReference(
        kind="Job",
        namespace=meta.get("namespace"),
        name=meta.get("name"),
        uid=meta.get("uid"),
        api_version="batch/v1",
        resource_version=meta.get("resourceVersion"),
    )


def _rfc1123z(moment: datetime) -> str:
    """Go's ``time.RFC1123Z`` in UTC, as Kubernetes' MissSchedule event writes it."""
    return format_datetime(moment.astimezone(UTC)).replace("-0000", "+0000")


class CronJobController:
    name = "cronjob-controller"
    workers = 5

    def __init__(
        self,
        ctx: ControllerContext,
        cronjobs: Cache[CronJob],
        *,
        queue: Queue | None = None,
    ) -> None:
        """``cronjobs``: a cache with the standard indexes; the Jobs are the shared informer's."""
        self.client = ctx.client
        self.clock = ctx.clock
        self.cronjobs = cronjobs
        self.jobs = ctx.informers.jobs
        self.recorder = ctx.recorder_for(self.name)
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self._unexpected: set[str] = set()  # uids of Jobs already reported as UnexpectedJob
        cronjobs.add_handler(self._enqueue, lambda old, new: self._enqueue(new), self._enqueue)
        self.jobs.add_handler(self._on_job, lambda old, new: self._on_job(new), self._on_job_delete)

    def _enqueue(self, cronjob: CronJob) -> None:
        self.queue.add(key_of(cronjob))

    def _on_job_delete(self, job: Any) -> None:
        self._unexpected.discard(job.metadata.uid or "")
        self._on_job(job)

    def _on_job(self, job: Any) -> None:
        owner = resolve_controller(
            self.cronjobs, job.metadata.namespace, job.metadata.controller_ref(), "CronJob"
        )
        if owner is not None:
            self._enqueue(owner)

    # -- sync ----------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Start what is due, record what was observed, and come back at the next scheduled time."""
        cached = self.cronjobs.get(key)
        if cached is None:
            return  # deleted; the garbage collector removes its Jobs
        cronjob = cached.model_copy(deep=True)
        cronjob.status = cronjob.status.model_copy(deep=True) if cronjob.status else CronJobStatus()
        observed = cronjob.status.model_copy(deep=True)
        jobs = [
            _wire(j)
            for j in self.jobs.by_index(CONTROLLER_UID_INDEX, cronjob.metadata.uid or "")
            if j.metadata.namespace == cronjob.metadata.namespace
        ]
        await self._reconcile_active(cronjob, jobs)
        wake: float | None = None
        if cronjob.metadata.deletion_timestamp is None:
            try:
                wake = await self._schedule(cronjob)
            finally:
                await self._trim_history(cronjob, jobs)
                await self._write_status(cronjob, observed)
        else:
            await self._write_status(cronjob, observed)
        if wake is not None:
            self.queue.add_after(key, wake)

    async def _reconcile_active(self, cronjob: CronJob, jobs: list[dict[str, Any]]) -> None:
        status = cronjob.status
        assert status is not None
        active = {ref.uid for ref in status.active or []}
        for job in jobs:
            finished, uid = finished_condition(job), _uid_of(job)
            if finished is None:
                if uid not in active and uid not in self._unexpected:
                    self._unexpected.add(uid)
                    self.recorder.event(
                        cronjob,
                        WARNING,
                        "UnexpectedJob",
                        f"Saw a job that the controller did not create or forgot: {_name_of(job)}",
                    )
                continue
            self._unexpected.discard(uid)
            if uid in active:
                status.active = [r for r in status.active or [] if r.uid != uid]
                self.recorder.event(
                    cronjob,
                    NORMAL,
                    "SawCompletedJob",
                    f"Saw completed job: {_name_of(job)}, condition: {finished}",
                )
            done = completion_time(job)
            last = parse_time(status.last_successful_time) if status.last_successful_time else None
            if finished == COMPLETE and done is not None and (last is None or done > last):
                status.last_successful_time = format_rfc3339(done)
        present = {_uid_of(j) for j in jobs}
        for ref in list(status.active or []):
            if ref.uid in present:
                continue
            try:  # the cache may lag: ask the server before calling a Job gone
                await self.client.get(JOBS.model, ref.name or "", ref.namespace)
            except ApiError as err:
                if err.code != 404:
                    raise
                self.recorder.event(cronjob, NORMAL, "MissingJob", f"Active job went missing: {ref.name}")
                status.active = [r for r in status.active or [] if r.uid != ref.uid]
        if not status.active:
            status.active = None

    async def _schedule(self, cronjob: CronJob) -> float | None:
        """Start the Job of the most recent unmet time if allowed; seconds until the next look."""
        try:
            zone = load_zone(cronjob.spec.time_zone)
        except CronError as err:
            self.recorder.event(
                cronjob, WARNING, "UnknownTimeZone", f'invalid timeZone: "{cronjob.spec.time_zone}": {err}'
            )
            return None
        if cronjob.spec.suspend:
            return None
        try:
            schedule = parse(cronjob.spec.schedule, zone=zone)
        except CronError as err:
            self.recorder.event(
                cronjob,
                WARNING,
                "UnparseableSchedule",
                f'unparseable schedule: "{cronjob.spec.schedule}" : {err}',
            )
            return None
        now = datetime.fromtimestamp(self.clock.time(), UTC)
        try:
            due = most_recent_schedule(cronjob, schedule, now, with_deadline=True)
        except CronError as err:  # e.g. "0 0 30 2 *": valid fields, a day that never comes
            self.recorder.event(cronjob, WARNING, "UnparseableSchedule",
                                f'unparseable schedule: "{cronjob.spec.schedule}" : {err}')
            return None
        if due.missed > MAX_MISSED:
            self.recorder.event(
                cronjob,
                WARNING,
                "TooManyMissedTimes",
                f"too many missed start times: {due.missed}. Set or decrease "
                ".spec.startingDeadlineSeconds or check clock skew",
            )
        scheduled = due.most_recent
        if scheduled is None or not await self._may_start(cronjob, scheduled, now):
            return next_wake(cronjob, schedule, now)
        await self._start(cronjob, scheduled.astimezone(zone))
        return next_wake(cronjob, schedule, now)

    async def _may_start(self, cronjob: CronJob, scheduled: datetime, now: datetime) -> bool:
        status = cronjob.status
        assert status is not None
        deadline = cronjob.spec.starting_deadline_seconds
        if deadline is not None and scheduled.timestamp() + deadline < now.timestamp():
            self.recorder.event(
                cronjob,
                WARNING,
                "MissSchedule",
                f"Missed scheduled time to start a job: {_rfc1123z(scheduled)}",
            )
            return False
        name = job_name(cronjob, scheduled)
        last = parse_time(status.last_schedule_time) if status.last_schedule_time else None
        if any(ref.name == name for ref in status.active or []) or last == scheduled:
            return False  # already started
        if cronjob.spec.concurrency_policy == FORBID and status.active:
            self.recorder.event(
                cronjob,
                NORMAL,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            )
            return False
        if cronjob.spec.concurrency_policy == REPLACE:
            for ref in list(status.active or []):
                await self._delete_job(cronjob, ref.name or "", ref.uid)
        return True

    async def _start(self, cronjob: CronJob, scheduled: datetime) -> None:
        status = cronjob.status
        assert status is not None
        body = job_from_template(cronjob, scheduled)
        try:
            made = _wire(
                await self.client.create(JOBS.model.model_validate(body), cronjob.metadata.namespace)
            )
        except ApiError as err:
            if err.reason != "AlreadyExists":
                self.recorder.event(cronjob, WARNING, "FailedCreate", f"Error creating job: {err.message}")
                raise
            # Ours from a try whose status write was lost (a restart): record it, start nothing.
            made = _wire(
                await self.client.get(JOBS.model, body["metadata"]["name"], cronjob.metadata.namespace)
            )
            ref = (made.get("metadata") or {}).get("ownerReferences") or []
            if not any(r.get("controller") and r.get("uid") == cronjob.metadata.uid for r in ref):
                return  # someone else's Job: leave it and the status alone
            if any(r.uid == _uid_of(made) for r in status.active or []):
                return
        else:
            self.recorder.event(cronjob, NORMAL, "SuccessfulCreate", f"Created job {_name_of(made)}")
        status.active = [*(status.active or []), _reference(made)]
        status.last_schedule_time = format_rfc3339(scheduled.astimezone(UTC))

    async def _delete_job(self, cronjob: CronJob, name: str, uid: str | None) -> None:
        """Delete a Job and its pods (background), and drop it from the active list."""
        try:
            await self.client.delete(
                JOBS.model,
                name,
                cronjob.metadata.namespace,
                propagation="Background",
                preconditions={"uid": uid} if uid else None,
            )
        except ApiError as err:
            if err.code != 404:
                self.recorder.event(cronjob, WARNING, "FailedDelete", f"Deleted job: {err.message}")
                raise
        status = cronjob.status
        assert status is not None
        status.active = [r for r in status.active or [] if r.uid != uid] or None
        self.recorder.event(cronjob, NORMAL, "SuccessfulDelete", f"Deleted job {name}")

    async def _trim_history(self, cronjob: CronJob, jobs: list[dict[str, Any]]) -> None:
        spec = cronjob.spec
        victims = history_to_delete(
            jobs, successful=spec.successful_jobs_history_limit, failed=spec.failed_jobs_history_limit
        )
        for job in victims:
            await self._delete_job(cronjob, _name_of(job), _uid_of(job))

    async def _write_status(self, cronjob: CronJob, observed: CronJobStatus) -> None:
        """Write when changed; on a conflict (our cache lags our own last write) re-read once."""
        status = cronjob.status
        if status is None or status == observed:
            return
        for attempt in range(2):
            try:
                await self.client.replace_status(cronjob)
                return
            except ApiError as err:
                if err.code != 409 or attempt:
                    raise
                fresh = await self.client.get(
                    CronJob, cronjob.metadata.name or "", cronjob.metadata.namespace
                )
                fresh.status = status
                cronjob = fresh
