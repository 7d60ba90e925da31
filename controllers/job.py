"""The Job controller: run a Job's pods until enough succeed, count every end exactly once.

One idempotent ``sync(key)`` (``pkg/controller/job/job_controller.go``): re-read the Job, take
its pods from the cache, count the pods that ended, decide whether the Job has succeeded or
failed, create or delete pods toward ``parallelism``, and write the status when it changed.

Counting survives restarts through **finalizer-based tracking**: every pod carries
``batch.kubernetes.io/job-tracking`` until its end is in the Job's status. A finished pod's uid
is first written to ``status.uncountedTerminatedPods``, then its finalizer is removed, then the
uid moves into ``succeeded``/``failed`` (``completedIndexes``). A controller that dies between
two steps finds the uid in status or the finalizer on the pod and finishes the step, so no end
is lost or counted twice, and no pod that still runs is forgotten (so none is created in excess).
Pods the controller deletes itself (suspend, excess, a decided Job) lose the finalizer first and
are never counted.

A decided end is written in two steps, as Kubernetes 1.31+: ``FailureTarget`` or
``SuccessCriteriaMet`` at once (the remaining pods are deleted), then ``Failed`` / ``Complete``
with the same reason once no pod of the Job still runs (the rules: :func:`job_util.decide`).
The TTL of a finished Job is :mod:`controllers.ttlafterfinished`'s. Failures delay the next pod:
10 s doubling to 6 min, on the injected clock.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from apimachinery.conditions import FALSE, TRUE, get_condition
from apimachinery.errors import ApiError
from apimachinery.events import NORMAL, WARNING
from apimachinery.jobindexes import format_indexes, parse_indexes
from apimachinery.models.batch import (
    COMPLETE,
    FAIL_INDEX,
    FAIL_JOB,
    FAILED,
    FAILURE_TARGET,
    IGNORE,
    INDEX_FAILURE_COUNT,
    JOB_RESUMED,
    JOB_SUSPENDED,
    POD_FAILURE_POLICY,
    SUCCESS_CRITERIA_MET,
    SUSPENDED,
    TRACKING_FINALIZER,
    Job,
    JobStatus,
    UncountedTerminatedPods,
)
from apimachinery.models.core import Pod
from apimachinery.timeutil import parse_time
from apimachinery.workqueue import WorkQueue
from controllers import job_util as ju
from controllers import podutil
from controllers.base import (
    CONTROLLER_UID_INDEX,
    ControllerContext,
    Queue,
    is_stale_write,
    key_of,
    resolve_controller,
    rfc3339_at,
)
from controllers.expectations import Expectations
from controllers.job_pods import new_pod
from controllers.replicaset import slow_start_batch

log = logging.getLogger(__name__)

ORPHAN_PREFIX = "orphan-pod:"
FAILED_CREATE, SUCCESSFUL_CREATE, SUCCESSFUL_DELETE = "FailedCreate", "SuccessfulCreate", "SuccessfulDelete"
COMPLETED = "Completed"


@dataclass
class _Backoff:
    """Consecutive failures of one Job and when the last was counted (in memory, as Kubernetes)."""

    failures: int = 0
    last: float = 0.0


@dataclass
class _Round:
    """What one sync counted and decided, before the status is written."""

    status: JobStatus
    completed: set[int] = field(default_factory=set)
    failed_indexes: set[int] = field(default_factory=set)
    outcome: tuple[str, str, str] | None = None  # (FailureTarget|SuccessCriteriaMet, reason, message)
    created: int = 0  # pods created this round (not in the cache yet)


class JobController:
    name = "job-controller"
    workers = 5

    def __init__(self, ctx: ControllerContext, *, queue: Queue | None = None) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.jobs = ctx.informers.jobs
        self.pods = ctx.informers.pods
        self.recorder = ctx.recorder_for(self.name)
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self.expectations = Expectations(ctx.clock)
        self._backoff: dict[str, _Backoff] = {}
        self._written: dict[str, int] = {}  # resourceVersion of our last status write, per Job
        self.jobs.add_handler(self._enqueue, lambda old, new: self._enqueue(new), self._on_job_delete)
        self.pods.add_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)

    # -- event handlers: they only enqueue keys --------------------------------------------------

    def _enqueue(self, job: Job) -> None:
        self.queue.add(key_of(job))

    def _on_job_delete(self, job: Job) -> None:
        self.expectations.forget(key_of(job))
        self._backoff.pop(key_of(job), None)
        self._written.pop(key_of(job), None)
        self.queue.add(key_of(job))

    def _owner_of(self, pod: Pod) -> Job | None:
        return resolve_controller(self.jobs, pod.metadata.namespace, pod.metadata.controller_ref(), "Job")

    def _on_pod_add(self, pod: Pod) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.creation_observed(key_of(owner))
        if pod.metadata.deletion_timestamp is not None:
            self._on_pod_delete(pod)
        else:
            self._route(pod, owner)

    def _on_pod_update(self, old: Pod, new: Pod) -> None:
        if old.metadata.resource_version == new.metadata.resource_version:
            return
        if new.metadata.deletion_timestamp is not None and old.metadata.deletion_timestamp is None:
            self._on_pod_delete(new)
            return
        self._route(new, self._owner_of(new))

    def _on_pod_delete(self, pod: Pod) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.deletion_observed(key_of(owner), key_of(pod))
        self._route(pod, owner)

    def _route(self, pod: Pod, owner: Job | None) -> None:
        if owner is not None:
            self._enqueue(owner)
        elif ju.has_finalizer(pod):
            self.queue.add(ORPHAN_PREFIX + key_of(pod))

    # -- sync ------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Count the Job's finished pods, decide its end, run pods toward parallelism, write status."""
        if key.startswith(ORPHAN_PREFIX):
            await self._release_orphan(key.removeprefix(ORPHAN_PREFIX))
            return
        cached = self.jobs.get(key)
        if cached is None:
            self.expectations.forget(key)
            return  # deleted; the garbage collector removes its pods, orphan syncs their finalizers
        if self._stale(key, cached):
            return  # our own last status write is on its way; its event brings the Job back
        job = cached.model_copy(deep=True)
        pods = [p for p in self.pods.by_index(CONTROLLER_UID_INDEX, job.metadata.uid or "")
                if p.metadata.namespace == job.metadata.namespace]
        if job.metadata.deletion_timestamp is not None or ju.is_job_finished(job):
            await self._remove_finalizers(job, [p for p in pods if ju.has_finalizer(p)])
            return  # a finished Job with ttlSecondsAfterFinished is the TTL controller's
        try:
            await self._reconcile(key, job, pods)
        except ApiError as err:
            if not is_stale_write(err):
                raise

    def _stale(self, key: str, job: Job) -> bool:
        """The cache still shows a Job older than our last status write.

        Counting from it would miss pods whose finalizer that write let go (they no longer look
        uncounted), and the missing count would create pods in excess."""
        written = self._written.get(key)
        try:
            return written is not None and int(job.metadata.resource_version or 0) < written
        except ValueError:
            return False

    async def _reconcile(self, key: str, job: Job, pods: list[Pod]) -> None:
        now = self.clock.time()
        needs_manage = self.expectations.satisfied(key)
        rnd = self._start_round(job)
        job = await self._track_finished(key, job, pods, rnd)
        by_uid = {p.metadata.uid: p for p in pods}
        active = [p for p in pods if not ju.is_finished(p)]
        status = rnd.status
        self._suspend_and_start(job, status, now)
        rnd.outcome = rnd.outcome or ju.decide(job, rnd.status, completed=rnd.completed,
                                                 failed_indexes=rnd.failed_indexes, active=len(active), now=now,
                                                 restarts=sum(ju.restarts(p) for p in active))
        deleted = bool(active) and (rnd.outcome is not None or bool(job.spec.suspend))
        terminating = [p for p in pods if p.metadata.deletion_timestamp is not None and not podutil.is_terminal(p)
                       and by_uid.get(p.metadata.uid) is not None]
        if rnd.outcome is not None or job.spec.suspend:
            await self._delete_pods(job, active)
            active = []
        elif needs_manage:
            active = await self._manage(key, job, rnd, active, terminating=len(terminating))
        uncounted = status.uncounted_terminated_pods or UncountedTerminatedPods()
        self._fill_counts(job, rnd, active, terminating)
        self._write_outcome(job, rnd, settled=not active and not terminating and not deleted
                            and not (uncounted.succeeded or uncounted.failed), now=now)
        await self._write_status(job, status)
        self._requeue_for_deadline(key, job, status, now)

    def _start_round(self, job: Job) -> _Round:
        status = (job.status or JobStatus()).model_copy(deep=True)
        status.uncounted_terminated_pods = status.uncounted_terminated_pods or UncountedTerminatedPods()
        limit = job.spec.completions or 0
        rnd = _Round(status=status, completed=parse_indexes(status.completed_indexes, limit=None),
                     failed_indexes=parse_indexes(status.failed_indexes, limit=None))
        rnd.completed = {i for i in rnd.completed if not ju.is_indexed(job) or i < limit}
        pending = ju.pending_outcome(job)
        if pending is not None:
            rnd.outcome = (pending.type, pending.reason or "", pending.message or "")
        return rnd

    # -- finalizer-based tracking ----------------------------------------------------------------

    async def _track_finished(self, key: str, job: Job, pods: list[Pod], rnd: _Round) -> Job:
        """uncounted ← newly finished pods; remove their finalizers; count what lost its finalizer."""
        status = rnd.status
        uncounted = status.uncounted_terminated_pods
        assert uncounted is not None
        succeeded, failed = list(uncounted.succeeded or []), list(uncounted.failed or [])
        ignored: list[Pod] = []
        for pod in pods:
            uid = pod.metadata.uid or ""
            if not ju.has_finalizer(pod) or not ju.is_finished(pod) or uid in succeeded or uid in failed:
                continue
            if ju.is_succeeded(pod):
                succeeded.append(uid)
                continue
            match = ju.match_failure_policy(job, pod)
            if match is not None and match.action == IGNORE:
                ignored.append(pod)
                continue
            failed.append(uid)
            if match is not None and match.action == FAIL_JOB and rnd.outcome is None:
                rnd.outcome = (FAILURE_TARGET, POD_FAILURE_POLICY, match.message)
                self._set_outcome_condition(rnd, job)
        uncounted.succeeded, uncounted.failed = succeeded or None, failed or None
        job = await self._write_status(job, status)  # step 1: the uids are in status before any finalizer goes
        finished = [p for p in pods if ju.has_finalizer(p)
                    and (p.metadata.uid in succeeded or p.metadata.uid in failed)]
        removed = await self._remove_finalizers(job, [*finished, *ignored])
        by_uid = {p.metadata.uid: p for p in pods}
        counted: set[str] = set()
        for uid in [*succeeded, *failed]:
            found = by_uid.get(uid)
            if found is None or uid in removed or not ju.has_finalizer(found):
                counted.add(uid)
                self._count(key, job, rnd, found, success=uid in succeeded)
        uncounted.succeeded = [u for u in succeeded if u not in counted] or None
        uncounted.failed = [u for u in failed if u not in counted] or None
        return job

    def _count(self, key: str, job: Job, rnd: _Round, pod: Pod | None, *, success: bool) -> None:
        """Move one finished pod's end into the counts (and the back-off record)."""
        status = rnd.status
        index = ju.pod_index(pod) if pod is not None else None
        if success:
            self._backoff.pop(key, None)
            if ju.is_indexed(job):
                if index is not None and index < (job.spec.completions or 0):
                    rnd.completed.add(index)
            else:
                status.succeeded = (status.succeeded or 0) + 1
            return
        status.failed = (status.failed or 0) + 1
        record = self._backoff.setdefault(key, _Backoff())
        record.failures, record.last = record.failures + 1, self.clock.time()
        if job.spec.backoff_limit_per_index is None or index is None or pod is None:
            return
        match = ju.match_failure_policy(job, pod)
        failures = int((pod.metadata.annotations or {}).get(INDEX_FAILURE_COUNT, "0") or 0) + 1
        if (match is not None and match.action == FAIL_INDEX) or failures > job.spec.backoff_limit_per_index:
            rnd.failed_indexes.add(index)

    async def _remove_finalizers(self, job: Job, pods: list[Pod]) -> set[str]:
        """Uids of the pods that no longer hold the tracking finalizer (404: gone, done too)."""
        done: set[str] = set()
        for pod in pods:
            await self._remove_finalizers_of(pod)
            done.add(pod.metadata.uid or "")
        return done

    async def _release_orphan(self, pod_key: str) -> None:
        """A pod whose Job is gone keeps nobody's count: drop its finalizer so it can go."""
        pod = self.pods.get(pod_key)
        if pod is None or not ju.has_finalizer(pod):
            return
        ref = pod.metadata.controller_ref()
        if ref is not None and ref.kind == "Job":
            try:
                live = await self.client.get(Job, ref.name, pod.metadata.namespace)
                if live.metadata.uid == ref.uid and live.metadata.deletion_timestamp is None:
                    return
            except ApiError as err:
                if err.code != 404:
                    raise
        await self._remove_finalizers_of(pod)

    async def _remove_finalizers_of(self, pod: Pod) -> None:
        """A strategic-merge patch takes out our finalizer alone, whatever others the pod holds."""
        patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER]}}
        try:
            await self.client.patch(Pod, pod.metadata.name or "", patch, pod.metadata.namespace, patch_type="strategic")
        except ApiError as err:
            if err.code != 404:
                raise

    # -- deciding the end ------------------------------------------------------------------------

    def _suspend_and_start(self, job: Job, status: JobStatus, now: float) -> None:
        stamp = rfc3339_at(now)
        suspended = get_condition(status.conditions, SUSPENDED)
        if job.spec.suspend:
            if suspended is None or suspended.status != TRUE:
                status.conditions = ju.with_condition(status.conditions, SUSPENDED, TRUE, JOB_SUSPENDED,
                                                      "Job suspended", now=stamp)
                self.recorder.event(job, NORMAL, "Suspended", "Job suspended")
            status.start_time = None
            return
        if suspended is not None and suspended.status == TRUE:
            status.conditions = ju.with_condition(status.conditions, SUSPENDED, FALSE, JOB_RESUMED, "Job resumed",
                                                  now=stamp)
            self.recorder.event(job, NORMAL, "Resumed", "Job resumed")
            status.start_time = None
        if status.start_time is None:
            status.start_time = stamp

    def _set_outcome_condition(self, rnd: _Round, job: Job) -> None:
        assert rnd.outcome is not None
        kind, reason, message = rnd.outcome
        stamp = rfc3339_at(self.clock.time())
        rnd.status.conditions = ju.with_condition(rnd.status.conditions, kind, TRUE, reason, message, now=stamp)

    def _write_outcome(self, job: Job, rnd: _Round, *, settled: bool, now: float) -> None:
        if rnd.outcome is None:
            return
        self._set_outcome_condition(rnd, job)
        kind, reason, message = rnd.outcome
        if not settled:
            return
        stamp = rfc3339_at(now)
        final = COMPLETE if kind == SUCCESS_CRITERIA_MET else FAILED
        rnd.status.conditions = ju.with_condition(rnd.status.conditions, final, TRUE, reason, message, now=stamp)
        if final == COMPLETE:
            rnd.status.completion_time = stamp
            self.recorder.event(job, NORMAL, COMPLETED, "Job completed")
        else:
            self.recorder.event(job, WARNING, reason, message)

    def _fill_counts(self, job: Job, rnd: _Round, active: list[Pod], terminating: list[Pod]) -> None:
        status = rnd.status
        status.active = len(active) + rnd.created
        status.ready = sum(1 for p in active if podutil.is_ready(p))
        status.terminating = len(terminating)
        if ju.is_indexed(job):
            status.completed_indexes = format_indexes(rnd.completed) or ""
            status.succeeded = len(rnd.completed)
            if job.spec.backoff_limit_per_index is not None:
                status.failed_indexes = format_indexes(rnd.failed_indexes) or ""
        status.active = status.active or 0
        status.succeeded = status.succeeded or 0
        status.failed = status.failed or 0

    # -- pods ------------------------------------------------------------------------------------

    async def _manage(self, key: str, job: Job, rnd: _Round, active: list[Pod], *, terminating: int) -> list[Pod]:
        """Create or delete pods toward parallelism; returns the pods still active.

        ``podReplacementPolicy: Failed`` (the default with a podFailurePolicy) replaces no pod
        while one is still terminating."""
        if ju.is_indexed(job):
            keep, extra, missing = self._indexed_plan(job, rnd, active)
        else:
            want = self._nonindexed_want(job, rnd)
            ordered = sorted(active, key=lambda p: p.metadata.creation_timestamp or "")
            keep, extra = ordered[:want], ordered[want:]
            missing = [None] * max(want - len(active), 0)
        if extra:
            await self._delete_pods(job, extra)
            return keep
        if not missing or (terminating and job.spec.pod_replacement_policy == "Failed"):
            return keep
        record = self._backoff.get(key)
        if record is None and (rnd.status.failed or 0) > 0:  # a new controller: rebuild it from the pods
            failures, last = ju.backoff_from_pods(self.pods.by_index(CONTROLLER_UID_INDEX, job.metadata.uid or ""))
            if failures:
                record = self._backoff[key] = _Backoff(failures, last)
        if record is not None:
            remaining = ju.backoff_delay(record.failures) - (self.clock.time() - record.last)
            if remaining > 0:
                self.queue.add_after(key, remaining)
                return keep
        rnd.created = await self._create_pods(key, job, missing)
        return keep

    def _nonindexed_want(self, job: Job, rnd: _Round) -> int:
        succeeded = (rnd.status.succeeded or 0) + len(rnd.status.uncounted_terminated_pods.succeeded or [])  # type: ignore[union-attr]
        if job.spec.completions is None:
            return 0 if succeeded > 0 else ju.parallelism(job)
        return max(min(job.spec.completions - succeeded, ju.parallelism(job)), 0)

    def _indexed_plan(self, job: Job, rnd: _Round, active: list[Pod]) -> tuple[list[Pod], list[Pod], list[int | None]]:
        keep: list[Pod] = []
        extra: list[Pod] = []
        running: set[int] = set()
        total = job.spec.completions or 0
        for pod in sorted(active, key=lambda p: p.metadata.creation_timestamp or ""):
            index = ju.pod_index(pod)
            if index is None or index >= total or index in running or index in rnd.completed \
                    or index in rnd.failed_indexes:
                extra.append(pod)
            else:
                running.add(index)
                keep.append(pod)
        room = ju.parallelism(job) - len(keep)
        if room < 0:
            extra += keep[room:]
            keep = keep[:room]
        pending = rnd.completed | rnd.failed_indexes | running
        missing: list[int | None] = [i for i in range(total) if i not in pending]
        missing = missing[:max(room, 0)]
        return keep, extra, missing

    async def _create_pods(self, key: str, job: Job, indexes: list[int | None]) -> int:
        self.expectations.expect_creations(key, len(indexes))
        queue = list(indexes)

        async def one() -> None:
            index = queue.pop(0)
            pod = new_pod(job, index, failures=self._index_failures(job, index))
            try:
                made = await self.client.create(pod, job.metadata.namespace)
            except ApiError as err:
                self.recorder.event(job, WARNING, FAILED_CREATE, f"Error creating: {err.message}")
                raise
            self.recorder.event(job, NORMAL, SUCCESSFUL_CREATE, f"Created pod: {made.metadata.name}")

        created, error = await slow_start_batch(len(indexes), initial=1, fn=one)
        for _ in range(len(indexes) - created):
            self.expectations.creation_observed(key)
        if error is not None:
            raise error
        return created

    def _index_failures(self, job: Job, index: int | None) -> int:
        """Failures of this index so far (pods of it that failed), for backoffLimitPerIndex."""
        if index is None or job.spec.backoff_limit_per_index is None:
            return 0
        pods = self.pods.by_index(CONTROLLER_UID_INDEX, job.metadata.uid or "")
        counts = [int((p.metadata.annotations or {}).get(INDEX_FAILURE_COUNT, "0") or 0) + 1
                  for p in pods if ju.pod_index(p) == index and ju.is_failed(p)]
        return max(counts, default=0)

    async def _delete_pods(self, job: Job, pods: list[Pod]) -> None:
        """Delete pods the controller gives up on; they lose the finalizer first, so never count."""
        if not pods:
            return
        key = key_of(job)
        live = [p for p in pods if p.metadata.deletion_timestamp is None]
        self.expectations.expect_deletions(key, [key_of(p) for p in live])
        for pod in pods:
            if ju.has_finalizer(pod):
                await self._remove_finalizers_of(pod)
        for pod in live:
            try:
                await self.client.delete(Pod, pod.metadata.name or "", pod.metadata.namespace,
                                         preconditions={"uid": pod.metadata.uid or ""})
            except ApiError as err:
                self.expectations.deletion_observed(key, key_of(pod))
                if err.code != 404:
                    raise
                continue
            self.recorder.event(job, NORMAL, SUCCESSFUL_DELETE, f"Deleted pod: {pod.metadata.name}")

    # -- status and time -------------------------------------------------------------------------

    async def _write_status(self, job: Job, status: JobStatus) -> Job:
        if job.status is not None and status == job.status:
            return job
        job = job.model_copy(deep=True)
        job.status = status.model_copy(deep=True)
        written = await self.client.replace_status(job)
        with contextlib.suppress(ValueError):  # an opaque resourceVersion: no staleness check
            self._written[key_of(written)] = int(written.metadata.resource_version or 0)
        return written

    def _requeue_for_deadline(self, key: str, job: Job, status: JobStatus, now: float) -> None:
        if job.spec.active_deadline_seconds is None or status.start_time is None or job.spec.suspend:
            return
        left = parse_time(status.start_time).timestamp() + job.spec.active_deadline_seconds - now
        if left > 0:
            self.queue.add_after(key, left)
