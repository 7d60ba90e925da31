"""A private Docker daemon for tests that restart or break one, leaving the shared daemon alone.

Everything of it lives under one short temporary directory (unix socket paths are limited to
108 bytes): its API socket, ``--data-root`` (images, containers, networks survive a restart),
``--exec-root`` (its own containerd) and ``--pidfile``. It touches no global network state: its
default bridge is a Linux bridge of its own, no iptables or ip_forward changes, no userland
proxy. Two daemon flags are avoided on purpose, because dockerd then deletes the host's
``docker0`` (the shared daemon's bridge) when it starts: ``--bridge none``, and
``--default-address-pool`` (on a restart, with a default bridge network on record). The
networks it needs are created with explicit subnets from a random 10.x range instead
(:meth:`create_network`), which the shared daemon does not use. Live
restore is off (the default), so stopping it stops its containers: a restart is what a node
reboot is to the containers, and their pods' restart policies decide what comes back.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class PrivateDockerd:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="pvd-"))
        self.host = f"unix://{self.root}/docker.sock"
        self.prefix = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(16) * 16}"  # a /20: 16 /24s
        self.bridge = f"pvd{secrets.token_hex(3)}"
        self.bridge_cidr = f"{self.prefix}.1/24"
        self._subnets = 1
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def args(self) -> list[str]:
        return ["dockerd", "--host", self.host, "--data-root", str(self.root / "data"),
                "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "docker.pid"),
                "--bridge", self.bridge, "--iptables=false", "--ip-forward=false", "--ip-masq=false",
                "--userland-proxy=false",
                "--shutdown-timeout", "5", "--log-level", "warn"]

    def start(self) -> None:
        if not Path(f"/sys/class/net/{self.bridge}").exists():
            for args in (["add", self.bridge, "type", "bridge"], ["set", self.bridge, "up"]):
                subprocess.run(["ip", "link", *args], check=True, capture_output=True)
            subprocess.run(["ip", "addr", "add", self.bridge_cidr, "dev", self.bridge], check=True, capture_output=True)
        log = open(self.root / "dockerd.log", "ab")  # noqa: SIM115 - lives as long as the daemon
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"private dockerd exited: {self.log_tail()}")
            if self.docker("version", "--format", "{{.Server.Version}}", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"private dockerd did not answer within {START_TIMEOUT}s: {self.log_tail()}")

    def stop(self) -> float:
        """SIGTERM and wait: the daemon stops its containers first. Returns the seconds it took."""
        began = time.monotonic()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return time.monotonic() - began

    def restart(self, *, gap: float = 0.0) -> float:
        """Stop, stay down ``gap`` seconds (a supervisor's restart delay), then start on the same
        data root; the seconds the daemon was unreachable."""
        began = time.monotonic()
        self.stop()
        time.sleep(gap)
        self.start()
        return time.monotonic() - began

    def create_network(self, name: str, labels: dict[str, str]) -> None:
        """A bridge network on the next free /24 of this daemon's range."""
        a, b, c = self.prefix.split(".")
        subnet = f"{a}.{b}.{int(c) + self._subnets}.0/24"
        self._subnets += 1
        self.docker("network", "create", "--driver", "bridge", "--subnet", subnet,
                    *(arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")), name)

    def load_image(self, image: str) -> None:
        """Copy ``image`` from the shared daemon (``docker save | docker -H <ours> load``)."""
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        load = subprocess.run(["docker", "-H", self.host, "load", "-q"], stdin=save.stdout, capture_output=True,
                              timeout=120)
        save.wait(timeout=120)
        if save.returncode != 0 or load.returncode != 0:
            raise RuntimeError(f"cannot load {image} into the private dockerd: {load.stderr!r}")

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", "-H", self.host, *args], capture_output=True, text=True, timeout=60,
                              check=check)

    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    def destroy(self) -> None:
        """Remove its containers and networks, stop it, delete its directories."""
        if self.proc is not None and self.proc.poll() is None:
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", "-v", *ids, check=False)
            nets = [n for n in self.docker("network", "ls", "-q", "--filter", "type=custom", check=False).stdout.split()]
            if nets:
                self.docker("network", "rm", *nets, check=False)
        self.stop()
        subprocess.run(["umount", "-R", "-l", str(self.root / "exec")], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, chars: int = 3000) -> str:
        path = self.root / "dockerd.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


__all__ = ["PrivateDockerd"]
