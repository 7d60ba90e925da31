"""Discovery documents: what ``kubectl`` and client-go read before every command.

Every document is a pure function of :data:`apimachinery.resources.RESOURCES`, so a kind added
to that table is advertised everywhere at once, and nothing is advertised that is not served
(kubectl logs errors for a group/version it cannot fetch). Two shapes exist:

* plain discovery: ``/api`` (APIVersions), ``/apis`` (APIGroupList), then one
  ``APIResourceList`` per group/version;
* aggregated discovery (``apidiscovery.k8s.io/v2``): ``/api`` and ``/apis`` each return every
  resource at once when the client's Accept header asks for it, saving kubectl one round trip
  per group/version.

Subresources carry the kind their endpoint returns: ``deployments/scale`` is an
``autoscaling/v1`` Scale, although podvisor serves no ``autoscaling`` group of its own.
"""

from __future__ import annotations

import base64
import hashlib
import platform
import sys
from dataclasses import dataclass
from typing import Any

from apimachinery.resources import (
    METRICS_RESOURCES,
    RESOURCES,
    ResourceType,
    advertised_group_versions,
    group_versions,
)
from apimachinery.version import GIT_VERSION, KUBERNETES_MAJOR, KUBERNETES_MINOR

Doc = dict[str, Any]


AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

_AGGREGATED_PARAMS = ("apidiscovery.k8s.io", "v2", "APIGroupDiscoveryList")
_GET_PATCH_UPDATE = ("get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    """What one subresource endpoint returns and which verbs it answers."""

    kind: str
    verbs: tuple[str, ...]
    group: str | None = None  # None: the parent's group and version
    version: str | None = None


def subresource_info(rt: ResourceType, name: str) -> Subresource:
    """The facts Kubernetes publishes for each subresource podvisor serves."""
    match name:
        case "status":
            return Subresource(rt.kind, _GET_PATCH_UPDATE)
        case "scale":
            return Subresource("Scale", _GET_PATCH_UPDATE, "autoscaling", "v1")
        case "log":
            return Subresource("Pod", ("get",))
        case "binding":
            return Subresource("Binding", ("create",))
        case "exec":
            return Subresource("PodExecOptions", ("create", "get"))
        case "portforward":
            return Subresource("PodPortForwardOptions", ("create", "get"))
        case "attach":
            return Subresource("PodAttachOptions", ("create", "get"))
        case "ephemeralcontainers":
            return Subresource("Pod", _GET_PATCH_UPDATE)
        case "eviction":
            return Subresource("Eviction", ("create",), "policy", "v1")
        case "finalize":
            return Subresource(rt.kind, ("update",))
        case "token":
            return Subresource("TokenRequest", ("create",), "authentication.k8s.io", "v1")
    raise KeyError(f"{rt.plural}/{name}: no discovery facts for this subresource")


def resource_verbs(rt: ResourceType) -> list[str]:
    """Namespaces, as in Kubernetes, cannot be deleted as a collection."""
    verbs = [v for v in rt.verbs if not (rt.kind == "Namespace" and v == "deletecollection")]
    return sorted(verbs)


def storage_version_hash(rt: ResourceType) -> str:
    """Kubernetes' formula (first 8 bytes of sha256("group/version/kind"), base64): stable per kind."""
    digest = hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


#: what discovery advertises: the stored kinds and the metrics API (metrics.k8s.io) after them
ADVERTISED = (*RESOURCES, *METRICS_RESOURCES)


def _served(group: str, version: str) -> list[ResourceType]:
    return [rt for rt in ADVERTISED if rt.group == group and rt.version == version]


def _groups() -> list[tuple[str, list[str]]]:
    """Named groups (core excluded) with their versions, in ADVERTISED order."""
    groups: dict[str, list[str]] = {}
    for group, version in advertised_group_versions():
        if group:
            groups.setdefault(group, []).append(version)
    return list(groups.items())


# --- /version, /api, /apis -------------------------------------------------------------------


def version_info() -> Doc:
    """``/version``: kubectl prints ``gitVersion``; client-go checks major/minor for skew."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    return {
        "major": KUBERNETES_MAJOR,
        "minor": KUBERNETES_MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "",
        "goVersion": f"python{platform.python_version()}",
        "compiler": platform.python_implementation().lower(),
        "platform": f"{sys.platform}/{arch}",
    }


def api_versions(server_address: str) -> Doc:
    """``/api``: the legacy core group's versions and where clients reach the server."""
    return {
        "kind": "APIVersions",
        "versions": [v for g, v in group_versions() if not g],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_list() -> Doc:
    """``/apis``: every named group; the first served version is the preferred one."""
    groups = []
    for group, versions in _groups():
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


# --- /api/v1, /apis/<group>/<version> --------------------------------------------------------


def _resource_entry(rt: ResourceType) -> Doc:
    entry: Doc = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": resource_verbs(rt),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    entry["storageVersionHash"] = storage_version_hash(rt)
    return entry


def _subresource_entry(rt: ResourceType, name: str) -> Doc:
    sub = subresource_info(rt, name)
    entry: Doc = {"name": f"{rt.plural}/{name}", "singularName": "", "namespaced": rt.namespaced}
    if sub.group is not None:
        entry["group"] = sub.group
        entry["version"] = sub.version
    entry["kind"] = sub.kind
    entry["verbs"] = list(sub.verbs)
    return entry


def api_resource_list(group: str, version: str) -> Doc:
    """``/api/v1`` or ``/apis/<group>/<version>``.

    An unserved group/version yields an empty ``resources`` list; the route turns that into
    the 404 Kubernetes answers for a path it does not serve.
    """
    resources: list[Doc] = []
    for rt in _served(group, version):
        resources.append(_resource_entry(rt))
        resources.extend(_subresource_entry(rt, name) for name in sorted(rt.subresources))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


# --- aggregated discovery (apidiscovery.k8s.io/v2) -------------------------------------------


def _gvk(group: str, version: str, kind: str) -> Doc:
    return {"group": group, "version": version, "kind": kind}


def _aggregated_resource(rt: ResourceType) -> Doc:
    entry: Doc = {
        "resource": rt.plural,
        "responseKind": _gvk(rt.group, rt.version, rt.kind),
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": resource_verbs(rt),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subresources = []
    for name in sorted(rt.subresources):
        sub = subresource_info(rt, name)
        kind = _gvk(sub.group or rt.group, sub.version or rt.version, sub.kind)
        subresources.append({"subresource": name, "responseKind": kind, "verbs": list(sub.verbs)})
    if subresources:
        entry["subresources"] = subresources
    return entry


def _aggregated_group(group: str, versions: list[str]) -> Doc:
    metadata = {"name": group} if group else {}
    return {
        "metadata": metadata,
        "versions": [
            {
                "version": v,
                "resources": [_aggregated_resource(rt) for rt in _served(group, v)],
                "freshness": "Current",
            }
            for v in versions
        ],
    }


def _discovery_list(items: list[Doc]) -> Doc:
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def aggregated_core() -> Doc:
    """Aggregated ``/api``: the core group (named ``""``) with all its resources."""
    core_versions = [v for g, v in group_versions() if not g]
    return _discovery_list([_aggregated_group("", core_versions)])


def aggregated_groups() -> Doc:
    """Aggregated ``/apis``: every named group, versions in preference order."""
    return _discovery_list([_aggregated_group(g, versions) for g, versions in _groups()])


def wants_aggregated(accept_header: str) -> bool:
    """Whether the Accept header admits ``apidiscovery.k8s.io/v2`` APIGroupDiscoveryList.

    kubectl lists it first and plain ``application/json`` last; answering the aggregated form
    whenever it is acceptable (q > 0) is what the real apiserver does.
    """
    for media_range in accept_header.split(","):
        media_type, *raw_params = (part.strip() for part in media_range.split(";"))
        params = {}
        for raw in raw_params:
            key, _, value = raw.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        wanted = (params.get("g"), params.get("v"), params.get("as"))
        acceptable = _quality(params.get("q")) > 0
        if media_type.lower() == "application/json" and wanted == _AGGREGATED_PARAMS and acceptable:
            return True
    return False


def _quality(raw: str | None) -> float:
    if raw is None:
        return 1.0
    try:
        return float(raw)
    except ValueError:
        return 0.0
