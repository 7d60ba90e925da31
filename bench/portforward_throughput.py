"""Port-forward throughput: a 100 MB download through ``kubectl port-forward`` vs straight to the pod IP.

The pod serves ``dd if=/dev/zero bs=1MB`` on every connection (busybox ``nc -ll -e``; ``head -c``
would cap the direct side near 100 MB/s). Each repetition reads the whole stream once through
the real kubectl 1.37 (SPDY/3.1 tunnelled in a WebSocket to the API server, relayed to the
kubelet's WebSocket, connected inside the pod's network namespace) and once over a plain TCP
connection from the host to the pod IP on the Docker bridge, alternately, in the same run. The figure is the time of one transfer (lower is
better, so the ratio reads as everywhere else); MB/s are in the note. Every byte crosses three
extra hops and two Python processes (API server, kubelet), each copying it twice.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from bench.cluster import (
    Cluster,
    admin_client,
    bench_cluster,
    ensure_namespace,
    pod_manifest,
    wait_node_ready,
)
from bench.harness import Comparison, RunInfo, Stat, deadline_wait

NAME = "portforward_throughput"
NAMESPACE = "bench-portforward"
POD = "pf-source"
PORT = 9100
MB = 1_000_000
FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> \d+")


def download(host: str, port: int, size: int) -> float:
    """Seconds to read the whole stream; fails unless exactly ``size`` bytes came."""
    start = time.perf_counter()
    got = 0
    with socket.create_connection((host, port), timeout=60) as sock:
        buf = bytearray(1 << 20)
        while n := sock.recv_into(buf):
            got += n
    seconds = time.perf_counter() - start
    if got != size:
        raise RuntimeError(f"read {got} bytes from {host}:{port}, wanted {size}")
    return seconds


async def _start_pod(cluster: Cluster, node: str, size: int) -> str:
    client = admin_client(cluster)
    try:
        await wait_node_ready(client, node)
        await ensure_namespace(client, NAMESPACE)
        manifest = pod_manifest(POD, namespace=NAMESPACE, node=node)
        manifest["spec"]["containers"][0]["command"] = [
            "nc", "-ll", "-p", str(PORT), "-e", "dd", "if=/dev/zero", f"bs={MB}", f"count={size // MB}"]
        await client.request("POST", f"/api/v1/namespaces/{NAMESPACE}/pods", body=manifest)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pod = await client.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods/{POD}")
            status = pod.get("status") or {}
            if status.get("phase") == "Running" and status.get("podIP"):
                return str(status["podIP"])
            await asyncio.sleep(0.2)
        raise TimeoutError("the port-forward source pod did not start")
    finally:
        await client.close()


def _port_forward(kubeconfig: Path, home: Path) -> tuple[subprocess.Popen[str], int]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is not installed")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}
    proc = subprocess.Popen([kubectl, "-n", NAMESPACE, "port-forward", f"pod/{POD}", f":{PORT}"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = FORWARDING.search(line)
    if not match:
        proc.kill()
        raise RuntimeError(f"kubectl port-forward did not start: {line!r}")
    return proc, int(match.group(1))


def measure(*, size: int, reps: int) -> tuple[list[float], list[float]]:
    forwarded: list[float] = []
    direct: list[float] = []
    with bench_cluster() as cluster:
        node = cluster.start_kubelet("pf")
        kubeconfig = cluster.data_dir / "admin.kubeconfig"
        ip = asyncio.run(_start_pod(cluster, node, size))
        deadline_wait(lambda: _listening(ip), timeout=30, what="the pod's server")
        proc, local = _port_forward(kubeconfig, cluster.data_dir)
        try:
            download("127.0.0.1", local, size)  # warm-up: connections, page cache
            download(ip, PORT, size)
            for _ in range(reps):
                forwarded.append(download("127.0.0.1", local, size))
                direct.append(download(ip, PORT, size))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return forwarded, direct


def _listening(ip: str) -> bool:
    try:
        socket.create_connection((ip, PORT), timeout=1).close()
        return True
    except OSError:
        return False


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    size = (20 if quick else 100) * MB
    forwarded, direct = measure(size=size, reps=1 if quick else 3)
    fwd, raw = Stat.of(forwarded), Stat.of(direct)
    rate = f"{size / MB / fwd.median:.0f} MB/s via kubectl port-forward, {size / MB / raw.median:.0f} MB/s direct"
    info.notes[NAME] = ("A download of the pod's stream through kubectl port-forward (SPDY/3.1 in a WebSocket "
                        "to the API server, a WebSocket to the kubelet, TCP inside the pod's network namespace) "
                        "against a TCP connection from the host to the pod IP, alternating, same run.")
    return [Comparison(f"{size // MB} MB download", "s", fwd, raw, "direct TCP to the pod IP", note=rate,
                       group=NAME)]

