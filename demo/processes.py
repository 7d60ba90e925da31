"""Starting and stopping the demo's processes, and removing what they left on Docker.

Process ids are written to the demo's data directory so ``make down`` can clean up after a
crash of the demo script itself; Docker objects are found by the kubelet's node labels.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kubelet.proxy.nft import Nft, NftError, orphaned_tables, remove_tables

REPO = Path(__file__).resolve().parent.parent
NODES = ("node-1", "node-2", "node-3")
NODE_LABEL = "io.podvisor.node"
MANAGED_LABEL = "io.podvisor.managed=true"


@dataclass
class DemoCluster:
    data_dir: Path
    port: int = 6443
    nodes: tuple[str, ...] = NODES
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "pids"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        self._spawn("server", ["server", "--data-dir", str(self.data_dir), "--port", str(self.port),
                               "--node-grace-period", "10", "--eviction-timeout", "20"])
        self._wait_healthy()
        # The nodes share one network so pods reach each other (and Services) by name across nodes.
        docker("network", "create", "--label", f"{NODE_LABEL}={self.nodes[0]}", "podvisor-demo")
        for node in self.nodes:
            self._spawn(node, ["kubelet", "--kubeconfig", str(self.data_dir / "node.kubeconfig"),
                               "--node-name", node, "--network", "podvisor-demo",
                               "--cert-dir", str(self.data_dir / "kubelets" / node),
                               "--restart-backoff-initial", "1", "--restart-backoff-max", "20"])

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.data_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        proc = subprocess.Popen([sys.executable, "-m", "podvisor.cli", *args], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=REPO)
        self.procs[name] = proc
        with self.pid_file.open("a") as f:
            f.write(f"{proc.pid}\n")

    def _wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs["server"].poll() is not None:
                raise RuntimeError(f"the server exited; see {self.data_dir / 'logs' / 'server.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"https://127.0.0.1:{self.port}/readyz", verify=False, timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer on port {self.port} within {timeout:.0f}s")

    def alive(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is None]

    def stop(self) -> None:
        """Stop the kubelets and the server, then remove every container they left."""
        stop_recorded(self.pid_file)
        self.procs.clear()
        remove_docker_objects(self.nodes)


def stop_recorded(pid_file: Path, timeout: float = 15.0) -> None:
    """SIGTERM every recorded process, SIGKILL what is still alive after ``timeout``."""
    if not pid_file.exists():
        return
    pids = [int(p) for p in pid_file.read_text().split() if p.strip().isdigit()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in pids:
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    pid_file.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def docker(*args: str) -> list[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    return done.stdout.split()


def remove_docker_objects(nodes: tuple[str, ...]) -> None:
    """Containers first (they hold networks and volumes), then volumes and networks."""
    for node in nodes:
        flt = f"label={NODE_LABEL}={node}"
        ids = docker("ps", "-aq", "--filter", flt)
        if ids:
            docker("rm", "-f", "-v", *ids)
        vols = docker("volume", "ls", "-q", "--filter", flt)
        if vols:
            docker("volume", "rm", "-f", *vols)
        nets = docker("network", "ls", "-q", "--filter", flt)
        if nets:
            docker("network", "rm", *nets)
    shared = docker("network", "ls", "-q", "--filter", "name=^podvisor-demo$")
    if shared:
        docker("network", "rm", *shared)
    remove_proxy_tables()


def remove_proxy_tables() -> None:
    """The nodes' service rules outlive their kubelets (traffic keeps flowing across a restart);
    once the networks are gone they are dead rules."""
    nft = Nft()
    if nft.available():
        with contextlib.suppress(NftError):
            remove_tables(nft, orphaned_tables(nft))


def leftovers(nodes: tuple[str, ...]) -> dict[str, list[str]]:
    """What the demo's nodes still have on the Docker daemon (empty after a clean stop)."""
    found: dict[str, list[str]] = {}
    for kind, cmd in (("containers", ["ps", "-aq"]), ("volumes", ["volume", "ls", "-q"]),
                      ("networks", ["network", "ls", "-q"])):
        for node in nodes:
            found.setdefault(kind, []).extend(docker(*cmd, "--filter", f"label={NODE_LABEL}={node}"))
    found["networks"].extend(docker("network", "ls", "-q", "--filter", "name=^podvisor-demo$"))
    return {k: v for k, v in found.items() if v}
