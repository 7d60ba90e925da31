"""Node choice: the FitError wording, sampling on large clusters, rotation among equal nodes."""

from __future__ import annotations

from collections import Counter

import pytest

from apimachinery.timeutil import FakeClock
from scheduler.algorithm import NO_NODES_AVAILABLE, Algorithm, fit_error_message, num_feasible_nodes_to_find
from scheduler.cache import SchedulerCache
from scheduler.podinfo import PodInfo
from tests.scheduler.objects import make_node, make_pod


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [(1, 1), (99, 99), (100, 100), (500, 230), (1000, 420), (5000, 500), (10_000, 500)],
)
def test_num_feasible_nodes_to_find(nodes: int, expected: int) -> None:
    assert num_feasible_nodes_to_find(nodes) == expected


def test_fit_error_message_sorts_counts_like_kubernetes() -> None:
    reasons = Counter({"Insufficient cpu": 2, "node(s) had untolerated taint {node.kubernetes.io/unreachable: }": 1})
    assert fit_error_message(3, reasons) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, "
        "2 Insufficient cpu."
    )


def cache_with(*names: str, **node_kwargs: object) -> SchedulerCache:
    cache = SchedulerCache(clock=FakeClock().monotonic)
    for name in names:
        cache.update_node(make_node(name, **node_kwargs))  # type: ignore[arg-type]
    return cache


def info(name: str, **kwargs: object) -> PodInfo:
    pod = make_pod(name, **kwargs)  # type: ignore[arg-type]
    pod.metadata.uid = name
    return PodInfo.from_pod(pod)


def test_no_nodes() -> None:
    decision = Algorithm(cache_with()).find_node(info("p"))
    assert decision.node is None and decision.message == NO_NODES_AVAILABLE


def test_equal_nodes_take_turns() -> None:
    """Pods that leave no trace on the score (requests far below a point) still rotate over nodes."""
    cache = cache_with("a", "b", "c", cpu="1000", memory="1000Gi")
    algorithm = Algorithm(cache)
    chosen = []
    for i in range(6):
        pod = info(f"p{i}")
        decision = algorithm.find_node(pod)
        assert decision.node is not None
        cache.assume(pod, decision.node)
        chosen.append(decision.node)
    assert Counter(chosen) == {"a": 2, "b": 2, "c": 2}


def test_large_cluster_examines_a_sample_and_moves_on() -> None:
    names = [f"n{i:04d}" for i in range(1000)]
    cache = cache_with(*names)
    algorithm = Algorithm(cache)
    first = algorithm.find_node(info("p1"))
    second = algorithm.find_node(info("p2"))
    assert first.evaluated == first.feasible == 420
    assert second.evaluated == 420
    assert first.node != second.node  # the second search started where the first stopped


def test_sampling_keeps_looking_past_infeasible_nodes() -> None:
    cache = cache_with(*[f"n{i:04d}" for i in range(200)], cpu="1")
    cache.update_node(make_node("z-big", cpu="8"))
    decision = Algorithm(cache).find_node(info("p", cpu="4"))
    assert decision.node == "z-big"
    assert decision.evaluated == 201
