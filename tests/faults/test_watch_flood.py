"""2,000 watches and a reader that never reads: memory stays bounded, short requests stay fast.

Mirrors Kubernetes' watch cache tests of slow watchers (``TestCacheWatcherDrainingRequestedButNotDrained``
and the cacher's "Forcing watcher close due to unresponsiveness", where a watcher whose buffer
stays full is closed and must re-list) and API Priority and Fairness' premise that no client's
load may stall ``/healthz`` or another client's GET. A real ``podvisor server`` process; the
watches come from this test over TLS.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import socket
import ssl
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from tests.e2e.cluster import Cluster

WATCHES = 2000
NAMESPACE = "default"  # the 2,000 watchers' namespace, with small events
SLOW_NAMESPACE = "kube-public"  # the slow reader's, with large ones
BIG_BYTES = 256 * 1024  # 32 MiB (the per-watcher byte bound) is about 130 of them
BIG_WRITES = 200
PROBE_SECONDS = 10.0
RSS_GROWTH_BOUND_MB = 500  # measured: ~170 MB for 2,000 watches; 2.9 GB before watches were bounded
LATENCY_BOUND = 1.0  # seconds; a wedge breaks it (measured p99: tens of ms)


def rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS")


def configmap(name: str, size: int = 100) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"x": "y" * size}}


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class Watches:
    """``count`` watches on one namespace, counting the events each has received."""

    def __init__(self, session: aiohttp.ClientSession, count: int) -> None:
        self.session = session
        self.open = 0
        self.failed: list[str] = []
        self.events = [0] * count
        self.tasks = [asyncio.create_task(self._watch(i)) for i in range(count)]

    async def _watch(self, i: int) -> None:
        try:
            async with self.session.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps?watch=true") as r:
                if r.status != 200:
                    self.failed.append(f"{r.status} {await r.text()}")
                    return
                self.open += 1
                async for chunk in r.content.iter_any():
                    self.events[i] += chunk.count(b"\n")
        except (aiohttp.ClientError, OSError) as err:
            self.failed.append(repr(err))

    def cancel(self) -> None:
        for task in self.tasks:
            task.cancel()


async def slow_reader(cluster: Cluster, ctx: ssl.SSLContext) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A watch whose client never reads: its socket buffers are small and soon full."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: it sets the window
    sock.connect(("127.0.0.1", cluster.port))
    reader, writer = await asyncio.open_connection(sock=sock, ssl=ctx, server_hostname="127.0.0.1", limit=1 << 16)
    writer.write(f"GET /api/v1/namespaces/{SLOW_NAMESPACE}/configmaps?watch=true HTTP/1.1\r\nHost: x\r\n"
                 f"Authorization: Bearer {cluster.token}\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


def probe_latencies(url: str, ca: str, token: str, seconds: float) -> dict[str, list[float]]:
    """Seconds each ``/healthz`` and GET took, alternately, for ``seconds``: run in a process of
    its own, so this test's 2,000 streams do not delay the measurement."""
    paths = {"healthz": "/healthz", "get": f"/api/v1/namespaces/{NAMESPACE}/configmaps/target"}
    taken: dict[str, list[float]] = {name: [] for name in paths}
    with httpx.Client(base_url=url, verify=ca, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            for name, path in paths.items():
                start = time.monotonic()
                assert http.get(path).status_code == 200, path
                taken[name].append(time.monotonic() - start)
            time.sleep(0.02)
    return taken


async def small_writes(session: aiohttp.ClientSession, until: float) -> int:
    """A steady trickle of changes every watcher receives (about ten a second)."""
    count = 0
    while time.monotonic() < until:
        async with session.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps", json=configmap(f"tick-{count}")) as r:
            assert r.status == 201, await r.text()
        count += 1
        await asyncio.sleep(0.1)
    return count


async def read_until_closed(reader: asyncio.StreamReader, timeout: float) -> tuple[int, bool]:
    """Everything the server sends the slow reader now that it reads: (bytes, saw a 410 ERROR)."""
    received = 0
    tail = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = await asyncio.wait_for(reader.read(1 << 16), deadline - time.monotonic())
        except TimeoutError:
            break
        except (ConnectionError, ssl.SSLError):
            return received, False
        if not data:
            return received, False
        received += len(data)
        tail = (tail + data)[-4096:]
        if b'"reason":"Expired"' in tail:
            return received, True
    raise AssertionError(f"the slow reader's watch was still open after {timeout}s ({received} bytes read)")


async def flood(cluster: Cluster) -> None:
    assert cluster.server is not None
    pid = cluster.server.pid
    ctx = ssl.create_default_context(cafile=str(cluster.data_dir / "ca.crt"))
    headers = {"Authorization": f"Bearer {cluster.token}"}
    rss_before = rss_mb(pid)
    watch_conn = aiohttp.TCPConnector(limit=0, ssl=ctx)
    async with aiohttp.ClientSession(cluster.url, connector=watch_conn, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=None)) as watch_session, \
            aiohttp.ClientSession(cluster.url, connector=aiohttp.TCPConnector(ssl=ctx), headers=headers) as api:
        async with api.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps", json=configmap("target")) as r:
            assert r.status == 201, await r.text()
        started = time.monotonic()
        watches = Watches(watch_session, WATCHES)
        slow, slow_writer = await slow_reader(cluster, ctx)
        while watches.open + len(watches.failed) < WATCHES and time.monotonic() - started < 60:
            await asyncio.sleep(0.1)
        assert not watches.failed, watches.failed[:3]
        opened = time.monotonic() - started
        rss_open = rss_mb(pid)

        # the slow reader falls behind by far more than its byte bound
        for i in range(BIG_WRITES):
            body = configmap(f"big-{i}", BIG_BYTES)
            async with api.post(f"/api/v1/namespaces/{SLOW_NAMESPACE}/configmaps", json=body) as r:
                assert r.status == 201, await r.text()

        # /healthz and a GET under 2,000 open watches receiving a steady trickle of events
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            prober = asyncio.get_running_loop().run_in_executor(
                pool, probe_latencies, cluster.url, str(cluster.data_dir / "ca.crt"), cluster.token, PROBE_SECONDS)
            ticks = await small_writes(api, time.monotonic() + PROBE_SECONDS)
            taken = await prober
        healthz, gets = taken["healthz"], taken["get"]

        # one more event reaches every watcher
        before = list(watches.events)
        sent = time.monotonic()
        async with api.post(f"/api/v1/namespaces/{NAMESPACE}/configmaps", json=configmap("last")) as r:
            assert r.status == 201
        while sum(a > b for a, b in zip(watches.events, before, strict=True)) < WATCHES:
            assert time.monotonic() - sent < 30, "an event did not reach every watcher in 30 s"
            await asyncio.sleep(0.01)
        fan_out = time.monotonic() - sent
        rss_after = rss_mb(pid)

        slow_bytes, saw_410 = await read_until_closed(slow, timeout=60)
        slow_writer.close()
        watches.cancel()

    print(f"\n{WATCHES} watches open in {opened:.1f}s; {ticks} small writes while probing; "
          f"{BIG_WRITES} x {BIG_BYTES // 1024} KiB writes to the slow reader's namespace")
    print(f"server RSS: {rss_before} MB before, {rss_open} MB with the watches open, {rss_after} MB after the flood")
    print(f"/healthz p99 {p99(healthz) * 1000:.1f} ms (n={len(healthz)}), "
          f"GET p99 {p99(gets) * 1000:.1f} ms (n={len(gets)}); one event reached all in {fan_out * 1000:.0f} ms")
    print(f"slow reader: cut off after {slow_bytes / 2**20:.1f} MiB of {BIG_WRITES * BIG_BYTES / 2**20:.0f} MiB, "
          f"{'with a 410 ERROR event' if saw_410 else 'by closing the connection'}")
    assert rss_after - rss_before < RSS_GROWTH_BOUND_MB
    assert p99(healthz) < LATENCY_BOUND and p99(gets) < LATENCY_BOUND
    assert slow_bytes < BIG_WRITES * BIG_BYTES


def test_watch_flood_keeps_memory_and_latency_bounded(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    cluster = Cluster(tmp_path)
    try:
        cluster.start_server()
        asyncio.run(flood(cluster))
    finally:
        cluster.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
