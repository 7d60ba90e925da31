"""The pod autoscaler against the real API (in-process app, in-memory SQLite) and an in-memory metrics source.

Each test seeds a Deployment (no Deployment controller runs: its ``scale`` subresource is what the
autoscaler reads and writes), Running and Ready pods with cpu requests, and an autoscaling/v2
HPA; then it calls ``sync(key)`` with a fake clock and reads back the Deployment, the HPA's
status and the recorded events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from apimachinery.client import ApiClient
from apimachinery.informer import Informer
from apimachinery.models.apps import Deployment
from apimachinery.models.autoscaling import HorizontalPodAutoscaler
from apimachinery.models.core import Pod
from apimachinery.testing import RecordingRecorder
from apimachinery.testing.asgi import StreamingASGITransport
from apimachinery.timeutil import FakeClock
from apiserver.app import create_app
from apiserver.store.sqlite import SqliteStore
from controllers.base import ControllerContext
from controllers.manager import build_informers
from controllers.podautoscaler import PodAutoscalerController
from controllers.podautoscaler_metrics import StaticMetricsSource
from tests.controllers.harness import FakeQueue

NS = "default"
KEY = f"{NS}/web"
LABELS = {"app": "web"}
CPU_REASON = "cpu resource utilization (percentage of request)"


@dataclass
class Rig:
    client: ApiClient
    controller: PodAutoscalerController
    metrics: StaticMetricsSource
    recorder: RecordingRecorder
    clock: FakeClock
    queue: FakeQueue
    caches: list[Any]

    async def seen(self, what: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 10
        while not check():
            assert time.monotonic() < deadline, f"the caches never showed {what}"
            await asyncio.sleep(0.02)

    async def replicas(self) -> int:
        return (await self.client.get(Deployment, "web", NS)).spec.replicas or 0

    async def status(self) -> dict[str, Any]:
        return (await self.client.get(HorizontalPodAutoscaler, "web", NS)).to_dict().get("status") or {}


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    store = SqliteStore(":memory:")
    client = ApiClient("http://apiserver", transport=StreamingASGITransport(create_app(store)))
    informers, _ = build_informers(client)
    clock, recorder, queue, metrics = FakeClock(), RecordingRecorder(), FakeQueue(), StaticMetricsSource()
    ctx = ControllerContext(client=client, informers=informers, recorder_for=lambda _: recorder, clock=clock)
    hpas = Informer(client, HorizontalPodAutoscaler)
    controller = PodAutoscalerController(ctx, hpas, scales=client, metrics=metrics, queue=queue)
    caches = [informers.pods, hpas]
    tasks = [asyncio.create_task(cache.run()) for cache in caches]  # type: ignore[attr-defined]
    await asyncio.gather(*(cache.wait_synced(10) for cache in caches))
    yield Rig(client, controller, metrics, recorder, clock, queue, caches)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.close()
    store.close()


async def seed(rig: Rig, *, replicas: int, pods: dict[str, str], request: str | None = "100m",
               hpa: dict[str, Any] | None = None) -> None:
    """A Deployment of ``replicas``, Ready pods using ``pods[name]`` cpu, and the HPA (target 50%, 1..3)."""
    container: dict[str, Any] = {"name": "c", "image": "busybox"}
    if request is not None:
        container["resources"] = {"requests": {"cpu": request}}
    template = {"metadata": {"labels": LABELS}, "spec": {"containers": [container]}}
    await rig.client.create(Deployment.model_validate({"metadata": {"name": "web"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": LABELS}, "template": template}}), NS)
    for name, usage in pods.items():
        await add_pod(rig, name, container)
        rig.metrics.set(NS, name, cpu=usage)
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "minReplicas": 1,
            "maxReplicas": 3, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 50}}}], **(hpa or {})}
    await rig.client.create(HorizontalPodAutoscaler.model_validate({"metadata": {"name": "web"}, "spec": spec}), NS)
    await rig.seen("the pods and the HPA", lambda: rig.controller.hpas.get(KEY) is not None
                   and len(rig.controller.pods.list()) == len(pods))


async def add_pod(rig: Rig, name: str, container: dict[str, Any], *, ready: bool = True) -> None:
    pod = await rig.client.create(Pod.model_validate({"metadata": {"name": name, "labels": LABELS},
                                                      "spec": {"containers": [container]}}), NS)
    wire = pod.to_dict()
    wire["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    await rig.client.replace_status(Pod.model_validate(wire))


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status.get("conditions") or []}


async def test_a_busy_pod_scales_the_deployment_up(rig: Rig) -> None:
    await seed(rig, replicas=1, pods={"web-a": "100m"})
    await rig.controller.sync(KEY)
    assert await rig.replicas() == 2
    status = await rig.status()
    assert (status["currentReplicas"], status["desiredReplicas"]) == (1, 2)
    assert status["currentMetrics"] == [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageValue": "100m", "averageUtilization": 100}}}]
    assert status["lastScaleTime"]
    assert conditions(status) == {"AbleToScale": ("True", "SucceededRescale"),
                                  "ScalingActive": ("True", "ValidMetricFound"),
                                  "ScalingLimited": ("False", "DesiredWithinRange")}
    assert rig.recorder.messages(KEY, "SuccessfulRescale") == [f"New size: 2; reason: {CPU_REASON} above target"]
    assert (KEY, 15.0) in rig.queue.after


async def test_usage_within_tolerance_changes_nothing(rig: Rig) -> None:
    await seed(rig, replicas=2, pods={"web-a": "52m", "web-b": "53m"})
    await rig.controller.sync(KEY)
    assert await rig.replicas() == 2
    status = await rig.status()
    assert (status["desiredReplicas"], "lastScaleTime" in status) == (2, False)
    assert conditions(status)["AbleToScale"] == ("True", "ReadyForNewScale")
    assert rig.recorder.reasons(KEY) == []


async def test_scale_down_waits_for_the_stabilization_window(rig: Rig) -> None:
    behavior = {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 5}}}
    await seed(rig, replicas=2, pods={"web-a": "50m", "web-b": "50m"}, hpa=behavior)
    await rig.controller.sync(KEY)  # at target: recommends 2
    rig.metrics.set(NS, "web-a", cpu="1m")
    rig.metrics.set(NS, "web-b", cpu="1m")
    rig.clock.advance(2)
    await rig.controller.sync(KEY)
    assert await rig.replicas() == 2
    assert conditions(await rig.status())["AbleToScale"] == ("True", "ScaleDownStabilized")
    rig.clock.advance(4)
    await rig.controller.sync(KEY)
    assert await rig.replicas() == 1
    assert rig.recorder.messages(KEY, "SuccessfulRescale") == ["New size: 1; reason: All metrics below target"]


async def test_unavailable_metrics_leave_the_target_alone(rig: Rig) -> None:
    await seed(rig, replicas=1, pods={"web-a": "500m"})
    rig.metrics.error = "no metrics returned from resource metrics API"
    await rig.controller.sync(KEY)
    assert await rig.replicas() == 1
    status = await rig.status()
    assert conditions(status)["ScalingActive"] == ("False", "FailedGetResourceMetric")
    (message,) = [c["message"] for c in status["conditions"] if c["type"] == "ScalingActive"]
    assert message == ("the HPA was unable to compute the replica count: failed to get cpu utilization: "
                       "no metrics returned from resource metrics API")
    assert rig.recorder.reasons(KEY) == ["FailedGetResourceMetric"]
    assert (KEY, 15.0) in rig.queue.after  # tried again next period


async def test_pods_without_cpu_requests_cannot_be_autoscaled_on_utilization(rig: Rig) -> None:
    await seed(rig, replicas=1, pods={"web-a": "500m"}, request=None)
    await rig.controller.sync(KEY)
    assert await rig.replicas() == 1
    status = await rig.status()
    assert conditions(status)["ScalingActive"] == ("False", "FailedGetResourceMetric")
    assert "missing request for cpu in pod web-a" in rig.recorder.messages(KEY)[0]


async def test_an_unready_pod_does_not_count_as_busy(rig: Rig) -> None:
    await seed(rig, replicas=2, pods={"web-a": "60m"})
    await add_pod(rig, "web-b", {"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "100m"}}},
                  ready=False)
    rig.metrics.set(NS, "web-b", cpu="900m")
    await rig.seen("the unready pod", lambda: len(rig.controller.pods.list()) == 2)
    await rig.controller.sync(KEY)
    assert await rig.replicas() == 2  # 60% on the ready pod alone, 30% with the unready one at 0: no move


@pytest.mark.parametrize(
    ("replicas", "expected", "reason"),
    [(5, 3, "Current number of replicas above Spec.MaxReplicas"),
     (0, 0, None)],
    ids=["above-max-is-brought-down", "zero-replicas-disables-scaling"],
)
async def test_out_of_range_targets(rig: Rig, replicas: int, expected: int, reason: str | None) -> None:
    await seed(rig, replicas=replicas, pods={"web-a": "10m"})
    await rig.controller.sync(KEY)
    assert await rig.replicas() == expected
    if reason:
        assert rig.recorder.messages(KEY, "SuccessfulRescale") == [f"New size: {expected}; reason: {reason}"]
    else:
        assert conditions(await rig.status())["ScalingActive"] == ("False", "ScalingDisabled")


async def test_a_missing_target_fails_to_get_scale(rig: Rig) -> None:
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "absent"}, "maxReplicas": 3}
    await rig.client.create(HorizontalPodAutoscaler.model_validate({"metadata": {"name": "web"}, "spec": spec}), NS)
    await rig.seen("the HPA", lambda: rig.controller.hpas.get(KEY) is not None)
    await rig.controller.sync(KEY)
    assert conditions(await rig.status()) == {"AbleToScale": ("False", "FailedGetScale")}
    assert rig.recorder.reasons(KEY) == ["FailedGetScale"]


async def test_a_deleted_hpa_is_forgotten(rig: Rig) -> None:
    await rig.controller.sync(KEY)
    assert rig.queue.after == [] and KEY not in rig.controller.histories


MEMORY_AVERAGE = {"type": "Resource", "resource": {"name": "memory", "target": {
    "type": "AverageValue", "averageValue": "32Mi"}}}
CPU_50 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}


async def test_a_memory_average_value_target(rig: Rig) -> None:
    await seed(rig, replicas=1, pods={"web-a": "1m"}, hpa={"metrics": [MEMORY_AVERAGE]})
    rig.metrics.set(NS, "web-a", cpu="1m", memory="64Mi")
    await rig.controller.sync(KEY)
    assert await rig.replicas() == 2
    status = await rig.status()
    assert status["currentMetrics"] == [{"type": "Resource", "resource": {"name": "memory", "current": {
        "averageValue": "64Mi"}}}]
    assert rig.recorder.messages(KEY, "SuccessfulRescale") == ["New size: 2; reason: memory resource above target"]


async def test_the_highest_metric_wins_and_a_failing_one_does_not_block_a_scale_up(rig: Rig) -> None:
    await seed(rig, replicas=1, pods={"web-a": "150m"}, hpa={"metrics": [MEMORY_AVERAGE, CPU_50]})
    await rig.controller.sync(KEY)  # no memory reading at all: only cpu counts, and it asks for 3
    assert await rig.replicas() == 3
    status = await rig.status()
    assert status["currentMetrics"][1]["resource"]["current"]["averageUtilization"] == 150
    assert conditions(status)["ScalingActive"] == ("True", "ValidMetricFound")
    assert "FailedGetResourceMetric" in rig.recorder.reasons(KEY)


async def test_a_failing_metric_blocks_a_scale_down(rig: Rig) -> None:
    await seed(rig, replicas=3, pods={"web-a": "1m", "web-b": "1m", "web-c": "1m"},
               hpa={"metrics": [MEMORY_AVERAGE, CPU_50]})
    await rig.controller.sync(KEY)
    assert await rig.replicas() == 3
    assert conditions(await rig.status())["ScalingActive"] == ("False", "FailedGetResourceMetric")
