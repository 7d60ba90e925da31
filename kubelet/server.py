"""The kubelet's HTTP API: container logs, exec and attach (proxied by the apiserver), health, and
the Summary API ``/stats/summary`` (:mod:`kubelet.summary`; the node asked for is the TLS server name).

``GET /containerLogs/{namespace}/{pod}/{container}`` takes the query parameters of
``pods/{name}/log`` (follow, tailLines, timestamps, sinceSeconds, sinceTime, previous,
limitBytes) and answers text/plain, streaming when following. Which container: the one the
pod's status names (``containerID``, or ``lastState.terminated.containerID`` with
``previous``), exactly what ``kubectl logs`` would show; without a status, the newest attempt
(or the one before it).

The API is HTTPS only, with the node's serving certificate (issued by the kubelet-serving CA at join,
:mod:`kubelet.join`), and only the API server may call it: the TLS handshake requires a client
certificate from the cluster CA for client auth, and a connection whose certificate is not
``CN=kube-apiserver-kubelet-client`` is closed before a request is read. No bearer token is
accepted. Hollow nodes share one port: each node's certificate is chosen by the TLS server
name, which the API server sets to the node name.

``GET /metrics`` and ``/metrics/probes`` answer the node's Prometheus metrics
(:mod:`kubelet.metrics`); hollow nodes sharing the port each answer with their own registry,
picked by the connection's TLS server name.

The server is a small FastAPI app served by uvicorn inside the kubelet's event loop, without
uvicorn's signal handling: the kubelet's owner decides when to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool
from uvicorn.protocols.http.h11_impl import H11Protocol

from apimachinery.errors import ApiError, bad_request
from apimachinery.logoptions import parse_log_options
from apimachinery.models.core import ContainerStatus, Pod
from kubelet import naming
from kubelet.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from kubelet.metrics import KubeletMetrics
from kubelet.runtime.base import ContainerInfo, ContainerRuntime
from kubelet.streams import DEFAULT_IDLE_TIMEOUT, StreamTarget, deny, serve_stream
from kubelet.threads import Runner


@dataclass(frozen=True)
class NodeLogs:
    """Where one pod's logs are: its node, that node's runtime, and the pod as last seen."""

    node: str
    runtime: ContainerRuntime
    run: Runner
    pod: Pod | None


#: (namespace, pod name) -> where its logs are; None when no node served here runs the pod.
LogResolver = Callable[[str, str], NodeLogs | None]
#: the node the API server asked for (the TLS server name; "" if none) -> its Summary API answer, None if not served
SummaryResolver = Callable[[str], Awaitable[dict[str, Any] | None]]


def not_on_this_node(namespace: str, pod: str) -> ApiError:
    """The 404 of a request for a pod that no node served here runs."""
    return ApiError(404, "NotFound", f'pod "{pod}" in namespace "{namespace}" is not on this node')


#: the TLS server name (SNI) -> that node's metrics; None when no node served here has the name.
#: The name is None when the client sent none: a single node serves its own metrics then.
MetricsResolver = Callable[[str | None], KubeletMetrics | None]
#: where the connection's TLS server name is put in each request's ASGI scope
SERVER_NAME_KEY = "podvisor.tls_server_name"
_SNI_ATTRIBUTE = "podvisor_server_name"


#: idle seconds a connection is kept open: longer than the API server's metrics scraper keeps
#: its side (apiserver.metricsprovider.scraper.KEEPALIVE), so a scrape does not hand-shake anew
#: (Kubernetes' kubelet sets no idle timeout at all)
IDLE_TIMEOUT = 120
#: the subject of the only client certificate the kubelet serves (kubeadm's name for it)
APISERVER_CLIENT_CN = "kube-apiserver-kubelet-client"


@dataclass(frozen=True)
class ServingCert:
    cert: Path
    key: Path


def create_app(*, resolve: LogResolver, stream_idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
               metrics: MetricsResolver | None = None,
               summarize: SummaryResolver | None = None) -> FastAPI:
    """The API of one kubelet, or of many hollow ones (``resolve`` picks the node by pod,
    ``metrics`` and ``summarize`` by the TLS server name the connection asked for)."""
    app = FastAPI(title="podvisor kubelet", openapi_url=None, docs_url=None, redoc_url=None)
    if metrics is not None:
        add_metrics_routes(app, metrics)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> Response:
        return Response(err.status_json(), status_code=err.code, media_type="application/json")

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/containerLogs/{namespace}/{pod}/{container}")
    async def container_logs(namespace: str, pod: str, container: str, request: Request) -> StreamingResponse:
        params = LogParams.parse(request.query_params)
        where = resolve(namespace, pod)
        if where is None:
            raise not_on_this_node(namespace, pod)
        labels = {**naming.node_labels(where.node), naming.POD_NAMESPACE: namespace, naming.POD_NAME: pod,
                  naming.CONTAINER: container}
        found = await where.run(where.runtime.list_containers, labels)
        target = choose_container(found, where.pod, container, previous=params.previous)
        if target is None and params.previous:
            raise bad_request(f'previous terminated container "{container}" in pod "{pod}" not found')
        if target is None:
            raise ApiError(404, "NotFound", f'container "{container}" in pod "{pod}" is not available')
        lines = await where.run(where.runtime.logs, target.id, tail=params.tail, since=params.since,
                          timestamps=params.timestamps, follow=params.follow)
        return StreamingResponse(_limited(lines, params.limit_bytes), media_type="text/plain")

    @app.get("/stats/summary")
    async def stats_summary(request: Request) -> Response:
        node = request.scope.get(SERVER_NAME_KEY) or ""
        found = await summarize(node) if summarize is not None else None
        if found is None:
            raise ApiError(404, "NotFound", f'node "{node}" is not served here')
        return Response(json.dumps(found, separators=(",", ":")), media_type="application/json")

    add_stream_routes(app, resolve=resolve, idle_timeout=stream_idle_timeout)
    return app


def add_metrics_routes(app: FastAPI, metrics: MetricsResolver) -> None:
    """``/metrics`` and ``/metrics/probes`` of the node the connection's TLS server name names."""

    def registry_of(request: Request) -> KubeletMetrics:
        found = metrics(request.scope.get(SERVER_NAME_KEY))
        if found is None:
            raise ApiError(404, "NotFound", "no node served here has that name")
        return found

    @app.get("/metrics")
    async def node_metrics(request: Request) -> Response:
        return Response(registry_of(request).render(), media_type=METRICS_CONTENT_TYPE)

    @app.get("/metrics/probes")
    async def probe_metrics(request: Request) -> Response:
        return Response(registry_of(request).render_probes(), media_type=METRICS_CONTENT_TYPE)


def add_stream_routes(app: FastAPI, *, resolve: LogResolver, idle_timeout: float) -> None:
    """``/exec`` and ``/attach`` (:mod:`kubelet.streams`): WebSocket only; a plain request gets 400."""

    async def stream(ws: WebSocket, namespace: str, pod: str, container: str) -> None:
        where = resolve(namespace, pod)
        if where is None:
            await deny(ws, not_on_this_node(namespace, pod))
            return
        target = StreamTarget(namespace=namespace, pod=pod, container=container,
                              attach=ws.url.path.startswith("/attach/"))
        await serve_stream(ws, target=target, node=where.node, runtime=where.runtime, run=where.run,
                           pod_uid=where.pod.metadata.uid if where.pod is not None else None,
                           idle_timeout=idle_timeout)

    async def not_upgraded() -> None:
        raise bad_request("Upgrade request required")

    for kind in ("exec", "attach"):
        app.add_api_websocket_route(f"/{kind}/{{namespace}}/{{pod}}/{{container}}", stream)
        app.add_api_route(f"/{kind}/{{namespace}}/{{pod}}/{{container}}", not_upgraded, methods=["GET", "POST"])


class LogParams:
    """The query of a log request, validated."""

    def __init__(self, *, follow: bool, tail: int | None, timestamps: bool, since: datetime | None,
                 previous: bool, limit_bytes: int | None) -> None:
        self.follow, self.tail, self.timestamps = follow, tail, timestamps
        self.since, self.previous, self.limit_bytes = since, previous, limit_bytes

    @classmethod
    def parse(cls, query: Any) -> LogParams:
        """Kubernetes' PodLogOptions rules (400/422 Status), shared with the apiserver."""
        options = parse_log_options(query)
        return cls(follow=options.follow, tail=options.tail_lines, timestamps=options.timestamps,
                   since=options.since(datetime.now(UTC)), previous=options.previous,
                   limit_bytes=options.limit_bytes)


def choose_container(found: list[ContainerInfo], pod: Pod | None, name: str, *, previous: bool) -> ContainerInfo | None:
    """The container ``kubectl logs [--previous]`` means, from the pod's status if it names one."""
    if pod is not None:
        found = [c for c in found if naming.pod_uid_of(c) == pod.metadata.uid] or found
    by_id = {c.id: c for c in found}
    status = _status_of(pod, name)
    if status is not None:
        if previous:
            last = status.last_state.terminated if status.last_state is not None else None
            wanted = last.container_id if last is not None else None
        else:
            wanted = status.container_id
        match = by_id.get((wanted or "").split("://", 1)[-1])
        if match is not None:
            return match
    attempts = sorted(found, key=naming.attempt_of, reverse=True)
    index = 1 if previous else 0
    return attempts[index] if len(attempts) > index else None


def _status_of(pod: Pod | None, name: str) -> ContainerStatus | None:
    if pod is None or pod.status is None:
        return None
    statuses = [*(pod.status.container_statuses or []), *(pod.status.init_container_statuses or [])]
    return next((s for s in statuses if s.name == name), None)


async def _limited(lines: Iterator[bytes], limit: int | None) -> AsyncIterator[bytes]:
    sent = 0
    iterator = iterate_in_threadpool(lines)
    try:
        async for line in iterator:
            if limit is not None and sent + len(line) > limit:
                yield line[: max(limit - sent, 0)]
                return
            sent += len(line)
            yield line
    finally:
        with contextlib.suppress(Exception):
            await iterator.aclose()  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            close = getattr(lines, "close", None)
            if close is not None:
                close()


class _QuietServer(uvicorn.Server):
    """uvicorn without signal handlers: the kubelet runs inside someone else's process and loop."""

    def install_signal_handlers(self) -> None:
        pass

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def serving_context(certs: Mapping[str, ServingCert], *, client_ca: Path) -> ssl.SSLContext:
    """TLS for the kubelet API: a client certificate from ``client_ca`` is required.

    ``certs`` maps node names to their serving certificates; with more than one (hollow
    nodes), the certificate is picked by the TLS server name, the first one otherwise.
    """
    contexts = {node: _context(cert, client_ca) for node, cert in certs.items()}
    default = next(iter(contexts.values()))

    def pick(sock: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        setattr(sock, _SNI_ATTRIBUTE, server_name)  # for the requests of this connection (metrics)
        chosen = contexts.get(server_name or "")
        if chosen is not None and len(contexts) > 1:
            sock.context = chosen

    for context in contexts.values():
        context.sni_callback = pick  # type: ignore[assignment]
    return default


def _context(cert: ServingCert, client_ca: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert.cert), str(cert.key))
    ctx.load_verify_locations(cafile=str(client_ca))
    ctx.verify_mode = ssl.CERT_REQUIRED  # OpenSSL also requires the client-auth usage of the peer
    return ctx


def is_apiserver(peer: dict[str, Any] | None) -> bool:
    """The verified client certificate is the API server's kubelet client certificate."""
    if not peer:
        return False
    common = [value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"]
    return common == [APISERVER_CLIENT_CN]


class _ApiServerOnly(H11Protocol):
    """A connection whose (CA-verified) client certificate is not the API server's is closed at once.

    asyncio calls ``connection_made`` when the TLS handshake is done, before any request byte is
    read, so nobody else gets as far as the app.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not is_apiserver(transport.get_extra_info("peercert")):
            transport.close()
            return
        server_name = getattr(transport.get_extra_info("ssl_object"), _SNI_ATTRIBUTE, None)
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await inner({**scope, SERVER_NAME_KEY: server_name}, receive, send)

        self.app = app


def bind_socket(address: str, port: int) -> socket.socket:
    """Bind now so the real port (``port`` 0 picks one) is known before the Node is registered."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(app: FastAPI, sock: socket.socket, tls: ssl.SSLContext) -> None:
    """Serve HTTPS until cancelled."""
    server = _QuietServer(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                         http=_ApiServerOnly, timeout_keep_alive=IDLE_TIMEOUT,
                                         ssl_context_factory=lambda _config, _default: tls))
    try:
        await server.serve(sockets=[sock])
    finally:
        server.should_exit = True
