"""The API client: the only code that speaks HTTP (and WebSocket streams) to the apiserver.

Controllers, the scheduler, kubelets and podctl all use it, in-process or not, so every component
is a plain Kubernetes client. Typed calls take and return the pydantic models; ``*_raw`` calls
work on wire dicts (podctl applies arbitrary manifests). Failures raise :class:`ApiError` with
the Status the server sent. :mod:`apimachinery.api` names the calls components rely on, as
Protocols this client satisfies (and the in-memory fake too).
"""

from __future__ import annotations

import asyncio
import builtins
import json
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from httpx_aiohttp import AiohttpTransport
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from apimachinery import jsonio
from apimachinery.api import Api, WatchEvent
from apimachinery.errors import ApiError
from apimachinery.models.base import TypedObject
from apimachinery.resources import ResourceType, by_model

T = TypeVar("T", bound=TypedObject)
__all__ = ["ApiClient", "WatchEvent", "PATCH_CONTENT_TYPES"]

PATCH_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}

MAX_THROTTLE_RETRIES = 10  # client-go's retries of a 429
MAX_RETRY_AFTER_SECONDS = 10.0
#: how long an idle connection is kept for the next call: past the 10 s between a kubelet's
#: heartbeats (a shorter one made every heartbeat a new TLS handshake, and a thousand nodes'
#: handshakes starved the server), under the server's own idle timeout (90 s, kube-apiserver's)
IDLE_CONNECTION_TIMEOUT = 60.0
UNIX_SCHEME = "unix://"  # a server URL naming a Unix socket: the apiserver's in-process loopback


def _ssl_context(ca_data: bytes | None, insecure: bool) -> ssl.SSLContext | bool:
    if insecure:
        return False
    if ca_data:
        return ssl.create_default_context(cadata=ca_data.decode())
    return True


class ApiClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        ca_data: bytes | None = None,
        insecure: bool = False,
        timeout: float = 30.0,
        user_agent: str = "podvisor",
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url.rstrip("/")
        self.user_agent = user_agent
        verify = _ssl_context(ca_data, insecure)
        self._ws_headers = {k: v for k, v in headers.items() if k != "Accept"}
        self._ws_ssl = verify
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                              keepalive_expiry=IDLE_CONNECTION_TIMEOUT)
        url, uds = self.base_url, None
        if url.startswith(UNIX_SCHEME):  # the server's loopback socket: plain HTTP, no TLS
            url, uds = "http://localhost", url[len(UNIX_SCHEME):]
        # httpcore scans its whole pool (TLS attributes included) on every request, which made
        # the client cost ~2 ms of CPU per call with watches open; aiohttp's pool does not.
        self._http = httpx.AsyncClient(
            base_url=url,
            headers=headers,
            verify=verify,
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport or AiohttpTransport(verify=verify, limits=limits, uds=uds),
            limits=limits,
        )

    @classmethod
    def from_kubeconfig(cls, path: Path | str | None = None, *, context: str | None = None, **kwargs: Any) -> ApiClient:
        from apimachinery.kubeconfig import load_kubeconfig

        cfg = load_kubeconfig(Path(path) if path else None, context)
        return cls(cfg.server, token=cfg.token, ca_data=cfg.ca_data, insecure=cfg.insecure, **kwargs)

    async def close(self) -> None:
        await self._http.aclose()

    async def open_websocket(self, path: str, *, params: Mapping[str, str | Sequence[str]] | None = None,
                             subprotocols: Sequence[str] = ()) -> ClientConnection:
        """A WebSocket to ``path`` (``pods/exec``, ``attach``, ``portforward``), with this client's credentials.

        A refused handshake raises the Status the server answered it with, as a request would.
        """
        if not self.base_url.startswith(("https://", "http://")):
            raise ApiError(400, "BadRequest", f"WebSocket streams need an http(s) server, not {self.base_url}")
        url = "ws" + self.base_url[len("http"):] + path + (f"?{urlencode(params, doseq=True)}" if params else "")
        context: ssl.SSLContext | None = None
        if url.startswith("wss://"):
            if isinstance(self._ws_ssl, ssl.SSLContext):
                context = self._ws_ssl
            else:
                context = ssl.create_default_context()
                if self._ws_ssl is False:
                    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        try:
            return await ws_connect(url, ssl=context, additional_headers=self._ws_headers, proxy=None,
                                    subprotocols=[Subprotocol(p) for p in subprotocols] or None, compression=None,
                                    open_timeout=30, max_size=None, user_agent_header=None)
        except InvalidStatus as err:
            body = bytes(err.response.body or b"")
            raise ApiError.from_status(err.response.status_code, _decode(body)) from err
        except (OSError, InvalidHandshake, TimeoutError) as err:
            raise ApiError(503, "ServiceUnavailable", f"cannot open a stream to {self.base_url}: {err}") from err

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- raw requests ----------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Any:
        hdrs = dict(headers or {})
        content = None
        if body is not None:
            content = jsonio.dumps(body)
            hdrs["Content-Type"] = content_type
        for attempt in range(MAX_THROTTLE_RETRIES + 1):
            try:
                response = await self._http.request(method, path, params=_clean(params), content=content,
                                                    headers=hdrs)
            except httpx.TransportError as err:
                raise ApiError(503, "ServiceUnavailable",
                               f"cannot reach the apiserver at {self.base_url}: {err}") from err
            if response.status_code != 429 or "retry-after" not in response.headers or attempt == MAX_THROTTLE_RETRIES:
                break
            # Throttled (the request was not served, so any verb may be sent again): wait as
            # long as the server asks, as client-go does, up to its ten retries. A 429 without
            # Retry-After is an answer, not throttling (an eviction a disruption budget refuses):
            # client-go returns it to the caller, and so do we.
            await asyncio.sleep(_retry_after(response))
        if response.status_code >= 400:
            raise ApiError.from_status(response.status_code, _json_or_text(response))
        if response.headers.get("content-type", "").startswith("application/json"):
            return jsonio.loads(response.content)
        return response.text

    async def stream_lines(self, path: str, *, params: dict[str, Any] | None = None,
                           timeout: float | None = None) -> AsyncIterator[bytes]:
        """GET a streaming endpoint (watch, log follow) and yield its lines."""
        try:
            async with self._http.stream("GET", path, params=_clean(params),
                                         timeout=httpx.Timeout(timeout, connect=10.0)) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise ApiError.from_status(response.status_code, _json_or_text(response))
                async for line in response.aiter_lines():
                    yield line.encode()
        except httpx.TransportError as err:
            raise ApiError(503, "ServiceUnavailable", f"connection to the apiserver lost: {err}") from err

    # -- typed calls -----------------------------------------------------------------------

    async def get(self, model: type[T], name: str, namespace: str | None = None) -> T:
        return model.model_validate(await self.request("GET", by_model(model).path(namespace, name)))

    async def list(
        self,
        model: type[T],
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 0,
    ) -> tuple[builtins.list[T], str]:
        items, rv = await self.list_raw(by_model(model), namespace, label_selector=label_selector,
                                        field_selector=field_selector, limit=limit)
        return [model.model_validate(i) for i in items], rv

    async def create(self, obj: T, namespace: str | None = None) -> T:
        rt = by_model(type(obj))
        ns = namespace or obj.metadata.namespace  # type: ignore[attr-defined]
        return type(obj).model_validate(await self.request("POST", rt.path(ns), body=obj.to_dict()))

    async def replace(self, obj: T, *, subresource: str | None = None) -> T:
        rt = by_model(type(obj))
        meta = obj.metadata  # type: ignore[attr-defined]
        path = rt.path(meta.namespace, meta.name, subresource)
        return type(obj).model_validate(await self.request("PUT", path, body=obj.to_dict()))

    async def replace_status(self, obj: T) -> T:
        return await self.replace(obj, subresource="status")

    async def patch(
        self,
        model: type[T],
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: str = "merge",
        subresource: str | None = None,
    ) -> T:
        path = by_model(model).path(namespace, name, subresource)
        result = await self.request("PATCH", path, body=patch, content_type=PATCH_CONTENT_TYPES[patch_type])
        return model.model_validate(result)

    async def delete(
        self,
        model: type[TypedObject],
        name: str,
        namespace: str | None = None,
        *,
        grace_period: int | None = None,
        propagation: str | None = None,
        preconditions: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return await self.delete_raw(by_model(model), name, namespace, grace_period=grace_period,
                                     propagation=propagation, preconditions=preconditions)

    async def bind(self, namespace: str, pod: str, node: str, *, uid: str | None = None) -> None:
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod, "namespace": namespace},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        if uid:
            body["metadata"]["uid"] = uid
        await self.request("POST", f"/api/v1/namespaces/{namespace}/pods/{pod}/binding", body=body)

    # -- raw (dict) calls ------------------------------------------------------------------

    async def list_raw(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 0,
    ) -> tuple[builtins.list[dict[str, Any]], str]:
        """All pages of a list; returns the items and the list's resourceVersion."""
        items: builtins.list[dict[str, Any]] = []
        token = ""
        while True:
            params = {"labelSelector": label_selector, "fieldSelector": field_selector,
                      "limit": limit or None, "continue": token or None}
            body = await self.request("GET", rt.path(namespace), params=params)
            items.extend(body.get("items") or [])
            token = (body.get("metadata") or {}).get("continue") or ""
            if not token:
                return items, str((body.get("metadata") or {}).get("resourceVersion") or "")

    async def delete_raw(
        self,
        rt: ResourceType,
        name: str,
        namespace: str | None = None,
        *,
        grace_period: int | None = None,
        propagation: str | None = None,
        preconditions: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if propagation:
            options["propagationPolicy"] = propagation
        if preconditions:
            options["preconditions"] = preconditions
        result: dict[str, Any] = await self.request("DELETE", rt.path(namespace, name), body=options)
        return result

    async def watch_raw(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        resource_version: str = "",
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
        bookmarks: bool = True,
        send_initial_events: bool = False,
    ) -> AsyncIterator[WatchEvent]:
        params: dict[str, Any] = {
            "watch": "true",
            "resourceVersion": resource_version or None,
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
            "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true" if bookmarks else None,
        }
        if send_initial_events:
            params["sendInitialEvents"] = "true"
            params["resourceVersionMatch"] = "NotOlderThan"
        async for line in self.stream_lines(rt.path(namespace), params=params, timeout=timeout_seconds + 30):
            if line.strip():
                data = jsonio.loads(line)
                yield WatchEvent(data.get("type", ""), data.get("object") or {})


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("retry-after", "1"))
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None and v != ""}


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return jsonio.loads(response.content)
    except ValueError:
        return response.text


def _satisfies_api(client: ApiClient) -> Api:
    """mypy checks here that ApiClient offers every call of :class:`apimachinery.api.Api`."""
    return client


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
