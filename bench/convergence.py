"""Convergence: N replicas requested -> N containers running.

* podvisor: a Deployment of N replicas applied over 3 kubelets (deployment and replicaset
  controllers, scheduler, kubelets) until a watch has seen all N pods Running;
* Swarm, tuned: ``docker service create --replicas N --detach --update-parallelism 0`` until N
  task containers have a Docker ``start`` event;
* Swarm, default: the same without ``--detach``: the CLI returns once it judges the service
  converged (it also waits for the tasks to stay up for its 5 s monitor period);
* raw Docker: N ``create+start`` calls from a thread pool (the floor: no orchestration at all).

Rounds interleave the contenders; everything of a round is removed before the next.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from apimachinery.client import ApiClient
from apimachinery.resources import DEPLOYMENTS
from bench import dockerops
from bench.cluster import (
    Cluster,
    PodObserver,
    admin_client,
    bench_cluster,
    ensure_namespace,
    missing_components,
    pod_manifest,
    wait_node_ready,
)
from bench.dockerops import EventLog, start_of
from bench.harness import Comparison, RunInfo, Stat, deadline_wait

NAME = "convergence"
NAMESPACE = "bench-converge"
NEEDS = ("kubelet.agent:run_kubelet", "scheduler.runner:run_scheduler", "controllers.manager:run_controllers")
POOL = 16


def raw_parallel(replicas: int) -> float:
    client = dockerops.api(pool=POOL)
    with ThreadPoolExecutor(POOL) as pool:
        start = time.perf_counter()
        ids = list(pool.map(lambda _: dockerops.create_start(client), range(replicas)))
        took = time.perf_counter() - start
        list(pool.map(lambda cid: dockerops.remove(client, [cid]), ids))
    return took


def swarm_tuned(events: EventLog, replicas: int, tag: str) -> float:
    name = f"bench-conv-{tag}"
    label = {"com.docker.swarm.service.name": name}
    mark = events.mark()
    start = time.perf_counter()
    dockerops.service_create(name, replicas=replicas, detach=True, tuned=True)
    stamp, _event = events.wait(start_of(label), after=mark, timeout=300, count=replicas)
    took = stamp - start
    _service_rm(name, wait=True)
    return took


def swarm_default(replicas: int, tag: str, *, last: bool) -> float:
    name = f"bench-conv-{tag}"
    start = time.perf_counter()
    dockerops.service_create(name, replicas=replicas, detach=False)
    took = time.perf_counter() - start
    _service_rm(name, wait=not last)
    return took


def _service_rm(name: str, *, wait: bool) -> None:
    """Remove the service; ``wait`` until its containers are gone, so they do not load the next contender."""
    client = dockerops.api()
    dockerops.run("service", "rm", name, check=False)
    if wait:
        deadline_wait(lambda: not dockerops.service_containers(client, name, running_only=False), timeout=180,
                      what=f"containers of {name} removed")


def deployment(name: str, replicas: int) -> dict[str, Any]:
    template = pod_manifest(name, namespace=NAMESPACE, labels={"app": name})
    template["metadata"] = {"labels": {"app": name}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template}}


async def podvisor_converge(client: ApiClient, observer: PodObserver, replicas: int, name: str, *,
                            last: bool) -> float:
    def running() -> list[str]:
        return [n for n, p in observer.pods.items()
                if (p["metadata"].get("labels") or {}).get("app") == name and n in observer.running_at]

    start = time.perf_counter()
    await client.request("POST", DEPLOYMENTS.path(NAMESPACE), body=deployment(name, replicas))
    done = await observer.until(lambda: len(running()) >= replicas, timeout=600)
    if last:
        return done - start  # the cluster's teardown removes its containers
    await client.delete_raw(DEPLOYMENTS, name, NAMESPACE, propagation="Background")
    await observer.until(lambda: not any((p["metadata"].get("labels") or {}).get("app") == name
                                         for p in observer.pods.values()), timeout=600)
    return done - start


async def _rounds(cluster: Cluster | None, sizes: list[int], reps: int, info: RunInfo) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    client = admin_client(cluster) if cluster else None
    observer = None
    if client and cluster:
        for node in [cluster.start_kubelet(f"conv{i}") for i in range(3)]:
            await wait_node_ready(client, node)
        await ensure_namespace(client, NAMESPACE)
        observer = PodObserver(client, NAMESPACE)
        await observer.start()
    events = EventLog(dockerops.api(), filters={"type": "container", "event": "start"})
    try:
        for size in sizes:
            for i in range(reps):
                tag = f"{size}-{i}"
                last = size == sizes[-1] and i == reps - 1
                samples.setdefault(f"raw/{size}", []).append(raw_parallel(size))
                samples.setdefault(f"tuned/{size}", []).append(swarm_tuned(events, size, f"t{tag}"))
                samples.setdefault(f"default/{size}", []).append(swarm_default(size, f"d{tag}", last=last))
                if client and observer:
                    took = await podvisor_converge(client, observer, size, f"conv-{tag}", last=last)
                    samples.setdefault(f"podvisor/{size}", []).append(took)
    finally:
        events.close()
        if observer:
            await observer.stop()
        if client:
            await client.close()
    return samples


async def _measure(sizes: list[int], reps: int, info: RunInfo) -> dict[str, list[float]]:
    missing = missing_components(*NEEDS)
    with dockerops.swarm():
        if missing:
            info.errors[f"{NAME} (podvisor side)"] = f"not importable yet: {', '.join(missing)}"
            return await _rounds(None, sizes, reps, info)
        with bench_cluster() as cluster:
            return await _rounds(cluster, sizes, reps, info)


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    sizes, reps = ([20], 1) if quick else ([20, 50], 2)
    s = asyncio.run(_measure(sizes, reps, info))

    def stat(key: str) -> Stat | None:
        return Stat.of(s[key]) if s.get(key) else None

    info.notes[NAME] = ("Deployment applied -> all N pods Running on a watch (3 kubelets) vs the same N "
                        "containers by Swarm (tuned: --detach --update-parallelism 0, timed to the N-th "
                        "container start event; default: the blocking CLI, which includes its 5 s stability "
                        f"check) and by {POOL} threads of raw docker create+start.")
    rows = []
    for size in sizes:
        pv = stat(f"podvisor/{size}")
        rows += [
            Comparison(f"converge {size} replicas", "s", pv, stat(f"raw/{size}"), f"raw docker x{POOL} threads",
                       group=NAME),
            Comparison(f"converge {size} replicas", "s", pv, stat(f"tuned/{size}"), "swarm tuned (--detach)",
                       group=NAME),
            Comparison(f"converge {size} replicas", "s", pv, stat(f"default/{size}"), "swarm default (CLI waits)",
                       group=NAME),
        ]
    return rows
