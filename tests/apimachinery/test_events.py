"""EventRecorder: aggregation of repeats, a bounded queue, a budget, and never raising."""

from __future__ import annotations

import asyncio
from typing import Any

from apimachinery.errors import ApiError
from apimachinery.events import NORMAL, WARNING, EventRecorder
from apimachinery.models.core import Container, Pod, PodSpec
from apimachinery.models.meta import ObjectMeta


class FakeClient:
    """Records the calls an EventRecorder makes; ``gate`` holds every call until set."""

    def __init__(self, *, fail: bool = False) -> None:
        self.created: list[Any] = []
        self.patched: list[tuple[str, dict[str, Any]]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.in_flight = 0
        self.most_in_flight = 0
        self.fail = fail

    async def _call(self) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self.gate.wait()
            if self.fail:
                raise ApiError(503, "ServiceUnavailable", "down")
        finally:
            self.in_flight -= 1

    async def create(self, obj: Any, namespace: str | None = None) -> Any:
        await self._call()
        self.created.append(obj)
        return obj

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        await self._call()
        self.patched.append((path, kwargs["body"]))
        return {}


def pod(name: str) -> Pod:
    return Pod(metadata=ObjectMeta(name=name, namespace="ns", uid=f"uid-{name}"),
               spec=PodSpec(containers=[Container(name="main", image="busybox")]))


async def test_repeats_of_one_event_update_its_count_instead_of_creating_objects() -> None:
    client = FakeClient()
    recorder = EventRecorder(client, "kubelet", host="n1", clock=lambda: "2026-01-01T00:00:00Z")  # type: ignore[arg-type]
    for _ in range(3):
        recorder.event(pod("a"), WARNING, "BackOff", "Back-off restarting failed container")
        await recorder.flush()
    recorder.event(pod("a"), NORMAL, "Started", "Started container main")
    await recorder.flush()
    assert [(e.reason, e.count, e.source.host) for e in client.created] == [("BackOff", 1, "n1"), ("Started", 1, "n1")]
    assert [body["count"] for _, body in client.patched] == [2, 3]
    assert all(path.startswith("/api/v1/namespaces/ns/events/a.") for path, _ in client.patched)


async def test_a_burst_keeps_a_bounded_number_of_writes_in_flight_and_drops_beyond_the_queue() -> None:
    client = FakeClient()
    client.gate.clear()
    recorder = EventRecorder(client, "default-scheduler", queue_size=10, senders=2)  # type: ignore[arg-type]
    for i in range(50):
        recorder.event(pod(f"p{i}"), NORMAL, "Scheduled", f"assigned p{i}")
        await asyncio.sleep(0)  # the senders take what they can
    client.gate.set()
    await recorder.flush()
    assert client.most_in_flight == 2
    assert len(client.created) == 12  # two taken by the senders at once, ten queued
    assert recorder.dropped == 38
    assert sorted(int(str(e.involved_object.name)[1:]) for e in client.created) == list(range(12))  # the first ones


async def test_the_budget_drops_events_beyond_the_burst_until_tokens_refill() -> None:
    now = [0.0]
    client = FakeClient()
    recorder = EventRecorder(client, "kubelet", qps=2.0, burst=3, monotonic=lambda: now[0])  # type: ignore[arg-type]
    for i in range(5):
        recorder.event(pod(f"p{i}"), NORMAL, "Created", "Created container")
    now[0] = 1.0  # two tokens back
    for i in range(5, 8):
        recorder.event(pod(f"p{i}"), NORMAL, "Created", "Created container")
    await recorder.flush()
    assert [e.involved_object.name for e in client.created] == ["p0", "p1", "p2", "p5", "p6"]
    assert recorder.dropped == 3


async def test_an_api_error_loses_the_event_and_nothing_else() -> None:
    client = FakeClient(fail=True)
    recorder = EventRecorder(client, "kubelet")  # type: ignore[arg-type]
    recorder.event(pod("a"), WARNING, "Failed", "boom")
    await recorder.flush()
    client.fail = False
    recorder.event(pod("a"), WARNING, "Failed", "boom")  # not remembered as sent: created afresh
    await recorder.flush()
    assert [(e.reason, e.count) for e in client.created] == [("Failed", 1)]
