"""``podvisor apiserver --datastore-endpoint postgres://...``: two processes, one cluster state."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.apiserver import pgcluster
from tests.apiserver.conftest import free_port

postgres_cluster = pgcluster.postgres_cluster  # the session's server (fixture)
postgres_url = pgcluster.postgres_url  # a fresh database per test (fixture)
CM = "/api/v1/namespaces/default/configmaps"


def start_apiserver(data_dir: Path, endpoint: str, *args: str) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    """Run ``podvisor apiserver`` on the shared store; return it and a logged-in client."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "podvisor.cli", "apiserver", "--data-dir", str(data_dir), "--port", str(port),
         "--datastore-endpoint", endpoint, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", verify=False, timeout=1).status_code == 200:
                token = (data_dir / "admin.token").read_text().strip()
                return proc, httpx.Client(base_url=url, verify=False, timeout=10,
                                          headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"podvisor apiserver did not start: {proc.communicate()[1].decode()[-2000:]}")


@pytest.fixture
def two_apiservers(tmp_path: Path, postgres_url: str) -> Iterator[list[httpx.Client]]:
    started = []
    try:
        # one after the other: each creates the system namespaces if absent; both read the
        # Secrets (the join token's among them) with the same encryption key, as they must
        started.append(start_apiserver(tmp_path / "a", postgres_url))
        shared_key = str(tmp_path / "a" / "encryption-config.yaml")
        started.append(start_apiserver(tmp_path / "b", postgres_url, "--encryption-provider-config", shared_key))
        yield [client for _, client in started]
    finally:
        for proc, client in started:
            client.close()
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_two_apiserver_processes_serve_one_state(two_apiservers: list[httpx.Client]) -> None:
    a, b = two_apiservers
    created = a.post(CM, json={"metadata": {"name": "shared"}, "data": {"v": "1"}})
    assert created.status_code == 201, created.text
    seen = b.get(f"{CM}/shared")
    assert seen.status_code == 200
    assert seen.json()["metadata"]["resourceVersion"] == created.json()["metadata"]["resourceVersion"]
    stale = created.json()
    assert b.put(f"{CM}/shared", json={**stale, "data": {"v": "2"}}).status_code == 200
    assert a.put(f"{CM}/shared", json={**stale, "data": {"v": "3"}}).status_code == 409
    assert b.delete(f"{CM}/shared").status_code == 200
    assert a.get(f"{CM}/shared").status_code == 404
