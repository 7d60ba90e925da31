"""Scheduling throughput on the in-memory cluster: ``python -m tests.scheduler.throughput [pods] [nodes]``.

Creates ``nodes`` equal nodes and ``pods`` pending pods (in ReplicaSets of 50, each asking
100m cpu and 128Mi), runs the real scheduling loop until every pod is bound, and reports pods per
second. Every binding goes through the fake API (optionally with a round-trip ``latency``) and
comes back through its field-selected informers, so the cache confirmation path is included.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass

from tests.scheduler.harness import Harness
from tests.scheduler.objects import make_node, make_pod


@dataclass(frozen=True)
class Throughput:
    pods: int
    nodes: int
    seconds: float
    max_per_node: int
    min_per_node: int

    @property
    def pods_per_second(self) -> float:
        return self.pods / self.seconds if self.seconds else float("inf")


async def measure(*, pods: int = 2000, nodes: int = 100, latency: float = 0.0, parallelism: int = 16,
                  timeout: float = 300.0) -> Throughput:
    cluster = Harness(latency=latency, parallelism=parallelism)
    scheduler = cluster.scheduler
    for i in range(nodes):
        cluster.add_node(make_node(f"node-{i:05d}", cpu="64", memory="256Gi", pods=1000))
    for i in range(pods):
        cluster.create_pod(make_pod(f"pod-{i:06d}", cpu="100m", memory="128Mi", owner_uid=f"rs-{i // 50}"))
    started = time.perf_counter()
    task = asyncio.create_task(scheduler.run())
    try:
        while scheduler.bound < pods:
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"only {scheduler.bound}/{pods} pods bound in {timeout}s")
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    per_node = Counter(node for _, node in cluster.binds())
    return Throughput(pods, nodes, elapsed, max(per_node.values()), min(per_node.values()))


def main(argv: list[str]) -> None:
    pods = int(argv[0]) if argv else 2000
    nodes = int(argv[1]) if len(argv) > 1 else 100
    latency = float(argv[2]) if len(argv) > 2 else 0.0
    result = asyncio.run(measure(pods=pods, nodes=nodes, latency=latency))
    print(f"{result.pods} pods on {result.nodes} nodes (latency {latency * 1000:.0f} ms): "
          f"{result.seconds:.2f} s, {result.pods_per_second:.0f} pods/s, "
          f"{result.min_per_node}-{result.max_per_node} pods per node")


if __name__ == "__main__":
    main(sys.argv[1:])
