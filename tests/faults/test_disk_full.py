"""The data directory's filesystem fills up under a running server.

Mirrors etcd's ``NOSPACE`` alarm tests (``tests/integration/v3_alarm_test.go``
``TestV3StorageQuotaApply``: a member out of space refuses writes with ``mvcc: database space
exceeded``, keeps serving reads, and takes writes again once space is reclaimed) and
kube-apiserver's ``etcd`` readiness check, which fails while the store cannot serve.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.cluster import Cluster

SIZE = "8m"  # the tmpfs: room for the data directory, then filled to the last byte
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
PAYLOAD = "x" * 64 * 1024  # a write that needs fresh pages, so it cannot fit in reused ones
MAX_ATTEMPTS = 200


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of SIZE mounted under tmp_path (needs root), unmounted after the test."""
    if os.geteuid() != 0:
        pytest.fail("the full-disk test mounts a tmpfs: run it as root (CI does)")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=True)  # a straggler still holds a file


def fill(fs: Path) -> int:
    """Write a file until the filesystem refuses another byte; return its size."""
    written = 0
    with open(fs / "filler", "wb", buffering=0) as out:
        for chunk in (256 * 1024, 4096, 1):
            while True:
                try:
                    written += out.write(b"\0" * chunk)
                except OSError as err:
                    assert err.errno == errno.ENOSPC, err
                    break
    return written


def configmap(name: str) -> dict:
    return {"metadata": {"name": name}, "data": {"payload": PAYLOAD}}


def wait_ready(http: httpx.Client, timeout: float = 10.0) -> float:
    started = time.monotonic()
    while http.get("/readyz").status_code != 200:
        assert time.monotonic() - started < timeout, http.get("/readyz").text
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_full_disk_fails_writes_with_507_serves_reads_and_recovers(small_fs: Path, tmp_path: Path) -> None:
    """Fill the data directory's filesystem: writes fail with 507 naming the cause, reads are
    served, /readyz names the failing check, and writes succeed again once space is freed."""
    started = time.monotonic()
    cluster = Cluster(small_fs / "data")
    cluster.logs = tmp_path / "logs"  # the server's output must not compete for the space
    cluster.logs.mkdir()
    try:
        cluster.start_server()
        with cluster.http() as http:
            assert http.post(CONFIGMAPS, json={"metadata": {"name": "kept"}, "data": {"v": "1"}}).status_code == 201
            filler = fill(small_fs)
            stored, refused = [], None
            for i in range(MAX_ATTEMPTS):  # the first writes may still fit in pages SQLite reuses
                response = http.post(CONFIGMAPS, json=configmap(f"during-{i}"))
                if response.status_code != 201:
                    refused = response
                    break
                stored.append(f"during-{i}")
            assert refused is not None, f"{MAX_ATTEMPTS} writes of 64 KiB fit on a full filesystem"
            status = refused.json()
            assert (refused.status_code, status["kind"], status["reason"]) == (507, "Status", "InsufficientStorage")
            assert "database or disk is full" in status["message"]
            again = [http.post(CONFIGMAPS, json=configmap(f"again-{i}")).status_code for i in range(5)]
            assert again == [507] * 5

            # a read that saw another client's write staged just before that write failed is refused
            # too (it must not answer what may be undone); asked again, it reads what is durable
            kept = cluster.wait_for("the object written before the disk filled", lambda: (
                r := http.get(f"{CONFIGMAPS}/kept")).status_code == 200 and r, timeout=10)
            assert kept.json()["data"] == {"v": "1"}
            listed = cluster.wait_for("a list of what is durable", lambda: (r := http.get(CONFIGMAPS)).status_code == 200
                                      and r, timeout=10)
            names = [item["metadata"]["name"] for item in listed.json()["items"]
                     if item["metadata"]["name"] != "kube-root-ca.crt"]  # published in every namespace
            assert sorted(names) == sorted(["kept", *stored])
            ready = http.get("/readyz", params={"verbose": "1"})
            assert ready.status_code == 503
            assert "[-]etcd failed: the last commit failed" in ready.text and "full" in ready.text, ready.text
            assert http.get("/livez").status_code == 200

            (small_fs / "filler").unlink()
            recovered_in = wait_ready(http)
            after = [http.post(CONFIGMAPS, json=configmap(f"again-{i}")).status_code for i in range(5)]
            assert after == [201] * 5
    finally:
        cluster.stop()
    with sqlite3.connect(f"file:{small_fs / 'data' / 'state.db'}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    print(f"\nfull disk: filler {filler} bytes; {len(stored)} writes of 64 KiB fit before the first refusal; "
          f"refused: {refused.status_code} {status['reason']}: {status['message']!r}; "
          f"reads served; /readyz: {ready.text.splitlines()[1]!r}; ready {recovered_in:.1f}s after freeing; "
          f"5/5 writes then succeeded; {time.monotonic() - started:.1f}s")
