"""The throughput harness as a test: every pod bound, evenly, and far faster than one round-trip per pod."""

from __future__ import annotations

from tests.scheduler.throughput import measure


async def test_two_thousand_pods_over_a_hundred_nodes() -> None:
    result = await measure(pods=2000, nodes=100)
    assert (result.min_per_node, result.max_per_node) == (20, 20)
    assert result.pods_per_second > 100  # about 2,000 pods/s on a developer machine


async def test_bindings_overlap_when_the_api_has_latency() -> None:
    result = await measure(pods=400, nodes=20, latency=0.01)
    assert result.seconds < 400 * 0.01 / 4  # 16 bindings in flight, not one at a time
