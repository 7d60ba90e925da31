"""Request metrics as one pure ASGI middleware, outermost but audit, so 401s and 429s count too.

Labels come from :func:`apiserver.requestinfo.request_info`, as kube-apiserver's come from its
RequestInfo, with Kubernetes' clean-up: verbs are ``GET``, ``LIST``, ``WATCH``, ``POST``, ``PUT``,
``PATCH``, ``APPLY``, ``DELETE``, ``CONNECT`` (an unknown method is ``other``); a resource the
server does not serve is ``other`` with empty group and version, and an unknown subresource or
non-resource path is ``other`` too, so a scan of random paths cannot grow the label space.
Long-running requests (watches, log and exec streams) are counted when they end and shown in
``apiserver_longrunning_requests`` while open, never in the duration histogram.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from prometheus_client import Counter

from apimachinery.resources import by_plural
from apiserver.auth import ASGIApp, Message, Receive, Scope, Send
from apiserver.limits import READ_ONLY_METHODS, is_long_running
from apiserver.metrics import ApiServerMetrics
from apiserver.requestinfo import RequestInfo, request_info_of

COMPONENT = "apiserver"
OTHER = "other"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})
APPLY_PATCH = b"application/apply-patch+yaml"
NON_RESOURCE_PATHS = frozenset({
    "/api", "/apis", "/version", "/healthz", "/livez", "/readyz", "/metrics", "/openapi/v2", "/openapi/v3",
    "/openapi.json", "/docs",
})


@dataclass(frozen=True)
class Labels:
    verb: str
    dry_run: str
    group: str
    version: str
    resource: str
    subresource: str
    scope: str
    kind: str  # for apiserver_registered_watchers; "" when the resource is unknown

    def request(self) -> tuple[str, ...]:
        return (self.verb, self.dry_run, self.group, self.version, self.resource, self.subresource,
                self.scope, COMPONENT)

    def longrunning(self) -> tuple[str, ...]:
        return (self.verb, self.group, self.version, self.resource, self.subresource, self.scope, COMPONENT)


def labels_of(scope: Scope) -> Labels:
    method = scope.get("method", "GET").upper()
    query = scope.get("query_string", b"")
    info = request_info_of(scope)
    dry_run = "All" if b"dryRun" in query and "All" in parse_qs(query.decode("latin-1")).get("dryRun", ()) else ""
    if not info.is_resource_request:
        path = scope["path"].rstrip("/") or "/"
        known = path in NON_RESOURCE_PATHS or path.startswith(("/healthz/", "/livez/", "/readyz/"))
        return Labels(verb=_method_label(method), dry_run=dry_run, group="", version="", resource="",
                      subresource=path if known else OTHER, scope="", kind="")
    return _resource_labels(info, method=method, dry_run=dry_run, headers=scope.get("headers", ()))


def _resource_labels(info: RequestInfo, *, method: str, dry_run: str, headers: object) -> Labels:
    rt = by_plural(info.api_group, info.api_version, info.resource)
    scope = "resource" if info.name else "namespace" if info.namespace else "cluster"
    verb = _verb(info, method=method, headers=headers)
    if rt is None:
        return Labels(verb=verb, dry_run=dry_run, group="", version="", resource=OTHER, subresource="",
                      scope=scope, kind="")
    subresource = info.subresource if not info.subresource or info.subresource in rt.subresources else OTHER
    return Labels(verb=verb, dry_run=dry_run, group=rt.group, version=rt.version, resource=rt.plural,
                  subresource=subresource, scope=scope, kind=rt.kind)


def _verb(info: RequestInfo, *, method: str, headers: object) -> str:
    if info.verb in ("list", "watch"):
        return info.verb.upper()
    if info.subresource in CONNECT_SUBRESOURCES:
        return "CONNECT"
    if method == "PATCH" and any(k == b"content-type" and v.startswith(APPLY_PATCH) for k, v in headers):  # type: ignore[attr-defined]
        return "APPLY"
    return _method_label(method)


def _method_label(method: str) -> str:
    if method == "HEAD":
        return "GET"
    return method if method in KNOWN_METHODS else OTHER


class _Series:
    """One label set's children, looked up once: ``labels()`` takes a lock and builds a key each call."""

    def __init__(self, metrics: ApiServerMetrics, labels: Labels) -> None:
        self.metrics = metrics
        self.labels = labels.request()
        self.duration = metrics.duration.labels(*self.labels)
        self.codes: dict[int, Counter] = {}

    def count(self, code: int) -> None:
        counter = self.codes.get(code)
        if counter is None:
            counter = self.codes[code] = self.metrics.requests.labels(*self.labels, str(code))
        counter.inc()


class Instrumentation:
    """Counts every HTTP request by its labels and the code it got."""

    def __init__(self, app: ASGIApp, metrics: ApiServerMetrics, clock: Callable[[], float] = time.perf_counter) -> None:
        self.app = app
        self.metrics = metrics
        self.clock = clock
        # Bounded like the label space itself: unknown resources and paths collapse to "other".
        self._series: dict[Labels, _Series] = {}
        self._inflight = {kind: metrics.inflight.labels(kind) for kind in ("readOnly", "mutating")}

    def _series_of(self, labels: Labels) -> _Series:
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = _Series(self.metrics, labels)
        return series

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        labels = labels_of(scope)
        series = self._series_of(labels)
        code = 500  # what the client sees when the app raises before answering

        async def watching_send(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        if is_long_running(scope):
            await self._long_running(scope, receive, watching_send, labels)
        else:
            kind = "readOnly" if scope["method"] in READ_ONLY_METHODS else "mutating"
            inflight = self._inflight[kind]
            started = self.clock()
            inflight.inc()
            try:
                await self.app(scope, receive, watching_send)
            finally:
                inflight.dec()
                series.duration.observe(self.clock() - started)
                if code == 429:
                    self.metrics.dropped.labels(kind).inc()
        series.count(code)

    async def _long_running(self, scope: Scope, receive: Receive, send: Send, labels: Labels) -> None:
        gauge = self.metrics.longrunning.labels(*labels.longrunning())
        watchers = self.metrics.watchers.labels(labels.group, labels.version, labels.kind) \
            if labels.verb == "WATCH" and labels.kind else None
        gauge.inc()
        if watchers is not None:
            watchers.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            gauge.dec()
            if watchers is not None:
                watchers.dec()
