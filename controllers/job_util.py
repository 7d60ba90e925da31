"""The pure parts of the Job controller: indexes of pods, the pod failure policy, back-off,
success and failure criteria, and conditions (``pkg/controller/job``'s helpers).

Nothing here does I/O or reads a clock: every function takes what it needs, so the rules are
tested as tables and the controller only wires them to the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from apimachinery.conditions import TRUE, get_condition, set_condition
from apimachinery.jobindexes import IndexesError, parse_indexes
from apimachinery.models.batch import (
    BACKOFF_LIMIT_EXCEEDED,
    COMPLETE,
    COMPLETION_INDEX,
    COMPLETIONS_REACHED,
    DEADLINE_EXCEEDED,
    FAILED,
    FAILED_INDEXES,
    FAILURE_TARGET,
    INDEXED,
    MAX_FAILED_INDEXES_EXCEEDED,
    SUCCESS_CRITERIA_MET,
    SUCCESS_POLICY,
    TRACKING_FINALIZER,
    Job,
    JobStatus,
    PodFailurePolicyRule,
)
from apimachinery.models.core import Pod
from apimachinery.models.meta import Condition
from apimachinery.timeutil import parse_time
from controllers import podutil

#: Kubernetes' pod failure back-off: 10 s, doubling, capped at 6 minutes.
BACKOFF_BASE = 10.0
BACKOFF_MAX = 360.0
#: The messages of Kubernetes' Job conditions, by reason.
MESSAGES = {
    BACKOFF_LIMIT_EXCEEDED: "Job has reached the specified backoff limit",
    DEADLINE_EXCEEDED: "Job was active longer than specified deadline",
    MAX_FAILED_INDEXES_EXCEEDED: "Job has exceeded the specified maximal number of failed indexes",
    FAILED_INDEXES: "Job has failed indexes",
    COMPLETIONS_REACHED: "Reached expected number of succeeded pods",
}


def completions(job: Job) -> int | None:
    return job.spec.completions


def parallelism(job: Job) -> int:
    return job.spec.parallelism if job.spec.parallelism is not None else 1


def is_indexed(job: Job) -> bool:
    return job.spec.completion_mode == INDEXED


def pod_index(pod: Pod) -> int | None:
    """The completion index a pod carries (annotation, else label); None when absent or invalid."""
    for source in (pod.metadata.annotations, pod.metadata.labels):
        text = (source or {}).get(COMPLETION_INDEX)
        if text is not None and text.isdigit():
            return int(text)
    return None


def has_finalizer(pod: Pod) -> bool:
    return TRACKING_FINALIZER in (pod.metadata.finalizers or [])


def restarts(pod: Pod) -> int:
    """Container restarts of a pod, init containers included."""
    if pod.status is None:
        return 0
    statuses = [*(pod.status.init_container_statuses or []), *(pod.status.container_statuses or [])]
    return sum(s.restart_count for s in statuses)


def is_succeeded(pod: Pod) -> bool:
    return podutil.phase(pod) == "Succeeded"


def is_failed(pod: Pod) -> bool:
    """Failed, or deleted before it succeeded (a removed pod is a failed attempt)."""
    if podutil.phase(pod) == "Failed":
        return True
    return pod.metadata.deletion_timestamp is not None and not is_succeeded(pod)


def is_finished(pod: Pod) -> bool:
    return is_succeeded(pod) or is_failed(pod)


def is_job_finished(job: Job) -> bool:
    conditions = job.status.conditions if job.status else None
    return any(get_condition(conditions, kind) is not None and get_condition(conditions, kind).status == TRUE  # type: ignore[union-attr]
               for kind in (COMPLETE, FAILED))


def finish_time(job: Job) -> str | None:
    """When the Job's Complete or Failed condition turned true."""
    for kind in (COMPLETE, FAILED):
        cond = get_condition(job.status.conditions if job.status else None, kind)
        if cond is not None and cond.status == TRUE:
            return cond.last_transition_time
    return None


def finished_at(pod: Pod) -> float | None:
    """When the pod's last container ended (its terminated states' latest finishedAt)."""
    statuses = pod.status.container_statuses if pod.status else None
    times = [parse_time(s.state.terminated.finished_at).timestamp() for s in statuses or []
             if s.state is not None and s.state.terminated is not None and s.state.terminated.finished_at]
    return max(times, default=None)


def backoff_from_pods(pods: list[Pod]) -> tuple[int, float]:
    """(failures since the last success, when the last one ended) from the pods a Job kept, as
    Kubernetes rebuilds its back-off record when a controller starts."""
    ended = sorted((t, is_succeeded(p)) for p in pods if is_finished(p) and (t := finished_at(p)) is not None)
    failures, last = 0, 0.0
    for when, success in ended:
        failures, last = (0, last) if success else (failures + 1, when)
    return failures, last


def backoff_delay(failures: int) -> float:
    """Seconds to wait before the next pod after ``failures`` consecutive failures (0 for none)."""
    if failures <= 0:
        return 0.0
    return min(BACKOFF_BASE * 2 ** (failures - 1), BACKOFF_MAX)


# --- pod failure policy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyMatch:
    action: str
    message: str


def match_failure_policy(job: Job, pod: Pod) -> PolicyMatch | None:
    """The first rule of the Job's podFailurePolicy that matches this failed pod, or None."""
    policy = job.spec.pod_failure_policy
    if policy is None:
        return None
    who = f"{pod.metadata.namespace}/{pod.metadata.name}"
    for index, rule in enumerate(policy.rules):
        if rule.on_exit_codes is not None:
            found = _matching_exit(rule, pod)
            if found is not None:
                container, code = found
                return PolicyMatch(rule.action, f"Container {container} for pod {who} failed with exit code {code} "
                                                f"matching {rule.action} rule at index {index}")
            continue  # a rule on exit codes does not look at conditions
        for pattern in rule.on_pod_conditions or []:
            cond = get_condition(pod.status.conditions if pod.status else None, pattern.type)
            if cond is not None and cond.status == pattern.status:
                return PolicyMatch(rule.action, f"Pod {who} has condition {pattern.type} matching {rule.action} "
                                                f"rule at index {index}")
    return None


def _matching_exit(rule: PodFailurePolicyRule, pod: Pod) -> tuple[str, int] | None:
    requirement = rule.on_exit_codes
    assert requirement is not None
    statuses = [*(pod.status.container_statuses or []), *(pod.status.init_container_statuses or [])] if pod.status else []
    for status in statuses:
        if requirement.container_name and status.name != requirement.container_name:
            continue
        terminated = status.state.terminated if status.state else None
        if terminated is None or terminated.exit_code == 0:
            continue  # a container that exited 0 never matches, as Kubernetes
        listed = terminated.exit_code in requirement.values
        if listed == (requirement.operator == "In"):
            return status.name, terminated.exit_code
    return None


# --- success -----------------------------------------------------------------------------------------


def success_rules_met(job: Job, completed: set[int]) -> list[bool]:
    """For each rule of the success policy, whether these completed indexes meet it."""
    policy = job.spec.success_policy
    limit = job.spec.completions or 0
    met: list[bool] = []
    for rule in policy.rules if policy is not None else []:
        try:
            wanted = parse_indexes(rule.succeeded_indexes, limit=limit) if rule.succeeded_indexes else None
        except IndexesError:
            met.append(False)
            continue
        done = completed & wanted if wanted is not None else completed
        if rule.succeeded_count is not None:
            met.append(len(done) >= rule.succeeded_count)
        else:
            met.append(wanted is not None and done == wanted)
    return met


# --- conditions --------------------------------------------------------------------------------------


def with_condition(conditions: list[Condition] | None, kind: str, status: str, reason: str, message: str, *,
                   now: str) -> list[Condition]:
    return set_condition(conditions, Condition(type=kind, status=status, reason=reason, message=message,
                                               last_transition_time=now, last_probe_time=now), now=now)


def pending_outcome(job: Job) -> Condition | None:
    """A FailureTarget or SuccessCriteriaMet condition already written: the Job's end is decided."""
    conditions = job.status.conditions if job.status else None
    for kind in (FAILURE_TARGET, SUCCESS_CRITERIA_MET):
        cond = get_condition(conditions, kind)
        if cond is not None and cond.status == TRUE:
            return cond
    return None


# --- the decision ------------------------------------------------------------------------------------

Outcome = tuple[str, str, str]  # (FailureTarget | SuccessCriteriaMet, reason, message)


def decide(job: Job, status: JobStatus, *, completed: set[int], failed_indexes: set[int], active: int,
           now: float, restarts: int = 0) -> Outcome | None:
    """The end to declare now, if any, with Kubernetes' checks in its order: failures first.

    ``restarts``: container restarts of the active pods, which count as failures under
    ``restartPolicy: OnFailure`` (the kubelet retries in place, so no pod ever fails)."""
    reason: str | None = None
    backoff_limit = job.spec.backoff_limit if job.spec.backoff_limit is not None else 6
    if (status.failed or 0) > backoff_limit or past_backoff_on_failure(job, restarts, backoff_limit):
        reason = BACKOFF_LIMIT_EXCEEDED
    elif job.spec.max_failed_indexes is not None and len(failed_indexes) > job.spec.max_failed_indexes:
        reason = MAX_FAILED_INDEXES_EXCEEDED
    elif past_deadline(job, status, now):
        reason = DEADLINE_EXCEEDED
    elif is_indexed(job) and failed_indexes and len(completed | failed_indexes) >= (job.spec.completions or 0):
        reason = FAILED_INDEXES
    if reason is not None:
        return FAILURE_TARGET, reason, MESSAGES[reason]
    if job.spec.success_policy is not None:
        for index, rule_met in enumerate(success_rules_met(job, completed)):
            if rule_met:
                return SUCCESS_CRITERIA_MET, SUCCESS_POLICY, f"Matched rules at index {index}"
    if completions_reached(job, status, completed=completed, failed_indexes=failed_indexes, active=active):
        return SUCCESS_CRITERIA_MET, COMPLETIONS_REACHED, MESSAGES[COMPLETIONS_REACHED]
    return None


def completions_reached(job: Job, status: JobStatus, *, completed: set[int], failed_indexes: set[int],
                        active: int) -> bool:
    if is_indexed(job):
        return len(completed) >= (job.spec.completions or 0) and not failed_indexes
    succeeded = status.succeeded or 0
    if job.spec.completions is None:  # a work queue: one success and nothing left running
        return succeeded > 0 and active == 0
    return succeeded >= job.spec.completions


def past_backoff_on_failure(job: Job, restarts: int, backoff_limit: int) -> bool:
    """``OnFailure`` pods: their restarts reach the limit (any restart when it is 0)."""
    if job.spec.template.spec.restart_policy != "OnFailure":
        return False
    return restarts > 0 if backoff_limit == 0 else restarts >= backoff_limit


def past_deadline(job: Job, status: JobStatus, now: float) -> bool:
    if job.spec.active_deadline_seconds is None or status.start_time is None or job.spec.suspend:
        return False
    return now - parse_time(status.start_time).timestamp() >= job.spec.active_deadline_seconds
