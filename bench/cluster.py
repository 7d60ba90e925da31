"""A podvisor cluster as processes for the benchmarks, and a watch-based pod observer.

Reuses the e2e ``Cluster`` (server + kubelets as subprocesses, labelled containers removed on
stop). The observer times what a user of the API sees: a pod is "Running" when a watch event says
so, stamped with the benchmark's clock at receipt, not when the kubelet believes it started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.resources import NAMESPACES, PODS
from bench.dockerops import IMAGE
from tests.e2e.cluster import Cluster

__all__ = ["Cluster", "PodObserver", "admin_client", "bench_cluster", "missing_components", "pod_manifest",
           "wait_node_ready"]


def missing_components(*modules: str) -> list[str]:
    """Which podvisor components a benchmark needs are not importable yet (being written)."""
    missing = []
    for name in modules:
        module, _, attr = name.partition(":")
        try:
            mod = importlib.import_module(module)
        except ImportError:
            missing.append(module)
            continue
        if attr and not hasattr(mod, attr):
            missing.append(name)
    return missing


@contextlib.contextmanager
def bench_cluster(*, server_args: list[str] | None = None) -> Iterator[Cluster]:
    """A started podvisor server in a temporary data dir; stopped and cleaned up on exit."""
    args = list(server_args or [])
    if missing_components("controllers.manager:run_controllers"):
        args += ["--disable", "controllers"]  # not written yet: run what exists
    with tempfile.TemporaryDirectory(prefix="podvisor-bench-") as tmp:
        cluster = Cluster(Path(tmp) / "cluster", server_args=args)
        try:
            cluster.start_server()
            yield cluster
        finally:
            cluster.stop()


def admin_client(cluster: Cluster, **kwargs: Any) -> ApiClient:
    return ApiClient.from_kubeconfig(cluster.data_dir / "admin.kubeconfig", **kwargs)


async def ensure_namespace(client: ApiClient, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    try:
        await client.request("POST", NAMESPACES.path(), body=body)
    except ApiError as err:
        if err.code != 409:
            raise


async def wait_node_ready(client: ApiClient, node: str, *, timeout: float = 60) -> None:
    """Until the kubelet has registered ``node`` with Ready=True."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            obj = await client.request("GET", f"/api/v1/nodes/{node}")
            conds = (obj.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds):
                return
        except Exception:  # noqa: BLE001 - not registered yet
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError(f"node {node} not Ready after {timeout:.0f} s")


def pod_manifest(name: str, *, namespace: str = "default", node: str | None = None,
                 labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The benchmark pod: the same image and command as every baseline, no pull, no grace period."""
    spec: dict[str, Any] = {
        "containers": [{"name": "main", "image": IMAGE, "command": ["sleep", "3600"], "imagePullPolicy": "Never"}],
        "terminationGracePeriodSeconds": 0,
        "restartPolicy": "Always",
    }
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace,
                                                           "labels": labels or {"app": "bench"}}, "spec": spec}


def is_running(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"


def restart_count(pod: dict[str, Any]) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount") or 0) for s in statuses)


def container_running(pod: dict[str, Any]) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all("running" in (s.get("state") or {}) for s in statuses)


class PodObserver:
    """Watches the pods of a namespace and remembers, per pod, when things were first seen.

    ``until(predicate)`` resolves with the receipt time of the event after which the predicate
    over the observer's state first held: the moment an API user could have known.
    """

    def __init__(self, client: ApiClient, namespace: str | None, *, label_selector: str | None = None) -> None:
        self.client = client
        self.namespace = namespace
        self.label_selector = label_selector
        self.pods: dict[str, dict[str, Any]] = {}
        self.running_at: dict[str, float] = {}
        self.bound_at: dict[str, float] = {}
        self.deleted_at: dict[str, float] = {}
        self.events = 0
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        items, rv = await self.client.list_raw(PODS, self.namespace, label_selector=self.label_selector)
        now = time.perf_counter()
        for pod in items:
            self._record(pod, now, deleted=False)
        self._task = asyncio.create_task(self._watch(rv))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _watch(self, rv: str) -> None:
        while True:
            try:
                async for event in self.client.watch_raw(PODS, self.namespace, resource_version=rv,
                                                         label_selector=self.label_selector, timeout_seconds=600):
                    now = time.perf_counter()
                    if event.type == "BOOKMARK":
                        rv = event.resource_version or rv
                        continue
                    if event.type == "ERROR":
                        raise ApiError(410, "Expired", "watch expired")
                    rv = event.resource_version or rv
                    self.events += 1
                    self._record(event.object, now, deleted=event.type == "DELETED")
                    async with self._changed:
                        self._changed.notify_all()
            except ApiError:
                items, rv = await self.client.list_raw(PODS, self.namespace, label_selector=self.label_selector)
                now = time.perf_counter()
                for pod in items:
                    self._record(pod, now, deleted=False)

    def _record(self, pod: dict[str, Any], now: float, *, deleted: bool) -> None:
        name = pod["metadata"]["name"]
        if deleted:
            self.pods.pop(name, None)
            self.deleted_at.setdefault(name, now)
            return
        self.pods[name] = pod
        if (pod.get("spec") or {}).get("nodeName"):
            self.bound_at.setdefault(name, now)
        if is_running(pod):
            self.running_at.setdefault(name, now)

    async def until(self, predicate: Callable[[], bool], *, timeout: float) -> float:
        """Wait for ``predicate()``; return the receipt time of the event that made it true."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            return time.perf_counter()

    def forget(self, name: str) -> None:
        """Drop what is known of ``name`` (a later pod of the same name starts afresh)."""
        for table in (self.running_at, self.bound_at, self.deleted_at):
            table.pop(name, None)
