"""StatefulSets: defaults, validation and what an update may change (``pkg/apis/apps/validation``).

Kubernetes checks a StatefulSet's pod template only for labels, annotations, the restart policy
and activeDeadlineSeconds, because its containers mount claim templates that are not among the
template's volumes. podvisor checks the whole pod spec, with each claim template counted as a
volume, so a typo in a mount is refused at once rather than by every pod creation.
"""

from __future__ import annotations

import copy

from apiserver.defaults import sub, unset
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.strategies.workloads import (
    _int_or_percent,
    _template_matches_selector,
    default_template,
    validate_template,
)
from apiserver.validation import (
    PERCENT_RE,
    as_dict,
    as_dicts,
    at_least,
    enum_value,
    forbidden,
    invalid_value,
    is_dns1123_label,
    required,
    validate_label_selector,
)

POD_MANAGEMENT_POLICIES = ("OrderedReady", "Parallel")
UPDATE_STRATEGIES = ("OnDelete", "RollingUpdate")
RETENTION_POLICIES = ("Retain", "Delete")
#: What ValidateStatefulSetUpdate lets change; the rest of spec is fixed at creation.
MUTABLE_SPEC = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
_IMMUTABLE_MESSAGE = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
    "'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)


def default_statefulset(obj: Obj) -> None:
    """apps/v1 SetDefaults_StatefulSet, with MaxUnavailableStatefulSet's ``maxUnavailable: 1``."""
    spec = sub(obj, "spec")
    if spec is None:
        return
    unset(spec, "podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        unset(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            if isinstance(rolling, dict):
                unset(rolling, "partition", 0)
                unset(rolling, "maxUnavailable", 1)
    retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    if isinstance(retention, dict):
        unset(retention, "whenDeleted", "Retain")
        unset(retention, "whenScaled", "Retain")
    unset(spec, "replicas", 1)
    unset(spec, "revisionHistoryLimit", 10)
    for claim in as_dicts(spec.get("volumeClaimTemplates")):
        claim_spec = sub(claim, "spec")
        if claim_spec is not None:
            unset(claim_spec, "volumeMode", "Filesystem")
        claim.setdefault("status", {}).setdefault("phase", "Pending")
    default_template(spec)


def validate_statefulset(obj: Obj) -> list[Cause]:
    spec = as_dict(obj.get("spec"))
    causes = at_least(spec, "replicas", "spec", 0) + at_least(spec, "minReadySeconds", "spec", 0)
    causes += at_least(spec, "revisionHistoryLimit", "spec", 0)
    if (service := spec.get("serviceName")) and (problem := is_dns1123_label(str(service))):
        causes.append(invalid_value("spec.serviceName", service, problem))
    policy = spec.get("podManagementPolicy")
    if not policy:
        causes.append(required("spec.podManagementPolicy"))
    else:
        causes += enum_value(spec, "podManagementPolicy", "spec", POD_MANAGEMENT_POLICIES)
    causes += _validate_update_strategy(as_dict(spec.get("updateStrategy")), "spec.updateStrategy")
    retention = as_dict(spec.get("persistentVolumeClaimRetentionPolicy"))
    for key in ("whenDeleted", "whenScaled"):
        causes += enum_value(retention, key, "spec.persistentVolumeClaimRetentionPolicy", RETENTION_POLICIES)
    causes += at_least(as_dict(spec.get("ordinals")), "start", "spec.ordinals", 0)
    causes += _validate_selector(spec)
    causes += _validate_claim_templates(spec)
    return causes + validate_template("StatefulSet", _with_claim_volumes(spec), "spec.template")


def _validate_selector(spec: Obj) -> list[Cause]:
    selector = spec.get("selector")
    if selector is None:
        return [required("spec.selector")]
    causes = validate_label_selector(as_dict(selector), "spec.selector")
    if not as_dict(selector).get("matchLabels") and not as_dict(selector).get("matchExpressions"):
        causes.append(invalid_value("spec.selector", selector, "empty selector is invalid for statefulset"))
    if causes:
        return causes
    return _template_matches_selector(as_dict(spec.get("template")), as_dict(selector))


def _validate_update_strategy(strategy: Obj, path: str) -> list[Cause]:
    kind, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    if not kind:
        return [required(f"{path}.type")]
    if kind == "OnDelete":
        if rolling is None:
            return []
        return [
            invalid_value(f"{path}.rollingUpdate", rolling, "only allowed for updateStrategy 'RollingUpdate'")
        ]
    if kind != "RollingUpdate":
        return enum_value(strategy, "type", path, UPDATE_STRATEGIES)
    rolling = as_dict(rolling)
    causes = at_least(rolling, "partition", f"{path}.rollingUpdate", 0)
    unavailable = rolling.get("maxUnavailable")
    if unavailable is None:
        return causes
    problems, amount = _int_or_percent(unavailable, f"{path}.rollingUpdate.maxUnavailable")
    if problems:
        return causes + problems
    if amount == 0:
        causes.append(
            invalid_value(f"{path}.rollingUpdate.maxUnavailable", unavailable, "must be greater than 0")
        )
    if isinstance(unavailable, str) and PERCENT_RE.fullmatch(unavailable) and amount > 100:
        causes.append(
            invalid_value(
                f"{path}.rollingUpdate.maxUnavailable", unavailable, "must not be greater than 100%"
            )
        )
    return causes


def _validate_claim_templates(spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, claim in enumerate(as_dicts(spec.get("volumeClaimTemplates"))):
        path = f"spec.volumeClaimTemplates[{i}]"
        name = as_dict(claim.get("metadata")).get("name")
        if not name:
            causes.append(required(f"{path}.metadata.name", "name or generateName is required"))
        elif problem := is_dns1123_label(str(name)):
            causes.append(invalid_value(f"{path}.metadata.name", name, problem))
        elif name in seen:
            causes.append(invalid_value(f"{path}.metadata.name", name, "duplicate claim template name"))
        seen.add(str(name or ""))
        claim_spec = as_dict(claim.get("spec"))
        if not claim_spec.get("accessModes"):
            causes.append(required(f"{path}.spec.accessModes", "at least 1 access mode is required"))
        if not as_dict(as_dict(claim_spec.get("resources")).get("requests")).get("storage"):
            causes.append(required(f"{path}.spec.resources[storage]"))
    return causes


def _with_claim_volumes(spec: Obj) -> Obj:
    """The template as its pods will be: each claim template a volume (a placeholder source)."""
    template = copy.deepcopy(as_dict(spec.get("template")))
    names = [as_dict(c.get("metadata")).get("name") for c in as_dicts(spec.get("volumeClaimTemplates"))]
    if not any(names):
        return template
    pod_spec = template.setdefault("spec", {})
    if isinstance(pod_spec, dict):
        declared = {v.get("name") for v in as_dicts(pod_spec.get("volumes"))}
        extra = [{"name": n, "emptyDir": {}} for n in names if n and n not in declared]
        pod_spec["volumes"] = [*as_dicts(pod_spec.get("volumes")), *extra]
    return template


def _validate_spec_update(new: Obj, old: Obj) -> list[Cause]:
    new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    fixed_new = {k: v for k, v in new_spec.items() if k not in MUTABLE_SPEC}
    fixed_old = {k: v for k, v in old_spec.items() if k not in MUTABLE_SPEC}
    if fixed_new == fixed_old:
        return []
    return [forbidden("spec", _IMMUTABLE_MESSAGE)]


class StatefulSetStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        """An empty StatefulSetStatus encodes its two non-omitted fields."""
        obj["status"] = {"replicas": 0, "availableReplicas": 0}

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        default_statefulset(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_statefulset(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_spec_update(new, old)


STATEFUL_SET = StatefulSetStrategy("StatefulSet")
