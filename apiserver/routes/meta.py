"""Health, version, discovery and OpenAPI documents: everything a client reads before acting."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from apimachinery.errors import ApiError
from apiserver import discovery, openapi

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
@router.get("/livez", include_in_schema=False)
@router.get("/readyz", include_in_schema=False)
async def healthz() -> Response:
    return PlainTextResponse("ok")


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
    raise ApiError(404, "NotFound", f"the server could not find the requested resource (/apis/{group})")


@router.get("/apis/{group}/{version}", summary="Resources of an API group version")
async def group_resources(group: str, version: str) -> Response:
    return _resource_list(group, version)


def _resource_list(group: str, version: str) -> Response:
    doc = discovery.api_resource_list(group, version)
    if not doc.get("resources"):
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
    return JSONResponse(doc)


@router.get("/openapi/v3", summary="OpenAPI v3 index (what kubectl apply downloads)")
async def openapi_index() -> Response:
    return JSONResponse(openapi.openapi_v3_index())


@router.get("/openapi/v3/{path:path}", include_in_schema=False)
async def openapi_document(path: str) -> Response:
    parts = path.strip("/").split("/")
    doc = None
    if parts[:1] == ["api"] and len(parts) == 2:
        doc = openapi.openapi_v3_document("", parts[1])
    elif parts[:1] == ["apis"] and len(parts) == 3:
        doc = openapi.openapi_v3_document(parts[1], parts[2])
    if doc is None:
        raise ApiError(
            404, "NotFound", f"the server could not find the requested resource (/openapi/v3/{path})"
        )
    return JSONResponse(doc)
