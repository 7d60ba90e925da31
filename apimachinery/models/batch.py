"""batch/v1 kinds.

A CronJob's ``jobTemplate.spec`` types only the pod template (so a malformed one is refused at
decoding, as any pod template is) and keeps the Job's other fields as they came: the CronJob
controller copies it into the Jobs it creates and never interprets it, so the Job's own model and
validation stay the one place that knows a JobSpec.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import Int32, Int64, K8sModel, TypedObject
from apimachinery.models.core import ObjectReference, PodTemplateSpec
from apimachinery.models.meta import ObjectMeta


class JobTemplateJobSpec(K8sModel):
    """The JobSpec of a CronJob's Jobs: its pod template typed, every other field kept as given."""

    template: PodTemplateSpec | None = None
    """The pods each Job runs."""


class JobTemplateSpec(K8sModel):
    """The Job a CronJob creates at each scheduled time."""

    metadata: ObjectMeta | None = None
    """Labels and annotations copied onto every Job."""
    spec: JobTemplateJobSpec = Field(default_factory=JobTemplateJobSpec)
    """The JobSpec of every Job, as the Job kind defines it."""


class CronJobSpec(K8sModel):
    """When to run Jobs, and how many of them to keep."""

    schedule: str = ""
    """A cron schedule (five fields, or a macro such as ``@hourly``)."""
    time_zone: str | None = None
    """The IANA time zone of the schedule (default UTC, the controller manager's zone)."""
    starting_deadline_seconds: Int64 | None = None
    """Seconds after a scheduled time within which a missed Job may still start."""
    concurrency_policy: str | None = None
    """Allow (the default), Forbid (skip while one runs) or Replace (delete the running one)."""
    suspend: bool | None = None
    """While true, no new Job is started; running ones go on."""
    job_template: JobTemplateSpec = Field(default_factory=JobTemplateSpec)
    """The Job to create."""
    successful_jobs_history_limit: Int32 | None = None
    """Finished successful Jobs kept (default 3)."""
    failed_jobs_history_limit: Int32 | None = None
    """Finished failed Jobs kept (default 1)."""


class CronJobStatus(K8sModel):
    """What the CronJob controller last observed."""

    active: list[ObjectReference] | None = None
    """The Jobs of this CronJob still running."""
    last_schedule_time: str | None = None
    """The scheduled time of the last Job started."""
    last_successful_time: str | None = None
    """When the last Job that succeeded completed."""


class CronJob(TypedObject):
    """A CronJob creates Jobs on a repeating schedule."""

    API_VERSION: ClassVar[str] = "batch/v1"
    KIND: ClassVar[str] = "CronJob"
    api_version: str = "batch/v1"
    kind: str = "CronJob"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: CronJobSpec = Field(default_factory=CronJobSpec)
    """The schedule and the Job template."""
    status: CronJobStatus | None = None
    """The observed state, written by the CronJob controller."""
