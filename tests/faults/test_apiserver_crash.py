"""kill -9 of the API server during concurrent writes: nothing acknowledged is lost.

Mirrors etcd's robustness test ``tests/robustness`` (the ``KILL`` failpoint: SIGKILL a member
under a concurrent client load, restart it, and check every acknowledged write against the
persisted history) and Kubernetes' storage durability expectation that a write answered with
a resourceVersion is in etcd with that revision.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.cluster import Cluster

ROUNDS = 20
WRITERS = 6
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
KEY_PREFIX = "/registry/configmaps/default/"  # the store's key of a ConfigMap in default


@dataclass
class Acked:
    """What the server acknowledged: the last resourceVersion and data of every object."""

    writes: int = 0
    objects: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    rows: list[tuple[int, str]] = field(default_factory=list)  # (revision, name) of every acknowledged write

    def record(self, name: str, body: dict) -> int:
        rv = int(body["metadata"]["resourceVersion"])
        self.writes += 1
        self.objects[name] = (rv, body.get("data") or {})
        self.rows.append((rv, name))
        return rv


async def writer(client: httpx.AsyncClient, *, prefix: str, acked: Acked, stop: asyncio.Event) -> None:
    """Create an object, update it, create the next, until the server goes away."""
    patch = {"Content-Type": "application/merge-patch+json"}
    for i in range(100_000):
        name = f"{prefix}-{i}"
        for expected, request in (
            (201, client.build_request("POST", CONFIGMAPS, json={"metadata": {"name": name}, "data": {"step": "0"}})),
            (200, client.build_request("PATCH", f"{CONFIGMAPS}/{name}", json={"data": {"step": "1"}}, headers=patch)),
        ):
            if stop.is_set():
                return
            try:
                response = await client.send(request)
            except httpx.HTTPError:
                return  # killed mid-request: this write may or may not have committed
            assert response.status_code == expected, response.text
            acked.record(name, response.json())


async def load_and_kill(cluster: Cluster, *, round_: int, acked: Acked, kill_after: int) -> None:
    """WRITERS concurrent writers; SIGKILL the server once ``kill_after`` more writes were acked."""
    assert cluster.server is not None
    target = acked.writes + kill_after
    stop = asyncio.Event()
    headers = {"Authorization": f"Bearer {cluster.token}"}
    async with httpx.AsyncClient(base_url=cluster.url, verify=str(cluster.data_dir / "ca.crt"), headers=headers,
                                 timeout=10) as client:
        tasks = [asyncio.create_task(writer(client, prefix=f"r{round_}-w{w}", acked=acked, stop=stop))
                 for w in range(WRITERS)]
        deadline = time.monotonic() + 20
        while acked.writes < target:
            assert time.monotonic() < deadline, f"only {acked.writes - target + kill_after} writes in 20s"
            await asyncio.sleep(0.005)
        os.kill(cluster.server.pid, signal.SIGKILL)  # writers are mid-request
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 20)
    cluster.server.wait(timeout=10)


def check_after_restart(cluster: Cluster, acked: Acked, *, highest: int) -> tuple[int, int]:
    """Every acknowledged object is there with its revision (or a later one, from a write in
    flight at the kill); the revision did not go back. Returns (exact matches, new highest)."""
    with cluster.http() as http:
        listed = http.get(CONFIGMAPS)
    assert listed.status_code == 200, listed.text
    revision = int(listed.json()["metadata"]["resourceVersion"])
    assert revision >= highest, f"revision went back from {highest} to {revision}"
    present = {i["metadata"]["name"]: i for i in listed.json()["items"]}
    exact = 0
    for name, (rv, data) in acked.objects.items():
        assert name in present, f"acknowledged {name} (rv {rv}) is lost"
        now = int(present[name]["metadata"]["resourceVersion"])
        assert now >= rv, f"{name}: acknowledged rv {rv}, found {now}"
        if now == rv:
            assert present[name].get("data") == data, name
            exact += 1
    return exact, revision


def check_log(db: Path, acked: Acked) -> None:
    """The log holds a row for every acknowledged write, at its revision; the file is sound."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = dict(conn.execute("SELECT id, name FROM log").fetchall())
    missing = [(rv, name) for rv, name in acked.rows if names.get(rv) != KEY_PREFIX + name]
    assert not missing, f"{len(missing)} acknowledged writes have no row at their revision: {missing[:5]}"


def test_acknowledged_writes_survive_kill_9_under_concurrent_writes(tmp_path: Path) -> None:
    """20 rounds of SIGKILL during 6 concurrent writers (create + update), restart, verify."""
    started = time.monotonic()
    rng = random.Random(12)
    cluster = Cluster(tmp_path)
    acked = Acked()
    highest = exact = 0
    try:
        cluster.start_server()
        for round_ in range(ROUNDS):
            first_of_round = len(acked.rows)
            asyncio.run(load_and_kill(cluster, round_=round_, acked=acked, kill_after=rng.randint(30, 120)))
            new = [rv for rv, _ in acked.rows[first_of_round:]]
            assert new and min(new) > highest, f"round {round_}: a revision at or below {highest} was handed out"
            cluster.start_server()
            exact, highest = check_after_restart(cluster, acked, highest=max(highest, *new))
    finally:
        cluster.stop()
    check_log(tmp_path / "state.db", acked)
    elapsed = time.monotonic() - started
    print(f"\nkill -9 rounds survived: {ROUNDS}; writes acknowledged: {acked.writes} "
          f"({len(acked.objects)} objects), all verified in the log at their revision; "
          f"{exact} objects at exactly the acknowledged rv, {len(acked.objects) - exact} moved on by a write "
          f"in flight at the kill; last revision {highest}; {elapsed:.1f}s")
    assert elapsed < 90, f"the crash test took {elapsed:.0f}s"
