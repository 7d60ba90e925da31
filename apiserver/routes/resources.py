"""The resource API: ``/api/v1/...`` and ``/apis/{group}/{version}/...`` for every served kind.

One catch-all route per API prefix resolves the path with :func:`paths.resolve` (the same
table-driven way Kubernetes' router does) and dispatches on method and subresource; each
handler only translates HTTP to :class:`~apiserver.registry.Registry` calls.

The two routes are plain Starlette routes: FastAPI's parameter injection has nothing to
inject here (the handlers read the request themselves) and cost a tenth of a write's CPU.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from starlette.routing import Route

from apimachinery import jsonio
from apimachinery.errors import ApiError, bad_request, method_not_allowed
from apimachinery.selectors import parse_field_selector, parse_label_selector
from apiserver import admission, eviction, fieldmanager, negotiation, tables
from apiserver.jsonbody import Decoded
from apiserver.negotiation import FastJSONResponse as JSONResponse
from apiserver.registry import PatchingRegistry, WriteResult
from apiserver.routes import nodeproxy
from apiserver.routes.paths import Target, resolve
from apiserver.routes.reviews import review
from apiserver.routes.streaming import routes as streaming_routes
from apiserver.routes.streaming import streaming_of
from apiserver.watch import watch_response

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def core_api(request: Request) -> Response:
    params = request.path_params
    return await dispatch(request, "", params["version"], params["path"])


async def group_api(request: Request) -> Response:
    params = request.path_params
    return await dispatch(request, params["group"], params["version"], params["path"])


routes = [
    Route("/api/{version}/{path:path}", core_api, methods=METHODS, include_in_schema=False),
    Route("/apis/{group}/{version}/{path:path}", group_api, methods=METHODS, include_in_schema=False),
    *streaming_routes,
]


async def dispatch(request: Request, group: str, version: str, path: str) -> Response:
    """Serve one request; it reads only durable state and is answered only once everything it
    read or wrote is durable. Handlers do not await between touching the store and answering,
    so the second barrier covers all they saw, even writes of others staged meanwhile."""
    store = request.app.state.store
    await store.wait_fresh()
    response = await _dispatch(request, group, version, path)
    await store.sync()
    return response


async def _dispatch(request: Request, group: str, version: str, path: str) -> Response:
    segments = path.strip("/").split("/")
    watch_prefix = segments[:1] == ["watch"]
    if watch_prefix:
        segments = segments[1:]
    elif nodeproxy.is_node_proxy(group, segments):
        return await nodeproxy.node_proxy(request)
    target = resolve(group, version, segments, request.url.path)
    registry: PatchingRegistry = request.app.state.registry
    method = request.method
    if target.rt.is_review:
        return await review(request, target)
    if target.rt.is_read_only and method != "GET":
        raise _method_not_allowed(method, request.url.path)
    if target.subresource == "token":
        from apiserver.routes.tokenrequest import token_request

        return await token_request(request, target)
    if (streaming := streaming_of(target)) is not None and method in ("GET", "POST"):
        return await streaming.http(request, target)
    if target.subresource == "log" and method == "GET":
        from apiserver.routes.logs import pod_log

        return await pod_log(request, target)
    if (
        method == "GET"
        and target.subresource is None
        and (watch_prefix or (target.name is None and _flag(request, "watch")))
    ):
        return await watch_response(request, target)
    if target.name is None:
        if method == "GET":
            return list_objects(request, registry, target)
        if method == "POST":
            return await create_object(request, registry, target)
        if method == "DELETE":
            return await delete_collection(request, registry, target)
        raise _method_not_allowed(method, request.url.path)
    if method == "GET":
        return get_object(request, registry, target)
    if method == "PUT":
        return await replace_object(request, registry, target)
    if method == "PATCH":
        return await patch_object(request, registry, target)
    if method == "DELETE":
        return await delete_object(request, registry, target)
    if method == "POST" and target.subresource in ("binding", "eviction"):
        return await post_subresource(request, registry, target)
    raise _method_not_allowed(method, request.url.path)


def _method_not_allowed(*_context: str) -> ApiError:
    """Kubernetes' 405 names neither the method nor the path (callers pass them for reading)."""
    return method_not_allowed()


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("true", "1")


def _dry_run(request: Request) -> bool:
    values = request.query_params.getlist("dryRun")
    for value in values:
        if value != "All":
            raise bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


def _field_validation(request: Request) -> str:
    return request.query_params.get("fieldValidation") or "Warn"


def _field_manager(request: Request, *, patch: bool = False, apply: bool = False) -> tuple[str, bool]:
    """The write's manager (``fieldManager``, else from the User-Agent), and a PATCH's ``force``."""
    given = request.query_params.get("fieldManager")
    force_param = request.query_params.get("force") if patch else None
    force = fieldmanager.patch_options(field_manager=given, force=force_param, apply=apply)
    return fieldmanager.manager_name(given, request.headers.get("user-agent")), force


def object_response(
    request: Request, obj: dict[str, Any], *, status: int = 200, warnings: list[str] | None = None
) -> Response:
    headers = {}
    if warnings:
        limit = _WARNING_ITEM_RUNES if sum(len(w) for w in warnings) > _WARNING_TOTAL_RUNES else None
        headers["Warning"] = ", ".join(f'299 - "{_warning_text(w, limit)}"' for w in warnings[:20])
    if negotiation.wants_table(request.headers.get("accept")) and obj.get("kind") not in ("Status", "Scale"):
        obj = tables.to_table(
            obj["kind"],
            [obj],
            resource_version=obj["metadata"].get("resourceVersion", ""),
            now=datetime.now(UTC),
            include_object=request.query_params.get("includeObject") or "Metadata",
        )
    return JSONResponse(obj, status_code=status, headers=headers)


# Kubernetes keeps warnings whole until they add up to 4 Ki characters, then cuts each to 256.
_WARNING_TOTAL_RUNES = 4 * 1024
_WARNING_ITEM_RUNES = 256


def _warning_text(text: str, limit: int | None = _WARNING_ITEM_RUNES) -> str:
    """A warning as a quoted header value: quotes and backslashes escaped, control characters
    dropped, anything beyond ASCII as ``\\uXXXX`` (not every HTTP client decodes UTF-8 headers)."""
    printable = "".join(c if c.isprintable() else " " for c in text[:limit])
    escaped = printable.replace("\\", "\\\\").replace('"', '\\"')
    return escaped.encode("ascii", "backslashreplace").decode("ascii")


def get_object(request: Request, registry: PatchingRegistry, target: Target) -> Response:
    assert target.name is not None
    if target.subresource == "scale":
        return JSONResponse(registry.get_scale(target.rt, target.namespace, target.name))
    return object_response(request, registry.get(target.rt, target.namespace, target.name))


def list_objects(request: Request, registry: PatchingRegistry, target: Target) -> Response:
    query = request.query_params
    labels = parse_label_selector(query["labelSelector"]) if query.get("labelSelector") else None
    fields = parse_field_selector(query["fieldSelector"]) if query.get("fieldSelector") else None
    try:
        limit = max(0, int(query.get("limit") or 0))
    except ValueError:
        raise bad_request(f'limit: Invalid value: "{query.get("limit")}": must be an integer') from None
    page = registry.list(
        target.rt,
        target.namespace,
        labels=labels,
        fields=fields,
        limit=limit,
        continue_token=query.get("continue") or "",
    )
    if negotiation.wants_table(request.headers.get("accept")):
        table = tables.to_table(
            target.rt.kind,
            page.items,
            resource_version=str(page.resource_version),
            now=datetime.now(UTC),
            include_object=query.get("includeObject") or "Metadata",
            continue_token=page.continue_token,
        )
        return JSONResponse(table)
    meta: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
    if page.continue_token:
        meta["continue"] = page.continue_token
    head = jsonio.dumps({"kind": f"{target.rt.kind}List", "apiVersion": target.rt.api_version, "metadata": meta})
    return Response(head[:-1] + b',"items":' + page.encoded_items() + b"}", media_type="application/json")


async def _body(request: Request, *, allow_patch: bool = False) -> Any:
    return (await _decoded(request, allow_patch=allow_patch)).value


async def _decoded(request: Request, *, allow_patch: bool = False) -> Decoded:
    raw = await request.body()
    return negotiation.decode_request(raw, request.headers.get("content-type"), allow_patch=allow_patch)


async def create_object(request: Request, registry: PatchingRegistry, target: Target) -> Response:
    decoded = await _decoded(request)
    result = registry.create(
        target.rt,
        target.namespace,
        decoded.value,
        dry_run=_dry_run(request),
        field_validation=_field_validation(request),
        duplicates=decoded.duplicates,
        field_manager=_field_manager(request)[0],
    )
    return object_response(request, result.obj, status=201, warnings=result.warnings)


async def replace_object(request: Request, registry: PatchingRegistry, target: Target) -> Response:
    assert target.name is not None
    decoded = await _decoded(request)
    if target.subresource == "scale":
        result = registry.update_scale(
            target.rt, target.namespace, target.name, decoded.value, dry_run=_dry_run(request),
            field_manager=_field_manager(request)[0],
        )
        return JSONResponse(result.obj)
    result = registry.update(
        target.rt,
        target.namespace,
        target.name,
        decoded.value,
        subresource=target.subresource,
        dry_run=_dry_run(request),
        field_validation=_field_validation(request),
        duplicates=decoded.duplicates,
        field_manager=_field_manager(request)[0],
    )
    return object_response(request, result.obj, warnings=result.warnings)


async def patch_object(request: Request, registry: PatchingRegistry, target: Target) -> Response:
    assert target.name is not None
    ptype = negotiation.patch_type(request.headers.get("content-type"))
    decoded = await _decoded(request, allow_patch=True)
    manager, force = _field_manager(request, patch=True, apply=ptype == "apply")
    result: WriteResult = registry.patch(
        target.rt,
        target.namespace,
        target.name,
        decoded.value,
        ptype,
        subresource=target.subresource,
        dry_run=_dry_run(request),
        field_validation=_field_validation(request),
        duplicates=decoded.duplicates,
        field_manager=manager,
        force=force,
    )
    status = 201 if result.created else 200
    if target.subresource == "scale":
        return JSONResponse(result.obj, status_code=status)
    return object_response(request, result.obj, status=status, warnings=result.warnings)


async def _delete_options(request: Request) -> dict[str, Any]:
    raw = await request.body()
    body = negotiation.decode_body(raw, request.headers.get("content-type")) if raw.strip() else None
    query = request.query_params
    return admission.delete_options(
        body, grace_period=query.get("gracePeriodSeconds"), propagation=query.get("propagationPolicy")
    )


async def delete_object(request: Request, registry: PatchingRegistry, target: Target) -> Response:
    assert target.name is not None
    options = await _delete_options(request)
    obj = registry.delete(target.rt, target.namespace, target.name, options, dry_run=_dry_run(request))
    return object_response(request, obj)


async def delete_collection(request: Request, registry: PatchingRegistry, target: Target) -> Response:
    options = await _delete_options(request)
    query = request.query_params
    labels = parse_label_selector(query["labelSelector"]) if query.get("labelSelector") else None
    fields = parse_field_selector(query["fieldSelector"]) if query.get("fieldSelector") else None
    page = registry.list(target.rt, target.namespace, labels=labels, fields=fields)
    deleted = []
    for obj in page.items:
        meta = obj["metadata"]
        try:
            deleted.append(
                registry.delete(
                    target.rt, meta.get("namespace"), meta["name"], options, dry_run=_dry_run(request)
                )
            )
        except ApiError as err:
            if err.code != 404:
                raise
    body = {
        "kind": f"{target.rt.kind}List",
        "apiVersion": target.rt.api_version,
        "metadata": {"resourceVersion": str(registry.store.current_revision())},
        "items": deleted,
    }
    return JSONResponse(body)


async def post_subresource(request: Request, registry: PatchingRegistry, target: Target) -> Response:
    assert target.name is not None and target.namespace is not None
    body = await _body(request)
    if target.subresource == "binding":
        registry.bind(target.namespace, target.name, body)
    else:  # eviction: a deletion the pod's disruption budget allows
        if not isinstance(body, dict):
            raise bad_request("the body of an eviction must be an Eviction object")
        options = admission.delete_options(body.get("deleteOptions"), grace_period=None, propagation=None)
        eviction.evict(registry, target.namespace, target.name, options)
    return JSONResponse(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
        status_code=201,
    )
