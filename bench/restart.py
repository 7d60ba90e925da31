"""Restart: a running container is killed; how long until it runs again?

Contenders, each killed the same way (SIGKILL of the container's main process from the host,
see :func:`bench.dockerops.crash`), each measured from just before the kill:

* podvisor, one kubelet with ``--restart-backoff-initial 0`` (immediate first restart, as an OTP
  supervisor does) and one with the default back-off; "running again" observed both through the
  API (a watch event with a higher restartCount and the container running) and through Docker
  events (the replacement container's ``start``);
* Docker's own ``--restart=always`` (the daemon restarts the process; ``start`` event);
* Swarm, ``--restart-delay 0s`` and the default (5 s): the task's container dies, the
  orchestrator schedules a new task, whose container ``start`` event ends the measurement.

Every victim is killed once (a fresh pod / container / service each), so the figure is the
first restart, unaffected by back-off growth.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from apimachinery.client import ApiClient
from apimachinery.resources import PODS
from bench import dockerops
from bench.cluster import (
    PodObserver,
    admin_client,
    bench_cluster,
    container_running,
    ensure_namespace,
    missing_components,
    pod_manifest,
    restart_count,
    wait_node_ready,
)
from bench.dockerops import EventLog, crash, start_of, started
from bench.harness import Comparison, RunInfo, Stat, deadline_wait

NAME = "restart"
NAMESPACE = "bench-restart"
NEEDS = ("kubelet.agent:run_kubelet",)
POD_NAME_LABEL = "io.podvisor.pod.name"
CONTAINER_LABEL = "io.podvisor.container"


def _started_id(cid: str, event: dict[str, Any]) -> bool:
    return started(event) and event.get("id") == cid


def docker_restart_always(events: EventLog, count: int) -> list[float]:
    client = dockerops.api()
    ids = [dockerops.create_start(client, restart_always=True) for _ in range(count)]
    samples = []
    for cid in ids:
        pid = dockerops.main_pid(client, cid)
        mark = events.mark()
        start = time.perf_counter()
        crash(pid)
        stamp, _ = events.wait(functools.partial(_started_id, cid), after=mark, timeout=60)
        samples.append(stamp - start)
    dockerops.remove(client, ids)
    return samples


def swarm_restart(events: EventLog, count: int, *, delay: str | None, tag: str) -> list[float]:
    client = dockerops.api()
    names = [f"bench-restart-{tag}-{i}" for i in range(count)]
    for name in names:
        dockerops.service_create(name, restart_delay=delay)
    deadline_wait(lambda: all(dockerops.service_containers(client, n) for n in names), timeout=120,
                  what="swarm tasks running")
    samples = []
    for name in names:
        pid = dockerops.main_pid(client, dockerops.service_containers(client, name)[0]["Id"])
        mark = events.mark()
        start = time.perf_counter()
        crash(pid)
        stamp, _ = events.wait(start_of({"com.docker.swarm.service.name": name}),
                               after=mark, timeout=120)
        samples.append(stamp - start)
    dockerops.run("service", "rm", *names, check=False)
    return samples


def _pod_pid(name: str) -> int:
    client = dockerops.api()
    found = client.containers(filters={"label": [f"{POD_NAME_LABEL}={name}", f"{CONTAINER_LABEL}=main"],
                                       "status": "running"})
    if not found:
        raise RuntimeError(f"no running container for pod {name}")
    return dockerops.main_pid(client, found[0]["Id"])


async def podvisor_restarts(client: ApiClient, observer: PodObserver, events: EventLog,
                            pods: list[str]) -> tuple[list[float], list[float]]:
    """Kill each pod's container once: (seconds until the API shows it, until Docker starts it)."""
    via_api, via_docker = [], []
    for name in pods:
        pid = await asyncio.to_thread(_pod_pid, name)
        before = restart_count(observer.pods[name])
        mark = events.mark()
        start = time.perf_counter()
        crash(pid)

        def again(n: str = name, b: int = before) -> bool:
            pod: dict[str, Any] = observer.pods.get(n) or {}
            return restart_count(pod) > b and container_running(pod)

        seen = await observer.until(again, timeout=120)
        match = start_of({POD_NAME_LABEL: name, CONTAINER_LABEL: "main"})
        stamp, _ = await asyncio.to_thread(events.wait, match, after=mark, timeout=60)
        via_api.append(seen - start)
        via_docker.append(stamp - start)
    return via_api, via_docker


async def _podvisor(events: EventLog, count: int) -> dict[str, list[float]]:
    with bench_cluster() as cluster:
        nodes = {"immediate": cluster.start_kubelet("fast", "--restart-backoff-initial", "0"),
                 "default": cluster.start_kubelet("default")}
        client = admin_client(cluster)
        try:
            for node in nodes.values():
                await wait_node_ready(client, node)
            await ensure_namespace(client, NAMESPACE)
            observer = PodObserver(client, NAMESPACE)
            await observer.start()
            pods = {kind: [f"restart-{kind}-{i}" for i in range(count)] for kind in nodes}
            for kind, names in pods.items():
                for name in names:
                    manifest = pod_manifest(name, namespace=NAMESPACE, node=nodes[kind])
                    await client.request("POST", PODS.path(NAMESPACE), body=manifest)
            every = [n for names in pods.values() for n in names]
            await observer.until(lambda: all(n in observer.running_at for n in every), timeout=180)
            out: dict[str, list[float]] = {}
            for kind, names in pods.items():
                out[f"{kind}/api"], out[f"{kind}/docker"] = await podvisor_restarts(client, observer, events, names)
            await observer.stop()
            return out
        finally:
            await client.close()


def _measure(reps: int, warmup: int, info: RunInfo) -> dict[str, list[float]]:
    client = dockerops.api()
    events = EventLog(client, filters={"type": "container", "event": "start"})
    samples: dict[str, list[float]] = {}
    try:
        # ``warmup`` extra victims per contender: their restarts are dropped
        samples["docker"] = docker_restart_always(events, reps + warmup)[warmup:]
        with dockerops.swarm():
            samples["swarm0"] = swarm_restart(events, reps + warmup, delay="0s", tag="d0")[warmup:]
            samples["swarm"] = swarm_restart(events, reps + warmup, delay=None, tag="def")[warmup:]
        missing = missing_components(*NEEDS)
        if missing:
            info.errors[f"{NAME} (podvisor side)"] = f"not importable yet: {', '.join(missing)}"
        else:
            pv = asyncio.run(_podvisor(events, reps + warmup))
            samples.update({k: v[warmup:] for k, v in pv.items()})
    finally:
        events.close()
    return samples


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    reps, warmup = (2, 0) if quick else (10, 1)
    s = _measure(reps, warmup, info)

    def stat(key: str) -> Stat | None:
        return Stat.of(s[key]) if s.get(key) else None

    info.notes[NAME] = ("Kill = SIGKILL of the container's main process from the host (docker kill would "
                        "mark a --restart=always container as manually stopped, so Docker would not restart "
                        "it). Running again = watch event (API) or the new container's docker start event.")
    always, swarm0, swarm_default = "docker --restart=always", "swarm --restart-delay 0s", "swarm default (5 s delay)"
    return [
        Comparison("restart, backoff 0, seen via API", "s", stat("immediate/api"), stat("docker"), always, group=NAME),
        Comparison("restart, backoff 0, seen via docker events", "s", stat("immediate/docker"), stat("docker"),
                   always, group=NAME),
        Comparison("restart, backoff 0, seen via API", "s", stat("immediate/api"), stat("swarm0"), swarm0,
                   group=NAME),
        Comparison("restart, default back-off, seen via API", "s", stat("default/api"), stat("swarm"),
                   swarm_default, group=NAME),
        Comparison("restart, default back-off, seen via docker events", "s", stat("default/docker"), stat("swarm"),
                   swarm_default, group=NAME),
    ]
