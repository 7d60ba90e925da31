"""The RBAC view: roles, cluster roles and bindings, indexed by the subjects they name.

A decision looks up the bindings of the user's name, each of its groups and (for a
ServiceAccount user) its account, instead of scanning every binding. Rules of aggregated
ClusterRoles (``aggregationRule``) are the union of the ClusterRoles their selectors match,
computed here as the clusterrole-aggregation controller computes them, so a new
``aggregate-to-*`` role counts at once; :mod:`.aggregation` writes the same union back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from apimachinery.errors import ApiError
from apimachinery.selectors import selector_from_model
from apiserver.authn.user import SERVICE_ACCOUNT_PREFIX, UserInfo
from apiserver.authz.rules import Rule, rules_from_wire

Obj = dict[str, Any]
SubjectKey = tuple[str, ...]  # ("User", name) / ("Group", name) / ("ServiceAccount", ns, name)
RBAC = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class Binding:
    kind: str  # RoleBinding / ClusterRoleBinding
    namespace: str
    name: str
    role_kind: str
    role_name: str
    subjects: tuple[Obj, ...]

    def describe(self, subject: Obj) -> str:
        """Kubernetes' binding describer, as SubjectAccessReview reasons print it."""
        name = f"{self.name}/{self.namespace}" if self.kind == "RoleBinding" else self.name
        who = str(subject.get("name") or "")
        if subject.get("kind") == "ServiceAccount":
            who = f"{subject.get('namespace') or self.namespace}/{who}"
        return f'{self.kind} "{name}" of {self.role_kind} "{self.role_name}" to {subject.get("kind")} "{who}"'


def subject_keys(subject: Obj, namespace: str) -> SubjectKey | None:
    kind, name = subject.get("kind"), str(subject.get("name") or "")
    if kind in ("User", "Group"):
        return (str(kind), name)
    if kind == "ServiceAccount":
        sa_namespace = str(subject.get("namespace") or namespace)
        return ("ServiceAccount", sa_namespace, name) if sa_namespace else None
    return None


def user_keys(user: UserInfo) -> list[SubjectKey]:
    keys: list[SubjectKey] = [("User", user.name), *(("Group", g) for g in user.groups)]
    if user.name.startswith(SERVICE_ACCOUNT_PREFIX):
        namespace, _, name = user.name.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
        if namespace and name and ":" not in name:
            keys.append(("ServiceAccount", namespace, name))
    return keys


class _Keyed:
    """Newest value per store key; older events (a replay after a list) are ignored."""

    def __init__(self) -> None:
        self.revisions: dict[str, int] = {}
        self.values: dict[str, Obj] = {}

    def reset(self) -> None:
        self.revisions.clear()
        self.values.clear()

    def put(self, key: str, value: Obj | None, revision: int) -> None:
        if self.revisions.get(key, 0) >= revision:
            return
        self.revisions[key] = revision
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value
        self.changed()

    def changed(self) -> None:
        """Rebuild what is derived from the values (subclasses)."""


def _meta(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class Roles(_Keyed):
    """Roles or ClusterRoles by (namespace, name); ClusterRoles have namespace ``""``."""

    def __init__(self) -> None:
        super().__init__()
        self.by_name: dict[tuple[str, str], Obj] = {}
        self._effective: dict[tuple[str, str], tuple[Rule, ...]] = {}

    def changed(self) -> None:
        self.by_name = {_meta(obj): obj for obj in self.values.values()}
        self._effective = {}

    def rules(self, namespace: str, name: str) -> tuple[Rule, ...] | None:
        """A role's rules (an aggregated ClusterRole's union), None when it does not exist."""
        key = (namespace, name)
        if key not in self.by_name:
            return None
        if key not in self._effective:  # parsed once per change of any role of this kind
            wire = self.by_name[key].get("rules") if namespace else self.aggregated_wire(name, set())
            self._effective[key] = rules_from_wire(wire)
        return self._effective[key]

    def aggregated_wire(self, name: str, visiting: set[str]) -> list[Obj]:
        """The ``rules`` a ClusterRole has: its own, or for an aggregated one the union (in
        order, without duplicates) of the ClusterRoles its selectors match."""
        role = self.by_name.get(("", name))
        if role is None:
            return []
        aggregation = role.get("aggregationRule")
        if not isinstance(aggregation, dict):
            return [r for r in role.get("rules") or [] if isinstance(r, dict)]
        visiting = visiting | {name}
        out: list[Obj] = []
        for selector in aggregation.get("clusterRoleSelectors") or []:
            try:
                matches = selector_from_model(selector).matches
            except ApiError:  # refused on write; one stored before validation matches nothing
                continue
            for (ns, other), obj in sorted(self.by_name.items()):
                if ns or other in visiting or not matches((obj.get("metadata") or {}).get("labels")):
                    continue
                for rule in self.aggregated_wire(other, visiting):
                    if rule not in out:
                        out.append(rule)
        return out

    def aggregated_names(self) -> list[str]:
        return sorted(name for (ns, name), obj in self.by_name.items()
                      if not ns and isinstance(obj.get("aggregationRule"), dict))


class Bindings(_Keyed):
    """RoleBindings or ClusterRoleBindings, indexed by namespace and subject."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.by_subject: dict[tuple[str, SubjectKey], list[tuple[Binding, Obj]]] = {}

    def changed(self) -> None:
        index: dict[tuple[str, SubjectKey], list[tuple[Binding, Obj]]] = defaultdict(list)
        for obj in self.values.values():
            namespace, name = _meta(obj)
            ref = obj.get("roleRef") or {}
            subjects = tuple(s for s in obj.get("subjects") or [] if isinstance(s, dict))
            binding = Binding(self.kind, namespace, name, str(ref.get("kind") or ""), str(ref.get("name") or ""),
                              subjects)
            for subject in subjects:
                key = subject_keys(subject, namespace)
                if key is not None:
                    index[(namespace, key)].append((binding, subject))
        self.by_subject = dict(index)

    def for_user(self, user: UserInfo, namespace: str) -> Iterator[tuple[Binding, Obj]]:
        seen: set[tuple[str, str]] = set()
        for key in user_keys(user):
            for binding, subject in self.by_subject.get((namespace, key), ()):
                if (binding.namespace, binding.name) not in seen:
                    seen.add((binding.namespace, binding.name))
                    yield binding, subject


class RbacIndex:
    def __init__(self) -> None:
        self.roles = Roles()
        self.cluster_roles = Roles()
        self.role_bindings = Bindings("RoleBinding")
        self.cluster_role_bindings = Bindings("ClusterRoleBinding")

    def views(self) -> list[tuple[str, _Keyed]]:
        return [  # ClusterRoles first: the background follower waits on them (aggregation)
            (f"/registry/clusterroles.{RBAC}/", self.cluster_roles),
            (f"/registry/roles.{RBAC}/", self.roles),
            (f"/registry/rolebindings.{RBAC}/", self.role_bindings),
            (f"/registry/clusterrolebindings.{RBAC}/", self.cluster_role_bindings),
        ]

    def role_ref_rules(self, role_kind: str, role_name: str, namespace: str) -> tuple[Rule, ...] | None:
        if role_kind == "ClusterRole":
            return self.cluster_roles.rules("", role_name)
        if role_kind == "Role":
            return self.roles.rules(namespace, role_name)
        return None

    def visit(self, user: UserInfo, namespace: str) -> Iterator[tuple[Binding, Obj, tuple[Rule, ...] | None]]:
        """Every binding that applies to ``user`` in ``namespace`` (cluster bindings first), with
        the rules it grants (None: its role does not exist)."""
        for binding, subject in self.cluster_role_bindings.for_user(user, ""):
            yield binding, subject, self.role_ref_rules(binding.role_kind, binding.role_name, "")
        if namespace:
            for binding, subject in self.role_bindings.for_user(user, namespace):
                yield binding, subject, self.role_ref_rules(binding.role_kind, binding.role_name, namespace)
