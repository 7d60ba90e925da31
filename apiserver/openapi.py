"""The OpenAPI v3 documents ``kubectl apply`` downloads before it writes anything.

With its default ``--validate=strict`` kubectl fetches the index at ``/openapi/v3`` and the
document of the object's group/version, looks for a ``patch`` operation tagged with the object's
``x-kubernetes-group-version-kind`` and checks that it takes a ``fieldValidation`` query
parameter. If so it skips client-side validation and sends ``fieldValidation=Strict``, leaving
unknown-field detection to the server. Without these documents ``apply`` fails outright.

``components.schemas`` holds every served kind, generated from its model by
:mod:`apiserver.openapi_schemas` with Kubernetes' names and extensions. kubectl builds strategic
merge patches from the first source that describes the kind (OpenAPI v3 schemas, then OpenAPI v2,
then its compiled-in Go types), so the schemas' ``x-kubernetes-patch-merge-key`` markers are
taken from the same table the server merges by; ``kubectl explain`` reads the same schemas.

The documents are static, so they are built once and cached; the index's ``?hash=`` lets
kubectl cache them too and refetch only when they change.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from apimachinery.resources import METRICS_RESOURCES, RESOURCES, ResourceType, advertised_group_versions
from apiserver.discovery import GIT_VERSION, resource_verbs, subresource_info
from apiserver.openapi_schemas import schemas_for, typed_models

Doc = dict[str, Any]

PATCH_CONTENT_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)

_QUERY_PARAMS: dict[str, tuple[str, str]] = {
    "allowWatchBookmarks": ("boolean", "Request watch events with type BOOKMARK."),
    "command": ("string", "The command to execute; repeat for each argument."),
    "container": ("string", "The container to address; defaults to the only container."),
    "continue": ("string", "The continue token returned by a previous paginated list."),
    "dryRun": ("string", "When present (All), modifications are not persisted."),
    "fieldManager": ("string", "A name for the actor making these changes."),
    "fieldSelector": ("string", "Restrict the returned objects by their fields."),
    "fieldValidation": ("string", "How to treat unknown or duplicate fields: Ignore, Warn or Strict."),
    "follow": ("boolean", "Follow the log stream of the pod."),
    "force": ("boolean", "Force apply requests, re-acquiring conflicting fields."),
    "gracePeriodSeconds": ("integer", "Seconds before the object should be deleted."),
    "labelSelector": ("string", "Restrict the returned objects by their labels."),
    "limit": ("integer", "Maximum number of objects to return in one list call."),
    "previous": ("boolean", "Return the logs of the previous, terminated container."),
    "propagationPolicy": ("string", "Whether and how dependents are garbage collected."),
    "resourceVersion": ("string", "Which version of the resource a list or watch starts from."),
    "resourceVersionMatch": ("string", "How resourceVersion applies to list calls."),
    "sendInitialEvents": ("boolean", "Start a watch with synthetic events for existing objects."),
    "sinceSeconds": ("integer", "Only logs newer than this many seconds."),
    "stderr": ("boolean", "Redirect the standard error stream."),
    "stdin": ("boolean", "Redirect the standard input stream."),
    "stdout": ("boolean", "Redirect the standard output stream."),
    "tailLines": ("integer", "Number of lines from the end of the log to show."),
    "timeoutSeconds": ("integer", "Timeout for the list/watch call."),
    "timestamps": ("boolean", "Prefix every log line with an RFC3339 timestamp."),
    "tty": ("boolean", "Allocate a terminal for the exec call."),
    "ports": ("integer", "List of ports to forward; required when using a WebSocket."),
    "watch": ("boolean", "Watch for changes and return them as a stream of events."),
}
_LIST_PARAMS = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "propagationPolicy")
_LOG_PARAMS = ("container", "follow", "previous", "sinceSeconds", "tailLines", "timestamps")
_EXEC_PARAMS = ("command", "container", "stderr", "stdin", "stdout", "tty")
_PORTFORWARD_PARAMS = ("ports",)

_OBJECT = {"type": "object"}


@dataclass(frozen=True)
class _Op:
    """One HTTP operation, named the way Kubernetes names its operationIds."""

    method: str  # get / put / patch / post / delete
    action: str  # x-kubernetes-action
    verb: str  # operationId prefix: read, list, create, replace, patch, delete, connectGet...
    params: tuple[str, ...] = ()
    body: tuple[str, ...] = ()  # accepted request content types
    returns: str = "application/json"
    collection: bool = False  # deletecollection: ``deleteAppsV1CollectionNamespacedDeployment``


_READ = _Op("get", "get", "read")
_REPLACE = _Op("put", "put", "replace", _WRITE_PARAMS, ("application/json",))
_PATCH = _Op("patch", "patch", "patch", (*_WRITE_PARAMS, "force"), PATCH_CONTENT_TYPES)
_DELETE = _Op("delete", "delete", "delete", _DELETE_PARAMS, ("application/json",))
_LIST = _Op("get", "list", "list", _LIST_PARAMS)
_CREATE = _Op("post", "post", "create", _WRITE_PARAMS, ("application/json",))
_DELETE_COLLECTION = _Op(
    "delete",
    "deletecollection",
    "delete",
    (*_LIST_PARAMS, *_DELETE_PARAMS),
    ("application/json",),
    collection=True,
)


def _connect(params: tuple[str, ...]) -> tuple[_Op, ...]:
    """A streaming subresource: ``connect`` by GET and by POST, answering any content type."""
    return (_Op("get", "connect", "connectGet", params, returns="*/*"),
            _Op("post", "connect", "connectPost", params, returns="*/*"))


def _subresource_ops(name: str) -> tuple[_Op, ...]:
    """The operations of each subresource, by what Kubernetes serves there."""
    match name:
        case "status" | "scale" | "ephemeralcontainers":
            return (_READ, _REPLACE, _PATCH)
        case "log":
            return (_Op("get", "get", "read", _LOG_PARAMS, returns="text/plain"),)
        case "binding" | "eviction" | "token":
            return (_CREATE,)
        case "finalize":
            return (_REPLACE,)
        case "exec":
            return _connect(_EXEC_PARAMS)
        case "attach":
            return _connect(tuple(p for p in _EXEC_PARAMS if p != "command"))
        case "portforward":
            return _connect(_PORTFORWARD_PARAMS)
    raise KeyError(name)


# --- building one group/version document ------------------------------------------------------


def _group_title(group: str) -> str:
    """``""`` -> Core, ``apps`` -> Apps, ``coordination.k8s.io`` -> Coordination (operationId style)."""
    if not group:
        return "Core"
    return "".join(part.capitalize() for part in group.removesuffix(".k8s.io").split("."))


def _gvk(group: str, version: str, kind: str) -> Doc:
    return {"group": group, "version": version, "kind": kind}


def _parameter(name: str) -> Doc:
    schema_type, description = _QUERY_PARAMS[name]
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": schema_type},
        "uniqueItems": True,
    }


def _path_parameters(namespaced: bool, named: bool) -> list[Doc]:
    params = []
    if named:
        params.append({"name": "name", "in": "path", "required": True, "schema": {"type": "string"}})
    if namespaced:
        params.append({"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}})
    params.append({"name": "pretty", "in": "query", "schema": {"type": "string"}})
    return params


def _responses(op: _Op) -> Doc:
    schema = {"type": "string"} if op.returns == "text/plain" else _OBJECT
    ok = {"description": "OK", "content": {op.returns: {"schema": schema}}}
    responses: Doc = {"200": ok, "401": {"description": "Unauthorized"}}
    if op.method in ("post", "put", "patch"):
        responses["201"] = {"description": "Created", "content": {"application/json": {"schema": _OBJECT}}}
    if op.method in ("post", "delete"):
        responses["202"] = {"description": "Accepted", "content": {"application/json": {"schema": _OBJECT}}}
    return responses


def _operation(op: _Op, *, op_id: str, tag: str, gvk: Doc) -> Doc:
    doc: Doc = {
        "tags": [tag],
        "operationId": op_id,
        "parameters": [_parameter(p) for p in op.params],
        "responses": _responses(op),
        "x-kubernetes-action": op.action,
        "x-kubernetes-group-version-kind": gvk,
    }
    if op.body:
        doc["requestBody"] = {"content": {t: {"schema": _OBJECT} for t in op.body}, "required": True}
    return doc


def _path_item(
    ops: tuple[_Op, ...], *, noun: str, rt: ResourceType, gvk: Doc, named: bool, namespaced: bool
) -> Doc:
    """A path with its operations; ``noun`` completes each operationId (``NamespacedDeploymentScale``)."""
    title = f"{_group_title(rt.group)}{rt.version.capitalize()}"
    tag = f"{_group_title(rt.group).lower()}_{rt.version}"
    item: Doc = {"parameters": _path_parameters(namespaced, named)}
    for op in ops:
        op_id = f"{op.verb}{title}{'Collection' if op.collection else ''}{noun}"
        item[op.method] = _operation(op, op_id=op_id, tag=tag, gvk=gvk)
    return item


def _resource_paths(rt: ResourceType) -> Doc:
    """Collection, item and subresource paths of one resource type."""
    gvk = _gvk(rt.group, rt.version, rt.kind)
    noun = f"Namespaced{rt.kind}" if rt.namespaced else rt.kind
    base = (
        f"{rt.prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{rt.prefix}/{rt.plural}"
    )
    paths: Doc = {}
    if rt.namespaced:
        paths[f"{rt.prefix}/{rt.plural}"] = _path_item(
            (_LIST,), noun=f"{rt.kind}ForAllNamespaces", rt=rt, gvk=gvk, named=False, namespaced=False
        )
    scoped, verbs = rt.namespaced, resource_verbs(rt)
    collection_ops: tuple[_Op, ...] = (_LIST, _CREATE, _DELETE_COLLECTION) if "deletecollection" in verbs else (
        _LIST, _CREATE)
    item_ops: tuple[_Op, ...] = (_READ, _REPLACE, _PATCH, _DELETE)
    if rt in METRICS_RESOURCES:  # get and list only
        collection_ops, item_ops = (_LIST,), (_READ,)
    paths[base] = _path_item(collection_ops, noun=noun, rt=rt, gvk=gvk, named=False, namespaced=scoped)
    paths[f"{base}/{{name}}"] = _path_item(item_ops, noun=noun, rt=rt, gvk=gvk, named=True, namespaced=scoped)
    for name in sorted(rt.subresources):
        sub = subresource_info(rt, name)
        sub_gvk = _gvk(sub.group if sub.group is not None else rt.group, sub.version or rt.version, sub.kind)
        paths[f"{base}/{{name}}/{name}"] = _path_item(
            _subresource_ops(name),
            noun=f"{noun}{name.capitalize()}",
            rt=rt,
            gvk=sub_gvk,
            named=True,
            namespaced=scoped,
        )
    return paths


def _schemas(served: list[ResourceType]) -> Doc:
    """The served kinds, a list kind for each, and the kinds their subresources take and return."""
    kinds = {rt.model: None for rt in served}
    models = {(m.API_VERSION, m.KIND): m for m in typed_models()}
    for rt in served:
        for name in rt.subresources:
            sub = subresource_info(rt, name)
            group = sub.group if sub.group is not None else rt.group
            version = sub.version or rt.version
            model = models.get((f"{group}/{version}" if group else version, sub.kind))
            if model is not None:
                kinds[model] = None
    lists = [rt.model for rt in served if not rt.is_review]
    return schemas_for(list(kinds), lists=lists)


@functools.cache
def _document(group: str, version: str) -> Doc | None:
    served = [rt for rt in (*RESOURCES, *METRICS_RESOURCES) if rt.group == group and rt.version == version]
    if not served:
        return None
    paths: Doc = {}
    for rt in served:
        paths.update(_resource_paths(rt))
    return {
        "openapi": "3.0.0",
        "info": {"title": "podvisor", "version": GIT_VERSION},
        "paths": paths,
        "components": {
            "schemas": _schemas(served),
            "securitySchemes": {
                "BearerToken": {
                    "type": "apiKey",
                    "description": "Bearer Token authentication",
                    "name": "authorization",
                    "in": "header",
                }
            },
        },
        "security": [{"BearerToken": []}],
    }


@functools.cache
def _hash(group: str, version: str) -> str:
    """A content hash (SHA-512, upper-case hex, as Kubernetes uses) of the canonical JSON."""
    doc = _document(group, version)
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha512(canonical).hexdigest().upper()


def _index_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


# --- public API ------------------------------------------------------------------------------


def openapi_v3_index() -> Doc:
    """``/openapi/v3``: one entry per served group/version (every advertised one must be here)."""
    paths = {}
    for group, version in advertised_group_versions():
        key = _index_key(group, version)
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={_hash(group, version)}"}
    return {"paths": paths}


def openapi_v3_document(group: str, version: str) -> Doc | None:
    """``/openapi/v3/api/v1`` or ``/openapi/v3/apis/<group>/<version>``; None when not served.

    A fresh copy each call, so a caller that decorates the document cannot corrupt the cache.
    """
    doc = _document(group, version)
    return copy.deepcopy(doc) if doc is not None else None


@dataclass(frozen=True)
class Served:
    """A document as the server sends it: its JSON bytes and the hash its index URL carries."""

    key: str  # ``api/v1``, ``apis/apps/v1``
    body: bytes
    hash: str


@functools.cache
def _served(group: str, version: str) -> Served | None:
    doc = _document(group, version)
    if doc is None:
        return None
    body = json.dumps(doc, separators=(",", ":")).encode()
    return Served(_index_key(group, version), body, _hash(group, version))


def served_document_at(path: str) -> Served | None:
    """The serialized document of an index path, built and encoded once per process."""
    match path.strip("/").split("/"):
        case ["api", version]:
            return _served("", version)
        case ["apis", group, version]:
            return _served(group, version)
    return None


def openapi_v3_document_at(path: str) -> Doc | None:
    """The document an index URL points at: ``api/v1``, ``apis/apps/v1`` (leading ``/`` optional)."""
    parts = path.strip("/").split("/")
    match parts:
        case ["api", version]:
            return openapi_v3_document("", version)
        case ["apis", group, version]:
            return openapi_v3_document(group, version)
    return None
