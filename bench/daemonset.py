"""DaemonSet rollout over 3 nodes: one pod per node, then a template change replaced node by node.

* podvisor, start: a DaemonSet created over 3 kubelets until a watch has seen its 3 pods Running
  (DaemonSet controller, scheduler binding through node affinity, kubelets);
* podvisor, rollout: a template change (``kubectl rollout restart``'s annotation patch) until the
  3 pods of the new template are Running and no old pod is left (``maxUnavailable: 1``, so one
  node at a time: delete, wait for the container to stop, create, bind, start, become ready);
* raw Docker: three create+start in parallel (the floor of the start), and the same three
  replacements one after another (remove, then create+start), the floor of a one-node-at-a-time
  rollout with no orchestration at all.

Rounds interleave the contenders; the DaemonSet is deleted between rounds.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from apimachinery.client import ApiClient
from apimachinery.resources import DAEMONSETS
from apimachinery.timeutil import now_rfc3339
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
from bench.harness import Comparison, RunInfo, Stat

NAME = "daemonset"
NAMESPACE = "bench-daemonset"
NEEDS = ("kubelet.agent:run_kubelet", "scheduler.runner:run_scheduler", "controllers.daemonset:DaemonSetController")
NODES = 3
HASH_LABEL = "controller-revision-hash"


def raw_parallel_start(count: int) -> float:
    """``count`` containers created and started at once (one per node: nothing orders them)."""
    client = dockerops.api(pool=count)
    with ThreadPoolExecutor(count) as pool:
        start = time.perf_counter()
        ids = list(pool.map(lambda _: dockerops.create_start(client), range(count)))
        took = time.perf_counter() - start
    dockerops.remove(client, ids)
    return took


def raw_sequential_replace(count: int) -> float:
    """``count`` containers replaced one at a time (remove, create+start)."""
    client = dockerops.api()
    ids = [dockerops.create_start(client) for _ in range(count)]
    start = time.perf_counter()
    for i, cid in enumerate(ids):
        dockerops.remove(client, [cid])
        ids[i] = dockerops.create_start(client)
    took = time.perf_counter() - start
    dockerops.remove(client, ids)
    return took


def daemonset(name: str) -> dict[str, Any]:
    template = pod_manifest(name, namespace=NAMESPACE, labels={"app": name})
    template["metadata"] = {"labels": {"app": name}}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": template,
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}}}


def _running_of(observer: PodObserver, name: str) -> dict[str, str]:
    """Running pods of the DaemonSet, name -> template hash."""
    return {n: (p["metadata"].get("labels") or {}).get(HASH_LABEL, "") for n, p in observer.pods.items()
            if (p["metadata"].get("labels") or {}).get("app") == name and n in observer.running_at
            and not p["metadata"].get("deletionTimestamp")}


def _of(observer: PodObserver, name: str) -> list[dict[str, Any]]:
    return [p for p in observer.pods.values() if (p["metadata"].get("labels") or {}).get("app") == name]


async def podvisor_round(client: ApiClient, observer: PodObserver, name: str) -> tuple[float, float]:
    """(start, rollout) seconds for one DaemonSet."""
    start = time.perf_counter()
    await client.request("POST", DAEMONSETS.path(NAMESPACE), body=daemonset(name))
    started = await observer.until(lambda: len(_running_of(observer, name)) >= NODES, timeout=300) - start
    old = set(_running_of(observer, name).values())
    patch = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt":
                                                                    now_rfc3339()}}}}}
    begin = time.perf_counter()
    await client.request("PATCH", DAEMONSETS.path(NAMESPACE, name), body=patch,
                         content_type="application/strategic-merge-patch+json")

    def rolled() -> bool:
        running = _running_of(observer, name)
        return len(running) == NODES and not (set(running.values()) & old) and len(_of(observer, name)) == NODES

    rolled_out = await observer.until(rolled, timeout=600) - begin
    await client.delete_raw(DAEMONSETS, name, NAMESPACE, propagation="Background")
    await observer.until(lambda: not _of(observer, name), timeout=300)
    return started, rolled_out


async def _rounds(cluster: Cluster | None, reps: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    client = admin_client(cluster) if cluster else None
    observer = None
    if client and cluster:
        for node in [cluster.start_kubelet(f"ds{i}") for i in range(NODES)]:
            await wait_node_ready(client, node)
        await ensure_namespace(client, NAMESPACE)
        observer = PodObserver(client, NAMESPACE)
        await observer.start()
    try:
        for i in range(reps):
            samples.setdefault("raw-start", []).append(raw_parallel_start(NODES))
            samples.setdefault("raw", []).append(raw_sequential_replace(NODES))
            if client and observer:
                started, rolled = await podvisor_round(client, observer, f"ds-{i}")
                samples.setdefault("start", []).append(started)
                samples.setdefault("rollout", []).append(rolled)
    finally:
        if observer:
            await observer.stop()
        if client:
            await client.close()
    return samples


async def _measure(reps: int, info: RunInfo) -> dict[str, list[float]]:
    missing = missing_components(*NEEDS)
    if missing:
        info.errors[f"{NAME} (podvisor side)"] = f"not importable yet: {', '.join(missing)}"
        return await _rounds(None, reps)
    with bench_cluster() as cluster:
        return await _rounds(cluster, reps)


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    reps = 1 if quick else 3
    s = asyncio.run(_measure(reps, info))

    def stat(key: str) -> Stat | None:
        return Stat.of(s[key]) if s.get(key) else None

    info.notes[NAME] = (f"DaemonSet over {NODES} kubelets: created -> {NODES} pods Running on a watch; then a "
                        "template change (rollout restart's annotation) -> every pod of the new template Running "
                        f"and no old pod left, maxUnavailable 1 (one node at a time). Baselines: {NODES} raw docker "
                        f"create+start in parallel threads (start), the same {NODES} containers replaced one after "
                        "another by raw docker remove + create+start (rollout).")
    return [
        Comparison(f"daemonset start on {NODES} nodes", "s", stat("start"), stat("raw-start"),
                   f"raw docker: {NODES} create+start in parallel", group=NAME),
        Comparison(f"daemonset rollout over {NODES} nodes", "s", stat("rollout"), stat("raw"),
                   f"raw docker: {NODES} sequential replacements", group=NAME),
    ]
