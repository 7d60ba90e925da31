"""Supervision: what a pod's one_for_all group restart costs, and how fast a bad release undoes itself.

Two measurements, one podvisor cluster (two kubelets, ``--restart-backoff-initial 0``):

* **Group restart.** A pod of three containers (``sleep 3600``) with
  ``supervision.podvisor.io/strategy: one_for_all``: one container's process is SIGKILLed from the
  host (:func:`bench.dockerops.crash`); timed until all three run again (a Docker ``start`` event
  for each container's replacement, and a watch event showing every restartCount up and every
  container running). Baseline, interleaved in the same run: the same pod under the default
  one_for_one strategy, until the killed container alone runs again. The ratio group / single is
  the price of restarting the siblings in order (stop in reverse, start left to right). A second
  row sets the group restart against Docker's own ``--restart=always`` single container.
  A fresh pod per sample, each killed once (first restart, no back-off growth).
* **Bad rollout rolled back.** A Deployment (2 replicas, maxSurge 1, maxUnavailable 0) whose own
  annotations allow one escalation in 300 s with auto-rollback, and whose pods allow one restart in
  60 s, runs a good image; the image is then set to one that exits 1 at once (a strategic merge
  patch, what ``kubectl set image`` sends). Timed until the Deployment's template is back on the
  good image and the rollout is complete again (``kubectl rollout status``'s test), both seen on a
  watch. Kubernetes has no such path: after ``progressDeadlineSeconds`` (600 s by default) it only
  reports ProgressDeadlineExceeded and leaves the rollout stuck; that constant is the baseline,
  named as such, not measured.

The two images are built locally from ``podvisor/busybox:latest`` (``docker build -``, no
registry) and differ only in their CMD; they are removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

from apimachinery.client import PATCH_CONTENT_TYPES, ApiClient
from apimachinery.errors import ApiError
from apimachinery.resources import DEPLOYMENTS, PODS
from apimachinery.supervision import (
    AUTO_ROLLBACK,
    INTENSITY,
    LAST_AVAILABLE_REVISION,
    PERIOD,
    STRATEGY,
    Strategy,
)
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
from bench.dockerops import IMAGE, EventLog, crash, start_of
from bench.harness import Comparison, RunInfo, Stat
from bench.restart import docker_restart_always

NAME = "supervision"
NAMESPACE = "bench-supervision"
NEEDS = ("kubelet.supervisor:PodSupervisor", "controllers.deployment_supervision:plan")
POD_NAMESPACE_LABEL = "io.podvisor.pod.namespace"
POD_NAME_LABEL = "io.podvisor.pod.name"
CONTAINER_LABEL = "io.podvisor.container"
CHILDREN = ("a", "b", "c")
VICTIM = "b"  # the middle child: one_for_all stops c and a, then starts a, b, c in order
GOOD, BAD = "podvisor/bench-serves:1", "podvisor/bench-exits-1:1"
IMAGES = ((GOOD, '["sleep", "3600"]'), (BAD, '["sh", "-c", "exit 1"]'))
K8S_PROGRESS_DEADLINE = 600.0  # Kubernetes' default progressDeadlineSeconds
K8S_BASELINE = "Kubernetes: progress deadline (600 s default) only reports"
RESTART_TIMEOUT = 120.0
ROLLBACK_TIMEOUT = 300.0


# -- manifests -------------------------------------------------------------------------------


def supervised_pod(name: str, *, node: str, strategy: Strategy | None) -> dict[str, Any]:
    """Three ``sleep 3600`` children on ``node``; ``strategy`` None: no annotation (one_for_one)."""
    pod = pod_manifest(name, namespace=NAMESPACE, node=node)
    main = pod["spec"]["containers"][0]
    pod["spec"]["containers"] = [{**main, "name": child} for child in CHILDREN]
    if strategy is not None:
        pod["metadata"]["annotations"] = {STRATEGY: strategy.value}
    return pod


def supervised_deployment(name: str, *, image: str = GOOD) -> dict[str, Any]:
    """The e2e test's auto-rollback Deployment: the image's CMD decides whether a release is bad."""
    container = {"name": "main", "image": image, "imagePullPolicy": "Never"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "annotations": {INTENSITY: "1", PERIOD: "300", AUTO_ROLLBACK: "true"},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": {INTENSITY: "1", PERIOD: "60"}},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 0},
            },
        },
    }


def set_image_patch(image: str, *, container: str = "main") -> dict[str, Any]:
    """What ``kubectl set image deployment/x main=<image>`` sends (strategic merge patch)."""
    return {"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}


# -- reading pods and Deployments (pure) ----------------------------------------------------


def restart_counts(pod: dict[str, Any]) -> dict[str, int]:
    """Container name -> restartCount, from the pod's status."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return {s["name"]: int(s.get("restartCount") or 0) for s in statuses if s.get("name")}


def running(pod: dict[str, Any]) -> set[str]:
    """Names of the containers whose status says running."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return {s["name"] for s in statuses if s.get("name") and "running" in (s.get("state") or {})}


def restarted(pod: dict[str, Any], *, before: dict[str, int], names: Sequence[str]) -> bool:
    """Every container of ``names`` has restarted since ``before`` and runs again."""
    counts, up = restart_counts(pod), running(pod)
    return all(counts.get(n, 0) > before.get(n, 0) and n in up for n in names)


def template_image(deployment: dict[str, Any], *, container: str = "main") -> str | None:
    template = (deployment.get("spec") or {}).get("template") or {}
    containers = (template.get("spec") or {}).get("containers") or []
    return next((str(c.get("image")) for c in containers if c.get("name") == container), None)


def rollout_complete(deployment: dict[str, Any]) -> bool:
    """``kubectl rollout status``'s test: the newest generation observed, all replicas updated and available."""
    meta, spec, status = (
        deployment.get("metadata") or {},
        deployment.get("spec") or {},
        deployment.get("status") or {},
    )
    want = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    return (
        int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
        and updated == want
        and int(status.get("replicas") or 0) <= updated
        and int(status.get("availableReplicas") or 0) >= updated
    )


def last_available_revision(deployment: dict[str, Any]) -> str | None:
    return ((deployment.get("metadata") or {}).get("annotations") or {}).get(LAST_AVAILABLE_REVISION)


def rolled_back(deployment: dict[str, Any], *, after_generation: int, good: str) -> bool:
    """The template was rewritten after the bad one (generation ``after_generation``) and is ``good`` again."""
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)
    return generation > after_generation and template_image(deployment) == good


def recovered(deployment: dict[str, Any], *, after_generation: int, good: str) -> bool:
    """Rolled back and the rollout of the good template complete again."""
    back = rolled_back(deployment, after_generation=after_generation, good=good)
    return back and rollout_complete(deployment)


# -- a Deployment watch ----------------------------------------------------------------------


class DeploymentObserver:
    """The latest state of each Deployment of a namespace, from a watch; ``until`` as PodObserver's."""

    def __init__(self, client: ApiClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.objects: dict[str, dict[str, Any]] = {}
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        rv = await self._relist()
        self._task = asyncio.create_task(self._watch(rv))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _relist(self) -> str:
        items, rv = await self.client.list_raw(DEPLOYMENTS, self.namespace)
        self.objects = {d["metadata"]["name"]: d for d in items}
        return rv

    async def _watch(self, rv: str) -> None:
        while True:
            try:
                async for event in self.client.watch_raw(
                    DEPLOYMENTS, self.namespace, resource_version=rv, timeout_seconds=600
                ):
                    if event.type == "ERROR":
                        raise ApiError(410, "Expired", "watch expired")
                    rv = event.resource_version or rv
                    if event.type == "BOOKMARK":
                        continue
                    name = event.object["metadata"]["name"]
                    if event.type == "DELETED":
                        self.objects.pop(name, None)
                    else:
                        self.objects[name] = event.object
                    async with self._changed:
                        self._changed.notify_all()
            except ApiError:
                rv = await self._relist()

    def holds(self, name: str, predicate: Callable[[dict[str, Any]], bool]) -> Callable[[], bool]:
        def check() -> bool:
            d = self.objects.get(name)
            return d is not None and predicate(d)

        return check

    async def until(self, predicate: Callable[[], bool], *, timeout: float) -> float:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            return time.perf_counter()


# -- group restart ---------------------------------------------------------------------------


def _container_pid(pod: str, container: str) -> int:
    client = dockerops.api()
    labels = [
        f"{POD_NAMESPACE_LABEL}={NAMESPACE}",
        f"{POD_NAME_LABEL}={pod}",
        f"{CONTAINER_LABEL}={container}",
    ]
    found = client.containers(filters={"label": labels, "status": "running"})
    if not found:
        raise RuntimeError(f"no running container {container} of pod {pod}")
    return dockerops.main_pid(client, found[0]["Id"])


def _last_start(events: EventLog, *, pod: str, names: Sequence[str], after: int) -> float:
    """Receipt time of the last of the first ``start`` events of ``names``' containers after ``after``."""
    stamps = []
    for container in names:
        match = start_of({POD_NAMESPACE_LABEL: NAMESPACE, POD_NAME_LABEL: pod, CONTAINER_LABEL: container})
        stamp, _ = events.wait(match, after=after, timeout=RESTART_TIMEOUT)
        stamps.append(stamp)
    return max(stamps)


async def kill_and_wait(
    observer: PodObserver, events: EventLog, pod: str, *, expect: Sequence[str]
) -> tuple[float, float]:
    """Kill VICTIM of ``pod`` once: (seconds until the API shows ``expect`` restarted, until Docker started them)."""
    pid = await asyncio.to_thread(_container_pid, pod, VICTIM)
    before = restart_counts(observer.pods[pod])
    mark = events.mark()
    start = time.perf_counter()
    crash(pid)
    seen = await observer.until(
        lambda: restarted(observer.pods.get(pod) or {}, before=before, names=expect), timeout=RESTART_TIMEOUT
    )
    stamp = await asyncio.to_thread(_last_start, events, pod=pod, names=expect, after=mark)
    return seen - start, stamp - start


async def group_restarts(
    client: ApiClient, observer: PodObserver, events: EventLog, *, node: str, count: int
) -> dict[str, list[float]]:
    """``count`` one_for_all and ``count`` one_for_one pods, killed alternately."""
    kinds = {"group": (Strategy.ONE_FOR_ALL, CHILDREN), "single": (None, (VICTIM,))}
    pods = {kind: [f"sup-{kind}-{i}" for i in range(count)] for kind in kinds}
    for kind, names in pods.items():
        for name in names:
            body = supervised_pod(name, node=node, strategy=kinds[kind][0])
            await client.request("POST", PODS.path(NAMESPACE), body=body)
    every = [n for names in pods.values() for n in names]
    await observer.until(
        lambda: all(running(observer.pods.get(n) or {}) >= set(CHILDREN) for n in every), timeout=180
    )
    out: dict[str, list[float]] = {}
    for i in range(count):
        for kind, (_, expect) in kinds.items():
            api, docker = await kill_and_wait(observer, events, pods[kind][i], expect=expect)
            out.setdefault(f"{kind}/api", []).append(api)
            out.setdefault(f"{kind}/docker", []).append(docker)
    for name in every:
        await client.delete_raw(PODS, name, NAMESPACE, grace_period=0)
    await observer.until(lambda: not any(n in observer.pods for n in every), timeout=120)
    return out


# -- bad rollout -----------------------------------------------------------------------------


def dockerfile(cmd: str) -> str:
    return f"FROM {IMAGE}\nCMD {cmd}\n"


def build_images() -> None:
    """The good and the bad image, from the benchmark image, differing only in their CMD (no registry)."""
    for tag, cmd in IMAGES:
        subprocess.run(
            ["docker", "build", "-q", "-t", tag, "-"],
            input=dockerfile(cmd),
            text=True,
            check=True,
            capture_output=True,
            timeout=120,
        )


def remove_images() -> None:
    dockerops.run("rmi", "-f", *(tag for tag, _ in IMAGES), check=False, timeout=60)


async def bad_rollout(
    client: ApiClient, deployments: DeploymentObserver, pods: PodObserver, name: str
) -> tuple[float, float]:
    """One fresh Deployment: (seconds until the template is good again, until the rollout is complete again)."""
    await client.request("POST", DEPLOYMENTS.path(NAMESPACE), body=supervised_deployment(name))
    await deployments.until(
        deployments.holds(name, lambda d: rollout_complete(d) and last_available_revision(d) == "1"),
        timeout=ROLLBACK_TIMEOUT,
    )
    start = time.perf_counter()
    patched = await client.request(
        "PATCH",
        DEPLOYMENTS.path(NAMESPACE, name),
        body=set_image_patch(BAD),
        content_type=PATCH_CONTENT_TYPES["strategic"],
    )
    generation = int(patched["metadata"]["generation"])
    back = await deployments.until(
        deployments.holds(name, lambda d: rolled_back(d, after_generation=generation, good=GOOD)),
        timeout=ROLLBACK_TIMEOUT,
    )
    done = await deployments.until(
        deployments.holds(name, lambda d: recovered(d, after_generation=generation, good=GOOD)),
        timeout=ROLLBACK_TIMEOUT,
    )
    await client.delete_raw(DEPLOYMENTS, name, NAMESPACE, propagation="Background")
    await pods.until(
        lambda: not any((p["metadata"].get("labels") or {}).get("app") == name for p in pods.pods.values()),
        timeout=120,
    )
    return back - start, done - start


# -- the run ---------------------------------------------------------------------------------


async def _podvisor(events: EventLog, *, restarts: int, rollouts: int) -> dict[str, list[float]]:
    with bench_cluster() as cluster:
        nodes = [cluster.start_kubelet(f"sup{i}", "--restart-backoff-initial", "0") for i in (1, 2)]
        client = admin_client(cluster)
        pods = PodObserver(client, NAMESPACE)
        deployments = DeploymentObserver(client, NAMESPACE)
        try:
            for node in nodes:
                await wait_node_ready(client, node)
            await ensure_namespace(client, NAMESPACE)
            await pods.start()
            await deployments.start()
            out = await group_restarts(client, pods, events, node=nodes[0], count=restarts)
            for i in range(rollouts):
                back, done = await bad_rollout(client, deployments, pods, f"sup-rollout-{i}")
                out.setdefault("rollback/template", []).append(back)
                out.setdefault("rollback/available", []).append(done)
            return out
        finally:
            await deployments.stop()
            await pods.stop()
            await client.close()


def _measure(*, restarts: int, rollouts: int, warmup: int, info: RunInfo) -> dict[str, list[float]]:
    missing = missing_components(*NEEDS)
    if missing:
        info.errors[NAME] = f"not importable yet: {', '.join(missing)}"
        return {}
    events = EventLog(dockerops.api(), filters={"type": "container", "event": "start"})
    try:
        build_images()
        samples = {"docker": docker_restart_always(events, restarts + warmup)[warmup:]}
        pv = asyncio.run(_podvisor(events, restarts=restarts + warmup, rollouts=rollouts))
        samples.update({k: v if k.startswith("rollback/") else v[warmup:] for k, v in pv.items()})
        return samples
    finally:
        events.close()
        remove_images()


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    restarts, rollouts, warmup = (3, 1, 0) if quick else (10, 3, 1)
    s = _measure(restarts=restarts, rollouts=rollouts, warmup=warmup, info=info)

    def stat(key: str) -> Stat | None:
        return Stat.of(s[key]) if s.get(key) else None

    info.notes[NAME] = (
        f"Kubelet --restart-backoff-initial 0. Restart: SIGKILL (from the host) of container {VICTIM} of a "
        f"3-container pod; group = one_for_all until all of {', '.join(CHILDREN)} run again, single = "
        f"one_for_one until {VICTIM} runs again (a fresh pod per sample, interleaved). Rollback: Deployment of "
        "2 replicas (maxSurge 1, maxUnavailable 0), intensity 1/300 s + auto-rollback, pods 1 restart/60 s; "
        "from the set-image patch to a bad image (exits 1) until a watch shows the template back on the "
        "good image and the rollout complete."
    )
    template = stat("rollback/template")
    rollback_note = (
        f"{K8S_BASELINE} ProgressDeadlineExceeded and never rolls back: the baseline is the "
        f"constant {K8S_PROGRESS_DEADLINE:.0f} s, not a measurement"
    )
    if template:
        rollback_note += f"; template back on the good image after {template.median:.2f} s (median)"
    always = "docker --restart=always (1 container)"
    return [
        Comparison(
            "one_for_all, 3 containers restarted, seen via docker events",
            "s",
            stat("group/docker"),
            stat("single/docker"),
            "one_for_one, 1 container restarted",
            group=NAME,
        ),
        Comparison(
            "one_for_all, 3 containers restarted, seen via API",
            "s",
            stat("group/api"),
            stat("single/api"),
            "one_for_one, 1 container restarted",
            group=NAME,
        ),
        Comparison(
            "one_for_all, 3 containers restarted, seen via docker events",
            "s",
            stat("group/docker"),
            stat("docker"),
            always,
            group=NAME,
        ),
        Comparison(
            "bad rollout -> previous revision fully available (auto-rollback)",
            "s",
            stat("rollback/available"),
            Stat.value(K8S_PROGRESS_DEADLINE),
            K8S_BASELINE,
            note=rollback_note,
            group=NAME,
        ),
    ]
