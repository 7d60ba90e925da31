"""``podvisor server``: apiserver + controllers + scheduler (+ optionally a kubelet) in one process.

On first start it creates the data directory: the SQLite database, a CA and serving
certificate, the client certificate it presents to kubelets, an admin token and a bootstrap
(join) token, and kubeconfigs for both (``node.kubeconfig`` lets a kubelet join, once, as a
node of its own: :mod:`apiserver.nodejoin`), so ``podctl`` and the real kubectl work with no
further set-up. Controllers and the scheduler are plain API clients, each with its own token
and identity (``system:kube-controller-manager``, ``system:kube-scheduler``), as if they ran
elsewhere, but they connect over the loopback: a Unix
socket in the data directory (mode 0600, in a 0700 directory) served without TLS, as
Kubernetes gives its in-process clients a loopback connection. Encrypting traffic that never
leaves the process cost about a sixth of the server's CPU under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import socket
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry

from apimachinery.client import UNIX_SCHEME
from apimachinery.kubeconfig import load_kubeconfig, write_kubeconfig
from apimachinery.serviceaccounts import KUBERNETES_SERVICE_NAMES
from apiserver.admissionplugins import serviceaccount as serviceaccount_admission
from apiserver.admissionplugins.storage import StorageAdmission
from apiserver.app import AppSettings, create_app
from apiserver.audit.options import AuditOptions
from apiserver.audit.policy import PolicyError
from apiserver.authn import setup as authn_setup
from apiserver.authn.user import AUTHENTICATED, SYSTEM_MASTERS, UserInfo
from apiserver.defaultstorageclass import ensure_default_storage_class
from apiserver.kubeletclient import KubeletTls
from apiserver.kubernetesservice import ensure_kubernetes_service, keep_kubernetes_service
from apiserver.limits import Limits
from apiserver.nodejoin import KIND as JOIN_KIND
from apiserver.nodejoin import JoinHandler, RegistrySecrets, authenticators, ensure_join_token
from apiserver.pki import (
    KUBELET_SERVING_CA,
    ensure_admin_token,
    ensure_component_token,
    ensure_kubelet_client,
    ensure_kubelet_serving_ca,
    ensure_pki,
    load_ca,
)
from apiserver.podsecurity.policy import BASELINE, PodSecurityConfig
from apiserver.servicealloc.ranges import ServiceRanges
from apiserver.store import open_store
from apiserver.store.base import Store, StoreLockedError
from apiserver.store.encryption import EncryptionError, ensure_config
from controllers.metrics import ControllerMetrics
from podvisor.serving import (
    KEEP_ALIVE_TIMEOUT,
    MAX_CONNECTIONS,
    MAX_HEADER_BYTES,
    HttpLimits,
    connection_cap,
    http_protocol,
    raise_fd_limit,
    websocket_protocol,
)
from scheduler.metrics import SchedulerMetrics

log = logging.getLogger("podvisor.server")

ADMIN = UserInfo("admin", groups=(SYSTEM_MASTERS, AUTHENTICATED))
#: The identities of the in-process components, as kube-controller-manager and kube-scheduler have.
COMPONENT_USERS = {
    "controllers": ("controller-manager", UserInfo("system:kube-controller-manager", groups=(AUTHENTICATED,))),
    "scheduler": ("scheduler", UserInfo("system:kube-scheduler", groups=(AUTHENTICATED,))),
}

Component = Callable[[Path], Coroutine[Any, Any, None]]  # given the admin kubeconfig path, runs forever


@dataclass
class ServerOptions:
    data_dir: Path
    bind: str = "127.0.0.1"
    port: int = 6443
    toleration_seconds: int = 300
    node_grace_period: float = 50.0
    history_retention: float = 300.0
    synchronous: str = "FULL"
    datastore_endpoint: str = ""  # postgres://user:pass@host/db shares one store among apiservers
    encryption_provider_config: Path | None = None  # default: <data_dir>/encryption-config.yaml, created
    audit: AuditOptions = field(default_factory=AuditOptions)  # --audit-log-path and friends
    limits: Limits = field(default_factory=Limits)  # requests in flight, watches per identity
    max_connections: int = MAX_CONNECTIONS
    components: list[str] = field(default_factory=lambda: ["controllers", "scheduler"])
    extra_components: list[Component] = field(default_factory=list)
    pod_security_default_enforce: str = BASELINE  # Pod Security level of namespaces without an enforce label
    authorization: bool = True  # the Node authorizer and RBAC; False: AlwaysAllow
    service_ranges: ServiceRanges = field(default_factory=ServiceRanges)  # --service-cidr, --service-node-port-range
    enable_metrics: bool = True  # --enable-metrics: /metrics for the API server and in-process components
    hpa_sync_period: float = 15.0  # --horizontal-pod-autoscaler-sync-period
    metric_resolution: float = 15.0  # --metric-resolution: seconds between metrics API scrapes; 0: off


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (uvicorn[standard] brings it), else asyncio's own loop.

    The server runs uvicorn inside its own loop, so uvicorn's ``loop="auto"`` never applies.
    asyncio's TLS transport allocates and zero-fills a 256 KiB read buffer per connection
    (2,000 watches: 500 MB); uvloop's costs about a quarter of that and runs the event
    fan-out to thousands of watch streams in a fraction of the time.
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def advertised_host(bind: str) -> str:
    return "127.0.0.1" if bind in ("0.0.0.0", "::", "") else bind


@dataclass(frozen=True)
class DataDir:
    cert: Path
    key: Path
    users: dict[str, UserInfo]  # token -> user
    kubelet_tls: KubeletTls
    server_url: str
    ca_pem: bytes
    admin_kubeconfig: Path
    node_kubeconfig: Path
    loopback_kubeconfig: Path
    loopback_socket: Path
    component_kubeconfigs: dict[str, Path] = field(default_factory=dict)  # component -> its own kubeconfig


def loopback_socket_path(data: Path) -> Path:
    """``<data>/loopback.sock``, or a private directory under /tmp when that path is too long
    for a Unix socket address (108 bytes on Linux)."""
    path = data / "loopback.sock"
    if len(str(path)) < 100:
        return path
    private = Path(tempfile.gettempdir()) / f"podvisor-{hashlib.sha256(str(data).encode()).hexdigest()[:16]}"
    private.mkdir(mode=0o700, exist_ok=True)
    if private.stat().st_uid != os.getuid():
        raise RuntimeError(f"{private} belongs to another user; use a shorter --data-dir")
    private.chmod(0o700)
    return private / "loopback.sock"


def prepare_data_dir(opts: ServerOptions) -> DataDir:
    """Create (or reuse) PKI, tokens and kubeconfigs; return what the server needs to start."""
    data = opts.data_dir.expanduser()
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    hosts = sorted({"127.0.0.1", "localhost", socket.gethostname(), advertised_host(opts.bind), opts.bind,
                    opts.service_ranges.cidr.first, *KUBERNETES_SERVICE_NAMES} - {"", "0.0.0.0", "::"})
    pki = ensure_pki(data, hosts=hosts)
    admin_token = ensure_admin_token(data)
    url = f"https://{advertised_host(opts.bind)}:{opts.port}"
    admin_kc = data / "admin.kubeconfig"
    node_kc = data / "node.kubeconfig"
    write_kubeconfig(admin_kc, server=url, token=admin_token, ca_pem=pki.ca_pem, user="admin")
    loopback_sock, loopback_kc = loopback_socket_path(data), data / "loopback.kubeconfig"
    write_kubeconfig(loopback_kc, server=f"{UNIX_SCHEME}{loopback_sock}", token=admin_token, ca_pem=None,
                     user="admin")
    users = {admin_token: ADMIN}
    component_kcs = {}
    for component, (file_name, user) in COMPONENT_USERS.items():
        token = ensure_component_token(data, file_name)
        users[token] = user
        component_kcs[component] = data / f"{file_name}.kubeconfig"
        write_kubeconfig(component_kcs[component], server=f"{UNIX_SCHEME}{loopback_sock}", token=token, ca_pem=None,
                         user=user.name)
    client_cert, client_key = ensure_kubelet_client(data)
    return DataDir(cert=pki.cert_path, key=pki.key_path, users=users,
                   kubelet_tls=KubeletTls(ca=ensure_kubelet_serving_ca(data), cert=client_cert, key=client_key),
                   server_url=url,
                   admin_kubeconfig=admin_kc, node_kubeconfig=node_kc, loopback_kubeconfig=loopback_kc,
                   loopback_socket=loopback_sock, ca_pem=pki.ca_pem, component_kubeconfigs=component_kcs)


def install_node_join(app: Any, data: DataDir, data_dir: Path) -> None:
    """Serve NodeCredentialRequests and write ``node.kubeconfig`` with the join (bootstrap) token."""
    ca, ca_key = load_ca(data_dir, KUBELET_SERVING_CA)
    app.state.reviews[JOIN_KIND] = JoinHandler(registry=app.state.registry, ca=ca, ca_key=ca_key)
    current = ""
    with contextlib.suppress(Exception):
        current = load_kubeconfig(data.node_kubeconfig).token
    token = ensure_join_token(app.state.registry, current)
    write_kubeconfig(data.node_kubeconfig, server=data.server_url, token=token, ca_pem=data.ca_pem, user="node")


def open_server_store(opts: ServerOptions) -> Store:
    """Open the store before anything in the data directory is touched: a second server on the
    same SQLite data stops here (exit status 1, one line naming the directory and the holder),
    before it rewrites the first one's kubeconfigs or loopback socket."""
    data = opts.data_dir.expanduser()
    data.mkdir(parents=True, exist_ok=True)
    try:
        codec = ensure_config(data, opts.encryption_provider_config)
        if opts.datastore_endpoint:
            return open_store(opts.datastore_endpoint, codec=codec)
        return open_store(data / "state.db", synchronous=opts.synchronous, codec=codec)
    except EncryptionError as err:
        raise SystemExit(f"podvisor: {err.message}") from None
    except StoreLockedError as err:
        holder = f"pid {err.pid}" if err.pid else "a process whose pid is unknown"
        raise SystemExit(f"podvisor: the data directory {data} is in use by another podvisor server ({holder}); "
                         "stop it or choose another --data-dir") from None


async def run_server(opts: ServerOptions) -> None:
    try:
        audit = opts.audit.build()
    except PolicyError as err:
        raise SystemExit(f"podvisor: {err}") from None
    try:
        store = open_server_store(opts)
    except BaseException:
        if audit is not None:
            audit.sink.close()
        raise
    try:
        data = prepare_data_dir(opts)
    except BaseException:
        store.close()
        if audit is not None:
            audit.sink.close()
        raise
    secrets = RegistrySecrets()
    authn = authn_setup.build(store, opts.data_dir.expanduser(), data.users, extra=authenticators(secrets))
    metrics = InProcessMetrics.build(opts.components)
    settings = AppSettings(authenticator=authn.authenticator, toleration_seconds=opts.toleration_seconds,
                           history_retention=opts.history_retention, limits=opts.limits, kubelet_tls=data.kubelet_tls,
                           pod_security=PodSecurityConfig().with_default_enforce(opts.pod_security_default_enforce),
                           admission=[serviceaccount_admission.for_store(store), StorageAdmission(store)],
                           authorization=opts.authorization,
                           service_ranges=opts.service_ranges, metric_resolution=opts.metric_resolution,
                           enable_metrics=opts.enable_metrics, metrics_registries=metrics.registries())
    settings.audit = audit
    app = create_app(store, settings)
    secrets.registry = app.state.registry
    authn.install(app)
    ensure_kubernetes_service(app.state.registry, port=opts.port)  # before the first client, then kept
    ensure_default_storage_class(app.state.registry)
    try:
        install_node_join(app, data, opts.data_dir.expanduser())
    except BaseException:
        store.close()
        raise
    protocol = http_protocol(HttpLimits(max_connections=connection_cap(opts.max_connections, raise_fd_limit())))
    config = uvicorn.Config(app, host=opts.bind, port=opts.port, ssl_certfile=str(data.cert),
                            ssl_keyfile=str(data.key), log_level="warning", lifespan="on", timeout_graceful_shutdown=3,
                            **_connection_settings(protocol))
    loopback = _LoopbackServer(uvicorn.Config(app, uds=str(data.loopback_socket), log_level="warning",
                                              lifespan="off", timeout_graceful_shutdown=3,
                                              **_connection_settings(protocol)))
    tasks: list[asyncio.Task[None]] = []

    async def stop_components() -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    server = _ApiServer(config, store, before_shutdown=stop_components)
    url = f"https://{advertised_host(opts.bind)}:{opts.port}"
    print(f"podvisor server listening on {url}", flush=True)
    print(f"admin kubeconfig: {data.admin_kubeconfig}", flush=True)
    print(f"node kubeconfig:  {data.node_kubeconfig}", flush=True)
    print(f"dashboard:        {url}/ui/ (log in with the token in {data.admin_kubeconfig.parent / 'admin.token'})",
          flush=True)

    async def start_components() -> None:
        while not (server.started and loopback.started):
            await asyncio.sleep(0.05)
        data.loopback_socket.chmod(0o600)
        tasks.append(asyncio.create_task(keep_kubernetes_service(app.state.registry, port=opts.port)))
        for name, component in _components(opts, root_ca=data.ca_pem.decode(), metrics=metrics) + [("extra", c) for c in opts.extra_components]:
            kubeconfig = data.component_kubeconfigs.get(name, data.loopback_kubeconfig)
            tasks.append(asyncio.create_task(_supervised(name, component, kubeconfig)))

    starter = asyncio.create_task(start_components())
    serving_loopback = asyncio.create_task(loopback.serve())
    try:
        await server.serve()
    finally:
        starter.cancel()
        await stop_components()
        loopback.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await serving_loopback
        store.close()
        if audit is not None:
            audit.sink.close()


def _connection_settings(protocol: Any) -> dict[str, Any]:
    """uvicorn's connection settings, as kube-apiserver's HTTP server has them (podvisor.serving).

    No proxy headers: the client's address is the peer's, never what an ``X-Forwarded-For``
    header claims, so the audit log's source IPs and the limits' fallback identity cannot be forged."""
    return {"http": protocol, "ws": websocket_protocol(), "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
            "h11_max_incomplete_event_size": MAX_HEADER_BYTES, "backlog": 2048, "proxy_headers": False}


class _LoopbackServer(uvicorn.Server):
    """The in-process clients' endpoint; signals are the main server's to handle."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _ApiServer(uvicorn.Server):
    """uvicorn with an orderly shutdown on SIGTERM/SIGINT.

    Components in the process (controllers, scheduler, kubelet) stop first, while the API still
    answers, so they can release their Leases; then watch streams end, then uvicorn stops.
    uvicorn's own signal capture would re-raise the signal after serving; here a signal only
    asks the server to exit, and the caller's clean-up runs to the end.
    """

    def __init__(self, config: uvicorn.Config, store: Store,
                 before_shutdown: Callable[[], Coroutine[Any, Any, None]]) -> None:
        super().__init__(config)
        self.store = store
        self.before_shutdown = before_shutdown

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    async def shutdown(self, sockets: Any = None) -> None:
        await self.before_shutdown()
        self.store.close_watches()
        await super().shutdown(sockets)


async def _supervised(name: str, component: Component, kubeconfig: Path) -> None:
    """Run one component; a crash is logged and the component restarted after a pause."""
    while True:
        try:
            await component(kubeconfig)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; restarting it in 2s", name)
            await asyncio.sleep(2)


@dataclass(frozen=True)
class InProcessMetrics:
    """The controllers' and scheduler's metrics, built once per process (they outlive restarts of a
    component) and served by the API server's ``/metrics``, as k3s serves one endpoint."""

    controllers: ControllerMetrics | None = None
    scheduler: SchedulerMetrics | None = None

    @classmethod
    def build(cls, components: list[str]) -> InProcessMetrics:
        return cls(controllers=ControllerMetrics() if "controllers" in components else None,
                   scheduler=SchedulerMetrics() if "scheduler" in components else None)

    def registries(self) -> list[CollectorRegistry]:
        return [m.registry for m in (self.controllers, self.scheduler) if m is not None]


def _components(opts: ServerOptions, *, root_ca: str | None = None,
                metrics: InProcessMetrics | None = None) -> list[tuple[str, Component]]:
    found: list[tuple[str, Component]] = []
    metrics = metrics or InProcessMetrics()
    if "controllers" in opts.components:

        async def controllers(kc: Path) -> None:
            from controllers.manager import run_controllers

            await run_controllers(kc, node_grace_period=opts.node_grace_period,
                                  eviction_timeout=float(opts.toleration_seconds), root_ca=root_ca,
                                  metrics=metrics.controllers, hpa_sync_period=opts.hpa_sync_period)

        found.append(("controllers", controllers))
    if "scheduler" in opts.components:

        async def scheduler(kc: Path) -> None:
            from scheduler.runner import run_scheduler

            await run_scheduler(kc, metrics=metrics.scheduler)

        found.append(("scheduler", scheduler))
    return found
