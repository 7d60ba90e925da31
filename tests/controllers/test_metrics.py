"""The controller manager names each controller's queue as Kubernetes does, and a Deployment's
events move ``workqueue_*{name="deployment"}`` on the manager's registry."""

from __future__ import annotations

import pytest

from controllers.deployment import DeploymentController
from controllers.manager import Controller, name_queues
from controllers.metrics import ControllerMetrics, queue_name
from controllers.replicaset import ReplicaSetController
from tests.controllers.harness import fake_context
from tests.controllers.objects import deployment


@pytest.mark.parametrize(("controller", "queue"), [
    ("deployment-controller", "deployment"),
    ("replicaset-controller", "replicaset"),
    ("garbage-collector", "garbage-collector"),
    ("pvc-protection", "pvc-protection"),
], ids=["deployment", "replicaset", "no-suffix", "other"])
def test_queue_names(controller: str, queue: str) -> None:
    assert queue_name(controller) == queue


async def test_a_deployment_event_moves_the_deployment_queue() -> None:
    cluster = fake_context(auto_deliver=True)
    metrics = ControllerMetrics()
    controllers: list[Controller] = [DeploymentController(cluster.ctx), ReplicaSetController(cluster.ctx)]
    name_queues(controllers, metrics)
    cluster.client.seed(deployment(replicas=1))
    registry = metrics.registry
    assert registry.get_sample_value("workqueue_adds_total", {"name": "deployment"}) == 1
    assert registry.get_sample_value("workqueue_depth", {"name": "deployment"}) == 1
    assert registry.get_sample_value("workqueue_depth", {"name": "replicaset"}) == 0
