"""Disruption controller as a specification: a budget's status from the pods it selects and the
scale of their controllers, as ``pkg/controller/disruption`` computes it."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.apps import ReplicaSet
from apimachinery.models.policy import PodDisruptionBudget
from controllers.disruption import DisruptionController
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, at, deployment, pod, replicaset

KEY = f"{NS}/web"


def budget(*, disrupted: dict[str, str] | None = None, generation: int = 2, **spec: Any) -> PodDisruptionBudget:
    body = {"selector": {"matchLabels": {"app": "web"}}, **spec}
    status = {"disruptedPods": disrupted} if disrupted else None
    return PodDisruptionBudget.model_validate({"metadata": {"name": "web", "namespace": NS, "uid": "pdb-web",
                                                            "generation": generation},
                                               "spec": body, "status": status})


def setup() -> tuple[FakeCluster, DisruptionController]:
    cluster = fake_context()
    return cluster, DisruptionController(cluster.ctx, cluster.client.informer(PodDisruptionBudget), queue=FakeQueue())


def seed_deployment(cluster: FakeCluster, *, replicas: int, ready: int, total: int | None = None) -> None:
    d = cluster.client.seed(deployment(replicas=replicas))
    rs = cluster.client.seed(replicaset(name="web-abc", replicas=replicas, owner=d))
    for i in range(replicas if total is None else total):
        cluster.client.seed(pod(f"web-{i}", owner=rs, node="n1", ready=i < ready))


def status_of(cluster: FakeCluster) -> tuple[int, int, int, int]:
    stored = cluster.client.stored(PodDisruptionBudget, "web", NS)
    assert stored is not None and stored.status is not None
    s = stored.status
    return s.expected_pods, s.desired_healthy, s.current_healthy, s.disruptions_allowed


@pytest.mark.parametrize(("spec", "replicas", "ready", "expected"), [
    pytest.param({"minAvailable": 2}, 3, 3, (3, 2, 3, 1), id="min-available-2-of-3"),
    pytest.param({"minAvailable": 2}, 3, 2, (3, 2, 2, 0), id="min-available-met-exactly"),
    pytest.param({"minAvailable": "50%"}, 4, 4, (4, 2, 4, 2), id="min-available-percent"),
    pytest.param({"maxUnavailable": 1}, 3, 3, (3, 2, 3, 1), id="max-unavailable-1"),
    pytest.param({"maxUnavailable": "34%"}, 3, 3, (3, 1, 3, 2), id="max-unavailable-percent-rounds-up"),
    pytest.param({"maxUnavailable": 1}, 3, 1, (3, 2, 1, 0), id="too-few-ready"),
    pytest.param({"minAvailable": 0}, 2, 0, (2, 0, 0, 0), id="nothing-ready"),
])
async def test_budget_arithmetic(spec: dict[str, Any], replicas: int, ready: int,
                                 expected: tuple[int, int, int, int]) -> None:
    cluster, dc = setup()
    cluster.client.seed(budget(**spec))
    seed_deployment(cluster, replicas=replicas, ready=ready)
    await dc.sync(KEY)
    assert status_of(cluster) == expected


async def test_the_scale_is_the_deployments_not_the_pod_count() -> None:
    cluster, dc = setup()
    cluster.client.seed(budget(maxUnavailable=1))
    seed_deployment(cluster, replicas=5, ready=3, total=3)  # two pods still to come
    await dc.sync(KEY)
    assert status_of(cluster) == (5, 4, 3, 0)


async def test_a_bare_replicaset_counts_its_own_replicas() -> None:
    cluster, dc = setup()
    cluster.client.seed(budget(maxUnavailable=1))
    rs = cluster.client.seed(replicaset(replicas=2))
    for i in range(2):
        cluster.client.seed(pod(f"web-{i}", owner=rs, node="n1", ready=True))
    await dc.sync(KEY)
    assert status_of(cluster) == (2, 1, 2, 1)
    assert cluster.client.stored(ReplicaSet, "web", NS) is not None


async def test_evicted_pods_are_not_counted_healthy_until_the_deadline() -> None:
    cluster, dc = setup()
    cluster.client.seed(budget(minAvailable=2, disrupted={"web-0": at(cluster.clock)}))
    seed_deployment(cluster, replicas=3, ready=3)
    cluster.clock.advance(10)
    await dc.sync(KEY)
    assert status_of(cluster) == (3, 2, 2, 0)
    cluster.clock.advance(111)
    cluster.client.deliver()
    await dc.sync(KEY)
    assert status_of(cluster) == (3, 2, 3, 1)


async def test_the_condition_says_whether_a_disruption_is_allowed() -> None:
    cluster, dc = setup()
    cluster.client.seed(budget(minAvailable=2))
    seed_deployment(cluster, replicas=3, ready=3)
    await dc.sync(KEY)
    stored = cluster.client.stored(PodDisruptionBudget, "web", NS)
    assert stored is not None and stored.status is not None
    (condition,) = stored.status.conditions or []
    assert (condition.type, condition.status, condition.reason) == ("DisruptionAllowed", "True", "SufficientPods")
    assert stored.status.observed_generation == 2


async def test_a_pod_whose_controller_has_no_scale_fails_safe() -> None:
    cluster, dc = setup()
    cluster.client.seed(budget(maxUnavailable=1))
    owner = replicaset(name="gone", uid="rs-gone")  # never stored
    cluster.client.seed(pod("web-0", owner=owner, node="n1", ready=True))
    await dc.sync(KEY)
    stored = cluster.client.stored(PodDisruptionBudget, "web", NS)
    assert stored is not None and stored.status is not None
    (condition,) = stored.status.conditions or []
    assert (condition.status, condition.reason) == ("False", "SyncFailed")
    assert stored.status.disruptions_allowed == 0
