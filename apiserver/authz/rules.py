"""Policy rules and what they allow, matched exactly as Kubernetes' ``rbac/validation`` does.

A request is allowed by a rule when every part matches: the verb (or ``*``), the API group (or
``*``), the resource (``*``, the exact ``resource/subresource``, or ``*/subresource``), the name
when the rule lists names, and for non-resource requests the path (exact, ``*``, or a prefix
ending in ``*``). Nothing else widens a rule: ``pods`` does not cover ``pods/log``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from apiserver.requestinfo import RequestInfo

ALL = "*"


@dataclass(frozen=True)
class Rule:
    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_wire(cls, rule: dict[str, Any]) -> Rule:
        def strings(key: str) -> tuple[str, ...]:
            value = rule.get(key)
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        return cls(strings("verbs"), strings("apiGroups"), strings("resources"), strings("resourceNames"),
                   strings("nonResourceURLs"))

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verbs": list(self.verbs)}
        for key, value in (("apiGroups", self.api_groups), ("resources", self.resources),
                           ("resourceNames", self.resource_names), ("nonResourceURLs", self.non_resource_urls)):
            if value:
                out[key] = list(value)
        return out

    def compact_string(self) -> str:
        """Kubernetes' ``PolicyRule.CompactString``: ``{APIGroups:[""], Resources:["pods"], Verbs:["get"]}``."""
        parts = [f"{label}:{go_quoted(values)}" for label, values in (
            ("APIGroups", self.api_groups), ("Resources", self.resources), ("NonResourceURLs", self.non_resource_urls),
            ("ResourceNames", self.resource_names), ("Verbs", self.verbs)) if values]
        return "{" + ", ".join(parts) + "}"


def go_quoted(values: Iterable[str]) -> str:
    """Go's ``%q`` of a string slice: ``["a" "b"]``."""
    return "[" + " ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "]"


def rules_from_wire(rules: Any) -> tuple[Rule, ...]:
    return tuple(Rule.from_wire(r) for r in rules if isinstance(r, dict)) if isinstance(rules, list) else ()


def verb_matches(rule: Rule, verb: str) -> bool:
    return ALL in rule.verbs or verb in rule.verbs


def api_group_matches(rule: Rule, group: str) -> bool:
    return ALL in rule.api_groups or group in rule.api_groups


def resource_matches(rule: Rule, combined: str, subresource: str) -> bool:
    for resource in rule.resources:
        if resource in (ALL, combined):
            return True
        if subresource and resource == f"*/{subresource}":
            return True
    return False


def resource_name_matches(rule: Rule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: Rule, path: str) -> bool:
    for url in rule.non_resource_urls:
        if url in (ALL, path):
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(info: RequestInfo, rule: Rule) -> bool:
    if info.is_resource_request:
        return (verb_matches(rule, info.verb) and api_group_matches(rule, info.api_group)
                and resource_matches(rule, info.resource_path, info.subresource)
                and resource_name_matches(rule, info.name))
    return verb_matches(rule, info.verb) and non_resource_url_matches(rule, info.path)


def rules_allow(info: RequestInfo, rules: Iterable[Rule]) -> bool:
    return any(rule_allows(info, rule) for rule in rules)
