"""batch/v1 Job and CronJob: run pods to completion, and run Jobs on a schedule.

The wire shape is Kubernetes' own (``k8s.io/api/batch/v1``), so a Job written by ``kubectl``,
by a CronJob's ``jobTemplate`` or by a client library round-trips unchanged. The well-known
labels, annotations and the pod-tracking finalizer are defined here, once, because the server
(selector generation), the Job controller and the CLI all name them.

A CronJob's ``jobTemplate.spec`` types only the pod template (so a malformed one is refused at
decoding, as any pod template is) and keeps the Job's other fields as they came: the CronJob
controller copies it into the Jobs it creates and never interprets it, and the Job's own
validation checks it again when that Job is created.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import Int32, Int64, K8sModel, TypedObject
from apimachinery.models.core import ObjectReference, PodTemplateSpec
from apimachinery.models.meta import Condition, LabelSelector, ObjectMeta

#: The label the server puts on a Job's template and generated selector (the Job's uid).
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
#: The label naming the Job, also on its pods.
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
#: The legacy unprefixed labels Kubernetes still writes next to the prefixed ones.
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
#: Annotation and label of an Indexed Job's pod: its completion index.
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
#: The annotation a pod of a Job with backoffLimitPerIndex carries: failures of its index so far.
INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
#: Held by the Job controller on every pod it creates until the pod's end is counted in status.
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"

NON_INDEXED, INDEXED = "NonIndexed", "Indexed"

# Condition types and reasons.
COMPLETE, FAILED, SUSPENDED = "Complete", "Failed", "Suspended"
FAILURE_TARGET, SUCCESS_CRITERIA_MET = "FailureTarget", "SuccessCriteriaMet"
BACKOFF_LIMIT_EXCEEDED = "BackoffLimitExceeded"
DEADLINE_EXCEEDED = "DeadlineExceeded"
POD_FAILURE_POLICY = "PodFailurePolicy"
MAX_FAILED_INDEXES_EXCEEDED = "MaxFailedIndexesExceeded"
FAILED_INDEXES = "FailedIndexes"
COMPLETIONS_REACHED = "CompletionsReached"
SUCCESS_POLICY = "SuccessPolicy"
JOB_SUSPENDED, JOB_RESUMED = "JobSuspended", "JobResumed"

# podFailurePolicy actions and operators.
FAIL_JOB, FAIL_INDEX, IGNORE, COUNT = "FailJob", "FailIndex", "Ignore", "Count"
OP_IN, OP_NOT_IN = "In", "NotIn"


class PodFailurePolicyOnExitCodesRequirement(K8sModel):
    """Matches a failed pod by the exit codes of its containers."""

    container_name: str | None = None
    """Only this container's exit code counts; all containers when unset."""
    operator: str
    """In or NotIn."""
    values: list[Int32]
    """Exit codes (sorted, unique, at most 255)."""


class PodFailurePolicyOnPodConditionsPattern(K8sModel):
    """Matches a failed pod by one of its conditions (e.g. DisruptionTarget)."""

    type: str
    status: str = "True"


class PodFailurePolicyRule(K8sModel):
    """An action for failed pods that match exit codes or pod conditions."""

    action: str
    """FailJob, FailIndex, Ignore or Count."""
    on_exit_codes: PodFailurePolicyOnExitCodesRequirement | None = None
    on_pod_conditions: list[PodFailurePolicyOnPodConditionsPattern] | None = None


class PodFailurePolicy(K8sModel):
    """Rules checked in order on each failed pod; the first match decides."""

    rules: list[PodFailurePolicyRule]


class SuccessPolicyRule(K8sModel):
    """The Job succeeds once these indexes (or this many of them) succeeded."""

    succeeded_indexes: str | None = None
    """Intervals like ``0-2,5``."""
    succeeded_count: Int32 | None = None


class SuccessPolicy(K8sModel):
    """When an Indexed Job counts as succeeded before all its completions (any rule met)."""

    rules: list[SuccessPolicyRule]


class JobSpec(K8sModel):
    """The desired run of a Job."""

    parallelism: Int32 | None = None
    """How many pods may run at once (default 1)."""
    completions: Int32 | None = None
    """How many successful pods finish the Job (default 1; unset: any one success ends it)."""
    active_deadline_seconds: Int64 | None = None
    """Seconds since start after which the Job fails with DeadlineExceeded."""
    pod_failure_policy: PodFailurePolicy | None = None
    success_policy: SuccessPolicy | None = None
    backoff_limit: Int32 | None = None
    """Failed pods after which the Job fails (default 6)."""
    backoff_limit_per_index: Int32 | None = None
    """Indexed Jobs: failures after which one index fails."""
    max_failed_indexes: Int32 | None = None
    """Indexed Jobs with backoffLimitPerIndex: failed indexes after which the Job fails."""
    selector: LabelSelector | None = None
    """Generated by the server unless manualSelector is true."""
    manual_selector: bool | None = None
    template: PodTemplateSpec
    """The pods to run; restartPolicy Never or OnFailure."""
    ttl_seconds_after_finished: Int32 | None = None
    """Seconds after the Job finished when it is deleted, pods included."""
    completion_mode: str | None = None
    """NonIndexed (default) or Indexed."""
    suspend: bool | None = None
    """While true, no pod runs (active ones are deleted)."""
    pod_replacement_policy: str | None = None
    managed_by: str | None = None


class UncountedTerminatedPods(K8sModel):
    """Uids of finished pods whose tracking finalizer is being removed, not yet in the counts."""

    succeeded: list[str] | None = None
    failed: list[str] | None = None


class JobStatus(K8sModel):
    """What the Job controller last observed."""

    conditions: list[Condition] | None = None
    """Complete, Failed, Suspended, FailureTarget and SuccessCriteriaMet."""
    start_time: str | None = None
    completion_time: str | None = None
    active: Int32 | None = None
    succeeded: Int32 | None = None
    failed: Int32 | None = None
    terminating: Int32 | None = None
    completed_indexes: str | None = None
    failed_indexes: str | None = None
    uncounted_terminated_pods: UncountedTerminatedPods | None = None
    ready: Int32 | None = None


class Job(TypedObject):
    """A Job runs pods until a number of them succeed, retrying failures up to a limit."""

    API_VERSION: ClassVar[str] = "batch/v1"
    KIND: ClassVar[str] = "Job"
    api_version: str = "batch/v1"
    kind: str = "Job"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: JobSpec
    """The pod template, counts, limits and policies."""
    status: JobStatus | None = None
    """The observed state, written by the Job controller."""


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
