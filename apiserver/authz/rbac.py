"""The RBAC authorizer (Kubernetes' ``plugin/pkg/auth/authorizer/rbac``).

Deny by default: a request is allowed only by a rule of a role bound to the user, its groups
or its ServiceAccount; a RoleBinding counts only in its own namespace. A binding to a role that
does not exist grants nothing and is named in the reason, as Kubernetes reports it.
"""

from __future__ import annotations

from apiserver.authn.user import UserInfo
from apiserver.authz.decision import Attributes, Decision, Verdict
from apiserver.authz.index import RbacIndex
from apiserver.authz.rules import Rule, rule_allows


class RbacAuthorizer:
    def __init__(self, index: RbacIndex) -> None:
        self.index = index

    def authorize(self, attrs: Attributes) -> Decision:
        errors: list[str] = []
        for binding, subject, rules in self.index.visit(attrs.user, attrs.info.namespace):
            if rules is None:
                errors.append(_missing(binding.role_kind, binding.role_name))
                continue
            if any(rule_allows(attrs.info, rule) for rule in rules):
                return Decision(Verdict.ALLOW, f"RBAC: allowed by {binding.describe(subject)}")
        reason = f"RBAC: [{', '.join(errors)}]" if len(errors) > 1 else (f"RBAC: {errors[0]}" if errors else "")
        return Decision(Verdict.NO_OPINION, reason)

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
        """Every rule granted to ``user`` in ``namespace`` and the resolution errors (missing roles)."""
        rules: list[Rule] = []
        errors: list[str] = []
        for binding, _, granted in self.index.visit(user, namespace):
            if granted is None:
                errors.append(_missing(binding.role_kind, binding.role_name))
            else:
                rules.extend(r for r in granted if r not in rules)
        return rules, errors


def _missing(kind: str, name: str) -> str:
    resource = "clusterrole" if kind == "ClusterRole" else "role"
    return f'{resource}.rbac.authorization.k8s.io "{name}" not found'
