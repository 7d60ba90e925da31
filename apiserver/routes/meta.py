"""Health, version, discovery and OpenAPI documents: everything a client reads before acting.

Health as kube-apiserver reports it: ``/healthz`` and ``/livez`` run only cheap in-process
checks (``ping``), so a slow disk never gets a live server restarted; ``/readyz`` also asks the
store (the ``etcd`` check, named as Kubernetes names it) and fails with 503 while the store is
stuck or cannot commit. ``?verbose`` lists every check, ``?exclude=<check>`` skips one, and
``/readyz/<check>`` runs one; a failure always lists the checks, the failing one with why.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse

from apimachinery.errors import ApiError, route_not_found
from apiserver import discovery, openapi

router = APIRouter()

STORE_CHECK_TIMEOUT = 2.0  # as kube-apiserver's --etcd-readycheck-timeout

Check = Callable[[Request], Awaitable[str | None]]  # None: passed; otherwise why it failed


async def _ping(_: Request) -> str | None:
    return None


async def _store(request: Request) -> str | None:
    try:
        return await asyncio.wait_for(request.app.state.store.health(), STORE_CHECK_TIMEOUT)
    except TimeoutError:
        return f"the store did not answer within {STORE_CHECK_TIMEOUT:g}s"


LIVE_CHECKS: dict[str, Check] = {"ping": _ping}
READY_CHECKS: dict[str, Check] = {"ping": _ping, "etcd": _store}
ENDPOINTS = {"healthz": LIVE_CHECKS, "livez": LIVE_CHECKS, "readyz": READY_CHECKS}


async def _report(request: Request, endpoint: str, checks: dict[str, Check]) -> Response:
    excluded = set(request.query_params.getlist("exclude"))
    lines, failed = [], False
    for name, check in checks.items():
        if name in excluded:
            continue
        why = await check(request)
        failed = failed or why is not None
        lines.append(f"[+]{name} ok" if why is None else f"[-]{name} failed: {why}")
    if not failed and "verbose" not in request.query_params:
        return PlainTextResponse("ok")
    lines.append(f"{endpoint} check {'failed' if failed else 'passed'}")
    return PlainTextResponse("\n".join(lines) + "\n", status_code=503 if failed else 200)


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> Response:
    return await _report(request, "healthz", LIVE_CHECKS)


@router.get("/livez", include_in_schema=False)
async def livez(request: Request) -> Response:
    return await _report(request, "livez", LIVE_CHECKS)


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    return await _report(request, "readyz", READY_CHECKS)


@router.get("/healthz/{name}", include_in_schema=False)
@router.get("/livez/{name}", include_in_schema=False)
@router.get("/readyz/{name}", include_in_schema=False)
async def one_check(request: Request, name: str) -> Response:
    endpoint = request.url.path.strip("/").split("/")[0]
    check = ENDPOINTS[endpoint].get(name)
    if check is None:
        raise ApiError(404, "NotFound", f"the server could not find the requested resource (/{endpoint}/{name})")
    why = await check(request)
    if why is None:
        return PlainTextResponse("ok")
    return PlainTextResponse(f"[-]{name} failed: {why}\n", status_code=503)


@router.get("/version", summary="Server version")
async def version() -> Response:
    return JSONResponse(discovery.version_info())


def _address(request: Request) -> str:
    host = request.url.hostname or "127.0.0.1"
    port = request.url.port or 443
    return f"{host}:{port}"


@router.get("/api", summary="Core API versions")
async def api_versions(request: Request) -> Response:
    if discovery.wants_aggregated(request.headers.get("accept", "")):
        return JSONResponse(discovery.aggregated_core(), media_type=discovery.AGGREGATED_CONTENT_TYPE)
    return JSONResponse(discovery.api_versions(_address(request)))


@router.get("/apis", summary="API groups")
async def api_groups(request: Request) -> Response:
    if discovery.wants_aggregated(request.headers.get("accept", "")):
        return JSONResponse(discovery.aggregated_groups(), media_type=discovery.AGGREGATED_CONTENT_TYPE)
    return JSONResponse(discovery.api_group_list())


@router.get("/api/{version}", summary="Core resources")
async def core_resources(version: str) -> Response:
    return _resource_list("", version)


@router.get("/apis/{group}", summary="One API group")
async def group_info(group: str) -> Response:
    for item in discovery.api_group_list()["groups"]:
        if item["name"] == group:
            return JSONResponse({"kind": "APIGroup", "apiVersion": "v1", **item})
    raise route_not_found()


@router.get("/apis/{group}/{version}", summary="Resources of an API group version")
async def group_resources(group: str, version: str) -> Response:
    return _resource_list(group, version)


def _resource_list(group: str, version: str) -> Response:
    doc = discovery.api_resource_list(group, version)
    if not doc.get("resources"):
        raise route_not_found()
    return JSONResponse(doc)


@router.get("/openapi/v3", summary="OpenAPI v3 index (what kubectl apply downloads)")
async def openapi_index() -> Response:
    return JSONResponse(openapi.openapi_v3_index())


@router.get("/openapi/v3/{path:path}", include_in_schema=False)
async def openapi_document(path: str, request: Request) -> Response:
    """A group/version document, cached as kube-openapi caches it.

    The index's ``?hash=`` names the content: with the current hash the answer is immutable (a
    client may keep it for a year), a stale hash is redirected to the current one, and the
    ETag lets a client revalidate with ``If-None-Match``.
    """
    served = openapi.served_document_at(path)
    if served is None:
        raise route_not_found()
    wanted = request.query_params.get("hash")
    if wanted is not None and wanted != served.hash:
        return RedirectResponse(f"/openapi/v3/{served.key}?hash={served.hash}", status_code=301)
    headers = {"ETag": f'"{served.hash}"', "Vary": "Accept"}
    if wanted is None:
        headers["Cache-Control"] = "no-cache, private"
    else:
        headers["Cache-Control"] = "public, immutable"
        headers["Expires"] = formatdate(time.time() + 365 * 24 * 3600, usegmt=True)
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return Response(served.body, media_type="application/json", headers=headers)
