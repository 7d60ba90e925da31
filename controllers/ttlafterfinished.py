"""The TTL-after-finished controller: a finished Job with ``ttlSecondsAfterFinished`` is deleted
that many seconds after its Complete or Failed condition (``pkg/controller/ttlafterfinished``).

The deletion is foreground, as Kubernetes', so the Job stays visible (Terminating) until the
garbage collector has removed its pods. The deadline is re-read from the cached Job at every
sync, so a TTL changed after the end moves the deletion; the uid precondition keeps a Job
re-created under the same name safe from the old one's timer.
"""

from __future__ import annotations

from apimachinery.errors import ApiError
from apimachinery.models.batch import Job
from apimachinery.timeutil import parse_time
from apimachinery.workqueue import WorkQueue
from controllers import job_util as ju
from controllers.base import ControllerContext, Queue, key_of


class TTLAfterFinishedController:
    name = "ttl-after-finished-controller"
    workers = 2

    def __init__(self, ctx: ControllerContext, *, queue: Queue | None = None) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.jobs = ctx.informers.jobs
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self.jobs.add_handler(self._enqueue, lambda old, new: self._enqueue(new), None)

    def _enqueue(self, job: Job) -> None:
        if job.spec.ttl_seconds_after_finished is not None and ju.is_job_finished(job):
            self.queue.add(key_of(job))

    async def sync(self, key: str) -> None:
        """Delete the Job when its time after finishing is up; otherwise look again then."""
        job = self.jobs.get(key)
        if job is None or job.metadata.deletion_timestamp is not None:
            return
        ttl, finished = job.spec.ttl_seconds_after_finished, ju.finish_time(job)
        if ttl is None or finished is None:
            return
        left = parse_time(finished).timestamp() + ttl - self.clock.time()
        if left > 0:
            self.queue.add_after(key, left)
            return
        try:
            await self.client.delete(Job, job.metadata.name or "", job.metadata.namespace, propagation="Foreground",
                                     preconditions={"uid": job.metadata.uid or ""})
        except ApiError as err:
            if err.code not in (404, 409):
                raise
