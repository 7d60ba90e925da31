"""Building ``audit.k8s.io/v1`` ``Event`` objects: pure functions of what a request was and how it ended.

Field by field as kube-apiserver fills them: ``verb`` and ``objectRef`` from the request info
(the same one the authorizer reads), ``user`` as authentication left it (``{}`` when it failed),
``sourceIPs`` from ``X-Forwarded-For``, ``X-Real-Ip`` and the peer, ``userAgent`` cut at 1024
characters, ``responseStatus`` with the code (and, for a ``Status`` response, its status,
reason, message and details), timestamps in UTC with microseconds.

Some bodies are never logged, whatever the policy says (:func:`bodies_loggable`): Secrets,
ServiceAccount tokens (``serviceaccounts/token``) and TokenReviews carry credentials, so their
events stop at ``Metadata``, as Kubernetes' own example policy recommends; here it is enforced.
Non-resource requests never log bodies either (a node joining the cluster exchanges
credentials on one).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from apiserver.authn.user import UserInfo
from apiserver.requestinfo import RequestInfo

API_VERSION = "audit.k8s.io/v1"
MAX_USER_AGENT = 1024
TRUNCATED = "...TRUNCATED"

# (api group, resource, subresource) whose request and response bodies carry credentials
SENSITIVE = frozenset({
    ("", "secrets", ""),
    ("", "serviceaccounts", "token"),
    ("authentication.k8s.io", "tokenreviews", ""),
})


def bodies_loggable(info: RequestInfo) -> bool:
    """May the request and response objects of this request be logged (Request level and up)?"""
    return info.is_resource_request and (info.api_group, info.resource, info.subresource) not in SENSITIVE


def timestamp(when: datetime) -> str:
    """``metav1.MicroTime``: RFC 3339 in UTC with six fractional digits."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def user_of_event(user: UserInfo | None) -> dict[str, Any]:
    return user.as_review() if user is not None else {}


def object_ref(info: RequestInfo, body: Any = None) -> dict[str, str] | None:
    """What the request is about; a create names its object in the body, not the path."""
    if not info.is_resource_request:
        return None
    meta = body.get("metadata") if isinstance(body, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    ref = {
        "resource": info.resource,
        "namespace": info.namespace or _str(meta.get("namespace")),
        "name": info.name or _str(meta.get("name")),
        "apiGroup": info.api_group,
        "apiVersion": info.api_version,
        "subresource": info.subresource,
    }
    return {key: value for key, value in ref.items() if value}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def source_ips(headers: Iterable[tuple[bytes, bytes]], client: tuple[str, int] | None) -> list[str]:
    """``X-Forwarded-For`` entries, then ``X-Real-Ip``, then the peer, each valid IP once."""
    found: list[str] = []

    def add(text: str) -> None:
        try:
            ip = str(ipaddress.ip_address(text.strip()))
        except ValueError:
            return
        if ip not in found:
            found.append(ip)

    values = {name: value.decode("latin-1") for name, value in headers if name in (b"x-forwarded-for", b"x-real-ip")}
    for part in values.get(b"x-forwarded-for", "").split(","):
        add(part)
    add(values.get(b"x-real-ip", ""))
    if client:
        add(client[0])
    return found


def user_agent(headers: Iterable[tuple[bytes, bytes]]) -> str:
    agent = next((value.decode("latin-1") for name, value in headers if name == b"user-agent"), "")
    return agent[:MAX_USER_AGENT] + TRUNCATED if len(agent) > MAX_USER_AGENT else agent


def response_status(code: int, body: Any = None) -> dict[str, Any]:
    """The code, and a ``Status`` response's bounded fields, as Kubernetes copies them."""
    status: dict[str, Any] = {"metadata": {}}
    if isinstance(body, dict) and body.get("kind") == "Status":
        for key in ("status", "message", "reason", "details"):
            if body.get(key):
                status[key] = body[key]
    status["code"] = code
    return status


def authentication_failed(headers: Iterable[tuple[bytes, bytes]], query: str) -> str:
    """The message of a 401's event: which credentials were tried (kube-apiserver's wording)."""
    methods = []
    auth = next((value.decode("latin-1").strip() for name, value in headers if name == b"authorization"), "")
    scheme, _, rest = auth.partition(" ")
    if scheme.lower() == "basic" and rest:
        methods.append("basic")
    if scheme.lower() == "bearer" and rest:
        methods.append("bearer")
    if "access_token=" in query:
        methods.append("access_token")
    return f"Authentication failed, attempted: {', '.join(methods)}" if methods else \
        "Authentication failed, no credentials provided"


def without_managed_fields(obj: Any) -> Any:
    """A copy of an object (or list, or table) without ``metadata.managedFields``."""
    if not isinstance(obj, dict):
        return obj
    out = dict(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    items = out.get("items")
    if isinstance(items, list):
        out["items"] = [without_managed_fields(item) for item in items]
    rows = out.get("rows")
    if isinstance(rows, list):
        out["rows"] = [{**row, "object": without_managed_fields(row.get("object"))} if isinstance(row, dict) else row
                       for row in rows]
    return out
