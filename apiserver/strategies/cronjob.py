"""CronJobs: ``pkg/apis/batch/validation`` ValidateCronJob and the batch/v1 defaults.

The schedule must parse as the controller will read it (:mod:`apimachinery.cron`), with no
``TZ=``/``CRON_TZ=`` prefix (the ``timeZone`` field says it); the zone must be a real IANA zone,
not ``Local``. The name leaves room for the ``-<minutes>`` suffix of the Jobs it creates (63 - 11).
The Job template is checked as a Job's: a pod template whose pods run to completion
(restartPolicy OnFailure or Never) and no selector of its own (the Job controller generates it).
"""

from __future__ import annotations

import re

from apimachinery.cron import CronError, load_zone, parse
from apiserver.defaults import default_pod_spec, sub, unset
from apiserver.restartrules import validate_restart_rules
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.supervisionannotations import pod_annotation_causes
from apiserver.validation import (
    as_dict,
    at_least,
    invalid_value,
    not_supported,
    required,
    validate_annotations,
    validate_labels,
    validate_pod_spec,
)
from apiserver.volumes import validate_volumes

CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
#: A Job's name is the CronJob's plus ``-`` and up to 10 digits, within a DNS label's 63.
MAX_NAME_LENGTH = 52
_ZONE_PART = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")


def _default(cronjob: Obj) -> None:
    spec = sub(cronjob, "spec")
    if spec is None:
        return
    unset(spec, "concurrencyPolicy", "Allow")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("successfulJobsHistoryLimit") is None:
        spec["successfulJobsHistoryLimit"] = 3
    if spec.get("failedJobsHistoryLimit") is None:
        spec["failedJobsHistoryLimit"] = 1
    job_template = sub(spec, "jobTemplate")
    job_spec = sub(job_template, "spec") if job_template is not None else None
    template = sub(job_spec, "template") if job_spec is not None else None
    if template is not None and (pod_spec := sub(template, "spec")) is not None:
        default_pod_spec(pod_spec)


def validate_schedule(schedule: object, path: str) -> list[Cause]:
    if not schedule:
        return [required(path)]
    if not isinstance(schedule, str):
        return [invalid_value(path, schedule, "must be a string")]
    causes = []
    try:
        parse(schedule)
    except CronError as err:
        causes.append(invalid_value(path, schedule, str(err)))
    if "TZ" in schedule:
        causes.append(
            invalid_value(path, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
        )
    return causes


def validate_time_zone(zone: object, path: str) -> list[Cause]:
    if zone is None:
        return []
    if not isinstance(zone, str) or zone == "":
        return [invalid_value(path, zone, "timeZone must be nil or non-empty string")]
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _ZONE_PART.fullmatch(part):
            return [invalid_value(path, zone, f"unknown time zone {zone}")]
    if zone.lower() == "local":
        return [
            invalid_value(
                path,
                zone,
                "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
            )
        ]
    try:
        load_zone(zone)
    except CronError as err:
        return [invalid_value(path, zone, str(err))]
    return []


def validate_job_template(job_template: Obj, path: str) -> list[Cause]:
    """A JobTemplateSpec: what a Job's spec must hold, and no selector of its own."""
    metadata = as_dict(job_template.get("metadata"))
    causes = validate_labels(metadata.get("labels"), f"{path}.metadata.labels")
    causes += validate_annotations(metadata.get("annotations"), f"{path}.metadata.annotations")
    spec, spec_path = as_dict(job_template.get("spec")), f"{path}.spec"
    for key in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ):
        causes += at_least(spec, key, spec_path, 0)
    if spec.get("selector") is not None:
        causes.append(
            invalid_value(f"{spec_path}.selector", spec["selector"], "`selector` will be auto-generated")
        )
    if spec.get("manualSelector"):
        causes.append(not_supported(f"{spec_path}.manualSelector", spec["manualSelector"], ("nil", "false")))
    template, template_path = spec.get("template"), f"{spec_path}.template"
    if not isinstance(template, dict) or not template:
        return [*causes, required(template_path)]
    template_meta = as_dict(template.get("metadata"))
    causes += validate_labels(template_meta.get("labels"), f"{template_path}.metadata.labels")
    causes += validate_annotations(template_meta.get("annotations"), f"{template_path}.metadata.annotations")
    pod_spec = as_dict(template.get("spec"))
    causes += pod_annotation_causes(template_meta, pod_spec, f"{template_path}.metadata")
    pod_path = f"{template_path}.spec"
    causes += validate_pod_spec(pod_spec, pod_path) + validate_volumes(pod_spec, pod_path)
    causes += validate_restart_rules(pod_spec, pod_path)
    policy = pod_spec.get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        if policy in (None, ""):
            causes.append(required(f"{pod_path}.restartPolicy", 'valid values: "OnFailure", "Never"'))
        else:
            causes.append(not_supported(f"{pod_path}.restartPolicy", policy, ("OnFailure", "Never")))
    return causes


def _validate(cronjob: Obj) -> list[Cause]:
    spec = as_dict(cronjob.get("spec"))
    causes = validate_schedule(spec.get("schedule"), "spec.schedule")
    causes += at_least(spec, "startingDeadlineSeconds", "spec", 0)
    causes += validate_time_zone(spec.get("timeZone"), "spec.timeZone")
    policy = spec.get("concurrencyPolicy")
    if policy in (None, ""):
        causes.append(required("spec.concurrencyPolicy"))
    elif policy not in CONCURRENCY_POLICIES:
        causes.append(not_supported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES))
    causes += validate_job_template(as_dict(spec.get("jobTemplate")), "spec.jobTemplate")
    causes += at_least(spec, "successfulJobsHistoryLimit", "spec", 0)
    return causes + at_least(spec, "failedJobsHistoryLimit", "spec", 0)


class CronJobStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        """Go encodes an empty CronJobStatus as ``{}``."""
        obj["status"] = {}

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate(obj)

    def validate_create(self, obj: Obj) -> list[Cause]:
        """Updates skip it, so a CronJob named before the limit can still be changed."""
        name = as_dict(obj.get("metadata")).get("name")
        if isinstance(name, str) and len(name) > MAX_NAME_LENGTH:
            return [
                invalid_value("metadata.name", name, f"must be no more than {MAX_NAME_LENGTH} characters")
            ]
        return []


STRATEGY = CronJobStrategy("CronJob")
