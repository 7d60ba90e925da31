"""authorization.k8s.io reviews: the questions ``kubectl auth can-i`` asks, answered by the authorizer.

SelfSubjectAccessReview (may I), SubjectAccessReview (may they: the caller needs ``create
subjectaccessreviews``, which the middleware checked), LocalSubjectAccessReview (the same,
within one namespace) and SelfSubjectRulesReview (what may I, in a namespace). The answer is
the union authorizer's decision, so it is exactly what a real request would meet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from apimachinery.errors import ApiError, bad_request
from apiserver.authn.user import SYSTEM_MASTERS, UserInfo, user_of
from apiserver.authz.authorizer import Authorizer
from apiserver.authz.rules import Rule
from apiserver.requestinfo import RequestInfo
from apiserver.validation import invalid_value

Obj = dict[str, Any]
Handler = Callable[[Request, Obj], Obj]


def _invalid(kind: str, causes: list[dict[str, str]]) -> ApiError:
    detail = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    return ApiError(422, "Invalid", f'{kind}.authorization.k8s.io "" is invalid: {detail}', kind=kind,
                    group="authorization.k8s.io", causes=causes)


def _attributes(kind: str, spec: Obj) -> RequestInfo:
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if (resource is None) == (non_resource is None):
        raise _invalid(kind, [invalid_value("spec.resourceAttributes", resource,
                                            "exactly one of nonResourceAttributes or resourceAttributes must be specified")])
    if isinstance(non_resource, dict):
        return RequestInfo(False, str(non_resource.get("path") or ""), str(non_resource.get("verb") or ""))
    resource = resource if isinstance(resource, dict) else {}
    return RequestInfo(
        True, "", str(resource.get("verb") or ""), str(resource.get("group") or ""), str(resource.get("version") or ""),
        str(resource.get("namespace") or ""), str(resource.get("resource") or ""),
        str(resource.get("subresource") or ""), str(resource.get("name") or ""),
    )


def _answer(body: Obj, authorizer: Authorizer, user: UserInfo | None, info: RequestInfo) -> Obj:
    if user is None:  # authentication off: nothing is authorized either
        status: Obj = {"allowed": True}
    else:
        decision = authorizer.authorize(user, info)
        status = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
    return {**body, "metadata": {**(body.get("metadata") or {}), "creationTimestamp": None}, "status": status}


def self_subject_access_review(authorizer: Authorizer) -> Handler:
    def handle(request: Request, body: Obj) -> Obj:
        info = _attributes("SelfSubjectAccessReview", body.get("spec") or {})
        return _answer(body, authorizer, user_of(request.scope), info)

    return handle


def _subject(kind: str, spec: Obj) -> UserInfo:
    if not spec.get("user") and not spec.get("groups"):
        raise _invalid(kind, [invalid_value("spec.user", "", "at least one of user or group must be specified")])
    extra = {k: tuple(v) for k, v in (spec.get("extra") or {}).items()}
    return UserInfo(str(spec.get("user") or ""), str(spec.get("uid") or ""), tuple(spec.get("groups") or ()), extra)


def subject_access_review(authorizer: Authorizer) -> Handler:
    def handle(request: Request, body: Obj) -> Obj:
        spec = body.get("spec") or {}
        info = _attributes("SubjectAccessReview", spec)
        return _answer(body, authorizer, _subject("SubjectAccessReview", spec), info)

    return handle


def local_subject_access_review(authorizer: Authorizer) -> Handler:
    def handle(request: Request, body: Obj) -> Obj:
        kind = "LocalSubjectAccessReview"
        spec = body.get("spec") or {}
        namespace = str((body.get("metadata") or {}).get("namespace") or "")
        if spec.get("nonResourceAttributes") is not None:
            raise _invalid(kind, [invalid_value("spec.nonResourceAttributes", spec["nonResourceAttributes"],
                                                "disallowed on this kind of request")])
        info = _attributes(kind, spec)
        if info.namespace != namespace:
            raise bad_request(f"spec.resourceAttributes.namespace must match namespace: {namespace}")
        return _answer(body, authorizer, _subject(kind, spec), info)

    return handle


def _resource_rule(rule: Rule) -> Obj:
    out: Obj = {"verbs": list(rule.verbs), "apiGroups": list(rule.api_groups), "resources": list(rule.resources)}
    if rule.resource_names:
        out["resourceNames"] = list(rule.resource_names)
    return out


def self_subject_rules_review(authorizer: Authorizer) -> Handler:
    def handle(request: Request, body: Obj) -> Obj:
        namespace = str((body.get("spec") or {}).get("namespace") or "")
        if not namespace:
            raise bad_request("no namespace on request")
        user = user_of(request.scope)
        rules: list[Rule] = [Rule(("*",), ("*",), ("*",)), Rule(("*",), non_resource_urls=("*",))]
        errors: list[str] = []
        incomplete = False
        if user is not None and SYSTEM_MASTERS not in user.groups:
            rules, errors = authorizer.rules_for(user, namespace)
        if user is not None and user.node_name is not None:
            incomplete = True  # the Node authorizer's grants depend on the object, not listable
            errors.append("node authorizer does not support user rule resolution")
        status: Obj = {
            "resourceRules": [_resource_rule(r) for r in rules if not r.non_resource_urls],
            "nonResourceRules": [{"verbs": list(r.verbs), "nonResourceURLs": list(r.non_resource_urls)}
                                 for r in rules if r.non_resource_urls],
            "incomplete": incomplete,
        }
        if errors:
            status["evaluationError"] = "[" + ", ".join(errors) + "]" if len(errors) > 1 else errors[0]
        return {**body, "metadata": {**(body.get("metadata") or {}), "creationTimestamp": None}, "status": status}

    return handle


def handlers(authorizer: Authorizer) -> dict[str, Handler]:
    return {
        "SelfSubjectAccessReview": self_subject_access_review(authorizer),
        "SubjectAccessReview": subject_access_review(authorizer),
        "LocalSubjectAccessReview": local_subject_access_review(authorizer),
        "SelfSubjectRulesReview": self_subject_rules_review(authorizer),
    }
