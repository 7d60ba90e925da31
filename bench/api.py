"""API: throughput and latency of GET, LIST, create, update and watch delivery.

Two servers run side by side as subprocesses on free ports, over HTTPS with the same certificate
and bearer token: ``podvisor apiserver`` (the real path: auth middleware, validation, defaulting,
admission, the revision log) and :mod:`bench.baseline_app` (bare FastAPI + SQLite, same
durability). Cases alternate between the two so drift on the shared machine hits both.

Besides throughput (as seconds per request) and latency, each case reports the server's CPU
seconds per request (from /proc): on a 2-core machine the generator competes with the server,
and CPU per request is the figure least disturbed by that.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.cluster import pod_manifest
from bench.harness import Comparison, RunInfo, Stat
from bench.loadgen import Conn, LoadResult, Op, closed_loop, connect, generator_name, watch_latency
from tests.e2e.cluster import free_port

NAME = "api"
LIST_SIZE = 100
OPS = ("get", "list", "create", "update")
CONNECTIONS = (1, 64)
PODS = "/api/v1/namespaces/{ns}/pods"


@dataclass
class Server:
    label: str
    proc: subprocess.Popen[bytes]
    url: str
    ca: str
    token: str
    setup_namespaces: bool
    state: dict[int, dict[str, Any]] = field(default_factory=dict)  # update op: worker -> last object

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def client(self, connections: int) -> httpx.AsyncClient:
        """An httpx client for set-up (not measured)."""
        return httpx.AsyncClient(base_url=self.url, verify=self.ca, headers={"Authorization": f"Bearer {self.token}"},
                                 timeout=60, limits=httpx.Limits(max_connections=connections))

    def conn(self, limit: int = 1) -> Conn:
        """A connection of the load generator."""
        return connect(self.url, ca=self.ca, token=self.token, limit=limit)


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen([sys.executable, *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(server: Server, log: Path, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.label} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.url}/readyz", verify=server.ca, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.label} not ready after {timeout:.0f} s")


def start_servers(tmp: Path) -> tuple[Server, Server]:
    pv_dir, port = tmp / "podvisor", free_port()
    pv_log = tmp / "podvisor.log"
    proc = _spawn(["-m", "podvisor.cli", "apiserver", "--data-dir", str(pv_dir), "--port", str(port)], pv_log)
    # the CA and token exist once the server has prepared its data dir, i.e. before it is ready
    end = time.monotonic() + 30
    while not (pv_dir / "admin.token").exists() and time.monotonic() < end:
        time.sleep(0.05)
    ca, token = str(pv_dir / "ca.crt"), (pv_dir / "admin.token").read_text().strip()
    podvisor = Server("podvisor apiserver", proc, f"https://127.0.0.1:{port}", ca, token, True)
    _wait_ready(podvisor, pv_log)
    port = free_port()
    bare_log = tmp / "bare.log"
    bare_proc = _spawn(["-m", "bench.baseline_app", "--db", str(tmp / "bare.db"), "--port", str(port),
                        "--cert", str(pv_dir / "server.crt"), "--key", str(pv_dir / "server.key"),
                        "--token", token], bare_log)
    bare = Server("bare FastAPI+SQLite", bare_proc, f"https://127.0.0.1:{port}", ca, token, False)
    _wait_ready(bare, bare_log)
    return podvisor, bare


async def prepare(server: Server) -> None:
    """Namespaces, the pods that GET/LIST read and the ones that updates rewrite."""
    async with server.client(8) as client:
        if server.setup_namespaces:
            for ns in ("bench-list", "bench-create", "bench-update", "bench-watch"):
                body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                (await client.post("/api/v1/namespaces", json=body)).raise_for_status()
        for ns, names in (("bench-list", [f"list-{i}" for i in range(LIST_SIZE)]),
                          ("bench-update", [f"upd-{w}" for w in range(max(CONNECTIONS))])):
            for name in names:
                response = await client.post(PODS.format(ns=ns), json=pod_manifest(name, namespace=ns))
                response.raise_for_status()


def operation(kind: str, server: Server, tag: str) -> Op:
    if kind == "get":
        return lambda c, w, i: c.request("GET", f"{PODS.format(ns='bench-list')}/list-{(w + i) % LIST_SIZE}")
    if kind == "list":
        return lambda c, w, i: c.request("GET", PODS.format(ns="bench-list"))
    if kind == "create":
        path = PODS.format(ns="bench-create")
        return lambda c, w, i: c.request("POST", path, body=pod_manifest(f"c-{tag}-{w}-{i}", namespace="bench-create"))

    async def update(c: Conn, w: int, i: int) -> tuple[int, bytes]:
        path = f"{PODS.format(ns='bench-update')}/upd-{w}"
        obj = server.state.get(w) or json.loads((await c.request("GET", path))[1])
        obj["metadata"].setdefault("labels", {})["round"] = f"{tag}-{i}"
        status, body = await c.request("PUT", path, body=obj)
        if status < 400:
            server.state[w] = json.loads(body)
        else:
            server.state.pop(w, None)
        return status, body

    return update


async def measure_case(server: Server, kind: str, connections: int, duration: float, tag: str) -> tuple[LoadResult, float]:
    """(load result, server CPU seconds per request) after a short unmeasured warm-up."""
    conns = [server.conn() for _ in range(connections)]
    try:
        await closed_loop(conns, operation(kind, server, f"w{tag}"), duration=min(0.5, duration / 4))
        cpu = server.cpu_seconds()
        result = await closed_loop(conns, operation(kind, server, tag), duration=duration)
        cpu = server.cpu_seconds() - cpu
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    if result.errors:
        raise RuntimeError(f"{server.label} {kind} x{connections}: {result.errors} errors, first: {result.first_error}")
    return result, cpu / max(result.count, 1)


async def measure_watch(server: Server, watchers: int, events: int, tag: str) -> list[float]:
    conns, writer = [server.conn() for _ in range(watchers)], server.conn()
    path = PODS.format(ns="bench-watch")

    async def write(name: str) -> None:
        status, body = await writer.request("POST", path, body=pod_manifest(name, namespace="bench-watch"))
        if status >= 400:
            raise RuntimeError(f"{server.label}: create {name}: {status} {body[:200]!r}")

    try:
        return await watch_latency(conns, write, path=path, events=events, prefix=f"wl-{tag}")
    finally:
        await asyncio.gather(*(c.close() for c in [*conns, writer]))


async def _measure(quick: bool, tmp: Path, info: RunInfo) -> list[Comparison]:
    duration, events = (0.6, 15) if quick else (6.0, 200)
    podvisor, bare = start_servers(tmp)
    rows: list[Comparison] = []
    try:
        for server in (podvisor, bare):
            await prepare(server)
        for kind in OPS:
            for conns in CONNECTIONS:
                (pv, pv_cpu), (ba, ba_cpu) = [await measure_case(s, kind, conns, duration, f"{kind}{conns}")
                                             for s in (podvisor, bare)]
                rows += case_rows(f"{kind} x{conns}", pv, ba, pv_cpu, ba_cpu, baseline="bare FastAPI+SQLite", group=NAME)
        for watchers in CONNECTIONS:
            pv_w, ba_w = [await measure_watch(s, watchers, events, f"{watchers}") for s in (podvisor, bare)]
            rows.append(Comparison(f"watch event latency, {watchers} watcher(s)", "s", Stat.of(pv_w), Stat.of(ba_w),
                                   bare.label, group=NAME, note="write sent -> event received"))
        info.notes[f"{NAME}:rss"] = f"podvisor apiserver RSS {podvisor.rss_bytes() / 2**20:.0f} MiB"
    finally:
        stop_servers(podvisor, bare)
    return rows


def stop_servers(*servers: Server) -> None:
    for server in servers:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()


def case_rows(name: str, a: LoadResult, b: LoadResult, a_cpu: float, b_cpu: float, *, baseline: str,
              group: str) -> list[Comparison]:
    """One case's rows, ``a`` measured against ``b``: throughput, latency and server CPU per request."""
    thr: Callable[[LoadResult], Stat] = lambda r: Stat.value(r.seconds_per_op, n=r.count)  # noqa: E731
    return [
        Comparison(f"{name}: time per request (1/throughput)", "s/op", thr(a), thr(b), baseline, group=group,
                   note=f"{1 / a.seconds_per_op:.0f} vs {1 / b.seconds_per_op:.0f} req/s"),
        Comparison(f"{name}: latency", "s", Stat.of(a.latencies), Stat.of(b.latencies), baseline, group=group),
        Comparison(f"{name}: server CPU per request", "s/op", Stat.value(a_cpu, n=a.count),
                   Stat.value(b_cpu, n=b.count), baseline, group=group),
    ]


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    with tempfile.TemporaryDirectory(prefix="podvisor-bench-api-") as tmp:
        rows = asyncio.run(_measure(quick, Path(tmp), info))
    info.notes[NAME] = (f"Closed-loop {generator_name()}/asyncio generator in the benchmark process; GET/LIST read a namespace "
                        f"of {LIST_SIZE} pods, create POSTs new pods, update PUTs one pod per connection with its "
                        "resourceVersion. Targets (not asserted): podvisor throughput >= half the bare ceiling "
                        "(ratio <= 2 on time per request), mutating p99 < 50 ms at 64 connections. "
                        + info.notes.pop(f"{NAME}:rss", ""))
    return rows
