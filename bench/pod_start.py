"""Pod start: a pod created through the API (scheduled, no nodeName) until a watch says Running.

Baselines, measured interleaved with podvisor in the same run so machine noise hits all alike:

* ``docker create`` + ``docker start`` through the low-level SDK (one HTTP call each, then one
  inspect confirming ``State.Running``): the floor any Docker-based kubelet stands on;
* ``docker run -d`` through the CLI (what a person would type; includes the CLI's own start-up).

podvisor's figure includes the API write, the scheduler's bind, the kubelet's watch, the sandbox
and container creation, the status write and the watch event back to the client.
"""

from __future__ import annotations

import asyncio
import time

from apimachinery.client import ApiClient
from apimachinery.resources import PODS
from bench import dockerops
from bench.cluster import (
    PodObserver,
    admin_client,
    bench_cluster,
    ensure_namespace,
    missing_components,
    pod_manifest,
    wait_node_ready,
)
from bench.dockerops import EventLog
from bench.harness import Comparison, RunInfo, Stat

NAME = "pod_start"
NAMESPACE = "bench-start"
NEEDS = ("kubelet.agent:run_kubelet", "scheduler.runner:run_scheduler")
POD_NAME_LABEL = "io.podvisor.pod.name"
CONTAINER_LABEL = "io.podvisor.container"
PHASES = (  # where a pod's start-up time goes, in order
    ("bound", "bound by the scheduler (watch)"),
    ("POD/create", "sandbox created"),
    ("main/create", "app container created"),
    ("POD/start", "sandbox started"),
    ("main/start", "app container started"),
    ("running", "Running seen on the watch"),
)


def sdk_start() -> float:
    client = dockerops.api()
    start = time.perf_counter()
    cid = dockerops.create_start(client)
    while not dockerops.is_running(client, cid):
        time.sleep(0.001)
    took = time.perf_counter() - start
    dockerops.remove(client, [cid])
    return took


def cli_run() -> float:
    start = time.perf_counter()
    cid = dockerops.run("run", "-d", "--label", f"{dockerops.LABEL}=1", dockerops.IMAGE, *dockerops.SLEEP).stdout.strip()
    took = time.perf_counter() - start
    dockerops.remove(dockerops.api(), [cid])
    return took


async def podvisor_start(client: ApiClient, observer: PodObserver, events: EventLog, name: str) -> dict[str, float]:
    """Moments (seconds after the POST) of one pod's start; the pod is deleted after.

    ``running`` and ``bound`` come from the watch; the others from Docker events of the pod's
    sandbox (``POD``) and app container (``main``): where the time goes.
    """
    mark = events.mark()
    start = time.perf_counter()
    await client.request("POST", PODS.path(NAMESPACE), body=pod_manifest(name, namespace=NAMESPACE))
    running = await observer.until(lambda: name in observer.running_at, timeout=120)
    moments = {"running": running - start, "bound": observer.bound_at.get(name, running) - start}
    for stamp, event in events.since(mark):
        attrs = (event.get("Actor") or {}).get("Attributes") or {}
        if attrs.get(POD_NAME_LABEL) == name:
            moments.setdefault(f"{attrs.get(CONTAINER_LABEL)}/{event.get('Action')}", stamp - start)
    await client.delete_raw(PODS, name, NAMESPACE, grace_period=0)
    await observer.until(lambda: name in observer.deleted_at, timeout=120)
    return moments


async def _measure(reps: int, info: RunInfo) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"sdk": [], "cli": [], "podvisor": []}
    missing = missing_components(*NEEDS)
    if missing:
        info.errors[f"{NAME} (podvisor side)"] = f"not importable yet: {', '.join(missing)}"
        for i in range(reps + 1):
            sdk, cli = sdk_start(), cli_run()
            if i:
                samples["sdk"].append(sdk)
                samples["cli"].append(cli)
        return samples
    with bench_cluster() as cluster:
        node = cluster.start_kubelet("start", "--restart-backoff-initial", "0")
        client = admin_client(cluster)
        await wait_node_ready(client, node)
        await ensure_namespace(client, NAMESPACE)
        observer = PodObserver(client, NAMESPACE)
        await observer.start()
        events = EventLog(dockerops.api(), filters={"type": "container", "event": ["create", "start"],
                                                    "label": [f"{POD_NAME_LABEL}"]})
        try:
            for i in range(reps + 1):  # the first round warms caches on every side and is dropped
                sdk, cli = sdk_start(), cli_run()
                moments = await podvisor_start(client, observer, events, f"start-{i}")
                if i:
                    samples["sdk"].append(sdk)
                    samples["cli"].append(cli)
                    samples["podvisor"].append(moments["running"])
                    for key, v in moments.items():
                        samples.setdefault(f"at/{key}", []).append(v)
        finally:
            events.close()
            await observer.stop()
            await client.close()
    return samples


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    reps = 4 if quick else 20
    samples = asyncio.run(_measure(reps, info))
    pv = Stat.of(samples["podvisor"]) if samples["podvisor"] else None
    info.notes[NAME] = ("Created (POST, no nodeName) -> phase Running received on a watch; one kubelet with "
                        "--restart-backoff-initial 0; each pod deleted before the next. Rounds interleave "
                        "podvisor and the baselines; the first round is a dropped warm-up.")
    rows = [
        Comparison("pod start", "s", pv, Stat.of(samples["sdk"]), "docker create+start (SDK)", group=NAME),
        Comparison("pod start", "s", pv, Stat.of(samples["cli"]), "docker run -d (CLI)", group=NAME),
    ]
    for key, label in PHASES:
        if samples.get(f"at/{key}"):
            rows.append(Comparison(f"pod start timeline: {label}", "s", Stat.of(samples[f"at/{key}"]), None, "-",
                                   note="seconds after the POST (watch / docker events)", group=NAME))
    return rows
