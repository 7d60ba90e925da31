"""Audit annotations: what admission wants written on the request's audit event.

Kubernetes' admission plugins attach key/value annotations to the audit event of the request
they judged (``pod-security.kubernetes.io/audit-violations``, ``.../enforce-policy``). Here
the request's annotations live in a dict in a context variable: whoever writes the audit
event opens it with :func:`collect` around the request (an ASGI middleware), plugins add to
it with :func:`annotate`, and the dict is read when the request is done. Outside a
:func:`collect` block, :func:`annotate` does nothing, so plugins need not know whether
auditing is on.

    with collect() as annotations:
        await app(scope, receive, send)
    event["annotations"] = annotations
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

audit_annotations: ContextVar[dict[str, str] | None] = ContextVar("audit_annotations", default=None)


@contextlib.contextmanager
def collect() -> Iterator[dict[str, str]]:
    """A fresh annotation dict for one request, visible to everything the request runs."""
    annotations: dict[str, str] = {}
    token = audit_annotations.set(annotations)
    try:
        yield annotations
    finally:
        audit_annotations.reset(token)


def annotate(key: str, value: str) -> None:
    """Record ``key: value`` on the current request's audit event (if one is being collected)."""
    annotations = audit_annotations.get()
    if annotations is not None:
        annotations[key] = value
