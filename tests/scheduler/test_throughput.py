"""The throughput harness as a test: a burst of 2,000 pods over 100 nodes is bound completely
and evenly. (Its speed is a benchmark figure, printed by ``python -m tests.scheduler.throughput``,
never asserted.)"""

from __future__ import annotations

from tests.scheduler.throughput import measure


async def test_two_thousand_pods_over_a_hundred_nodes_bind_evenly() -> None:
    result = await measure(pods=2000, nodes=100)
    assert (result.min_per_node, result.max_per_node) == (20, 20)


async def test_bindings_overlap_when_the_api_has_latency() -> None:
    result = await measure(pods=400, nodes=20, latency=0.01)
    assert (result.min_per_node, result.max_per_node) == (20, 20)
