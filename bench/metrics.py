"""Metrics: what recording Prometheus metrics costs a request, against the same server without.

Two ``podvisor apiserver`` processes run side by side, identical but for ``--disable-metrics``;
the admin sends GETs of one of ``LIST_SIZE`` pods, LISTs of them and pod creates, closed loop,
at 1 and 64 connections, alternating between the servers case by case so drift on the shared
machine hits both. Every request of the metrics-on server passes the instrumentation middleware
(labels from the request path, a counter and a histogram); nothing scrapes it meanwhile.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.api import (
    CONNECTIONS,
    LIST_SIZE,
    Server,
    _spawn,
    _wait_ready,
    case_rows,
    measure_case,
    prepare,
    stop_servers,
)
from bench.harness import Comparison, RunInfo
from tests.e2e.cluster import free_port

NAME = "metrics"
OPS = ("get", "list", "create")
LABELS = {True: "metrics on", False: "metrics off (--disable-metrics)"}


def start_server(tmp: Path, *, metrics: bool) -> Server:
    data, port = tmp / ("on" if metrics else "off"), free_port()
    log = tmp / f"{data.name}.log"
    flag = "--enable-metrics" if metrics else "--disable-metrics"
    proc = _spawn(["-m", "podvisor.cli", "apiserver", "--data-dir", str(data), "--port", str(port), flag], log)
    end = time.monotonic() + 30
    while not (data / "admin.token").exists() and time.monotonic() < end:
        time.sleep(0.05)
    server = Server(LABELS[metrics], proc, f"https://127.0.0.1:{port}", str(data / "ca.crt"),
                    (data / "admin.token").read_text().strip(), setup_namespaces=True)
    _wait_ready(server, log)
    return server


async def _measure(quick: bool, tmp: Path) -> list[Comparison]:
    duration = 0.6 if quick else 6.0
    on, off = start_server(tmp, metrics=True), start_server(tmp, metrics=False)
    rows: list[Comparison] = []
    try:
        for server in (on, off):
            await prepare(server)
        async with on.client(1) as client:  # the servers differ as claimed
            if (await client.get("/metrics")).status_code != 200:
                raise RuntimeError("the metrics-on server does not serve /metrics")
        async with off.client(1) as client:
            if (await client.get("/metrics")).status_code != 404:
                raise RuntimeError("the metrics-off server serves /metrics")
        for kind in OPS:
            for conns in CONNECTIONS:
                (a, a_cpu), (b, b_cpu) = [await measure_case(s, kind, conns, duration, f"{kind}{conns}")
                                         for s in (on, off)]
                rows += case_rows(f"{kind} x{conns}", a, b, a_cpu, b_cpu, baseline=off.label, group=NAME)
    finally:
        stop_servers(on, off)
    return rows


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    with tempfile.TemporaryDirectory(prefix="podvisor-bench-metrics-") as tmp:
        rows = asyncio.run(_measure(quick, Path(tmp)))
    info.notes[NAME] = ("Two podvisor apiservers differing only in --enable-metrics/--disable-metrics; admin requests, "
                        f"closed loop: GET of one of {LIST_SIZE} pods, LIST of them, pod creates. "
                        "ratio = metrics on / off.")
    return rows
