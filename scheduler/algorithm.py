"""Choosing a node for one pod: filter, score, pick; or explain why no node fits.

The work per pod is O(nodes) at most, and less on large clusters: as Kubernetes does
(``percentageOfNodesToScore``), the search stops once it has found "enough" feasible nodes,
100 or a share of the cluster shrinking from 50% towards 5% as it grows. Each search starts
where the previous one stopped, so over a run every node gets examined and load spreads; on
small clusters (every node examined) the start still moves one node per pod, and since ties
go to the first node visited, equally good nodes take turns.

When nothing fits, the reasons of every node are counted and worded exactly like Kubernetes'
FitError: ``0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu.``
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from scheduler.cache import NodeInfo, SchedulerCache
from scheduler.plugins import FILTERS, Filter, run_filters, score
from scheduler.podinfo import PodInfo

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5
NO_NODES_AVAILABLE = "no nodes available to schedule pods"


def num_feasible_nodes_to_find(num_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes are enough (``percentage`` 0 = adaptive, Kubernetes' default)."""
    if num_nodes < MIN_FEASIBLE_NODES_TO_FIND or percentage >= 100:
        return num_nodes
    if percentage <= 0:
        percentage = max(50 - num_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE)
    return max(num_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def fit_error_message(num_nodes: int, reasons: Counter[str]) -> str:
    """``0/N nodes are available: <count> <reason>, ...`` sorted as strings, as Kubernetes sorts them."""
    if num_nodes == 0:
        return NO_NODES_AVAILABLE
    parts = sorted(f"{count} {reason}" for reason, count in reasons.items())
    return f"0/{num_nodes} nodes are available: {', '.join(parts)}."


@dataclass(frozen=True, slots=True)
class Decision:
    """A chosen node, or None and the message saying why every node was rejected."""

    node: str | None
    message: str = ""
    evaluated: int = 0
    feasible: int = 0


class Algorithm:
    """Filter + score over the cache's nodes, with sampling and a rotating start."""

    def __init__(self, cache: SchedulerCache, *, percentage_of_nodes_to_score: int = 0,
                 filters: tuple[Filter, ...] = FILTERS) -> None:
        self.cache = cache
        self.percentage = percentage_of_nodes_to_score
        self.filters = filters
        self._next_start = 0

    def find_node(self, pod: PodInfo) -> Decision:
        nodes = self.cache.node_list()
        total = len(nodes)
        if total == 0:
            return Decision(None, NO_NODES_AVAILABLE)
        feasible, reasons, visited = self._feasible(pod, nodes)
        if not feasible:
            return Decision(None, fit_error_message(total, reasons), evaluated=visited)
        best = min(feasible, key=lambda n: score(pod, n))  # min keeps the first of equals
        return Decision(best.name, evaluated=visited, feasible=len(feasible))

    def _feasible(self, pod: PodInfo, nodes: list[NodeInfo]) -> tuple[list[NodeInfo], Counter[str], int]:
        total = len(nodes)
        wanted = num_feasible_nodes_to_find(total, self.percentage)
        start = self._next_start % total
        feasible: list[NodeInfo] = []
        reasons: Counter[str] = Counter()
        visited = 0
        filters = self.filters
        for i in range(total):
            node = nodes[(start + i) % total]
            visited += 1
            failed = run_filters(pod, node, filters)
            if failed:
                reasons.update(failed)
            else:
                feasible.append(node)
                if len(feasible) >= wanted:
                    break
        self._next_start = (start + (visited if visited < total else 1)) % total
        return feasible, reasons, visited
