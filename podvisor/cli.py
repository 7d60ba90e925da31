"""Command line of the ``podvisor`` binary: server, apiserver, controllers, scheduler, kubelet."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import typer

from apiserver.audit.options import AuditOptions
from apiserver.limits import (
    MAX_MUTATING_REQUESTS_INFLIGHT,
    MAX_REQUESTS_INFLIGHT,
    MAX_WATCHES_PER_USER,
    Limits,
)
from apiserver.servicealloc.ranges import (
    DEFAULT_NODE_PORT_RANGE,
    DEFAULT_SERVICE_CIDR,
    IPRange,
    PortRange,
    ServiceRanges,
)
from podvisor import collector
from podvisor.tokens import node_app, token_app

app = typer.Typer(add_completion=False, no_args_is_help=True, help="podvisor: a Kubernetes-compatible orchestrator.")
app.add_typer(token_app, name="token")  # podvisor token create|list|delete (kubeadm token)
app.add_typer(node_app, name="node")  # podvisor node revoke

DATA_DIR = Path("~/.podvisor")
LEASE_HELP = "Seconds a standby waits for a leader that stopped renewing (renew deadline and retry scale with it)."
HPA_SYNC_PERIOD_OPTION = typer.Option(
    15.0, "--horizontal-pod-autoscaler-sync-period", help="Seconds between two evaluations of each HorizontalPodAutoscaler.")

# kube-apiserver's flags and defaults; 0 disables a cap
MAX_REQUESTS_INFLIGHT_OPTION = typer.Option(
    MAX_REQUESTS_INFLIGHT, help="Read-only requests served at once (watches aside); more get 429.")
MAX_MUTATING_OPTION = typer.Option(
    MAX_MUTATING_REQUESTS_INFLIGHT, help="Mutating requests served at once; more get 429.")
MAX_WATCHES_OPTION = typer.Option(
    MAX_WATCHES_PER_USER, help="Watches and log streams open at once per user (or role); more get 429.")
AUDIT_LOG_PATH_OPTION = typer.Option(
    "", "--audit-log-path", help="Write the audit log here (JSON lines; '-': stdout). Default: no audit log.")
AUDIT_POLICY_OPTION = typer.Option(
    None, "--audit-policy-file", help="audit.k8s.io/v1 Policy (default: mutations and 401/403 denials at Metadata).")
AUDIT_MAXSIZE_OPTION = typer.Option(0, "--audit-log-maxsize", help="Megabytes before the audit log rotates (0: never).")
AUDIT_MAXBACKUP_OPTION = typer.Option(0, "--audit-log-maxbackup", help="Rotated audit logs kept (0: all).")
AUDIT_MAXAGE_OPTION = typer.Option(0, "--audit-log-maxage", help="Days rotated audit logs are kept (0: no limit).")
METRICS_OPTION = typer.Option(
    True, "--enable-metrics/--disable-metrics",
    help="Serve Prometheus metrics at /metrics (API server, and the controllers and scheduler in this process).")
METRIC_RESOLUTION_OPTION = typer.Option(
    15.0, "--metric-resolution", min=0.0, max=3600.0, help="Seconds between scrapes of the kubelets for the metrics API (kubectl top); 0: off.")
ENCRYPTION_CONFIG_OPTION = typer.Option(
    None, "--encryption-provider-config",
    help="EncryptionConfiguration for data at rest (default: <data-dir>/encryption-config.yaml, created).")
SERVICE_CIDR_OPTION = typer.Option(
    DEFAULT_SERVICE_CIDR, "--service-cidr", "--service-cluster-ip-range",
    help="The IPv4 CIDR Service ClusterIPs are allocated from; its first address is the kubernetes Service's.")
NODE_PORT_RANGE_OPTION = typer.Option(
    DEFAULT_NODE_PORT_RANGE, "--service-node-port-range", help="The ports NodePort Services are allocated from.")
AUTHORIZATION_MODE_OPTION = typer.Option(
    "Node,RBAC", "--authorization-mode",
    help="Node,RBAC (the default: the Node authorizer and RBAC), or AlwaysAllow (any authenticated user may do anything).")
POD_SECURITY_OPTION = typer.Option(
    "baseline", help="Pod Security level enforced in namespaces without a pod-security.kubernetes.io/enforce label.")


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "docker", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _run(coro: Coroutine[Any, Any, None], *, cancel_on_signal: bool = True,
         loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None) -> None:
    """Run a component until it returns or SIGTERM/SIGINT arrive; either signal cancels it,
    so components release their leases and stop their tasks on the way out. (The server
    handles the signals itself, to shut down in order.)"""

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT) if cancel_on_signal else ():
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await coro

    collector.tune()
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())


@app.command()
def server(
    data_dir: Path = typer.Option(DATA_DIR, help="State, certificates, tokens and kubeconfigs."),
    bind: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(6443, help="HTTPS port of the API."),
    with_kubelet: bool = typer.Option(False, "--with-kubelet", help="Also run a node agent (one-machine cluster)."),
    node_name: str = typer.Option("", help="Node name of the embedded kubelet (default: host name)."),
    node_grace_period: float = typer.Option(50.0, help="Seconds without a Lease renewal before a node is NotReady."),
    horizontal_pod_autoscaler_sync_period: float = HPA_SYNC_PERIOD_OPTION,
    eviction_timeout: int = typer.Option(300, help="Seconds pods tolerate an unreachable or not-ready node."),
    restart_backoff_initial: float = typer.Option(1.0, help="Embedded kubelet: first crash-loop delay."),
    restart_backoff_max: float = typer.Option(60.0, help="Embedded kubelet: crash-loop delay cap."),
    restart_backoff_reset: float = typer.Option(600.0, help="Embedded kubelet: running time that resets back-off."),
    disable: list[str] = typer.Option([], help="Components not to run: controllers, scheduler."),
    datastore_endpoint: str = typer.Option(
        "", help="Shared store: postgres://user:pass@host/db (default: SQLite in the data directory)."),
    max_requests_inflight: int = MAX_REQUESTS_INFLIGHT_OPTION,
    max_mutating_requests_inflight: int = MAX_MUTATING_OPTION,
    max_watches_per_user: int = MAX_WATCHES_OPTION,
    encryption_provider_config: Path | None = ENCRYPTION_CONFIG_OPTION,
    audit_log_path: str = AUDIT_LOG_PATH_OPTION,
    audit_policy_file: Path | None = AUDIT_POLICY_OPTION,
    audit_log_maxsize: int = AUDIT_MAXSIZE_OPTION,
    audit_log_maxbackup: int = AUDIT_MAXBACKUP_OPTION,
    audit_log_maxage: int = AUDIT_MAXAGE_OPTION,
    pod_security_default_enforce: str = POD_SECURITY_OPTION,
    authorization_mode: str = AUTHORIZATION_MODE_OPTION,
    service_cidr: str = SERVICE_CIDR_OPTION,
    service_node_port_range: str = NODE_PORT_RANGE_OPTION,
    enable_metrics: bool = METRICS_OPTION,
    metric_resolution: float = METRIC_RESOLUTION_OPTION,
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run the control plane: apiserver, controllers and scheduler in one process."""
    from podvisor.server import ServerOptions, event_loop_factory, run_server

    _logging(verbose)
    opts = ServerOptions(data_dir=data_dir.expanduser(), bind=bind, port=port, toleration_seconds=eviction_timeout,
                         node_grace_period=node_grace_period, datastore_endpoint=datastore_endpoint,
                         limits=Limits(max_requests_inflight, max_mutating_requests_inflight, max_watches_per_user),
                         components=[c for c in ("controllers", "scheduler") if c not in disable],
                         pod_security_default_enforce=_pod_security_level(pod_security_default_enforce),
                         enable_metrics=enable_metrics, hpa_sync_period=horizontal_pod_autoscaler_sync_period)
    opts.authorization = _authorization(authorization_mode)
    opts.service_ranges = _service_ranges(service_cidr, service_node_port_range)
    opts.encryption_provider_config = encryption_provider_config
    opts.metric_resolution = metric_resolution
    opts.audit = _audit_options(audit_log_path, audit_policy_file, audit_log_maxsize, audit_log_maxbackup,
                                audit_log_maxage)
    if with_kubelet:
        from kubelet.config import KubeletConfig

        name = node_name or _hostname()
        cfg = KubeletConfig(kubeconfig=data_dir.expanduser() / "node.kubeconfig", node_name=name,
                            backoff_initial=restart_backoff_initial, backoff_max=restart_backoff_max,
                            backoff_reset=restart_backoff_reset, cert_dir=data_dir.expanduser() / "kubelet" / name)
        opts.extra_components.append(_embedded_kubelet(cfg))
    _run(run_server(opts), cancel_on_signal=False, loop_factory=event_loop_factory())


def _audit_options(path: str, policy: Path | None, maxsize: int, maxbackup: int, maxage: int) -> AuditOptions:
    return AuditOptions(log_path=path, policy_file=policy, max_size_mb=maxsize, max_backups=maxbackup,
                        max_age_days=maxage)


def _embedded_kubelet(cfg: object):  # type: ignore[no-untyped-def]
    async def component(_: Path) -> None:
        from kubelet.agent import run_kubelet

        await run_kubelet(cfg)  # type: ignore[arg-type]

    return component


def _authorization(mode: str) -> bool:
    """kube-apiserver's --authorization-mode, for the two modes podvisor has: on, or AlwaysAllow."""
    modes = sorted(m.strip() for m in mode.split(",") if m.strip())
    if modes == ["Node", "RBAC"]:
        return True
    if modes == ["AlwaysAllow"]:
        return False
    raise typer.BadParameter("must be Node,RBAC or AlwaysAllow", param_hint="--authorization-mode")


def _service_ranges(cidr: str, node_ports: str) -> ServiceRanges:
    try:
        cidr_range = IPRange.parse(cidr)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--service-cidr") from None
    try:
        return ServiceRanges(cidr_range, PortRange.parse(node_ports))
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--service-node-port-range") from None


def _pod_security_level(level: str) -> str:
    if level not in ("privileged", "baseline", "restricted"):
        raise typer.BadParameter("must be one of privileged, baseline, restricted",
                                 param_hint="--pod-security-default-enforce")
    return level


def _hostname() -> str:
    import socket

    return socket.gethostname().lower().split(".")[0]


@app.command()
def apiserver(
    data_dir: Path = typer.Option(DATA_DIR, help="State, certificates, tokens and kubeconfigs."),
    bind: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(6443),
    eviction_timeout: int = typer.Option(300, help="Default tolerationSeconds added to pods."),
    datastore_endpoint: str = typer.Option(
        "", help="Shared store: postgres://user:pass@host/db (default: SQLite in the data directory)."),
    max_requests_inflight: int = MAX_REQUESTS_INFLIGHT_OPTION,
    max_mutating_requests_inflight: int = MAX_MUTATING_OPTION,
    max_watches_per_user: int = MAX_WATCHES_OPTION,
    encryption_provider_config: Path | None = ENCRYPTION_CONFIG_OPTION,
    audit_log_path: str = AUDIT_LOG_PATH_OPTION,
    audit_policy_file: Path | None = AUDIT_POLICY_OPTION,
    audit_log_maxsize: int = AUDIT_MAXSIZE_OPTION,
    audit_log_maxbackup: int = AUDIT_MAXBACKUP_OPTION,
    audit_log_maxage: int = AUDIT_MAXAGE_OPTION,
    pod_security_default_enforce: str = POD_SECURITY_OPTION,
    authorization_mode: str = AUTHORIZATION_MODE_OPTION,
    service_cidr: str = SERVICE_CIDR_OPTION,
    service_node_port_range: str = NODE_PORT_RANGE_OPTION,
    enable_metrics: bool = METRICS_OPTION,
    metric_resolution: float = METRIC_RESOLUTION_OPTION,
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run only the API server."""
    from podvisor.server import ServerOptions, event_loop_factory, run_server

    _logging(verbose)
    opts = ServerOptions(data_dir=data_dir.expanduser(), bind=bind, port=port,
                         toleration_seconds=eviction_timeout, datastore_endpoint=datastore_endpoint,
                         limits=Limits(max_requests_inflight, max_mutating_requests_inflight, max_watches_per_user),
                         components=[], pod_security_default_enforce=_pod_security_level(pod_security_default_enforce),
                         enable_metrics=enable_metrics)
    opts.authorization = _authorization(authorization_mode)
    opts.service_ranges = _service_ranges(service_cidr, service_node_port_range)
    opts.encryption_provider_config = encryption_provider_config
    opts.metric_resolution = metric_resolution
    opts.audit = _audit_options(audit_log_path, audit_policy_file, audit_log_maxsize, audit_log_maxbackup,
                                audit_log_maxage)
    _run(run_server(opts), cancel_on_signal=False, loop_factory=event_loop_factory())


@app.command()
def controllers(
    kubeconfig: Path = typer.Option(DATA_DIR / "admin.kubeconfig", help="Where the apiserver is and how to log in."),
    node_grace_period: float = typer.Option(50.0),
    eviction_timeout: float = typer.Option(300.0),
    leader_elect_lease_duration: float = typer.Option(15.0, help=LEASE_HELP),
    horizontal_pod_autoscaler_sync_period: float = HPA_SYNC_PERIOD_OPTION,
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run the controller manager (deployment, replicaset, node lifecycle, garbage collector)."""
    from controllers.manager import run_controllers

    _logging(verbose)
    _run(run_controllers(kubeconfig.expanduser(), node_grace_period=node_grace_period,
                         eviction_timeout=eviction_timeout, lease_duration=leader_elect_lease_duration,
                         hpa_sync_period=horizontal_pod_autoscaler_sync_period))


@app.command()
def scheduler(
    kubeconfig: Path = typer.Option(DATA_DIR / "admin.kubeconfig"),
    leader_elect_lease_duration: float = typer.Option(15.0, help=LEASE_HELP),
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run the scheduler."""
    from scheduler.runner import run_scheduler

    _logging(verbose)
    _run(run_scheduler(kubeconfig.expanduser(), lease_duration=leader_elect_lease_duration))


@app.command()
def kubelet(
    kubeconfig: Path = typer.Option(DATA_DIR / "node.kubeconfig", help="Bootstrap kubeconfig (node.kubeconfig, "
                                    "a join token): exchanged once for this node's own credential."),
    node_name: str = typer.Option("", help="This node's name (default: host name)."),
    cert_dir: Path = typer.Option(None, help="Where the node keeps its credential and certificates "
                                  "(default: ~/.podvisor/kubelet/<node name>)."),
    restart_backoff_initial: float = typer.Option(1.0, help="First crash-loop delay in seconds (0: immediate)."),
    restart_backoff_max: float = typer.Option(60.0, help="Cap of the crash-loop delay in seconds."),
    restart_backoff_reset: float = typer.Option(600.0, help="Seconds of running that reset the back-off."),
    network: str = typer.Option("", help="Docker network of the pods (default: podvisor-<node>); kubelets "
                                "sharing one daemon and one network reach each other's pods by name."),
    lease_interval: float = typer.Option(10.0, help="Seconds between Lease renewals (the node heartbeat)."),
    hollow: bool = typer.Option(False, help="Simulate the node with a fake runtime (scale tests)."),
    root_dir: Path = typer.Option(None, help="This node's own directory for the files of its pods' ConfigMap, Secret, downward API and projected volumes (default: "
                                  "/var/lib/podvisor/kubelet/<node>, or ~/.local/state/... when not root)."),
    hollow_nodes: int = typer.Option(1, help="With --hollow: how many nodes this process simulates."),
    hollow_read_kubeconfig: Path = typer.Option(
        None, help="With --hollow: the kubeconfig of a user who may list and watch every pod and node (e.g. the "
        "admin's); the simulated nodes share one informer, and a node may read only its own pods."),
    streaming_connection_idle_timeout: float = typer.Option(
        4 * 3600.0, help="Seconds an exec, attach or port-forward connection may carry nothing before it is closed."),
    cluster_dns: str = typer.Option("", help="The nameserver of ClusterFirst pods (default: the cluster DNS this "
                                    "kubelet serves on the pod network's gateway, port 53)."),
    cluster_domain: str = typer.Option("cluster.local", help="The cluster's DNS domain."),
    resolv_conf: Path = typer.Option(Path("/etc/resolv.conf"), help="The host's resolver configuration: names "
                                     "outside the cluster are forwarded to its nameservers; dnsPolicy Default "
                                     "pods get it."),
    serve_dns: bool = typer.Option(True, help="Serve the cluster DNS on the pod network's gateway, port 53."),
    proxy_mode: str = typer.Option("nftables", help="The service proxy: nftables (ClusterIP and NodePort rules in "
                                   "the kernel, in a table of this node's own) or none."),
    service_cidr: str = typer.Option("10.96.0.0/12", help="The cluster's Service IP range (the API server's "
                                     "--service-cidr): a pod's connection to an address in it that is no Service's "
                                     "is refused."),
    proxy_sync_period: float = typer.Option(5.0, help="Seconds between checks that the kernel still holds the "
                                            "service rules (a deleted rule or table is written again)."),
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run a node agent that starts pods as Docker containers and supervises them."""
    from kubelet.agent import run_hollow_kubelets, run_kubelet
    from kubelet.config import KubeletConfig

    _logging(verbose)
    cfg = KubeletConfig(kubeconfig=kubeconfig.expanduser(), node_name=node_name or _hostname(),
                        backoff_initial=restart_backoff_initial, backoff_max=restart_backoff_max,
                        backoff_reset=restart_backoff_reset, hollow=hollow, network=network,
                        lease_interval=lease_interval, cert_dir=cert_dir.expanduser() if cert_dir else None,
                        root_dir=root_dir.expanduser() if root_dir else None,
                        hollow_reader=hollow_read_kubeconfig.expanduser() if hollow_read_kubeconfig else None,
                        stream_idle_timeout=streaming_connection_idle_timeout, cluster_dns=cluster_dns,
                        cluster_domain=cluster_domain, resolv_conf=resolv_conf.expanduser(), serve_dns=serve_dns,
                        proxy_mode=proxy_mode, proxy_resync=proxy_sync_period, service_cidr=service_cidr)
    try:
        [ipaddress.IPv4Network(c.strip()) for c in service_cidr.split(",") if c.strip()]
    except ValueError as err:
        raise typer.BadParameter(f"not an IPv4 CIDR: {err}", param_hint="--service-cidr") from err
    if proxy_mode not in ("nftables", "none"):
        raise typer.BadParameter("must be nftables or none", param_hint="--proxy-mode")
    if hollow and cfg.hollow_reader is None:
        raise typer.BadParameter("hollow nodes need a kubeconfig that may read every pod and node",
                                 param_hint="--hollow-read-kubeconfig")
    if hollow:
        _run(run_hollow_kubelets(cfg, count=hollow_nodes))
    else:
        _run(run_kubelet(cfg))


secrets_app = typer.Typer(no_args_is_help=True, help="Secrets at rest: encryption keys.")
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("rotate-key")
def rotate_key(
    data_dir: Path = typer.Option(DATA_DIR, help="The server's data directory (server stopped)."),
    datastore_endpoint: str = typer.Option("", help="The PostgreSQL store, if the servers use one."),
    encryption_provider_config: Path | None = ENCRYPTION_CONFIG_OPTION,
) -> None:
    """Add a new encryption key, re-encrypt every Secret with it, then drop the old keys."""
    from apiserver.store.base import StoreLockedError
    from apiserver.store.encryption import CONFIG_FILE, EncryptionError
    from apiserver.store.rotation import rotate_key as rotate

    data = data_dir.expanduser()
    config = encryption_provider_config or data / CONFIG_FILE
    try:
        done = rotate(config_path=config, endpoint=datastore_endpoint or data / "state.db")
    except StoreLockedError:
        raise SystemExit(f"podvisor: {data} is in use by a running server; stop it first") from None
    except (EncryptionError, ValueError, OSError) as err:
        raise SystemExit(f"podvisor: {getattr(err, 'message', err)}") from None
    counts = ", ".join(f"{n} {resource}" for resource, n in done.rewritten.items()) or "nothing"
    dropped = f"; removed {', '.join(done.removed)}" if done.removed else ""
    print(f"new key {done.key_name} in {config}; re-encrypted {counts}{dropped}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
