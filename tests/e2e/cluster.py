"""A whole podvisor cluster as real processes: one server and N kubelets on the Docker daemon.

Node names carry a random suffix so parallel or leftover clusters never share containers;
``stop()`` kills the processes and removes every container, network and volume of its nodes.
A kubelet may run on another Docker daemon (``docker_host``) or inside a command prefix such as
``ip netns exec <ns>`` (a node behind its own network); the server may listen on another
address (``bind``), which its certificate and kubeconfigs then name.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from kubelet.config import default_root_dir
from kubelet.tmpfs import Tmpfs

NODE_LABEL = "io.podvisor.node"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self, data_dir: Path, *, server_args: list[str] | None = None, bind: str = "127.0.0.1") -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.bind = bind
        self.url = f"https://{bind}:{self.port}"
        self.suffix = secrets.token_hex(3)
        self.server_args = server_args or []
        self.server: subprocess.Popen[bytes] | None = None
        self.kubelets: dict[str, subprocess.Popen[bytes]] = {}
        self.kubelet_args: dict[str, list[str]] = {}
        self.kubelet_env: dict[str, dict[str, str]] = {}
        self.kubelet_prefix: dict[str, list[str]] = {}
        self.components: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    # -- processes -------------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str], *, env: dict[str, str] | None = None,
               prefix: list[str] | None = None) -> subprocess.Popen[bytes]:
        """Run ``podvisor <args>``; ``prefix`` must exec the command (the pid stays podvisor's)."""
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        return subprocess.Popen([*(prefix or []), sys.executable, "-m", "podvisor.cli", *args], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})})

    def start_server(self) -> None:
        args = ["server", "--data-dir", str(self.data_dir), "--bind", self.bind, "--port", str(self.port),
                *self.server_args]
        self.server = self._spawn("server", args)
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server is not None and self.server.poll() is not None:
                raise RuntimeError(f"server exited: {(self.logs / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", verify=False, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def node_name(self, base: str) -> str:
        return f"{base}-{self.suffix}"

    def start_kubelet(self, base: str, *extra: str, docker_host: str | None = None,
                      prefix: list[str] | None = None, kubeconfig: Path | None = None) -> str:
        """Start a kubelet for node ``<base>-<suffix>``; returns the node name.

        ``docker_host`` points it at another Docker daemon (``DOCKER_HOST``); ``prefix`` runs it
        inside a command that execs it, e.g. ``["ip", "netns", "exec", ns]``; ``kubeconfig`` replaces
        the server's join kubeconfig (another bootstrap token)."""
        name = self.node_name(base)
        args = ["kubelet", "--kubeconfig", str(kubeconfig or self.data_dir / "node.kubeconfig"), "--node-name", name,
                "--cert-dir", str(self.cert_dir(name)), *extra]
        self.kubelet_args[name] = args
        self.kubelet_env[name] = {"DOCKER_HOST": docker_host} if docker_host else {}
        self.kubelet_prefix[name] = list(prefix or [])
        self.restart_kubelet(name)
        return name

    def cert_dir(self, name: str) -> Path:
        """Where node ``name`` keeps its own credential and certificates (one directory per node)."""
        return self.data_dir / "kubelets" / name

    def restart_kubelet(self, name: str) -> None:
        self.kubelets[name] = self._spawn(f"kubelet-{name}", self.kubelet_args[name], env=self.kubelet_env[name],
                                          prefix=self.kubelet_prefix[name])

    def start_component(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start ``podvisor <args>`` (e.g. ``controllers``, ``scheduler``) as an admin client; it is
        stopped with the cluster. Starting ``name`` again replaces the handle (kill the old one first)."""
        proc = self._spawn(name, [*args, "--kubeconfig", str(self.data_dir / "admin.kubeconfig")])
        self.components[name] = proc
        return proc

    def kill_kubelet(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.kubelets[name]
        os.kill(proc.pid, sig)
        if sig == signal.SIGKILL:
            proc.wait(timeout=10)

    def stop(self) -> None:
        procs = [*self.components.values(), *self.kubelets.values(), *([self.server] if self.server else [])]
        for proc in procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGCONT)
                    proc.terminate()
                except ProcessLookupError:
                    pass
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.cleanup_docker()
        self.cleanup_mounts()

    def cleanup_mounts(self) -> None:
        """Unmount the tmpfs of Secret and token volumes the kubelets left (they keep their pods'
        volumes mounted when they stop, for the next kubelet to adopt)."""
        for name, args in self.kubelet_args.items():
            root = Path(args[args.index("--root-dir") + 1]) if "--root-dir" in args else default_root_dir(name)
            Tmpfs().unmount_under(root)

    def cleanup_docker(self) -> None:
        for name in self.kubelet_args:
            host = self.kubelet_env[name].get("DOCKER_HOST")
            flt = f"label={NODE_LABEL}={name}"
            ids = _docker("ps", "-aq", "--filter", flt, host=host)
            if ids:
                _docker("rm", "-f", "-v", *ids, host=host)
            nets = _docker("network", "ls", "-q", "--filter", flt, host=host)
            if nets:
                _docker("network", "rm", *nets, host=host)
                if host is None:
                    _remove_proxy_tables([f"br-{n[:12]}" for n in nets])
            vols = _docker("volume", "ls", "-q", "--filter", flt, host=host)
            if vols:
                _docker("volume", "rm", "-f", *vols, host=host)

    # -- API access ------------------------------------------------------------------------

    @property
    def token(self) -> str:
        return (self.data_dir / "admin.token").read_text().strip()

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=str(self.data_dir / "ca.crt"),
                            headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def service_account_token(self, name: str, role: str | None = None) -> str:
        """A token of the new ServiceAccount ``default/<name>``, bound to ClusterRole ``role`` if given."""
        with self.http() as h:
            account = {"metadata": {"name": name}}
            assert h.post("/api/v1/namespaces/default/serviceaccounts", json=account).status_code == 201
            if role is not None:
                binding = {"metadata": {"name": name}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                                   "kind": "ClusterRole", "name": role},
                           "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]}
                assert h.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json=binding).status_code == 201
            response = h.post(f"/api/v1/namespaces/default/serviceaccounts/{name}/token", json={"spec": {}})
            assert response.status_code == 201, response.text
            return str(response.json()["status"]["token"])

    def wait_for(self, what: str, check: Any, timeout: float = 60.0, interval: float = 0.2) -> Any:
        """Poll ``check()`` until it returns a truthy value; fail with ``what`` and the logs."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {what} (last: {last!r})\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)


def _remove_proxy_tables(bridges: list[str]) -> None:
    """The service proxies' nftables tables of removed networks (``podvisor.<bridge>.<node>``): dead rules."""
    try:
        listed = subprocess.run(["nft", "list", "tables", "ip"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return  # no nft here: no proxy tables either
    for line in listed.stdout.splitlines():
        name = line.removeprefix("table ip ").strip()
        if any(name.startswith(f"podvisor.{bridge}.") for bridge in bridges):
            subprocess.run(["nft", "delete", "table", "ip", name], capture_output=True, timeout=10)


def _docker(*args: str, host: str | None = None) -> list[str]:
    done = subprocess.run(["docker", *(["-H", host] if host else []), *args], capture_output=True, text=True,
                          timeout=120)
    return done.stdout.split()
