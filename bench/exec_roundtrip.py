"""Exec round trip: ``kubectl exec pod -- true`` against ``docker exec <container> true``.

Both are whole CLI invocations, timed from process start to exit, interleaved round by round on
the same running container: kubectl's path adds its pod GET, the WebSocket to the API server
(authentication, authorization), the relay's mTLS WebSocket to the kubelet and the kubelet's
Docker exec; docker's is the CLI straight to the daemon. ``podctl exec`` is measured the same
way (its figure includes the Python interpreter's start-up).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time

from apimachinery.resources import PODS
from bench import dockerops
from bench.cluster import admin_client, bench_cluster, container_running, pod_manifest, wait_node_ready
from bench.harness import Comparison, RunInfo, Stat
from tests.e2e.cluster import Cluster

NAME = "exec_roundtrip"
POD = "bench-exec"


def _timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, env=env, timeout=60)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
    return took


async def _start_pod(cluster: Cluster) -> str:
    """A running pod on one kubelet; returns its container's id."""
    node = cluster.start_kubelet("bench-exec", "--restart-backoff-initial", "0")
    async with admin_client(cluster) as client:
        await wait_node_ready(client, node)
        await client.request("POST", PODS.path("default"), body=pod_manifest(POD, node=node))
        end = time.monotonic() + 60
        while not container_running(await client.request("GET", PODS.path("default", POD))):
            if time.monotonic() > end:
                raise TimeoutError("the benchmark pod did not start")
            await asyncio.sleep(0.2)
    ids = dockerops.run("ps", "-q", "--filter", f"label=io.podvisor.pod.name={POD}",
                        "--filter", "label=io.podvisor.container=main").stdout.split()
    if len(ids) != 1:
        raise RuntimeError(f"expected one container of {POD}, found {ids}")
    return ids[0]


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is not installed")
    rounds = 5 if quick else 30
    samples: dict[str, list[float]] = {"kubectl": [], "podctl": [], "docker": []}
    with bench_cluster() as cluster, tempfile.TemporaryDirectory(prefix="bench-exec-home-") as home:
        container = asyncio.run(_start_pod(cluster))
        kubeconfig = str(cluster.data_dir / "admin.kubeconfig")
        env = {**os.environ, "HOME": home, "KUBECONFIG": kubeconfig}
        commands = {
            "kubectl": [kubectl, "exec", POD, "--", "true"],
            "podctl": [sys.executable, "-m", "podctl.cli", "exec", "--kubeconfig", kubeconfig, POD, "--", "true"],
            "docker": ["docker", "exec", container, "true"],
        }
        for round_ in range(rounds + 1):
            for key, command in commands.items():
                took = _timed(command, env)
                if round_:  # the first round warms caches (kubectl discovery, imports) and is dropped
                    samples[key].append(took)
    info.notes[NAME] = (f"Whole CLI invocations, {rounds} interleaved rounds after a dropped warm-up, on one running "
                        "busybox container; one kubelet on the local Docker daemon.")
    docker = Stat.of(samples["docker"])
    return [
        Comparison("exec round trip (kubectl exec -- true)", "s", Stat.of(samples["kubectl"]), docker,
                   "docker exec (CLI)", group=NAME),
        Comparison("exec round trip (podctl exec -- true)", "s", Stat.of(samples["podctl"]), docker,
                   "docker exec (CLI)", note="includes Python start-up", group=NAME),
    ]


if __name__ == "__main__":  # a quick look without the results machinery
    for row in run(quick=True, info=RunInfo(started="", quick=True)):
        print(row.name, row.podvisor, row.baseline, row.ratio)
