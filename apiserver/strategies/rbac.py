"""RBAC kinds: Kubernetes' ``rbac/validation`` rules and ``rbac/v1`` defaults.

A rule needs verbs; a resource rule needs apiGroups and resources; a non-resource rule
(``nonResourceURLs``) only in a ClusterRole and never mixed with resources. A binding's
``roleRef`` names a Role or ClusterRole of ``rbac.authorization.k8s.io`` and never changes;
its subjects are Users, Groups (API group ``rbac.authorization.k8s.io``) or ServiceAccounts
(no API group; a namespace in a ClusterRoleBinding).
"""

from __future__ import annotations

from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import (
    as_dict,
    as_dicts,
    dns1123_subdomain_errors,
    invalid_value,
    not_supported,
    path_segment_name_errors,
    required,
    validate_label_selector,
)

GROUP = "rbac.authorization.k8s.io"
USER, GROUP_KIND, SERVICE_ACCOUNT = "User", "Group", "ServiceAccount"


def _default_binding(binding: Obj) -> None:
    """``rbac/v1`` defaults: roleRef.apiGroup and User/Group subjects' apiGroup are RBAC's."""
    role_ref = binding.get("roleRef")
    if isinstance(role_ref, dict) and not role_ref.get("apiGroup"):
        role_ref["apiGroup"] = GROUP
    for subject in as_dicts(binding.get("subjects")):
        if subject.get("kind") in (USER, GROUP_KIND) and not subject.get("apiGroup"):
            subject["apiGroup"] = GROUP
        if subject.get("kind") == SERVICE_ACCOUNT and subject.get("apiGroup") is None:
            subject["apiGroup"] = ""


def validate_rule(rule: Obj, path: str, *, namespaced: bool) -> list[Cause]:
    causes: list[Cause] = []
    if not rule.get("verbs"):
        causes.append(required(f"{path}.verbs", "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs")
    if urls:
        if namespaced:
            causes.append(invalid_value(f"{path}.nonResourceURLs", urls,
                                        "namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            causes.append(invalid_value(f"{path}.nonResourceURLs", urls,
                                        "rules cannot apply to both regular resources and non-resource URLs"))
        return causes
    if not rule.get("apiGroups"):
        causes.append(required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        causes.append(required(f"{path}.resources", "resource rules must supply at least one resource"))
    return causes


def _validate_rules(obj: Obj, *, namespaced: bool) -> list[Cause]:
    return [c for i, rule in enumerate(as_dicts(obj.get("rules")))
            for c in validate_rule(rule, f"rules[{i}]", namespaced=namespaced)]


def _validate_aggregation(obj: Obj) -> list[Cause]:
    if obj.get("aggregationRule") is None:
        return []
    selectors = as_dicts(as_dict(obj.get("aggregationRule")).get("clusterRoleSelectors"))
    if not selectors:
        return [required("aggregationRule", "at least one clusterRoleSelector required if aggregationRule is non-nil")]
    return [c for i, s in enumerate(selectors)
            for c in validate_label_selector(s, f"aggregationRule.clusterRoleSelectors[{i}]")]


def validate_subject(subject: Obj, path: str, *, namespaced: bool) -> list[Cause]:
    name, kind, api_group = subject.get("name"), subject.get("kind"), subject.get("apiGroup") or ""
    causes = [] if name else [required(f"{path}.name")]
    if kind == SERVICE_ACCOUNT:
        if name:
            causes += [invalid_value(f"{path}.name", name, m) for m in dns1123_subdomain_errors(str(name))]
        if api_group:
            causes.append(not_supported(f"{path}.apiGroup", api_group, [""]))
        if not namespaced and not subject.get("namespace"):
            causes.append(required(f"{path}.namespace"))
    elif kind in (USER, GROUP_KIND):
        if api_group != GROUP:
            causes.append(not_supported(f"{path}.apiGroup", api_group, [GROUP]))
    else:
        causes.append(not_supported(f"{path}.kind", kind, [SERVICE_ACCOUNT, USER, GROUP_KIND]))
    return causes


def _validate_binding(binding: Obj, *, namespaced: bool) -> list[Cause]:
    role_ref = as_dict(binding.get("roleRef"))
    causes: list[Cause] = []
    if role_ref.get("apiGroup") != GROUP:
        causes.append(not_supported("roleRef.apiGroup", role_ref.get("apiGroup") or "", [GROUP]))
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if role_ref.get("kind") not in kinds:
        causes.append(not_supported("roleRef.kind", role_ref.get("kind") or "", kinds))
    name = role_ref.get("name")
    if not name:
        causes.append(required("roleRef.name"))
    else:
        causes += [invalid_value("roleRef.name", name, m) for m in path_segment_name_errors(str(name))]
    for i, subject in enumerate(as_dicts(binding.get("subjects"))):
        causes += validate_subject(subject, f"subjects[{i}]", namespaced=namespaced)
    return causes


def _validate_role_ref_update(new: Obj, old: Obj) -> list[Cause]:
    if new.get("roleRef") == old.get("roleRef"):
        return []
    return [invalid_value("roleRef", new.get("roleRef"), "cannot change roleRef")]


class RoleStrategy(Strategy):
    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_rules(obj, namespaced=True)


class ClusterRoleStrategy(Strategy):
    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_rules(obj, namespaced=False) + _validate_aggregation(obj)


class BindingStrategy(Strategy):
    def __init__(self, kind: str, *, namespaced: bool) -> None:
        super().__init__(kind)
        self.namespaced = namespaced

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default_binding(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_binding(obj, namespaced=self.namespaced)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_role_ref_update(new, old)


ROLE = RoleStrategy("Role")
CLUSTER_ROLE = ClusterRoleStrategy("ClusterRole")
ROLE_BINDING = BindingStrategy("RoleBinding", namespaced=True)
CLUSTER_ROLE_BINDING = BindingStrategy("ClusterRoleBinding", namespaced=False)
