"""What a request asks for, in authorization's terms (kube-apiserver's ``RequestInfoFactory``).

Verb, API group and version, resource, subresource, namespace and name, read from the method,
path and query the same way Kubernetes reads them, so an RBAC rule written for Kubernetes
matches the same requests here. Paths outside ``/api`` and ``/apis/<group>/<version>``
(discovery roots, ``/healthz``, ``/version``, ``/openapi``) are non-resource requests whose
verb is the lowercased HTTP method.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class RequestInfo:
    is_resource_request: bool
    path: str
    verb: str
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""

    @property
    def resource_path(self) -> str:
        """``pods/log`` / ``deployments``: a resource with its subresource, as RBAC rules name it."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


_SCOPE_KEY = "podvisor.request_info"


def request_info_of(scope: MutableMapping[str, Any]) -> RequestInfo:
    """The request's info, read once per request: audit, metrics and authorization all ask."""
    info = scope.get(_SCOPE_KEY)
    if not isinstance(info, RequestInfo):
        info = scope[_SCOPE_KEY] = request_info(scope.get("method", "GET"), scope["path"], scope.get("query_string", b""))
    return info


def request_info(method: str, path: str, query: str | bytes = "") -> RequestInfo:
    query_text = query.decode("latin-1") if isinstance(query, bytes) else query
    params = parse_qs(query_text, keep_blank_values=True) if query_text else {}
    parts = [unquote(part) if "%" in part else part for part in path.strip("/").split("/") if part]
    plain = RequestInfo(is_resource_request=False, path=path, verb=method.lower())
    if not parts or parts[0] not in ("api", "apis"):
        return plain
    group, parts = ("", parts[1:]) if parts[0] == "api" else (parts[1] if len(parts) > 1 else "", parts[2:])
    if not parts:
        return plain  # /api, /apis, /apis/<group>: discovery
    version, parts = parts[0], parts[1:]
    if not parts:
        return plain  # /api/v1, /apis/<group>/<version>: discovery
    verb = _VERBS.get(method.upper(), method.lower())
    if parts[0] == "watch":
        verb, parts = "watch", parts[1:]
    namespace = ""
    if parts and parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource = parts[0] if parts else ""
    name = parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if params.get("watch", [""])[0].lower() in ("true", "1") else "list"
    if not name and verb == "delete":
        verb = "deletecollection"
    if not name and verb in ("list", "watch"):
        name = _name_from_field_selector(params.get("fieldSelector", [""])[0])
    return RequestInfo(
        is_resource_request=True, path=path, verb=verb, api_group=group, api_version=version,
        namespace=namespace, resource=resource, subresource=subresource, name=name,
    )


def _name_from_field_selector(selector: str) -> str:
    """``metadata.name=x`` narrows a list or watch to one name, as Kubernetes reads it."""
    for term in selector.split(","):
        key, op, value = term.partition("=")
        if key.strip() == "metadata.name" and op:
            return value.removeprefix("=").strip()  # "=" or "=="
    return ""
