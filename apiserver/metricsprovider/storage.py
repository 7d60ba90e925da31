"""The latest resource samples of each node and pod, and the CPU rate between the last two.

As metrics-server: a container's CPU is the rate of its cumulative counter between two
scrapes, so a node or pod appears only once two samples of it exist; a counter that went
back (a restarted container) starts over. Memory is the latest working set. Everything is
replaced per node on each scrape: a pod that left the node's summary is dropped with it, and
a node not scraped in a round (gone, not Ready, unreachable) is dropped too, so memory is
bounded by what exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Point:
    timestamp: float  # epoch seconds
    cpu_ns: int  # cumulative
    memory_bytes: int  # working set


@dataclass(frozen=True)
class Usage:
    """A rate over a window: what one NodeMetrics or ContainerMetrics says."""

    timestamp: float  # the end of the window
    window: float  # seconds
    nano_cores: int
    memory_bytes: int


@dataclass
class PodSample:
    namespace: str
    name: str
    containers: dict[str, Point] = field(default_factory=dict)
    usage: dict[str, Usage] = field(default_factory=dict)  # containers with a complete window

    @property
    def complete(self) -> bool:
        return bool(self.containers) and self.usage.keys() == self.containers.keys()


def rate(previous: Point | None, current: Point) -> Usage | None:
    """The CPU rate between two samples, None without a usable earlier one."""
    if previous is None or current.timestamp <= previous.timestamp or current.cpu_ns < previous.cpu_ns:
        return None
    window = current.timestamp - previous.timestamp
    return Usage(timestamp=current.timestamp, window=window,
                 nano_cores=int((current.cpu_ns - previous.cpu_ns) / window), memory_bytes=current.memory_bytes)


def parse_time(value: Any, default: float) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC).timestamp()
    except (ValueError, OverflowError):
        return default


def point(stats: Mapping[str, Any], default_time: float) -> Point | None:
    """A Point from a summary entry's ``cpu`` and ``memory``; None if either figure is missing."""
    cpu, memory = stats.get("cpu") or {}, stats.get("memory") or {}
    cumulative, working_set = cpu.get("usageCoreNanoSeconds"), memory.get("workingSetBytes")
    if not isinstance(cumulative, int) or not isinstance(working_set, int):
        return None
    return Point(parse_time(cpu.get("time"), default_time), cumulative, working_set)


class MetricsStorage:
    """Samples per node and per pod; fed by the scraper, read by the routes."""

    def __init__(self) -> None:
        self._nodes: dict[str, Point] = {}
        self._node_usage: dict[str, Usage] = {}
        self._pods: dict[str, dict[tuple[str, str], PodSample]] = {}  # node -> (namespace, name) -> sample
        self._by_pod: dict[tuple[str, str], PodSample] = {}  # the same samples, found without a node

    def store(self, node: str, summary: Mapping[str, Any], *, now: float) -> None:
        """One node's Summary API answer."""
        current = point(summary.get("node") or {}, now)
        if current is not None:
            usage = rate(self._nodes.get(node), current)
            self._nodes[node] = current
            self._set(self._node_usage, node, usage)
        previous = self._pods.get(node, {})
        pods: dict[tuple[str, str], PodSample] = {}
        for entry in summary.get("pods") or []:
            ref = entry.get("podRef") or {}
            key = (str(ref.get("namespace", "")), str(ref.get("name", "")))
            pods[key] = _pod_sample(key, entry, previous.get(key), now)
        for key in previous.keys() - pods.keys():
            self._by_pod.pop(key, None)
        self._pods[node] = pods
        self._by_pod.update(pods)

    def retain(self, nodes: set[str]) -> None:
        """Forget every node not in ``nodes`` (and its pods)."""
        for gone in set(self._nodes) - nodes:
            self._nodes.pop(gone, None)
            self._node_usage.pop(gone, None)
        for gone in set(self._pods) - nodes:
            for key in self._pods.pop(gone):
                self._by_pod.pop(key, None)

    def node(self, name: str) -> Usage | None:
        return self._node_usage.get(name)

    def pod(self, namespace: str, name: str) -> PodSample | None:
        """The pod's sample once every container of it has a CPU window (metrics-server's rule)."""
        sample = self._by_pod.get((namespace, name))
        return sample if sample is not None and sample.complete else None

    def pods(self) -> list[PodSample]:
        return [s for s in self._by_pod.values() if s.complete]

    @staticmethod
    def _set(usages: dict[str, Usage], key: str, usage: Usage | None) -> None:
        if usage is None:
            usages.pop(key, None)
        else:
            usages[key] = usage


def _pod_sample(key: tuple[str, str], entry: Mapping[str, Any], previous: PodSample | None, now: float) -> PodSample:
    sample = PodSample(namespace=key[0], name=key[1])
    for container in entry.get("containers") or []:
        name, current = str(container.get("name", "")), point(container, now)
        if current is None:
            continue
        sample.containers[name] = current
        usage = rate(previous.containers.get(name) if previous is not None else None, current)
        if usage is not None:
            sample.usage[name] = usage
    return sample
