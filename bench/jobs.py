"""Jobs: N short containers run to completion, P at a time.

* podvisor: a Job of ``completions: N, parallelism: P`` (restartPolicy Never) over 2 kubelets,
  from the create request until the Job's ``Complete`` condition is seen (the Job controller,
  the scheduler, the kubelets and the finalizer-based counting all included);
* raw Docker: the same N containers (same image and command), P threads each running
  ``create``, ``start``, ``wait`` and ``remove`` in turn: the floor, no orchestration at all.

Rounds interleave the two; the Job and its pods are deleted before the next round.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from apimachinery.client import ApiClient
from apimachinery.resources import JOBS
from bench import dockerops
from bench.cluster import (
    Cluster,
    admin_client,
    bench_cluster,
    ensure_namespace,
    missing_components,
    wait_node_ready,
)
from bench.harness import Comparison, RunInfo, Stat

NAME = "jobs"
NAMESPACE = "bench-jobs"
NEEDS = ("kubelet.agent:run_kubelet", "scheduler.runner:run_scheduler", "controllers.manager:run_controllers")
COMMAND = ["sh", "-c", "echo done"]
POLL = 0.1


def raw_docker(completions: int, parallelism: int) -> float:
    """``completions`` containers run to their end by ``parallelism`` threads; seconds in all."""
    client = dockerops.api(pool=parallelism)

    def one(_: int) -> None:
        created = client.create_container(dockerops.IMAGE, command=COMMAND, labels=dockerops.LABELS)
        client.start(created["Id"])
        client.wait(created["Id"], timeout=120)
        client.remove_container(created["Id"], force=True)

    with ThreadPoolExecutor(parallelism) as pool:
        start = time.perf_counter()
        list(pool.map(one, range(completions)))
        return time.perf_counter() - start


def job(name: str, completions: int, parallelism: int) -> dict[str, Any]:
    container = {"name": "main", "image": dockerops.IMAGE, "command": COMMAND, "imagePullPolicy": "Never"}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"completions": completions, "parallelism": parallelism, "backoffLimit": completions,
                     "template": {"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                                           "containers": [container]}}}}


def _complete(obj: dict[str, Any]) -> bool:
    return any(c.get("type") == "Complete" and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


async def podvisor_job(client: ApiClient, name: str, completions: int, parallelism: int, *,
                       timeout: float = 1800) -> float:
    start = time.perf_counter()
    await client.request("POST", JOBS.path(NAMESPACE), body=job(name, completions, parallelism))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if _complete(await client.request("GET", JOBS.path(NAMESPACE, name))):
            took = time.perf_counter() - start
            await client.delete_raw(JOBS, name, NAMESPACE, propagation="Foreground")
            return took
        await asyncio.sleep(POLL)
    raise TimeoutError(f"job {name} not Complete after {timeout:.0f} s")


async def _rounds(cluster: Cluster | None, completions: int, parallelism: int, reps: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"raw": [], "podvisor": []}
    client = admin_client(cluster) if cluster else None
    try:
        if client and cluster:
            for node in [cluster.start_kubelet(f"jobs{i}") for i in range(2)]:
                await wait_node_ready(client, node)
            await ensure_namespace(client, NAMESPACE)
        for i in range(reps):
            samples["raw"].append(await asyncio.to_thread(raw_docker, completions, parallelism))
            if client:
                samples["podvisor"].append(await podvisor_job(client, f"job-{i}", completions, parallelism))
    finally:
        if client:
            await client.close()
    return samples


async def _measure(completions: int, parallelism: int, reps: int, info: RunInfo) -> dict[str, list[float]]:
    missing = missing_components(*NEEDS)
    if missing:
        info.errors[f"{NAME} (podvisor side)"] = f"not importable yet: {', '.join(missing)}"
        return await _rounds(None, completions, parallelism, reps)
    with bench_cluster() as cluster:
        return await _rounds(cluster, completions, parallelism, reps)


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    completions, parallelism, reps = (10, 5, 1) if quick else (100, 10, 2)
    s = asyncio.run(_measure(completions, parallelism, reps, info))
    info.notes[NAME] = (f"A Job of {completions} completions, parallelism {parallelism} (2 kubelets), create -> "
                        f"Complete condition, vs the same {completions} containers ({' '.join(COMMAND)}) run to "
                        f"their end by {parallelism} threads of raw docker create+start+wait+remove.")
    return [Comparison(f"job {completions} completions x{parallelism}", "s",
                       Stat.of(s["podvisor"]) if s["podvisor"] else None, Stat.of(s["raw"]) if s["raw"] else None,
                       f"raw docker x{parallelism} threads", group=NAME)]
