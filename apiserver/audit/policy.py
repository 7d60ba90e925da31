"""The audit policy: Kubernetes' ``audit.k8s.io/v1`` ``Policy``, loaded and evaluated as kube-apiserver does.

Rules are tried in order and the first that matches decides the level (``None``, ``Metadata``,
``Request``, ``RequestResponse``) and the stages left out (the policy's ``omitStages`` joined
with the rule's); no match means ``None``. A rule matches when every field it sets matches:
``users`` (the user name), ``userGroups`` (any group), ``verbs``, then either the resource
fields (``namespaces``, ``""`` standing for cluster-scoped; ``resources`` by group with
``resources`` such as ``pods``, ``pods/log``, ``*/status``, ``pods/*``, ``*`` and optional
``resourceNames``) which only resource requests can match, or ``nonResourceURLs`` (exact, ``*``,
or a trailing ``*`` prefix) which only non-resource requests can match. An unauthenticated
request (401) has no user: a rule naming users or groups never matches it.

The file is read with the project's safe YAML loader; unknown fields, unknown levels or stages
and a rule naming both resources and non-resource URLs are refused with the field named,
so a typo cannot silently log less than intended.

:data:`DEFAULT_POLICY` is what ``--audit-log-path`` alone gets: every mutation at ``Metadata``
and nothing else, plus (outside the policy language, see :class:`Policy.log_denials`) every
request refused with 401 or 403 at ``Metadata``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from apimachinery.yamlsafe import ManifestError, load_documents
from apiserver.authn.user import UserInfo
from apiserver.requestinfo import RequestInfo

API_VERSION = "audit.k8s.io/v1"


class Level(IntEnum):
    NONE = 0
    METADATA = 1
    REQUEST = 2
    REQUEST_RESPONSE = 3

    @property
    def wire(self) -> str:
        return _LEVEL_NAMES[self]


_LEVEL_NAMES = {Level.NONE: "None", Level.METADATA: "Metadata", Level.REQUEST: "Request",
                Level.REQUEST_RESPONSE: "RequestResponse"}
_LEVELS = {name: level for level, name in _LEVEL_NAMES.items()}

REQUEST_RECEIVED = "RequestReceived"
RESPONSE_STARTED = "ResponseStarted"
RESPONSE_COMPLETE = "ResponseComplete"
PANIC = "Panic"
STAGES = (REQUEST_RECEIVED, RESPONSE_STARTED, RESPONSE_COMPLETE, PANIC)

MUTATING_VERBS = ("create", "update", "patch", "delete", "deletecollection")


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class GroupResources:
    group: str = ""
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()

    def matches(self, info: RequestInfo) -> bool:
        if self.group != info.api_group:
            return False
        if not self.resources:
            return True
        if self.resource_names and info.name not in self.resource_names:
            return False
        combined = info.resource_path
        return any(
            res in (combined, "*")
            or (info.subresource and res.startswith("*/") and res[2:] == info.subresource)
            or (res.endswith("/*") and res[:-2] == info.resource)
            for res in self.resources
        )


@dataclass(frozen=True)
class Rule:
    level: Level
    users: tuple[str, ...] = ()
    user_groups: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    resources: tuple[GroupResources, ...] = ()
    namespaces: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    omit_stages: frozenset[str] = frozenset()
    omit_managed_fields: bool | None = None  # None: the policy's setting

    def matches(self, info: RequestInfo, user: UserInfo | None) -> bool:
        if self.users and (user is None or user.name not in self.users):
            return False
        if self.user_groups and (user is None or not set(user.groups) & set(self.user_groups)):
            return False
        if self.verbs and info.verb not in self.verbs:
            return False
        if self.namespaces or self.resources:
            return self._matches_resource(info)
        if self.non_resource_urls:
            return not info.is_resource_request and any(_path_matches(info.path, s) for s in self.non_resource_urls)
        return True

    def _matches_resource(self, info: RequestInfo) -> bool:
        if not info.is_resource_request:
            return False
        if self.namespaces and info.namespace not in self.namespaces:
            return False
        return not self.resources or any(gr.matches(info) for gr in self.resources)


def _path_matches(path: str, spec: str) -> bool:
    return spec in ("*", path) or (spec.endswith("*") and path.startswith(spec.rstrip("*")))


@dataclass(frozen=True)
class Decision:
    level: Level
    omit_stages: frozenset[str]
    omit_managed_fields: bool


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    omit_stages: frozenset[str] = frozenset()
    omit_managed_fields: bool = False
    # Not expressible in a Policy file (rules see the request, not its outcome): record a
    # request refused with 401 or 403 at Metadata even when the rules say None.
    log_denials: bool = False

    def decide(self, info: RequestInfo, user: UserInfo | None) -> Decision:
        for rule in self.rules:
            if rule.matches(info, user):
                omit = rule.omit_managed_fields
                return Decision(rule.level, self.omit_stages | rule.omit_stages,
                                self.omit_managed_fields if omit is None else omit)
        return Decision(Level.NONE, self.omit_stages, self.omit_managed_fields)


DEFAULT_POLICY = Policy(
    rules=(Rule(Level.METADATA, verbs=MUTATING_VERBS),),
    omit_stages=frozenset({REQUEST_RECEIVED}),
    log_denials=True,
)


# --- the file -----------------------------------------------------------------------------------

_POLICY_FIELDS = {"apiVersion", "kind", "metadata", "rules", "omitStages", "omitManagedFields"}
_RULE_FIELDS = {"level", "users", "userGroups", "verbs", "resources", "namespaces", "nonResourceURLs",
                "omitStages", "omitManagedFields"}
_GROUP_FIELDS = {"group", "resources", "resourceNames"}


def load_policy(path: Path) -> Policy:
    try:
        documents = load_documents(path.read_bytes(), source=str(path))
    except OSError as err:
        raise PolicyError(f"cannot read the audit policy {path}: {err.strerror}") from None
    except ManifestError as err:
        raise PolicyError(str(err)) from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise PolicyError(f"{path}: expected one Policy object")
    return parse_policy(documents[0], source=str(path))


def parse_policy(doc: dict[str, Any], *, source: str) -> Policy:
    def fail(at: str, message: str) -> PolicyError:
        return PolicyError(f"{source}: {at}: {message}")

    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != "Policy":
        raise fail("apiVersion/kind", f"must be {API_VERSION} Policy")
    _known(doc, _POLICY_FIELDS, "", fail)
    rules = doc.get("rules")
    if not isinstance(rules, list):
        raise fail("rules", "must be a list")
    return Policy(
        rules=tuple(_rule(rule, f"rules[{i}]", fail) for i, rule in enumerate(rules)),
        omit_stages=_stages(doc.get("omitStages"), "omitStages", fail),
        omit_managed_fields=_bool(doc.get("omitManagedFields", False), "omitManagedFields", fail),
    )


def _rule(spec: Any, at: str, fail: Any) -> Rule:
    if not isinstance(spec, dict):
        raise fail(at, "must be a mapping")
    _known(spec, _RULE_FIELDS, f"{at}.", fail)
    level = _LEVELS.get(spec.get("level"))  # type: ignore[arg-type]
    if level is None:
        raise fail(f"{at}.level", f"must be one of {', '.join(_LEVELS)}, not {spec.get('level')!r}")
    resources = spec.get("resources") or []
    if not isinstance(resources, list):
        raise fail(f"{at}.resources", "must be a list")
    groups = tuple(_group(gr, f"{at}.resources[{j}]", fail) for j, gr in enumerate(resources))
    namespaces = _strings(spec.get("namespaces"), f"{at}.namespaces", fail, empty_ok=True)
    urls = _strings(spec.get("nonResourceURLs"), f"{at}.nonResourceURLs", fail)
    if urls and (groups or namespaces):
        raise fail(f"{at}.nonResourceURLs", "rules cannot apply to both regular resources and non-resource URLs")
    for k, url in enumerate(urls):
        if url != "*" and (not url.startswith("/") or "*" in url[:-1]):
            raise fail(f"{at}.nonResourceURLs[{k}]", "must start with / and may end with *")
    managed = spec.get("omitManagedFields")
    return Rule(
        level=level,
        users=_strings(spec.get("users"), f"{at}.users", fail),
        user_groups=_strings(spec.get("userGroups"), f"{at}.userGroups", fail),
        verbs=_strings(spec.get("verbs"), f"{at}.verbs", fail),
        resources=groups,
        namespaces=namespaces,
        non_resource_urls=urls,
        omit_stages=_stages(spec.get("omitStages"), f"{at}.omitStages", fail),
        omit_managed_fields=None if managed is None else _bool(managed, f"{at}.omitManagedFields", fail),
    )


def _group(spec: Any, at: str, fail: Any) -> GroupResources:
    if not isinstance(spec, dict):
        raise fail(at, "must be a mapping")
    _known(spec, _GROUP_FIELDS, f"{at}.", fail)
    group = spec.get("group", "")
    if not isinstance(group, str):
        raise fail(f"{at}.group", "must be a string")
    return GroupResources(group, _strings(spec.get("resources"), f"{at}.resources", fail),
                          _strings(spec.get("resourceNames"), f"{at}.resourceNames", fail))


def _strings(value: Any, at: str, fail: Any, *, empty_ok: bool = False) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and (v or empty_ok) for v in value):
        raise fail(at, "must be a list of non-empty strings" if not empty_ok else "must be a list of strings")
    return tuple(value)


def _stages(value: Any, at: str, fail: Any) -> frozenset[str]:
    stages = _strings(value, at, fail)
    for stage in stages:
        if stage not in STAGES:
            raise fail(at, f"unknown stage {stage!r} (stages: {', '.join(STAGES)})")
    return frozenset(stages)


def _bool(value: Any, at: str, fail: Any) -> bool:
    if not isinstance(value, bool):
        raise fail(at, "must be true or false")
    return value


def _known(spec: dict[str, Any], known: set[str], at: str, fail: Any) -> None:
    unknown = sorted(set(spec) - known)
    if unknown:
        raise fail(f"{at}{unknown[0]}", "unknown field")
