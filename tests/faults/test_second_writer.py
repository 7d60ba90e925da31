"""A second server on a data directory already in use is refused at start.

Mirrors etcd's data-directory lock (``server/storage/backend``: bbolt opens ``member/snap/db``
with an exclusive ``flock``, so a second etcd on the same ``--data-dir`` fails to start) and
its ``TestBootstrap``-style checks that the first member is unaffected.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.cluster import Cluster, free_port

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def test_a_second_server_on_the_same_data_dir_fails_fast_naming_the_holder(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    try:
        cluster.start_server()
        assert cluster.server is not None
        kubeconfig = (tmp_path / "admin.kubeconfig").read_bytes()
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "podvisor.cli", "server", "--data-dir", str(tmp_path), "--port", str(free_port())],
            capture_output=True, text=True, timeout=30,
        )
        took = time.monotonic() - started
        assert second.returncode == 1, second.stdout + second.stderr
        [line] = second.stderr.strip().splitlines()  # one readable line, no traceback
        assert str(tmp_path) in line and f"pid {cluster.server.pid}" in line, line
        assert (tmp_path / "admin.kubeconfig").read_bytes() == kubeconfig  # refused before touching anything
        with cluster.http() as http:
            assert http.post(CONFIGMAPS, json={"metadata": {"name": "still-mine"}}).status_code == 201

        os.kill(cluster.server.pid, signal.SIGKILL)  # the kernel releases the lock with its holder
        cluster.server.wait(timeout=10)
        restarted = time.monotonic()
        cluster.start_server()
        with cluster.http() as http:
            assert http.get(f"{CONFIGMAPS}/still-mine").status_code == 200
    finally:
        cluster.stop()
    print(f"\nsecond server refused in {took:.2f}s with exit status 1: {line!r}; "
          f"after kill -9 of the holder a new server was ready in {time.monotonic() - restarted:.2f}s")
