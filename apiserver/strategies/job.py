"""Jobs (batch/v1): defaults, the generated selector, and Kubernetes' limits on the spec
(``pkg/registry/batch/job/strategy.go``, ``pkg/apis/batch/validation``).

Unless ``manualSelector`` is true the server owns the selector: ``PrepareForCreate`` labels the
template with the Job's uid and name (prefixed and legacy labels, as Kubernetes writes both) and
selects on ``batch.kubernetes.io/controller-uid``; a user-written selector is then refused, so
two Jobs can never claim each other's pods. The template, selector and most policies are
immutable once created; ``completions`` may move together with ``parallelism`` on an Indexed Job
(elastic Indexed Jobs), and the scheduling directives of a suspended Job that never started may
change, as Kubernetes allows.
"""

from __future__ import annotations

from typing import Any

from apimachinery.jobindexes import IndexesError, parse_indexes
from apimachinery.models.batch import (
    CONTROLLER_UID_LABEL,
    INDEXED,
    JOB_NAME_LABEL,
    LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL,
    NON_INDEXED,
)
from apiserver.defaults import default_pod_spec, sub, unset
from apiserver.restartrules import validate_restart_rules
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.strategies.workloads import _template_matches_selector
from apiserver.validation import (
    FIELD_IMMUTABLE,
    as_dict,
    as_dicts,
    as_int,
    at_least,
    duplicate,
    forbidden,
    invalid_value,
    not_supported,
    required,
    too_many,
    validate_annotations,
    validate_label_selector,
    validate_labels,
    validate_pod_spec,
)
from apiserver.volumes import validate_volumes

#: Kubernetes' limits (pkg/apis/batch/validation).
MAX_INDEXED_COMPLETIONS = 100_000
MAX_INDEXED_PARALLELISM = 100_000
MAX_FAILED_INDEXES = 100_000
MAX_POD_FAILURE_POLICY_RULES = 20
MAX_EXIT_CODES = 255
MAX_SUCCESS_POLICY_RULES = 20
ACTIONS = ("Count", "FailIndex", "FailJob", "Ignore")
RESTART_POLICIES = ("OnFailure", "Never")
#: What a suspended Job that never started may still change in its template.
_SCHEDULING_DIRECTIVES = ("nodeSelector", "affinity", "tolerations", "schedulingGates")


def _default(job: Obj) -> None:
    """batch/v1 SetDefaults_Job."""
    spec = sub(job, "spec")
    if spec is None:
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    unset(spec, "parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2**31 - 1 if spec.get("backoffLimitPerIndex") is not None else 6
    unset(spec, "completionMode", NON_INDEXED)
    unset(spec, "suspend", False)
    unset(spec, "manualSelector", False)
    unset(spec, "podReplacementPolicy", "TerminatingOrFailed" if spec.get("podFailurePolicy") is None else "Failed")
    for rule in as_dicts(as_dict(spec.get("podFailurePolicy")).get("rules")):
        for pattern in as_dicts(rule.get("onPodConditions")):
            unset(pattern, "status", "True")
    template = sub(spec, "template")
    if template is not None and (pod_spec := sub(template, "spec")) is not None:
        default_pod_spec(pod_spec)


def _generate_selector(job: Obj) -> None:
    """Label the template with the Job's uid and name and select on the uid (manualSelector false)."""
    meta, spec = as_dict(job.get("metadata")), as_dict(job.get("spec"))
    if spec.get("manualSelector") is True or not isinstance(job.get("spec"), dict):
        return
    uid, name = str(meta.get("uid") or ""), str(meta.get("name") or "")
    template = sub(spec, "template")
    if template is None or (template_meta := sub(template, "metadata")) is None:
        return
    labels = template_meta.get("labels")
    if not isinstance(labels, dict):
        labels = template_meta["labels"] = {}
    for key, value in ((LEGACY_CONTROLLER_UID_LABEL, uid), (LEGACY_JOB_NAME_LABEL, name),
                       (CONTROLLER_UID_LABEL, uid), (JOB_NAME_LABEL, name)):
        labels.setdefault(key, value)
    if spec.get("selector") is None:
        spec["selector"] = {"matchLabels": {CONTROLLER_UID_LABEL: uid}}


def _validate(job: Obj) -> list[Cause]:
    spec = as_dict(job.get("spec"))
    causes: list[Cause] = []
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "backoffLimitPerIndex",
                "maxFailedIndexes", "ttlSecondsAfterFinished"):
        causes += at_least(spec, key, "spec", 0)
    causes += _validate_selector(job, spec)
    causes += _validate_completion_mode(spec)
    causes += _validate_pod_failure_policy(spec)
    causes += _validate_success_policy(spec)
    causes += _validate_template(as_dict(spec.get("template")), "spec.template",
                                 with_failure_policy=spec.get("podFailurePolicy") is not None)
    return causes


def _validate_selector(job: Obj, spec: Obj) -> list[Cause]:
    selector = spec.get("selector")
    if selector is None:
        return [required("spec.selector")]
    causes = validate_label_selector(as_dict(selector), "spec.selector")
    if causes:
        return causes
    if spec.get("manualSelector") is not True:
        uid = as_dict(job.get("metadata")).get("uid")
        if as_dict(selector) != {"matchLabels": {CONTROLLER_UID_LABEL: uid}}:
            return [invalid_value("spec.selector", selector, "`selector` not auto-generated")]
    if not as_dict(selector).get("matchLabels") and not as_dict(selector).get("matchExpressions"):
        return [invalid_value("spec.selector", selector, "empty selector is invalid for job")]
    return _template_matches_selector(as_dict(spec.get("template")), as_dict(selector))


def _validate_completion_mode(spec: Obj) -> list[Cause]:
    mode = spec.get("completionMode")
    if mode not in (NON_INDEXED, INDEXED):
        return [not_supported("spec.completionMode", mode, (NON_INDEXED, INDEXED))]
    completions, parallelism = as_int(spec.get("completions")), as_int(spec.get("parallelism"))
    per_index, max_failed = as_int(spec.get("backoffLimitPerIndex")), as_int(spec.get("maxFailedIndexes"))
    causes: list[Cause] = []
    if mode == INDEXED:
        if completions is None:
            causes.append(required("spec.completions", f"when completion mode is {INDEXED}"))
        elif completions > MAX_INDEXED_COMPLETIONS:
            causes.append(invalid_value("spec.completions", completions,
                                        f"must be less than or equal to {MAX_INDEXED_COMPLETIONS} "
                                        f"when completion mode is {INDEXED}"))
        if parallelism is not None and parallelism > MAX_INDEXED_PARALLELISM:
            causes.append(invalid_value("spec.parallelism", parallelism,
                                        f"must be less than or equal to {MAX_INDEXED_PARALLELISM} "
                                        f"when completion mode is {INDEXED}"))
    elif per_index is not None:
        causes.append(forbidden("spec.backoffLimitPerIndex", "requires indexed completion mode"))
    if max_failed is not None:
        if per_index is None:
            causes.append(required("spec.backoffLimitPerIndex", "when maxFailedIndexes is specified"))
        if completions is not None and max_failed > completions:
            causes.append(invalid_value("spec.maxFailedIndexes", max_failed, "must be less than or equal to completions"))
        if max_failed > MAX_FAILED_INDEXES:
            causes.append(invalid_value("spec.maxFailedIndexes", max_failed,
                                        f"must be less than or equal to {MAX_FAILED_INDEXES}"))
    return causes


def _validate_pod_failure_policy(spec: Obj) -> list[Cause]:
    policy = spec.get("podFailurePolicy")
    if policy is None:
        return []
    rules = as_dicts(as_dict(policy).get("rules"))
    path = "spec.podFailurePolicy.rules"
    if len(rules) > MAX_POD_FAILURE_POLICY_RULES:
        return [too_many(path, len(rules), MAX_POD_FAILURE_POLICY_RULES)]
    causes: list[Cause] = []
    for i, rule in enumerate(rules):
        here = f"{path}[{i}]"
        action = rule.get("action")
        if action not in ACTIONS:
            causes.append(not_supported(f"{here}.action", action, ACTIONS))
        elif action == "FailIndex" and spec.get("backoffLimitPerIndex") is None:
            causes.append(forbidden(f"{here}.action", "requires the backoffLimitPerIndex to be set"))
        codes, conditions = rule.get("onExitCodes"), rule.get("onPodConditions")
        if (codes is None) == (conditions is None):
            causes.append(invalid_value(here, _shown(rule), "specifying one of OnExitCodes and OnPodConditions is required"))
        if codes is not None:
            causes += _validate_exit_codes(as_dict(codes), f"{here}.onExitCodes")
        for j, pattern in enumerate(as_dicts(conditions)):
            if not pattern.get("type"):
                causes.append(required(f"{here}.onPodConditions[{j}].type"))
            if pattern.get("status") not in ("True", "False", "Unknown"):
                causes.append(not_supported(f"{here}.onPodConditions[{j}].status", pattern.get("status"),
                                            ("False", "True", "Unknown")))
    return causes


def _shown(rule: Obj) -> str:
    return f"{{action: {rule.get('action')}}}"


def _validate_exit_codes(codes: Obj, path: str) -> list[Cause]:
    operator = codes.get("operator")
    causes: list[Cause] = []
    if operator not in ("In", "NotIn"):
        causes.append(not_supported(f"{path}.operator", operator, ("In", "NotIn")))
    raw = codes.get("values")
    values: list[Any] = raw if isinstance(raw, list) else []
    if not values:
        causes.append(required(f"{path}.values", "at least one value is required"))
    elif len(values) > MAX_EXIT_CODES:
        causes.append(too_many(f"{path}.values", len(values), MAX_EXIT_CODES))
    seen: set[int] = set()
    previous: int | None = None
    for k, value in enumerate(values):
        here = f"{path}.values[{k}]"
        if as_int(value) is None:
            causes.append(invalid_value(here, value, "must be an integer"))
            continue
        if value in seen:
            causes.append(duplicate(here, value))
        elif previous is not None and value < previous:
            causes.append(invalid_value(here, value, "must be ordered"))
        if operator == "In" and value == 0:
            causes.append(invalid_value(here, value, "must not be 0 for the In operator"))
        seen.add(value)
        previous = value
    return causes


def _validate_success_policy(spec: Obj) -> list[Cause]:
    policy = spec.get("successPolicy")
    if policy is None:
        return []
    if spec.get("completionMode") != INDEXED:
        return [invalid_value("spec.completionMode", spec.get("completionMode"), "requires indexed completion mode")]
    rules = as_dicts(as_dict(policy).get("rules"))
    path = "spec.successPolicy.rules"
    if not rules:
        return [required(path, "at least one rules must be specified when the successPolicy is specified")]
    if len(rules) > MAX_SUCCESS_POLICY_RULES:
        return [too_many(path, len(rules), MAX_SUCCESS_POLICY_RULES)]
    completions = as_int(spec.get("completions")) or 0
    causes: list[Cause] = []
    for i, rule in enumerate(rules):
        here = f"{path}[{i}]"
        indexes, count = rule.get("succeededIndexes"), rule.get("succeededCount")
        if indexes is None and count is None:
            causes.append(required(here, "at least one of succeededCount or succeededIndexes must be specified"))
        allowed = completions
        if indexes is not None:
            try:
                allowed = len(parse_indexes(str(indexes), limit=completions))
            except IndexesError as err:
                causes.append(invalid_value(f"{here}.succeededIndexes", indexes, f"error parsing succeededIndexes: {err}"))
        if count is not None:
            number = as_int(count)
            if number is None or number < 0:
                causes.append(invalid_value(f"{here}.succeededCount", count, "must be greater than or equal to 0"))
            elif number > completions:
                causes.append(invalid_value(f"{here}.succeededCount", count,
                                            f"must be less than or equal to {completions} (the number of specified completions)"))
            elif indexes is not None and number > allowed:
                causes.append(invalid_value(f"{here}.succeededCount", count,
                                            f"must be less than or equal to {allowed} "
                                            "(the number of indexes in the specified succeededIndexes field)"))
    return causes


def _validate_template(template: Obj, path: str, *, with_failure_policy: bool) -> list[Cause]:
    metadata = as_dict(template.get("metadata"))
    causes = validate_labels(metadata.get("labels"), f"{path}.metadata.labels")
    causes += validate_annotations(metadata.get("annotations"), f"{path}.metadata.annotations")
    spec = as_dict(template.get("spec"))
    causes += validate_pod_spec(spec, f"{path}.spec") + validate_volumes(spec, f"{path}.spec")
    causes += validate_restart_rules(spec, f"{path}.spec")
    policy = spec.get("restartPolicy")
    if with_failure_policy and policy != "Never":
        causes.append(not_supported(f"{path}.spec.restartPolicy", policy, ("Never",)))
    elif policy not in RESTART_POLICIES:
        causes.append(not_supported(f"{path}.spec.restartPolicy", policy, RESTART_POLICIES))
    return causes


def _validate_update(new: Obj, old: Obj) -> list[Cause]:
    new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    causes: list[Cause] = []
    for key in ("selector", "completionMode", "podFailurePolicy", "backoffLimitPerIndex", "successPolicy",
                "manualSelector"):
        if new_spec.get(key) != old_spec.get(key):
            causes.append(invalid_value(f"spec.{key}", new_spec.get(key), FIELD_IMMUTABLE))
    if new_spec.get("completions") != old_spec.get("completions") and not _elastic_indexed(new_spec, old_spec):
        causes.append(invalid_value("spec.completions", new_spec.get("completions"), FIELD_IMMUTABLE))
    new_template, old_template = as_dict(new_spec.get("template")), as_dict(old_spec.get("template"))
    if new_template != old_template and not _scheduling_change_allowed(new, old, new_template, old_template):
        causes.append(invalid_value("spec.template", _shown_template(new_template), FIELD_IMMUTABLE))
    return causes


def _elastic_indexed(new_spec: Obj, old_spec: Obj) -> bool:
    """Indexed Jobs scale completions together with parallelism (KEP-3715)."""
    return (new_spec.get("completionMode") == INDEXED
            and new_spec.get("completions") == new_spec.get("parallelism")
            and old_spec.get("completions") == old_spec.get("parallelism"))


def _scheduling_change_allowed(new: Obj, old: Obj, new_template: Obj, old_template: Obj) -> bool:
    """A suspended Job that never started may change its pods' scheduling directives and metadata."""
    if as_dict(old.get("spec")).get("suspend") is not True or as_dict(old.get("status")).get("startTime"):
        return False
    new_pod, old_pod = as_dict(new_template.get("spec")), as_dict(old_template.get("spec"))

    def without_directives(spec: Obj) -> Obj:
        return {k: v for k, v in spec.items() if k not in _SCHEDULING_DIRECTIVES}

    return without_directives(new_pod) == without_directives(old_pod)


def _shown_template(template: Any) -> str:
    return "{...}" if template else "null"


class JobStrategy(Strategy):
    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        """Status starts as Go encodes an empty JobStatus (``{}``); the selector is generated."""
        obj["status"] = {}
        _generate_selector(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_update(new, old)


STRATEGY = JobStrategy("Job")
