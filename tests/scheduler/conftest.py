"""A scheduler wired to the in-memory FakeCluster, on a fake clock."""

from __future__ import annotations

import pytest

from apimachinery.timeutil import FakeClock
from scheduler.fake import FakeCluster
from scheduler.handlers import Handlers
from scheduler.scheduler import Scheduler


class Harness:
    def __init__(self, *, latency: float = 0.0, parallelism: int = 16) -> None:
        self.clock = FakeClock()
        self.cluster = FakeCluster(latency=latency)
        self.scheduler = Scheduler(self.cluster, self.cluster.pending, recorder=self.cluster, clock=self.clock,
                                   parallelism=parallelism)
        Handlers(self.scheduler).connect(unscheduled=self.cluster.pending, assigned=self.cluster.assigned,
                                         nodes=self.cluster.node_informer)

    async def drain(self) -> int:
        """Run scheduling cycles until no pod is active and nothing is in flight; returns cycles run."""
        cycles = 0
        while True:
            item = self.scheduler.queue.pop_nowait()
            if item is None:
                await self.scheduler.wait_idle()
                item = self.scheduler.queue.pop_nowait()
                if item is None:
                    return cycles
            await self.scheduler.schedule_one(*item)
            cycles += 1

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.scheduler.tick()


@pytest.fixture
async def harness() -> Harness:
    return Harness()
