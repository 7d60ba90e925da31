"""Fixtures for driving a real podvisor cluster with the real kubectl and the official Python client.

Each test module gets one cluster (server, and kubelets when it asks for them) shared by its
tests, which use distinct object names, so the whole suite costs a few cluster start-ups.
kubectl runs with the kubeconfig ``podvisor server`` writes, default flags and its own HOME (a
fresh discovery cache). Every kubectl invocation and its outcome is recorded, and the record is
written to ``<tmp>/kubectl-commands.log`` and, when ``PODVISOR_COMPAT_LOG`` names a file,
appended there: it is the command/result list of the compatibility report.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.cluster import Cluster

KUBECTL = shutil.which("kubectl")


class Kubectl:
    """Runs the real kubectl against one cluster; every call asserts its exit code."""

    def __init__(self, cluster: Cluster, home: Path, record: list[str]) -> None:
        self.cluster = cluster
        self.home = home
        self.record = record
        self.env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(cluster.data_dir / "admin.kubeconfig")}

    def run(self, *args: str, stdin: str | None = None, rc: int = 0, timeout: float = 90,
            env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``kubectl args``; fail with its output unless it exits with ``rc``."""
        if KUBECTL is None:
            pytest.fail("kubectl is not installed: pip install -e '.[compat]'")
        started = time.monotonic()
        done = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                              env={**self.env, **(env_extra or {})}, cwd=self.home)
        self._note(args, done, time.monotonic() - started)
        if done.returncode != rc:
            pytest.fail(f"kubectl {' '.join(args)} exited {done.returncode} (wanted {rc})\n"
                        f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}\n{self.cluster.log_tail(2500)}")
        return done

    def out(self, *args: str, timeout: float = 90) -> str:
        return self.run(*args, timeout=timeout).stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.out(*args, "-o", "json"))

    def apply(self, manifest: dict[str, Any] | str, *extra: str) -> str:
        text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest, sort_keys=False)
        return self.run("apply", "-f", "-", *extra, stdin=text).stdout

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start a long-running kubectl (``-w``, ``logs -f``); the caller stops it."""
        assert KUBECTL is not None
        self.record.append(f"kubectl {' '.join(args)}  [streamed]")
        return subprocess.Popen([KUBECTL, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env=self.env, cwd=self.home)

    def _note(self, args: tuple[str, ...], done: subprocess.CompletedProcess[str], seconds: float) -> None:
        first = (done.stdout.strip() or done.stderr.strip()).splitlines()[:1]
        self.record.append(f"kubectl {' '.join(args)}  -> rc={done.returncode} ({seconds:.1f}s) "
                           f"{first[0][:120] if first else ''}")

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 90.0, interval: float = 0.5) -> Any:
        return self.cluster.wait_for(what, check, timeout=timeout, interval=interval)


def read_lines(proc: subprocess.Popen[str], *, want: Callable[[list[str]], bool], timeout: float) -> list[str]:
    """Read a streaming kubectl's stdout until ``want(lines)`` or the deadline, then stop it.

    A thread does the blocking reads: select() on a buffered text pipe misses lines already
    buffered, and a stream that goes quiet must not hang the test.
    """
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    got: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while not want(got) and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.01, min(0.5, deadline - time.monotonic())))
            except queue.Empty:
                continue
            if line is None:
                break
            got.append(line)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return got


@pytest.fixture(scope="module")
def compat_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, busybox_image: str
) -> Iterator[Cluster]:
    """A started server; modules that need pods add kubelets through ``NODES`` (module attr)."""
    cluster = Cluster(tmp_path_factory.mktemp("compat") / "cluster")
    cluster.start_server()
    try:
        for base in getattr(request.module, "NODES", ()):
            cluster.start_kubelet(base, "--restart-backoff-initial", "0")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def kubectl(compat_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    record: list[str] = []
    home = tmp_path_factory.mktemp("kubectl-home")
    yield Kubectl(compat_cluster, home, record)
    text = "\n".join(record) + "\n"
    (compat_cluster.data_dir.parent / "kubectl-commands.log").write_text(text)
    if os.environ.get("PODVISOR_COMPAT_LOG"):
        with open(os.environ["PODVISOR_COMPAT_LOG"], "a") as log:
            log.write(text)


def ready_nodes(kubectl: Kubectl) -> list[str]:
    nodes = kubectl.json("get", "nodes")["items"]
    return [
        n["metadata"]["name"]
        for n in nodes
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
    ]
