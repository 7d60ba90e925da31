"""ReplicationController controller: the ReplicaSet logic over an equality selector."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.core import Pod, ReplicationController, ReplicationControllerStatus
from controllers.base import add_standard_indexers
from controllers.replicationcontroller import ReplicationControllerController
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, pod, replicaset

KEY = f"{NS}/web"
LABELS = {"app": "web", "tier": "front"}


def rc(replicas: int = 3, *, selector: dict[str, str] | None = None) -> ReplicationController:
    body: dict[str, Any] = {
        "metadata": {"name": "web", "namespace": NS, "uid": "rc-web", "labels": LABELS},
        "spec": {"replicas": replicas, "selector": dict(LABELS if selector is None else selector),
                 "template": {"metadata": {"labels": dict(LABELS)},
                              "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}},
    }
    return ReplicationController.model_validate(body)


def setup() -> tuple[FakeCluster, ReplicationControllerController]:
    cluster = fake_context()
    controllers = cluster.client.informer(ReplicationController)
    add_standard_indexers(controllers)
    return cluster, ReplicationControllerController(cluster.ctx, controllers, queue=FakeQueue())


@pytest.mark.parametrize(
    ("have", "want", "creates", "deletes"),
    [
        pytest.param(0, 2, 2, 0, id="scale-up-from-zero"),
        pytest.param(1, 3, 2, 0, id="scale-up"),
        pytest.param(3, 3, 0, 0, id="steady"),
        pytest.param(4, 1, 0, 3, id="scale-down"),
        pytest.param(2, 0, 0, 2, id="scale-to-zero"),
    ],
)
async def test_replica_math(have: int, want: int, creates: int, deletes: int) -> None:
    cluster, controller = setup()
    owner = cluster.client.seed(rc(want))
    for i in range(have):
        cluster.client.seed(pod(f"web-{i}", owner=owner, labels=LABELS, node="n1", ready=True))
    await controller.sync(KEY)
    assert len(cluster.client.calls("create", "pods")) == creates
    assert len(cluster.client.calls("delete", "pods")) == deletes


async def test_created_pods_are_controlled_by_the_replication_controller() -> None:
    cluster, controller = setup()
    owner = cluster.client.seed(rc(1))
    await controller.sync(KEY)
    (created,) = cluster.client.all(Pod)
    assert created.metadata.labels == LABELS
    (ref,) = created.metadata.owner_references or []
    assert (ref.api_version, ref.kind, ref.name, ref.uid, ref.controller) == (
        "v1", "ReplicationController", "web", owner.metadata.uid, True)


@pytest.mark.parametrize(
    ("labels", "adopted"),
    [
        pytest.param(LABELS, True, id="all-labels"),
        pytest.param({**LABELS, "extra": "x"}, True, id="more-labels"),
        pytest.param({"app": "web"}, False, id="a-label-missing"),
        pytest.param({"app": "web", "tier": "back"}, False, id="a-label-differs"),
    ],
)
async def test_orphans_are_adopted_by_label_equality(labels: dict[str, str], adopted: bool) -> None:
    cluster, controller = setup()
    cluster.client.seed(rc(1))
    cluster.client.seed(pod("orphan", labels=labels, node="n1", ready=True))
    await controller.sync(KEY)
    stored = cluster.client.stored(Pod, "orphan", NS)
    assert stored is not None
    owner = stored.metadata.controller_ref()
    assert (owner is not None and owner.kind == "ReplicationController") == adopted
    assert len(cluster.client.calls("create", "pods")) == (0 if adopted else 1)


async def test_pods_of_a_replicaset_are_left_alone() -> None:
    cluster, controller = setup()
    cluster.client.seed(rc(1))
    other = cluster.client.seed(replicaset("other", labels=LABELS))
    cluster.client.seed(pod("theirs", owner=other, labels=LABELS, node="n1", ready=True))
    await controller.sync(KEY)
    assert len(cluster.client.calls("create", "pods")) == 1
    theirs = cluster.client.stored(Pod, "theirs", NS)
    assert theirs is not None and theirs.metadata.owner_references[0].kind == "ReplicaSet"  # type: ignore[index]


async def test_status_counts_the_pods() -> None:
    cluster, controller = setup()
    owner = cluster.client.seed(rc(2))
    cluster.client.seed(pod("web-a", owner=owner, labels=LABELS, node="n1", ready=True))
    cluster.client.seed(pod("web-b", owner=owner, labels=LABELS, node="n1", ready=False))
    await controller.sync(KEY)
    stored = cluster.client.stored(ReplicationController, "web", NS)
    assert stored is not None and isinstance(stored.status, ReplicationControllerStatus)
    assert (stored.status.replicas, stored.status.ready_replicas, stored.status.fully_labeled_replicas) == (2, 1, 2)


async def test_an_empty_selector_selects_nothing() -> None:
    cluster, controller = setup()
    cluster.client.seed(rc(2, selector={}))
    cluster.client.seed(pod("orphan", labels=LABELS, node="n1", ready=True))
    await controller.sync(KEY)
    assert cluster.client.calls("create", "pods") == []
    assert cluster.client.calls("patch", "pods") == []
