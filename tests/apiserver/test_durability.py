"""Nothing acknowledged is lost: SIGKILL the server under concurrent writes, restart, check."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.apiserver.conftest import free_port


def start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "podvisor.cli", "apiserver", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False, timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("apiserver did not start")


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    port = free_port()
    proc = start(tmp_path, port)
    token = (tmp_path / "admin.token").read_text().strip()
    url = f"https://127.0.0.1:{port}/api/v1/namespaces/default/configmaps"
    acked: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        with httpx.Client(verify=False, headers={"Authorization": f"Bearer {token}"}, timeout=5) as client:
            for i in range(10_000):
                if stop.is_set():
                    return
                name = f"w{worker}-{i}"
                try:
                    response = client.post(url, json={"metadata": {"name": name}, "data": {"i": str(i)}})
                except httpx.HTTPError:
                    return
                if response.status_code == 201:
                    with lock:
                        acked[name] = response.json()["metadata"]["resourceVersion"]

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) > 20, "the writers made too little progress to test anything"
    highest = max(int(rv) for rv in acked.values())

    proc = start(tmp_path, port)
    try:
        with httpx.Client(verify=False, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            items = client.get(url).json()["items"]
            stored = {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in items}
            missing = {n for n in acked if n not in stored}
            assert not missing, f"{len(missing)} acknowledged writes lost"
            assert all(stored[n] == rv for n, rv in acked.items())
            after = client.post(url, json={"metadata": {"name": "after-restart"}}).json()
            assert int(after["metadata"]["resourceVersion"]) > highest
    finally:
        proc.terminate()
        proc.wait(timeout=10)
