"""The kubelet's Summary API (``GET /stats/summary``, Kubernetes' stats/v1alpha1 shape).

The API server's metrics provider scrapes it, as metrics-server scrapes real kubelets. Each
running container of the node is sampled through the runtime (in threads, a bounded number
at a time, so the loop never blocks and Docker is not flooded); pods are grouped by the
labels the kubelet put on their containers, the sandbox left out. CPU is reported as the
cumulative ``usageCoreNanoSeconds`` and, from the second request on, as ``usageNanoCores``,
the rate since the previous sample of that container (cAdvisor keeps the previous sample the
same way); the provider computes its own rate from the cumulative counters, so it does not
depend on who else asked in between. The node entry is the host (:mod:`kubelet.hoststats`),
or the sum of its pods where no host is given (hollow nodes).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apimachinery.models.core import Pod
from kubelet import naming
from kubelet.hoststats import HostSample
from kubelet.runtime.base import (
    ContainerInfo,
    ContainerRuntime,
    ContainerRuntimeError,
    ContainerState,
    ContainerStats,
)
from kubelet.threads import Runner

#: containers sampled at once
STATS_CONCURRENCY = 8
_NODE_KEY = "\0node"


def rfc3339(ts: float) -> str:
    """RFC 3339 with nanosecond digits, as cAdvisor writes them: rates are computed from these times."""
    at = datetime.fromtimestamp(ts, UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond:06d}000Z"


@dataclass
class SummaryProvider:
    node: str
    runtime: ContainerRuntime
    run: Runner
    lookup: Callable[[str], Pod | None]  # "namespace/name" -> the pod as the kubelet knows it
    host: Callable[[], HostSample] | None = None
    clock: Callable[[], float] = time.time
    concurrency: int = STATS_CONCURRENCY
    _previous: dict[str, tuple[float, int]] = field(default_factory=dict)  # container id -> (time, cpu ns)
    _started: float = field(init=False)

    def __post_init__(self) -> None:
        self._started = self.clock()

    async def summary(self) -> dict[str, Any]:
        containers = await self.run(self.runtime.list_containers, naming.node_labels(self.node))
        running = [c for c in containers if c.state is ContainerState.RUNNING and not naming.is_sandbox(c)]
        samples = await self._sample(running)
        seen: set[str] = {_NODE_KEY}
        pods: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for info, stats in zip(running, samples, strict=True):
            if stats is None:
                continue
            seen.add(info.id)
            key = (info.labels.get(naming.POD_NAMESPACE, ""), info.labels.get(naming.POD_NAME, ""), naming.pod_uid_of(info))
            pods.setdefault(key, []).append(self._container_entry(info, stats))
        pod_entries = [self._pod_entry(key, entries) for key, entries in sorted(pods.items())]
        node = await self._node_entry(pod_entries)
        for gone in set(self._previous) - seen:
            del self._previous[gone]
        return {"node": node, "pods": pod_entries}

    async def _sample(self, running: list[ContainerInfo]) -> list[ContainerStats | None]:
        limit = asyncio.Semaphore(self.concurrency)

        async def one(info: ContainerInfo) -> ContainerStats | None:
            async with limit:
                with contextlib.suppress(ContainerRuntimeError):
                    return await self.run(self.runtime.container_stats, info.id)
                return None

        return list(await asyncio.gather(*(one(c) for c in running)))

    def _cpu(self, key: str, ts: float, cumulative: int) -> dict[str, Any]:
        cpu: dict[str, Any] = {"time": rfc3339(ts), "usageCoreNanoSeconds": cumulative}
        previous = self._previous.get(key)
        if previous is not None and ts > previous[0] and cumulative >= previous[1]:
            cpu["usageNanoCores"] = int((cumulative - previous[1]) / (ts - previous[0]))
        self._previous[key] = (ts, cumulative)
        return cpu

    def _container_entry(self, info: ContainerInfo, stats: ContainerStats) -> dict[str, Any]:
        return {
            "name": naming.container_of(info),
            "startTime": rfc3339(info.started_at.timestamp() if info.started_at else stats.timestamp),
            "cpu": self._cpu(info.id, stats.timestamp, stats.cpu_usage_ns),
            "memory": {"time": rfc3339(stats.timestamp), "usageBytes": stats.memory_usage_bytes,
                       "workingSetBytes": stats.memory_working_set_bytes, "rssBytes": stats.memory_rss_bytes},
        }

    def _pod_entry(self, key: tuple[str, str, str], containers: list[dict[str, Any]]) -> dict[str, Any]:
        namespace, name, uid = key
        pod = self.lookup(f"{namespace}/{name}")
        started = pod.status.start_time if pod is not None and pod.status is not None else None
        when = max(c["cpu"]["time"] for c in containers)
        return {
            "podRef": {"name": name, "namespace": namespace, "uid": uid},
            "startTime": started or min(c["startTime"] for c in containers),
            "containers": sorted(containers, key=lambda c: c["name"]),
            "cpu": _summed(containers, "cpu", ("usageCoreNanoSeconds", "usageNanoCores"), when),
            "memory": _summed(containers, "memory", ("usageBytes", "workingSetBytes", "rssBytes"), when),
        }

    async def _node_entry(self, pods: list[dict[str, Any]]) -> dict[str, Any]:
        entry: dict[str, Any] = {"nodeName": self.node, "startTime": rfc3339(self._started)}
        host = None
        if self.host is not None:
            with contextlib.suppress(OSError):
                host = await self.run(self.host)
        if host is None:
            now = self.clock()
            entry["cpu"] = _summed(pods, "cpu", ("usageCoreNanoSeconds", "usageNanoCores"), rfc3339(now))
            entry["memory"] = _summed(pods, "memory", ("usageBytes", "workingSetBytes", "rssBytes"), rfc3339(now))
            return entry
        entry["cpu"] = self._cpu(_NODE_KEY, host.timestamp, host.cpu_usage_ns)
        entry["memory"] = {"time": rfc3339(host.timestamp), "availableBytes": host.memory_available_bytes,
                           "usageBytes": host.usage_bytes, "workingSetBytes": host.working_set_bytes,
                           "rssBytes": host.memory_rss_bytes}
        return entry


def _summed(entries: list[dict[str, Any]], section: str, keys: tuple[str, ...], when: str) -> dict[str, Any]:
    total: dict[str, Any] = {"time": when}
    for key in keys:
        values = [e[section][key] for e in entries if key in e[section]]
        if len(values) == len(entries):
            total[key] = sum(values)
    return total


def resolver(providers: dict[str, SummaryProvider]) -> Callable[[str], Any]:
    """The server's summary lookup by TLS server name; a lone node also answers a request without one."""
    only = next(iter(providers.values())) if len(providers) == 1 else None

    async def summarize(node: str) -> dict[str, Any] | None:
        provider = providers.get(node) or (only if not node else None)
        return await provider.summary() if provider is not None else None

    return summarize
