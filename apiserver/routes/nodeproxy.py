"""``GET /api/v1/nodes/{name}/proxy/{path}``: a node's read-only kubelet endpoints, through the API server.

Authorised as Kubernetes does (``get`` on ``nodes/proxy``: :mod:`apiserver.requestinfo` reads
the subresource from the path), but unlike Kubernetes' node proxy it forwards only the
kubelet's read-only paths: its metrics, its stats summary and its health. Anything else (exec,
run, containerLogs, a path with dot segments, percent-encoding, a query) is refused before the
kubelet is dialled: the decision is taken on the raw request path, never a decoded one, so
``%2e%2e`` or ``%2F`` cannot smuggle a different path past the allowlist.

The kubelet is reached as for logs (:mod:`apiserver.kubeletclient`): mTLS, the TLS server name
is the node name and the peer must prove it is that node's kubelet. Answers are bounded in
time and size; a kubelet that cannot be reached is a 503 Status.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request, Response

from apimachinery.errors import ApiError, method_not_allowed
from apiserver.kubeletclient import (
    KubeletTls,
    decode_body,
    kubelet_endpoint,
    peer_names_node,
    request_extensions,
)
from apiserver.registry import Registry

#: the kubelet paths the node proxy forwards: read-only, and nothing about any one container
ALLOWED_PATHS = ("metrics", "metrics/probes", "metrics/resource", "stats/summary", "healthz")
PROXY_TIMEOUT = 10.0  # seconds for the whole answer
MAX_BODY = 16 * 1024 * 1024
_PREFIX = b"/api/v1/nodes/"


def refused() -> ApiError:
    return ApiError(403, "Forbidden", "the node proxy serves only the kubelet's read-only paths: "
                    + ", ".join(ALLOWED_PATHS))


def is_node_proxy(group: str, segments: list[str]) -> bool:
    """``nodes/{name}/proxy[/...]`` in the core group: this module answers it."""
    return group == "" and len(segments) >= 3 and segments[0] == "nodes" and segments[2] == "proxy"


def proxied_path(raw_path: bytes, query: bytes) -> tuple[str, str]:
    """(node name, kubelet path) of an allowed request, read from the raw path; else the refusal."""
    if not raw_path.startswith(_PREFIX) or query:
        raise refused()
    name, sep, rest = raw_path[len(_PREFIX):].partition(b"/proxy/")
    try:
        node, path = name.decode("ascii"), rest.decode("ascii")
    except UnicodeDecodeError as err:
        raise refused() from err
    if not sep or not node or "/" in node or "%" in node or path not in ALLOWED_PATHS:
        raise refused()
    return node, path


async def node_proxy(request: Request) -> Response:
    node, path = proxied_path(request.scope.get("raw_path") or request.url.path.encode(), request.scope.get("query_string", b""))
    if request.method != "GET":
        raise method_not_allowed()
    registry: Registry = request.app.state.registry
    tls: KubeletTls | None = request.app.state.settings.kubelet_tls
    if tls is None:
        raise ApiError(503, "ServiceUnavailable", "this API server has no client certificate for kubelets")
    url = f"{kubelet_endpoint(registry, node)}/{path}"
    async with httpx.AsyncClient(timeout=httpx.Timeout(PROXY_TIMEOUT), verify=tls.context, trust_env=False) as client:
        try:
            async with client.stream("GET", url, extensions=request_extensions(node)) as upstream:
                if not peer_names_node(_peer_certificate(upstream), node):
                    raise ApiError(503, "ServiceUnavailable",
                                   f"the kubelet endpoint of node {node} is not that node's kubelet")
                body = await _read_bounded(upstream, node)
        except httpx.HTTPError as err:
            raise ApiError(503, "ServiceUnavailable", f"cannot reach the kubelet of node {node}: {err}") from err
    if upstream.status_code >= 400:
        raise ApiError.from_status(upstream.status_code, decode_body(body))
    return Response(body, status_code=upstream.status_code,
                    media_type=upstream.headers.get("content-type", "text/plain"))


async def _read_bounded(upstream: httpx.Response, node: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in upstream.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(503, "ServiceUnavailable", f"the kubelet of node {node} answered more than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _peer_certificate(response: httpx.Response) -> dict[str, Any] | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    return ssl_object.getpeercert() if ssl_object is not None else None
