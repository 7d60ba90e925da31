"""Command line of the ``podvisor`` binary: server, apiserver, controllers, scheduler, kubelet."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import typer

from apiserver.limits import (
    MAX_MUTATING_REQUESTS_INFLIGHT,
    MAX_REQUESTS_INFLIGHT,
    MAX_WATCHES_PER_USER,
    Limits,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help="podvisor: a Kubernetes-compatible orchestrator.")

DATA_DIR = Path("~/.podvisor")
LEASE_HELP = "Seconds a standby waits for a leader that stopped renewing (renew deadline and retry scale with it)."

# kube-apiserver's flags and defaults; 0 disables a cap
MAX_REQUESTS_INFLIGHT_OPTION = typer.Option(
    MAX_REQUESTS_INFLIGHT, help="Read-only requests served at once (watches aside); more get 429.")
MAX_MUTATING_OPTION = typer.Option(
    MAX_MUTATING_REQUESTS_INFLIGHT, help="Mutating requests served at once; more get 429.")
MAX_WATCHES_OPTION = typer.Option(
    MAX_WATCHES_PER_USER, help="Watches and log streams open at once per user (or role); more get 429.")


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
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run the control plane: apiserver, controllers and scheduler in one process."""
    from podvisor.server import ServerOptions, event_loop_factory, run_server

    _logging(verbose)
    opts = ServerOptions(data_dir=data_dir.expanduser(), bind=bind, port=port, toleration_seconds=eviction_timeout,
                         node_grace_period=node_grace_period, datastore_endpoint=datastore_endpoint,
                         limits=Limits(max_requests_inflight, max_mutating_requests_inflight, max_watches_per_user),
                         components=[c for c in ("controllers", "scheduler") if c not in disable])
    if with_kubelet:
        from kubelet.config import KubeletConfig

        cfg = KubeletConfig(kubeconfig=data_dir.expanduser() / "node.kubeconfig", node_name=node_name or _hostname(),
                            backoff_initial=restart_backoff_initial, backoff_max=restart_backoff_max,
                            backoff_reset=restart_backoff_reset)
        opts.extra_components.append(_embedded_kubelet(cfg))
    _run(run_server(opts), cancel_on_signal=False, loop_factory=event_loop_factory())


def _embedded_kubelet(cfg: object):  # type: ignore[no-untyped-def]
    async def component(_: Path) -> None:
        from kubelet.agent import run_kubelet

        await run_kubelet(cfg)  # type: ignore[arg-type]

    return component


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
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run only the API server."""
    from podvisor.server import ServerOptions, event_loop_factory, run_server

    _logging(verbose)
    _run(run_server(ServerOptions(data_dir=data_dir.expanduser(), bind=bind, port=port,
                                  toleration_seconds=eviction_timeout, datastore_endpoint=datastore_endpoint,
                                  limits=Limits(max_requests_inflight, max_mutating_requests_inflight,
                                                max_watches_per_user),
                                  components=[])), cancel_on_signal=False, loop_factory=event_loop_factory())


@app.command()
def controllers(
    kubeconfig: Path = typer.Option(DATA_DIR / "admin.kubeconfig", help="Where the apiserver is and how to log in."),
    node_grace_period: float = typer.Option(50.0),
    eviction_timeout: float = typer.Option(300.0),
    leader_elect_lease_duration: float = typer.Option(15.0, help=LEASE_HELP),
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run the controller manager (deployment, replicaset, node lifecycle, garbage collector)."""
    from controllers.manager import run_controllers

    _logging(verbose)
    _run(run_controllers(kubeconfig.expanduser(), node_grace_period=node_grace_period,
                         eviction_timeout=eviction_timeout, lease_duration=leader_elect_lease_duration))


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
    kubeconfig: Path = typer.Option(DATA_DIR / "node.kubeconfig", help="Node kubeconfig written by the server."),
    node_name: str = typer.Option("", help="This node's name (default: host name)."),
    restart_backoff_initial: float = typer.Option(1.0, help="First crash-loop delay in seconds (0: immediate)."),
    restart_backoff_max: float = typer.Option(60.0, help="Cap of the crash-loop delay in seconds."),
    restart_backoff_reset: float = typer.Option(600.0, help="Seconds of running that reset the back-off."),
    network: str = typer.Option("", help="Docker network of the pods (default: podvisor-<node>); kubelets "
                                "sharing one daemon and one network reach each other's pods by name."),
    lease_interval: float = typer.Option(10.0, help="Seconds between Lease renewals (the node heartbeat)."),
    hollow: bool = typer.Option(False, help="Simulate the node with a fake runtime (scale tests)."),
    root_dir: Path = typer.Option(None, help="Where projected volumes are written (default: "
                                  "/var/lib/podvisor/kubelet/<node>, or ~/.local/state/... when not root)."),
    hollow_nodes: int = typer.Option(1, help="With --hollow: how many nodes this process simulates."),
    verbose: bool = typer.Option(False, "-v", "--verbose"),
) -> None:
    """Run a node agent that starts pods as Docker containers and supervises them."""
    from kubelet.agent import run_hollow_kubelets, run_kubelet
    from kubelet.config import KubeletConfig

    _logging(verbose)
    cfg = KubeletConfig(kubeconfig=kubeconfig.expanduser(), node_name=node_name or _hostname(),
                        backoff_initial=restart_backoff_initial, backoff_max=restart_backoff_max,
                        backoff_reset=restart_backoff_reset, hollow=hollow, network=network,
                        lease_interval=lease_interval, root_dir=root_dir.expanduser() if root_dir else None)
    if hollow:
        _run(run_hollow_kubelets(cfg, count=hollow_nodes))
    else:
        _run(run_kubelet(cfg))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
