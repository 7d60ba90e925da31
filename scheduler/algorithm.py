"""Choosing a node for one pod: filter, score, pick; or explain why no node fits.

The work per pod is O(nodes) at most, and less on large clusters: as Kubernetes does
(``percentageOfNodesToScore``), the search stops once it has found "enough" feasible nodes,
100 or a share of the cluster shrinking from 50% towards 5% as it grows. Each search starts
one node past where the previous one stopped, so over a run every node gets examined. Ties go
to the first node visited (Kubernetes picks one at random; this is deterministic), and since
the start keeps moving, equally good nodes take turns instead of the same window head winning
every time the scores are equal (they are 0-100 integers, so equal is common).

When nothing fits, the reasons of every node are counted and worded exactly like Kubernetes'
FitError: ``0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu.``

A decision also names the feasible nodes of the pod's ``failed-on`` list that lost to the chosen
one (``avoided``), so that the Scheduled event can say why the pod went elsewhere.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

from scheduler.cache import NodeInfo, SchedulerCache
from scheduler.plugins import Score, pod_filters, run_filters, score
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
    avoided: tuple[str, ...] = ()  # feasible failed-on nodes passed over for ``node``


class Algorithm:
    """Filter + score over the cache's nodes, with sampling and a rotating start."""

    def __init__(self, cache: SchedulerCache, *, percentage_of_nodes_to_score: int = 0) -> None:
        self.cache = cache
        self.percentage = percentage_of_nodes_to_score
        self._next_start = 0

    def find_node(self, pod: PodInfo) -> Decision:
        nodes = self.cache.node_list()
        total = len(nodes)
        if total == 0:
            return Decision(None, NO_NODES_AVAILABLE)
        wanted = num_feasible_nodes_to_find(total, self.percentage)
        start = self._next_start % total
        checks = pod_filters(pod)
        reasons: Counter[str] = Counter()
        best: NodeInfo | None = None
        best_score: Score | None = None
        feasible = visited = 0
        failed_fit: list[str] = []
        for node in itertools.chain(itertools.islice(nodes, start, None), itertools.islice(nodes, start)):
            visited += 1
            failed = run_filters(pod, node, checks)
            if failed:
                reasons.update(failed)
                continue
            if node.name in pod.failed_on:
                failed_fit.append(node.name)
            node_score = score(pod, node)
            if best_score is None or node_score < best_score:  # strict: the first of equals wins
                best, best_score = node, node_score
            feasible += 1
            if feasible >= wanted:
                break
        self._next_start = (start + visited + 1) % total
        if best is None:
            return Decision(None, fit_error_message(total, reasons), evaluated=visited)
        avoided = () if best.name in pod.failed_on else tuple(sorted(failed_fit))
        return Decision(best.name, evaluated=visited, feasible=feasible, avoided=avoided)
