"""A scheduler wired to the one fake API, as ``scheduler.runner`` wires it to the apiserver.

The three informers are the fake's, with the runner's own field selectors: a binding moves a pod
from the pending view to the assigned view (DELETED from one, ADDED to the other) exactly as the
field-selected watches do, so tests exercise the same confirmation path as production.
:meth:`Harness.pause_watch` holds the informers back, to show that decisions made while they lag
(a burst) still respect capacity through assumed pods.
"""

from __future__ import annotations

from collections.abc import Callable

from apimachinery.models.core import Node, Pod
from apimachinery.testing import FakeApi, RecordingRecorder
from apimachinery.timeutil import FakeClock
from scheduler.handlers import Handlers
from scheduler.runner import ASSIGNED_PODS, PENDING_PODS
from scheduler.scheduler import Scheduler


class Harness:
    def __init__(self, *, latency: float = 0.0, parallelism: int = 16, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.api = FakeApi(clock=self.clock, latency=latency)
        self.recorder = RecordingRecorder()
        self.pending = self.api.informer(Pod, field_selector=PENDING_PODS)
        self.assigned = self.api.informer(Pod, field_selector=ASSIGNED_PODS)
        self.nodes = self.api.informer(Node)
        self.scheduler = Scheduler(self.api, self.pending, recorder=self.recorder, clock=self.clock,
                                   parallelism=parallelism)
        Handlers(self.scheduler).connect(unscheduled=self.pending, assigned=self.assigned, nodes=self.nodes)

    # -- the cluster -----------------------------------------------------------------------

    def add_node(self, node: Node) -> None:
        self.api.seed(node)

    def update_node(self, name: str, change: Callable[[Node], None]) -> None:
        node = self.api.stored(Node, name)
        assert node is not None, name
        change(node)
        self.api.seed(node)

    def delete_node(self, name: str) -> None:
        self.api.remove(Node, name)

    def create_pod(self, pod: Pod) -> None:
        self.api.seed(pod)

    def delete_pod(self, key: str) -> None:
        namespace, _, name = key.partition("/")
        self.api.remove(Pod, name, namespace)

    def pod(self, key: str) -> Pod:
        namespace, _, name = key.partition("/")
        pod = self.api.stored(Pod, name, namespace)
        assert pod is not None, key
        return pod

    def placement(self) -> dict[str, str | None]:
        return {f"{p.metadata.namespace}/{p.metadata.name}": p.spec.node_name for p in self.api.all(Pod)}

    def binds(self) -> list[tuple[str, str]]:
        """Every binding the scheduler asked for, in order (failed ones too)."""
        return [(a.key, a.body) for a in self.api.calls("bind", "pods")]

    def pause_watch(self) -> None:
        self.api.auto_deliver = False

    def resume_watch(self) -> None:
        self.api.auto_deliver = True
        self.api.deliver()

    # -- driving the scheduler -------------------------------------------------------------

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
