"""No escalation through RBAC writes (Kubernetes' ``rbac/validation`` ``ConfirmNoEscalation``).

Creating or changing a Role or ClusterRole needs every permission it grants, unless the user
may ``escalate`` roles; a RoleBinding or ClusterRoleBinding needs every permission of the role
it names, unless the user may ``bind`` that role. Setting an ``aggregationRule`` (which can
gather anything) needs cluster-admin's authority. Changes only to what the garbage collector
writes (owner references, finalizers) are not checked. Callers without a user (the server's
own bootstrap) and ``system:masters`` pass. Runs as an admission plugin on every RBAC write.
"""

from __future__ import annotations

from typing import Any

from apimachinery.errors import ApiError
from apiserver.admissionplugins.base import CREATE, UPDATE, Attributes
from apiserver.authn.user import SYSTEM_MASTERS, UserInfo
from apiserver.authz.authorizer import Authorizer
from apiserver.authz.rules import ALL, Rule, go_quoted, rules_from_wire
from apiserver.requestinfo import RequestInfo

RBAC = "rbac.authorization.k8s.io"
FULL_AUTHORITY = (Rule((ALL,), (ALL,), (ALL,)), Rule((ALL,), non_resource_urls=(ALL,)))
_GC_FIELDS = ("ownerReferences", "finalizers", "resourceVersion", "managedFields", "generation")


def breakdown(rule: Rule) -> list[Rule]:
    """One rule per (group, resource, verb[, name]) and per (URL, verb)."""
    out: list[Rule] = []
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                names = rule.resource_names or ("",)
                out += [Rule((verb,), (group,), (resource,), (name,) if name else ()) for name in names]
    out += [Rule((verb,), non_resource_urls=(url,)) for url in rule.non_resource_urls for verb in rule.verbs]
    return out


def _resources_covered(owned: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    if ALL in owned or set(wanted) <= set(owned):
        return True
    for resource in wanted:
        if resource in owned:
            continue
        if "/" not in resource or f"*/{resource.split('/', 1)[1]}" not in owned:
            return False
    return True


def _url_covered(owner: str, path: str) -> bool:
    return owner == path or (owner.endswith("*") and path.startswith(owner.rstrip("*")))


def rule_covers(owner: Rule, sub: Rule) -> bool:
    if sub.resource_names:
        names = not owner.resource_names or set(sub.resource_names) <= set(owner.resource_names)
    else:
        names = not owner.resource_names
    return (
        (ALL in owner.verbs or set(sub.verbs) <= set(owner.verbs))
        and (ALL in owner.api_groups or set(sub.api_groups) <= set(owner.api_groups))
        and _resources_covered(owner.resources, sub.resources)
        and all(any(_url_covered(o, p) for o in owner.non_resource_urls) for p in sub.non_resource_urls)
        and names
    )


def uncovered(owned: list[Rule], wanted: tuple[Rule, ...]) -> list[Rule]:
    return [sub for rule in wanted for sub in breakdown(rule) if not any(rule_covers(o, sub) for o in owned)]


def compact(rules: list[Rule]) -> list[Rule]:
    """Kubernetes' ``CompactRules``: simple rules on one group/resource(/name) merge their verbs."""
    out: list[Rule] = []
    simple: dict[tuple[str, str, tuple[str, ...]], Rule] = {}
    for rule in rules:
        if len(rule.api_groups) == 1 and len(rule.resources) == 1 and len(rule.resource_names) <= 1 \
                and not rule.non_resource_urls:
            key = (rule.api_groups[0], rule.resources[0], rule.resource_names)
            held = simple.get(key)
            verbs = rule.verbs if held is None else held.verbs + tuple(v for v in rule.verbs if v not in held.verbs)
            simple[key] = Rule(verbs, rule.api_groups, rule.resources, rule.resource_names)
        else:
            out.append(rule)
    return out + list(simple.values())


def not_held_message(user: UserInfo, missing: list[Rule], errors: list[str]) -> str:
    lines = sorted({rule.compact_string() for rule in compact(missing)})
    message = (f'user "{user.name}" (groups={go_quoted(user.groups)}) is attempting to grant RBAC permissions '
               f"not currently held:\n" + "\n".join(lines))
    return message + (f"; resolution errors: [{' '.join(errors)}]" if errors else "")


def _only_gc_fields(new: Any, old: Any) -> bool:
    def strip(obj: Any) -> Any:
        meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _GC_FIELDS}
        return {**obj, "metadata": meta}
    return isinstance(new, dict) and isinstance(old, dict) and strip(new) == strip(old)


class RbacEscalation:
    """An admission plugin: only ``validate``, on RBAC kinds."""

    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    def admit(self, attrs: Attributes) -> list[str]:
        return []

    def validate(self, attrs: Attributes) -> list[str]:
        user = attrs.user
        if attrs.rt.group != RBAC or attrs.operation not in (CREATE, UPDATE) or user is None \
                or SYSTEM_MASTERS in user.groups or attrs.obj is None:
            return []
        if attrs.operation == UPDATE and _only_gc_fields(attrs.obj, attrs.old):
            return []
        if attrs.rt.kind in ("Role", "ClusterRole"):
            self._check_role(attrs, user)
        else:
            self._check_binding(attrs, user)
        return []

    def _forbidden(self, attrs: Attributes, message: str) -> ApiError:
        name = attrs.name
        prefix = f'{attrs.rt.group_resource} "{name}"' if name else attrs.rt.group_resource
        return ApiError(403, "Forbidden", f"{prefix} is forbidden: {message}", name=name or None,
                        kind=attrs.rt.plural, group=attrs.rt.group)

    def _check_role(self, attrs: Attributes, user: UserInfo) -> None:
        escalate = RequestInfo(True, "", "escalate", RBAC, "*", attrs.namespace, attrs.rt.plural, "",
                               attrs.name if attrs.operation == UPDATE else "")
        if self.authorizer.allows(user, escalate):
            return
        assert attrs.obj is not None
        owned, errors = self.authorizer.rules_for(user, attrs.namespace)
        missing = uncovered(owned, rules_from_wire(attrs.obj.get("rules")))
        if missing:
            raise self._forbidden(attrs, not_held_message(user, missing, errors))
        if attrs.rt.kind == "ClusterRole" and attrs.obj.get("aggregationRule") is not None \
                and uncovered(owned, FULL_AUTHORITY):
            raise self._forbidden(attrs, "must have cluster-admin privileges to use the aggregationRule")

    def _check_binding(self, attrs: Attributes, user: UserInfo) -> None:
        assert attrs.obj is not None
        ref = attrs.obj.get("roleRef") or {}
        kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        resource = {"ClusterRole": "clusterroles", "Role": "roles"}.get(kind)
        if resource is None:
            return  # validation refuses it
        bind = RequestInfo(True, "", "bind", str(ref.get("apiGroup") or ""), "*", attrs.namespace, resource, "", name)
        if self.authorizer.allows(user, bind):
            return
        granted = self.authorizer.index.role_ref_rules(kind, name, attrs.namespace)
        if granted is None:
            raise ApiError(404, "NotFound", f'{kind.lower()}.{RBAC} "{name}" not found', name=name,
                           kind=kind.lower(), group=RBAC)
        owned, errors = self.authorizer.rules_for(user, attrs.namespace)
        missing = uncovered(owned, granted)
        if missing:
            raise self._forbidden(attrs, not_held_message(user, missing, errors))
