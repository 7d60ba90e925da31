"""``GET .../pods/{name}/log``: proxied to the kubelet of the pod's node, as Kubernetes does.

The kubelet publishes its endpoint in ``Node.status.daemonEndpoints.kubeletEndpoint.Port`` and
its address in ``status.addresses``. Both are only hints (any client that may write a Node's
status can change them): the connection is HTTPS, the kubelet must prove it is that node, and
the API server presents its client certificate, never a token (:mod:`apiserver.kubeletclient`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from apimachinery import resources as res
from apimachinery.errors import ApiError, bad_request
from apimachinery.logoptions import parse_log_options
from apiserver.kubeletclient import (
    KubeletTls,
    decode_body,
    kubelet_endpoint,
    peer_names_node,
    request_extensions,
)
from apiserver.registry import Registry
from apiserver.routes.paths import Target

LOG_PARAMS = ("follow", "tailLines", "timestamps", "sinceSeconds", "sinceTime", "previous", "limitBytes")


def _container(pod: dict[str, Any], requested: str | None) -> str:
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    init_names = [c["name"] for c in spec.get("initContainers") or []]
    ephemeral_names = [c["name"] for c in spec.get("ephemeralContainers") or []]
    name = pod["metadata"]["name"]
    if requested:
        if requested not in names + init_names + ephemeral_names:
            raise bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    if len(names) == 1:
        return names[0]
    raise bad_request(
        f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        + (f" or one of the init containers: [{' '.join(init_names)}]" if init_names else "")
        + (f" or one of the ephemeral containers: [{' '.join(ephemeral_names)}]" if ephemeral_names else "")
    )


async def pod_log(request: Request, target: Target) -> Response:
    registry: Registry = request.app.state.registry
    assert target.name is not None
    parse_log_options(request.query_params, pod=target.name)  # refuse bad options before proxying
    pod = registry.get(res.PODS, target.namespace, target.name)
    container = _container(pod, request.query_params.get("container"))
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        raise bad_request(f'pod "{target.name}" is not scheduled to a node yet; no logs are available')
    base = kubelet_endpoint(registry, node)
    params = {k: v for k, v in request.query_params.items() if k in LOG_PARAMS}
    url = f"{base}/containerLogs/{target.namespace}/{target.name}/{container}"
    tls: KubeletTls | None = request.app.state.settings.kubelet_tls
    if tls is None:
        raise ApiError(503, "ServiceUnavailable", "this API server has no client certificate for kubelets")
    client = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=5.0), verify=tls.context, trust_env=False)
    try:
        upstream = await client.send(
            client.build_request("GET", url, params=params, extensions=request_extensions(node)), stream=True)
    except httpx.HTTPError as err:
        await client.aclose()
        raise ApiError(503, "ServiceUnavailable", f"cannot reach the kubelet of node {node}: {err}") from err
    if not peer_names_node(_peer_certificate(upstream), node):
        await upstream.aclose()
        await client.aclose()
        raise ApiError(503, "ServiceUnavailable", f"the kubelet endpoint of node {node} is not that node's kubelet")
    if upstream.status_code >= 400:
        body = await upstream.aread()
        await upstream.aclose()
        await client.aclose()
        raise ApiError.from_status(upstream.status_code, decode_body(body))

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        finally:
            await upstream.aclose()
            await client.aclose()

    return StreamingResponse(relay(), media_type="text/plain")


def _peer_certificate(response: httpx.Response) -> dict[str, Any] | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    return ssl_object.getpeercert() if ssl_object is not None else None

