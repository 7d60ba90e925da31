"""The apiserver ASGI application: middleware, routers, error mapping, background upkeep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException

from apimachinery.errors import ApiError
from apiserver.admissionplugins.base import Chain, Plugin
from apiserver.admissionplugins.podsecurity import pod_security_plugins
from apiserver.audit.middleware import Audit, AuditSettings
from apiserver.auth import BodyLimit
from apiserver.authn.middleware import Authentication
from apiserver.authn.tokens import Authenticator
from apiserver.authz import setup as authz
from apiserver.compactor import Compactor
from apiserver.instrumentation import Instrumentation
from apiserver.kubeletclient import KubeletTls
from apiserver.limits import Limits, RequestLimits
from apiserver.metrics import new_metrics
from apiserver.metricsprovider import setup as metrics_provider
from apiserver.metricsprovider.scraper import DEFAULT_RESOLUTION
from apiserver.negotiation import MAX_BODY_BYTES
from apiserver.podsecurity.policy import PodSecurityConfig
from apiserver.registry import PatchingRegistry
from apiserver.routes import meta, resources
from apiserver.routes import metrics as metrics_route
from apiserver.servicealloc.ranges import ServiceRanges
from apiserver.servicealloc.repair import AllocationRepair
from apiserver.servicealloc.storage import ServiceStorage
from apiserver.store.base import Store
from apiserver.store.watch_queue import WATCH_MAX_BYTES, WATCH_QUEUE_LIMIT
from apiserver.ui import router as ui_router

log = logging.getLogger(__name__)


@dataclass
class AppSettings:
    authenticator: Authenticator | None = None  # None: no authentication (tests, in-process)
    authorization: bool | None = None  # RBAC + Node authorizer; None: on exactly when authentication is
    toleration_seconds: int = 300
    history_retention: float = 300.0
    compaction_interval: float = 30.0
    max_body_bytes: int = MAX_BODY_BYTES
    kubelet_tls: KubeletTls | None = None  # how log requests reach kubelets (None: no kubelet is reachable)
    limits: Limits = field(default_factory=Limits)  # requests in flight, watches per identity
    watch_max_events: int = WATCH_QUEUE_LIMIT  # a watcher further behind is cut off with 410
    watch_max_bytes: int = WATCH_MAX_BYTES
    audit: AuditSettings | None = None  # the audit log (apiserver.audit); None: none
    pod_security: PodSecurityConfig = field(default_factory=PodSecurityConfig)  # levels where namespaces say none
    admission: Sequence[Plugin] = ()  # admission plugins, in order (mutating and validating)
    service_ranges: ServiceRanges = field(default_factory=ServiceRanges)  # --service-cidr, --service-node-port-range
    allocation_repair_interval: float = 30.0
    enable_metrics: bool = True  # off: nothing is recorded and /metrics is 404
    metrics_registries: Sequence[CollectorRegistry] = ()  # in-process components served at /metrics too
    metric_resolution: float = DEFAULT_RESOLUTION  # seconds between metrics API scrapes of kubelets; 0: off


def create_app(store: Store, settings: AppSettings | None = None) -> FastAPI:
    settings = settings or AppSettings()
    registry = PatchingRegistry(store, toleration_seconds=settings.toleration_seconds,
                                plugins=Chain(settings.admission), service_ranges=settings.service_ranges)
    services = registry.hooks["Service"]
    assert isinstance(services, ServiceStorage)
    repair = AllocationRepair(store, services, clock=registry.clock)
    registry.ensure_system_namespaces()
    registry.plugins = Chain([*registry.plugins.plugins, *pod_security_plugins(registry, settings.pod_security)])

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        compactor = Compactor(
            store, retention=settings.history_retention, interval=settings.compaction_interval,
            on_compact=app.state.metrics.compactions.inc if settings.enable_metrics else None,
        )
        task = asyncio.create_task(compactor.run())
        repair_task = asyncio.create_task(repair.run(interval=settings.allocation_repair_interval))
        authz_task = asyncio.create_task(authz.keep_current(authorizer, registry)) if authorizer else None
        scrape_task = asyncio.create_task(scraper.run()) if scraper is not None else None
        try:
            yield
        finally:
            task.cancel()
            repair_task.cancel()
            if authz_task is not None:
                authz_task.cancel()
            if scrape_task is not None:
                scrape_task.cancel()

    app = FastAPI(
        title="podvisor API",
        description="The Kubernetes-compatible API of a podvisor cluster.",
        version="v1",
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.registry = registry
    app.state.store = store
    app.state.settings = settings
    app.state.reviews = {}  # kind -> apiserver.routes.reviews.ReviewHandler
    # Routes are added as they are rather than through include_router, whose wrapper walks every
    # route of the included router on each request to see whether it changed.
    app.router.routes.extend(meta.router.routes)
    app.router.routes.extend(metrics_route.router.routes)
    scraper = metrics_provider.install(app, registry, tls=settings.kubelet_tls, resolution=settings.metric_resolution)
    app.router.routes.extend(resources.routes)
    app.router.routes.extend(ui_router.routes)
    _install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(RequestLimits, limits=settings.limits)
    authorize = settings.authorization if settings.authorization is not None else settings.authenticator is not None
    authorizer = authz.install(app, registry, store) if authorize else None
    app.state.authorizer = authorizer
    app.add_middleware(Authentication, authenticator=settings.authenticator)
    if settings.enable_metrics:  # outside authentication and limits: 401s and 429s count
        metrics = new_metrics(store)
        app.state.metrics = metrics
        app.state.metrics_registries = [metrics.registry, *settings.metrics_registries]
        app.add_middleware(Instrumentation, metrics=metrics)
    if settings.audit is not None:  # outermost: it records what authentication refuses too
        app.add_middleware(Audit, sink=settings.audit.sink, policy=settings.audit.policy)
    return app


def _status_response(err: ApiError) -> Response:
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
    return Response(err.status_json(), status_code=err.code, media_type="application/json", headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> Response:
        return _status_response(err)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> Response:
        reason = {404: "NotFound", 405: "MethodNotAllowed"}.get(err.status_code, "BadRequest")
        message = (
            str(err.detail) if err.status_code != 404 else "the server could not find the requested resource"
        )
        return _status_response(ApiError(err.status_code, reason, message))

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, err: RequestValidationError) -> Response:
        return _status_response(ApiError(400, "BadRequest", str(err.errors()[:3])))

    @app.exception_handler(Exception)
    async def internal(_: Request, err: Exception) -> Response:
        log.exception("internal error")
        return _status_response(ApiError(500, "InternalError", f"Internal error occurred: {type(err).__name__}"))
