"""Scale with hollow nodes (kubemark): many simulated nodes, many pods, one real control plane.

``podvisor kubelet --hollow --hollow-nodes N`` registers N nodes that heartbeat (Lease renewals
and node status) and report pods Running without Docker, so what is measured is the control
plane: apiserver + store, scheduler, watch fan-out. Two phases, as Kubernetes' density test
has them. Saturation: the pods are created through the API by 32 concurrent connections as
fast as the server takes them; a watch records when each is bound and when it is Running;
this gives scheduler throughput and the mutating API latency under load. Latency: then, on
the loaded cluster, latency pods are created one at a time at a steady rate (10/s), and
their creation -> Running-seen-on-a-watch times give the pod startup latency, which a burst
of thousands would otherwise turn into a measure of queue length.

There is no second orchestrator to run at this size on this machine, so the baseline column
holds the Kubernetes scalability SLO / CI thresholds, named as such: scheduler throughput
270 pods/s (as seconds per pod), pod startup p99 5 s, mutating API call p99 1 s, and for the
database the etcd default space quota (2 GiB).

Database size after an hour of heartbeats is projected, not waited for: after the pods run,
the revision counter is sampled over an idle window to get the heartbeat write rate; the
store keeps ``retention`` seconds of history (compaction every 30 s), so after an hour it
holds the live objects plus ``rate * retention`` history rows; without compaction it would
hold ``rate * 3600``. Rows are converted to bytes with the database's own bytes per row.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx

from apimachinery.client import ApiClient
from apimachinery.resources import LEASES, NODES, PODS, ResourceType
from bench.cluster import (
    Cluster,
    PodObserver,
    admin_client,
    bench_cluster,
    ensure_namespace,
    missing_components,
)
from bench.cluster import pod_manifest as base_manifest
from bench.harness import Comparison, RunInfo, Stat, percentile

log = logging.getLogger(__name__)

NAME = "hollow"
NAMESPACE = "bench-hollow"
NEEDS = ("kubelet.agent:run_hollow_kubelets", "scheduler.runner:run_scheduler")
CREATORS = 32
MAX_RETRIES = 10  # client-go's for a 429
LATENCY_RATE = 10.0  # latency pods created per second
RETENTION = 300.0  # the server's default history retention (ServerOptions.history_retention)
SLO_THROUGHPUT = 270.0
SLO_STARTUP_P99 = 5.0
SLO_MUTATING_P99 = 1.0
ETCD_QUOTA = 2 * 2**30


def pod_manifest(name: str) -> dict[str, Any]:
    pod = base_manifest(name, namespace=NAMESPACE)
    pod["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1m", "memory": "1Mi"}}
    return pod


async def wait_nodes_ready(client: ApiClient, count: int, *, timeout: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        items, _ = await client.list_raw(NODES)
        ready = sum(any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in (n.get("status") or {}).get("conditions") or []) for n in items)
        if ready >= count:
            return time.perf_counter() - start
        await asyncio.sleep(1.0)
    raise TimeoutError(f"fewer than {count} hollow nodes Ready after {timeout:.0f} s")


async def create_pods(cluster: Cluster, names: list[str], sent: dict[str, float], *,
                      cap: float) -> tuple[list[float], int]:
    """POST the pods from ``CREATORS`` connections, for at most ``cap`` seconds; each create's
    latency (retries included) and how many 429s were retried."""
    stop_at = time.perf_counter() + cap
    queue: asyncio.Queue[str] = asyncio.Queue()
    for name in names:
        queue.put_nowait(name)
    latencies: list[float] = []
    retried = [0]

    async def creator() -> None:
        async with httpx.AsyncClient(base_url=cluster.url, verify=str(cluster.data_dir / "ca.crt"), timeout=60,
                                     headers={"Authorization": f"Bearer {cluster.token}"}) as http:
            while not queue.empty() and time.perf_counter() < stop_at:
                name = queue.get_nowait()
                start = sent[name] = time.perf_counter()
                retried[0] += await create_pod(http, name)
                latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(creator() for _ in range(CREATORS)))
    return latencies, retried[0]


async def create_pod(http: httpx.AsyncClient, name: str) -> int:
    """POST one pod as client-go does: a 429 is retried after its Retry-After, up to
    ``MAX_RETRIES`` times. Returns the number of retries."""
    for attempt in range(MAX_RETRIES + 1):
        response = await http.post(PODS.path(NAMESPACE), json=pod_manifest(name))
        if response.status_code != 429 or attempt == MAX_RETRIES:
            break
        await asyncio.sleep(float(response.headers.get("retry-after") or 1))
    if response.status_code >= 400:
        raise RuntimeError(f"create {name}: {response.status_code} {response.text[:300]}")
    return attempt


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def db_facts(data_dir: Path) -> dict[str, float]:
    """File size (db + WAL) and row counts of the server's store, read-only."""
    db = data_dir / "state.db"
    size = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("SELECT COUNT(*) FROM log").fetchone()[0]
        live = conn.execute("SELECT COUNT(*) FROM (SELECT name FROM log GROUP BY name)").fetchone()[0]
    finally:
        conn.close()
    return {"bytes": float(size), "rows": float(rows), "keys": float(live)}


async def heartbeat_rate(client: ApiClient, window: float) -> float:
    """Lease and Node writes per second, counted on watches of both for ``window`` seconds.

    Counted by kind rather than from the revision counter so that pod status writes still in
    flight (a run cut short by its deadline) do not inflate the heartbeat figure.
    """
    _, rv = await client.list_raw(PODS, "default", limit=1)
    counts = [0, 0]

    async def count(rt: ResourceType, slot: int) -> None:
        async for event in client.watch_raw(rt, resource_version=rv, timeout_seconds=int(window) + 60):
            if event.type in ("ADDED", "MODIFIED"):
                counts[slot] += 1

    tasks = [asyncio.create_task(count(LEASES, 0)), asyncio.create_task(count(NODES, 1))]
    await asyncio.sleep(window)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return sum(counts) / window


async def _scale(cluster: Cluster, nodes: int, pods: int, window: float, deadline: float,
                 latency_pods: int) -> dict[str, Any]:
    """Register the nodes, saturate with ``pods`` (creates capped at ``deadline`` s, Running as
    long again), then time ``latency_pods`` created at a steady rate."""
    cluster.start_kubelet("hollow", "--hollow", "--hollow-nodes", str(nodes), "--hollow-read-kubeconfig",
                          str(cluster.data_dir / "admin.kubeconfig"))
    client = admin_client(cluster)
    try:
        register = await wait_nodes_ready(client, nodes, timeout=max(60.0, nodes * 0.18))
        log.info("%d hollow nodes Ready after %.1f s", nodes, register)
        await ensure_namespace(client, NAMESPACE)
        observer = PodObserver(client, NAMESPACE)
        await observer.start()
        names, sent = [f"h-{i}" for i in range(pods)], dict[str, float]()
        began = time.perf_counter()
        latencies, retried = await create_pods(cluster, names, sent, cap=deadline)
        created = time.perf_counter() - began
        pods = len(sent)
        log.info("%d pods created in %.1f s; %d bound, %d running", pods, created, len(observer.bound_at),
                 len(observer.running_at))
        await _until_running(observer, sent, deadline)
        startup = await _latency_pods(cluster, observer, latency_pods)
        await observer.stop()
        rate = await heartbeat_rate(client, window)
        assert cluster.server is not None
        return {"pods": pods, "register": register, "created": created, "create_latency": latencies, "retried": retried,
                "sent": sent,
                "bound": dict(observer.bound_at), "running": dict(observer.running_at), "rate": rate,
                "startup": startup, "mem": proc_status(cluster.server.pid), "db": db_facts(cluster.data_dir)}
    finally:
        await client.close()


async def _until_running(observer: PodObserver, names: dict[str, float], deadline: float) -> None:
    progress = asyncio.create_task(_progress(observer))
    began = time.perf_counter()
    try:
        await observer.until(lambda: len(observer.running_at) >= len(names), timeout=deadline)  # only these yet
        log.info("all running after %.1f s more", time.perf_counter() - began)
    except TimeoutError:
        log.warning("only %d of %d pods Running after %.0f s: reporting those", len(observer.running_at),
                    len(names), deadline)
    finally:
        progress.cancel()


async def _latency_pods(cluster: Cluster, observer: PodObserver, count: int) -> list[float]:
    """Create ``count`` pods at LATENCY_RATE on the loaded cluster; each one's startup latency."""
    sent: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=cluster.url, verify=str(cluster.data_dir / "ca.crt"), timeout=60,
                                 headers={"Authorization": f"Bearer {cluster.token}"}) as http:
        start = time.perf_counter()
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / LATENCY_RATE - time.perf_counter()))
            name = f"latency-{i}"
            sent[name] = time.perf_counter()
            await create_pod(http, name)
    try:
        await observer.until(lambda: all(n in observer.running_at for n in sent), timeout=60)
    except TimeoutError:
        log.warning("latency pods: %d of %d Running", sum(n in observer.running_at for n in sent), count)
    return [observer.running_at[n] - t for n, t in sent.items() if n in observer.running_at]


async def _progress(observer: PodObserver) -> None:
    while True:
        await asyncio.sleep(10)
        log.info("... %d bound, %d running", len(observer.bound_at), len(observer.running_at))


def _rows(r: dict[str, Any], nodes: int, pods: int) -> list[Comparison]:
    bound = sorted(t for n, t in r["bound"].items() if n in r["sent"])
    startup = r["startup"]
    size = f"{nodes} nodes, {pods} pods"
    if r["pods"] < pods:
        size += f", only {r['pods']} created in time"
    running = sum(n in r["running"] for n in r["sent"])
    if running < r["pods"]:
        size += f", only {running} Running in time"
    rows = [_throughput(r, bound, size), _startup(startup, size, saturated=_saturation(r)),
            _mutating(r["create_latency"], r["retried"], size),
            Comparison(f"apiserver RSS ({size})", "bytes", Stat.value(r["mem"].get("VmRSS", 0)), None, "-",
                       group=NAME, note=f"peak {r['mem'].get('VmHWM', 0) / 2**20:.0f} MiB (server process: "
                                        "apiserver+scheduler+controllers)"),
            _database(r, size),
            Comparison(f"node registration ({nodes} hollow nodes -> Ready)", "s", Stat.value(r["register"]), None,
                       "-", group=NAME)]
    return rows


def _throughput(r: dict[str, Any], bound: list[float], size: str) -> Comparison:
    span = (bound[-1] - min(r["sent"].values())) if bound else 0.0
    stat = Stat.value(span / len(bound), n=len(bound)) if bound and span > 0 else None
    return Comparison(f"scheduler throughput ({size}), time per pod", "s/op", stat, Stat.value(1 / SLO_THROUGHPUT),
                      "k8s SLO/CI threshold 270 pods/s", group=NAME,
                      note=f"{len(bound) / span:.0f} pods/s, first create -> last bind seen" if stat else "none bound")


def _saturation(r: dict[str, Any]) -> str:
    """Saturation pods' creation -> Running, for the note: what a burst beyond capacity waits."""
    waits = [r["running"][n] - t for n, t in r["sent"].items() if n in r["running"]]
    return f"saturation pods waited p50 {percentile(waits, 50):.1f} s, p99 {percentile(waits, 99):.1f} s" if waits else ""


def _startup(startup: list[float], size: str, *, saturated: str) -> Comparison:
    stat = Stat.value(percentile(startup, 99), n=len(startup)) if startup else None
    note = (f"p50 {percentile(startup, 50):.2f} s; {len(startup)} latency pods at {LATENCY_RATE:.0f}/s after "
            f"saturation, created -> Running seen on a watch; {saturated}") if startup else "none Running"
    return Comparison(f"pod startup latency p99 ({size})", "s", stat, Stat.value(SLO_STARTUP_P99),
                      "k8s SLO p99 <= 5 s", group=NAME, note=note)


def _mutating(latencies: list[float], retried: int, size: str) -> Comparison:
    stat = Stat.value(percentile(latencies, 99), n=len(latencies)) if latencies else None
    note = (f"pod creates from {CREATORS} connections, a 429 retried after Retry-After as client-go does "
            f"({retried} retries); p50 {percentile(latencies, 50) * 1000:.0f} ms") if latencies else ""
    return Comparison(f"mutating API latency p99 under load ({size})", "s", stat, Stat.value(SLO_MUTATING_P99),
                      "k8s SLO p99 <= 1 s", group=NAME, note=note)


def _database(r: dict[str, Any], size: str) -> Comparison:
    db = r["db"]
    per_row = db["bytes"] / max(db["rows"], 1)
    hour_rows = db["keys"] + r["rate"] * RETENTION
    return Comparison(f"database after 1 h of heartbeats, projected ({size})", "bytes", Stat.value(hour_rows * per_row),
                      Stat.value(ETCD_QUOTA), "etcd default quota 2 GiB", group=NAME,
                      note=(f"{r['rate']:.0f} heartbeat writes/s (Lease+Node); now {db['bytes'] / 2**20:.1f} MiB, "
                            f"{db['rows']:.0f} rows for {db['keys']:.0f} keys ({per_row:.0f} B/row); 1 h keeps "
                            f"{hour_rows:.0f} rows with {RETENTION:.0f} s retention, "
                            f"{db['keys'] + r['rate'] * 3600:.0f} without compaction"))


#: (nodes, pods) per point of the scaling curve: 10, 20 and 30 pods per node, as in the issue's
#: density runs; quick mode keeps two small points so the curve still has a slope.
FULL_SIZES = ((100, 1000), (300, 6000), (1000, 30000))
QUICK_SIZES = ((50, 500), (100, 2000))


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    window, deadline, latency = (5.0, 30.0, 100) if quick else (30.0, 600.0, 300)
    missing = missing_components(*NEEDS)
    if missing:
        info.errors[NAME] = f"not importable yet: {', '.join(missing)}"
        return []
    rows: list[Comparison] = []
    curve: list[dict[str, float]] = []
    for nodes, pods in QUICK_SIZES if quick else FULL_SIZES:
        log.info("hollow: %d nodes, %d pods", nodes, pods)
        with bench_cluster() as cluster:
            result = asyncio.run(_scale(cluster, nodes, pods, window, deadline, latency))
        rows += _rows(result, nodes, pods)
        curve.append(curve_point(result, nodes))
    info.notes[NAME] = __doc__.split("\n\n")[2].replace("\n", " ") if __doc__ else ""
    info.curves[NAME] = curve
    return rows


def curve_point(r: dict[str, Any], nodes: int) -> dict[str, float]:
    """One point of the scaling curve: how each figure grows with the cluster."""
    bound = [t for n, t in r["bound"].items() if n in r["sent"]]
    span = max(bound) - min(r["sent"].values()) if bound else 0.0
    return {"nodes": nodes, "pods": r["pods"], "pods_per_second": len(bound) / span if span > 0 else 0.0,
            "startup_p99_s": percentile(r["startup"], 99) if r["startup"] else 0.0,
            "mutating_p99_s": percentile(r["create_latency"], 99) if r["create_latency"] else 0.0,
            "rss_mib": r["mem"].get("VmRSS", 0) / 2**20, "retried_429": r["retried"]}
