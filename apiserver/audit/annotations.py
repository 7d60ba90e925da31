"""Audit annotations: the notes other request steps leave on the request's audit event.

The audit middleware puts a fresh ``dict[str, str]`` in ``scope["state"]["audit_annotations"]``
and in :data:`current_annotations` before the request goes on; whatever is in it when an event
is written becomes the event's ``annotations``, as Kubernetes' ``audit.AddAuditAnnotation``.
Code that has the ASGI scope (middleware such as the authorizer) writes into the scope's dict;
code that does not (admission plugins, Pod Security) calls :func:`annotate`. Without an audit
log (or outside a request) both are harmless no-ops on a throwaway dict.

Keys are Kubernetes' own where it has them:
``authorization.k8s.io/decision`` (``allow`` / ``forbid``) and ``authorization.k8s.io/reason``
from the authorizer, ``pod-security.kubernetes.io/enforce-policy`` and
``pod-security.kubernetes.io/audit-violations`` from Pod Security. A first value is kept:
annotations are facts about the request, not a log of overwrites.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

STATE_KEY = "audit_annotations"

DECISION = "authorization.k8s.io/decision"
REASON = "authorization.k8s.io/reason"
DECISION_ALLOW = "allow"
DECISION_FORBID = "forbid"
POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce-policy"
POD_SECURITY_AUDIT = "pod-security.kubernetes.io/audit-violations"

#: The annotations of the request being served (set by the audit middleware).
current_annotations: ContextVar[dict[str, str] | None] = ContextVar("current_annotations", default=None)


def annotations_of(scope: MutableMapping[str, Any]) -> dict[str, str]:
    """The request's annotations dict, created if no audit middleware made one."""
    state = scope.setdefault("state", {})
    found = state.get(STATE_KEY)
    if not isinstance(found, dict):
        found = state[STATE_KEY] = {}
    return found


def begin(scope: MutableMapping[str, Any]) -> dict[str, str]:
    """A fresh dict for one request, reachable from its scope and from the context."""
    annotations: dict[str, str] = {}
    scope.setdefault("state", {})[STATE_KEY] = annotations
    current_annotations.set(annotations)
    return annotations


def annotate(key: str, value: str, *, scope: MutableMapping[str, Any] | None = None) -> None:
    """Add an annotation to the current request's audit event (first value wins)."""
    annotations = annotations_of(scope) if scope is not None else current_annotations.get()
    if annotations is not None:
        annotations.setdefault(key, value)
