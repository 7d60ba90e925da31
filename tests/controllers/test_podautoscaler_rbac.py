"""The pod autoscaler holds what it needs as ``system:kube-controller-manager``, and nothing is refused.

It reads HorizontalPodAutoscalers and pods, gets and updates ``deployments/scale``, lists
``metrics.k8s.io`` pods and writes ``horizontalpodautoscalers/status``; a plain authenticated user
may do none of the writes.
"""

from __future__ import annotations

import asyncio

import pytest

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.informer import Informer
from apimachinery.models.apps import Deployment
from apimachinery.models.autoscaling import HorizontalPodAutoscaler
from apimachinery.models.core import Pod
from apimachinery.testing import RecordingRecorder
from apimachinery.timeutil import FakeClock
from controllers.base import ControllerContext
from controllers.manager import build_informers
from controllers.podautoscaler import PodAutoscalerController
from controllers.podautoscaler_metrics import ApiMetricsSource, MetricsUnavailable, StaticMetricsSource
from tests.apiserver.test_authz_components import clients, refused, server  # noqa: F401 - fixtures
from tests.controllers.harness import FakeQueue

NS = "default"
LABELS = {"app": "web"}
CONTAINER = {"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "100m"}}}


async def _seed(root: ApiClient) -> None:
    template = {"metadata": {"labels": LABELS}, "spec": {"containers": [CONTAINER]}}
    await root.create(Deployment.model_validate({"metadata": {"name": "web"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": LABELS}, "template": template}}), NS)
    pod = await root.create(Pod.model_validate({"metadata": {"name": "web-a", "labels": LABELS},
                                                "spec": {"containers": [CONTAINER]}}), NS)
    wire = pod.to_dict()
    wire["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    await root.replace_status(Pod.model_validate(wire))
    await root.create(HorizontalPodAutoscaler.model_validate({"metadata": {"name": "web"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 3,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 50}}}]}}), NS)


async def test_the_controller_manager_identity_scales_and_writes_status(
        clients: dict[str, ApiClient], refused: list[str]) -> None:  # noqa: F811
    await _seed(clients["root"])
    cm = clients["cm"]
    informers, _ = build_informers(cm)
    hpas = Informer(cm, HorizontalPodAutoscaler)
    ctx = ControllerContext(client=cm, informers=informers, recorder_for=lambda _: RecordingRecorder(),
                            clock=FakeClock())
    metrics = StaticMetricsSource({NS: {"web-a": {"cpu": "100m"}}})
    controller = PodAutoscalerController(ctx, hpas, scales=cm, metrics=metrics, queue=FakeQueue())
    tasks = [asyncio.create_task(c.run()) for c in (informers.pods, hpas)]
    try:
        await asyncio.gather(informers.pods.wait_synced(10), hpas.wait_synced(10))
        await controller.sync(f"{NS}/web")
        with pytest.raises(MetricsUnavailable) as unavailable:
            await ApiMetricsSource(cm).pod_usage(NS, "app=web", "cpu")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert (await cm.get(Deployment, "web", NS)).spec.replicas == 2
    hpa = await cm.get(HorizontalPodAutoscaler, "web", NS)
    assert hpa.status is not None and hpa.status.desired_replicas == 2
    assert "forbidden" not in str(unavailable.value).lower()
    assert refused == []


async def test_an_ordinary_user_may_not_write_autoscaler_status(clients: dict[str, ApiClient]) -> None:  # noqa: F811
    await _seed(clients["root"])
    hpa = await clients["root"].get(HorizontalPodAutoscaler, "web", NS)
    with pytest.raises(ApiError) as err:
        await clients["sched"].replace_status(hpa)
    assert err.value.code == 403
