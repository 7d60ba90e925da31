"""StatefulSet controller as a specification: sync(key) against the fake client, actions asserted.

A helper plays the kubelet: :func:`run` marks pods Running and Ready, so each test reads as
"sync, see what was created, let it start, sync again".
"""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import ApiError
from apimachinery.models.apps import StatefulSet
from apimachinery.models.core import Pod
from controllers.statefulset import (
    POD_INDEX_LABEL,
    POD_NAME_LABEL,
    REVISION_LABEL,
    Claim,
    StatefulSetController,
    calculate_status,
    revision_of_template,
)
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, at, template

KEY = f"{NS}/web"
CLAIM_TEMPLATE = {
    "metadata": {"name": "data"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}},
}


def statefulset(
    replicas: int = 3,
    *,
    policy: str = "OrderedReady",
    claims: bool = False,
    image: str = "busybox:1",
    strategy: dict[str, Any] | None = None,
    retention: dict[str, str] | None = None,
    start: int | None = None,
) -> StatefulSet:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "serviceName": "web",
        "selector": {"matchLabels": {"app": "web"}},
        "template": template(image),
        "podManagementPolicy": policy,
        "updateStrategy": strategy
        or {"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": 1}},
        "persistentVolumeClaimRetentionPolicy": retention
        or {"whenDeleted": "Retain", "whenScaled": "Retain"},
    }
    if claims:
        spec["volumeClaimTemplates"] = [CLAIM_TEMPLATE]
    if start is not None:
        spec["ordinals"] = {"start": start}
    return StatefulSet.model_validate(
        {"metadata": {"name": "web", "namespace": NS, "uid": "sts-web"}, "spec": spec}
    )


def setup(sts: StatefulSet) -> tuple[FakeCluster, StatefulSetController, StatefulSet]:
    cluster = fake_context(auto_deliver=True)
    controller = StatefulSetController(cluster.ctx, queue=FakeQueue())
    return cluster, controller, cluster.client.seed(sts)


def names(cluster: FakeCluster) -> list[str]:
    return sorted(p.metadata.name or "" for p in cluster.client.all(Pod))


def stored_claims(cluster: FakeCluster) -> list[Any]:
    """The PersistentVolumeClaims in the fake (plain-dict models until the kind is typed)."""
    return list(cluster.client.all(Claim))


def created(cluster: FakeCluster, resource: str = "pods") -> list[str]:
    return [a.name for a in cluster.client.calls("create", resource)]


def deleted(cluster: FakeCluster, resource: str = "pods") -> list[str]:
    return [a.name for a in cluster.client.calls("delete", resource)]


async def run(
    cluster: FakeCluster, *pod_names: str, ready: bool = True, since: str = "2026-01-01T00:00:00Z"
) -> None:
    """The kubelet's part: the named pods (all when none is named) Running, Ready or not."""
    for pod in cluster.client.all(Pod):
        if pod_names and pod.metadata.name not in pod_names:
            continue
        pod.status = Pod.model_validate(
            {
                "metadata": {},
                "spec": {"containers": []},
                "status": {
                    "phase": "Running",
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True" if ready else "False",
                            "lastTransitionTime": since,
                        }
                    ],
                },
            }
        ).status
        await cluster.client.replace_status(pod)


async def converge(cluster: FakeCluster, controller: StatefulSetController, *, rounds: int = 12) -> None:
    """Sync and let every pod start, until nothing more happens."""
    for _ in range(rounds):
        await controller.sync(KEY)
        await run(cluster)


async def test_ordered_ready_creates_one_pod_at_a_time_in_order() -> None:
    cluster, controller, _ = setup(statefulset(3))
    await controller.sync(KEY)
    await controller.sync(KEY)
    assert names(cluster) == ["web-0"]  # web-0 is not Running and Ready yet: web-1 waits
    await run(cluster, "web-0")
    await controller.sync(KEY)
    assert names(cluster) == ["web-0", "web-1"]
    await run(cluster, "web-1")
    await controller.sync(KEY)
    assert created(cluster) == ["web-0", "web-1", "web-2"]


async def test_an_unready_pod_stops_an_ordered_set() -> None:
    cluster, controller, _ = setup(statefulset(3))
    await converge(cluster, controller, rounds=1)
    await controller.sync(KEY)
    await run(cluster, "web-1", ready=False)
    await controller.sync(KEY)
    await controller.sync(KEY)
    assert names(cluster) == ["web-0", "web-1"]


async def test_parallel_creates_every_pod_at_once() -> None:
    cluster, controller, _ = setup(statefulset(3, policy="Parallel"))
    await controller.sync(KEY)
    assert sorted(created(cluster)) == ["web-0", "web-1", "web-2"]


async def test_pods_carry_their_identity() -> None:
    cluster, controller, sts = setup(statefulset(1, claims=True, start=5))
    await controller.sync(KEY)
    pod = cluster.client.all(Pod)[0]
    assert pod.metadata.name == "web-5"
    labels = pod.metadata.labels or {}
    assert labels[POD_NAME_LABEL] == "web-5" and labels[POD_INDEX_LABEL] == "5" and labels["app"] == "web"
    assert labels[REVISION_LABEL] == revision_of_template(sts)
    assert (pod.spec.hostname, pod.spec.subdomain) == ("web-5", "web")
    assert [(v.name, v.persistent_volume_claim) for v in pod.spec.volumes or []] == [
        ("data", {"claimName": "data-web-5"})
    ]
    (ref,) = pod.metadata.owner_references or []
    assert (ref.kind, ref.uid, ref.controller) == ("StatefulSet", "sts-web", True)


@pytest.mark.parametrize("policy", ["OrderedReady", "Parallel"])
async def test_scale_down_removes_the_highest_ordinal_first(policy: str) -> None:
    cluster, controller, sts = setup(statefulset(3, policy=policy))
    await converge(cluster, controller)
    sts = cluster.client.all(StatefulSet)[0]
    sts.spec.replicas = 1
    await cluster.client.replace(sts)
    cluster.client.clear_actions()
    await controller.sync(KEY)
    expected = ["web-2"] if policy == "OrderedReady" else ["web-2", "web-1"]
    assert deleted(cluster) == expected
    await converge(cluster, controller)
    assert names(cluster) == ["web-0"]


async def test_an_ordered_scale_down_waits_for_an_unhealthy_pod() -> None:
    cluster, controller, _ = setup(statefulset(3))
    await converge(cluster, controller)
    sts = cluster.client.all(StatefulSet)[0]
    sts.spec.replicas = 1
    await cluster.client.replace(sts)
    await run(cluster, "web-0", ready=False)
    cluster.client.clear_actions()
    await controller.sync(KEY)
    assert deleted(cluster) == []


async def test_each_pod_gets_its_claim_before_it_is_created() -> None:
    cluster, controller, _ = setup(statefulset(2, claims=True))
    await converge(cluster, controller)
    actions = [(a.verb, a.resource, a.name) for a in cluster.client.actions if a.verb == "create"]
    assert actions == [
        ("create", "persistentvolumeclaims", "data-web-0"),
        ("create", "pods", "web-0"),
        ("create", "persistentvolumeclaims", "data-web-1"),
        ("create", "pods", "web-1"),
    ]
    claim = next(c for c in stored_claims(cluster) if c.metadata.name == "data-web-0")
    assert claim.metadata.labels == {"app": "web"}
    assert claim.metadata.owner_references is None  # whenDeleted: Retain
    assert claim.to_dict()["spec"]["accessModes"] == ["ReadWriteOnce"]


async def test_a_deleted_pod_comes_back_with_its_name_and_claim() -> None:
    cluster, controller, _ = setup(statefulset(3, claims=True))
    await converge(cluster, controller)
    first_uid = next(p.metadata.uid for p in cluster.client.all(Pod) if p.metadata.name == "web-1")
    await cluster.client.delete(Pod, "web-1", NS)
    cluster.client.clear_actions()
    await controller.sync(KEY)
    assert created(cluster) == ["web-1"] and created(cluster, "persistentvolumeclaims") == []
    again = next(p for p in cluster.client.all(Pod) if p.metadata.name == "web-1")
    assert again.metadata.uid != first_uid
    assert [v.persistent_volume_claim for v in again.spec.volumes or []] == [{"claimName": "data-web-1"}]


@pytest.mark.parametrize(("phase", "recreated"), [("Pending", True), ("Running", False)])
async def test_a_deleted_claim_is_made_again_only_for_a_pending_pod(phase: str, recreated: bool) -> None:
    cluster, controller, _ = setup(statefulset(1, claims=True))
    await converge(cluster, controller)
    pod = cluster.client.all(Pod)[0]
    assert pod.status is not None
    pod.status.phase = phase
    await cluster.client.replace_status(pod)
    await cluster.client.delete(Claim, "data-web-0", NS)
    cluster.client.clear_actions()
    await controller.sync(KEY)
    assert created(cluster, "persistentvolumeclaims") == (["data-web-0"] if recreated else [])


async def test_a_terminating_pod_is_replaced_only_once_gone() -> None:
    cluster, controller, _ = setup(statefulset(1))
    await converge(cluster, controller)
    pod = cluster.client.all(Pod)[0]
    pod.spec.node_name = "n1"
    await cluster.client.replace(pod)
    await cluster.client.delete(Pod, "web-0", NS)  # graceful: the kubelet has to stop it
    cluster.client.clear_actions()
    await controller.sync(KEY)
    assert created(cluster) == []


async def test_a_stale_cache_creates_no_duplicate() -> None:
    cluster = fake_context(auto_deliver=False)
    controller = StatefulSetController(cluster.ctx, queue=FakeQueue())
    cluster.client.seed(statefulset(2, policy="Parallel"))
    await controller.sync(KEY)
    assert sorted(created(cluster)) == ["web-0", "web-1"]
    await controller.sync(KEY)  # the cache has not seen web-0/web-1: both creates meet AlreadyExists
    assert len(cluster.client.all(Pod)) == 2


async def test_a_failed_pod_is_deleted_and_recreated() -> None:
    cluster, controller, _ = setup(statefulset(1))
    await converge(cluster, controller)
    pod = cluster.client.all(Pod)[0]
    assert pod.status is not None
    pod.status.phase = "Failed"
    await cluster.client.replace_status(pod)
    cluster.client.clear_actions()
    await controller.sync(KEY)
    await controller.sync(KEY)
    assert deleted(cluster) == ["web-0"] and created(cluster) == ["web-0"]


@pytest.mark.parametrize(
    ("when_scaled", "left"),
    [("Retain", ["data-web-0", "data-web-1", "data-web-2"]), ("Delete", ["data-web-0"])],
)
async def test_when_scaled_decides_whether_scaled_down_claims_stay(when_scaled: str, left: list[str]) -> None:
    cluster, controller, _ = setup(
        statefulset(3, claims=True, retention={"whenDeleted": "Retain", "whenScaled": when_scaled})
    )
    await converge(cluster, controller)
    sts = cluster.client.all(StatefulSet)[0]
    sts.spec.replicas = 1
    await cluster.client.replace(sts)
    await converge(cluster, controller)
    assert names(cluster) == ["web-0"]
    assert sorted(c.metadata.name or "" for c in stored_claims(cluster)) == left


@pytest.mark.parametrize("when_deleted", ["Retain", "Delete"])
async def test_when_deleted_delete_makes_the_set_own_its_claims(when_deleted: str) -> None:
    cluster, controller, _ = setup(
        statefulset(1, claims=True, retention={"whenDeleted": when_deleted, "whenScaled": "Retain"})
    )
    await converge(cluster, controller)
    (claim,) = stored_claims(cluster)
    refs = [(r.kind, r.uid, r.controller) for r in claim.metadata.owner_references or []]
    assert refs == ([("StatefulSet", "sts-web", None)] if when_deleted == "Delete" else [])


async def test_a_changed_policy_adds_the_owner_to_existing_claims() -> None:
    cluster, controller, _ = setup(statefulset(1, claims=True))
    await converge(cluster, controller)
    sts = cluster.client.all(StatefulSet)[0]
    sts.spec.persistent_volume_claim_retention_policy.when_deleted = "Delete"  # type: ignore[union-attr]
    await cluster.client.replace(sts)
    await converge(cluster, controller, rounds=2)
    (claim,) = stored_claims(cluster)
    assert [r.uid for r in claim.metadata.owner_references or []] == ["sts-web"]


async def update_image(cluster: FakeCluster, image: str) -> StatefulSet:
    sts = cluster.client.all(StatefulSet)[0]
    sts.spec.template.spec.containers[0].image = image
    return await cluster.client.replace(sts)


def revisions(cluster: FakeCluster) -> dict[str, str]:
    return {p.metadata.name or "": (p.metadata.labels or {})[REVISION_LABEL] for p in cluster.client.all(Pod)}


async def test_a_rolling_update_replaces_from_the_highest_ordinal_down_to_the_partition() -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 1, "maxUnavailable": 1}}
    cluster, controller, _ = setup(statefulset(3, strategy=strategy))
    await converge(cluster, controller)
    old = revision_of_template(cluster.client.all(StatefulSet)[0])
    new = revision_of_template(await update_image(cluster, "busybox:2"))
    cluster.client.clear_actions()
    await controller.sync(KEY)
    await controller.sync(KEY)
    assert deleted(cluster) == ["web-2"]  # one at a time: web-1 waits for web-2 to be back
    await converge(cluster, controller)
    assert deleted(cluster) == ["web-2", "web-1"]
    assert revisions(cluster) == {"web-0": old, "web-1": new, "web-2": new}
    status = cluster.client.all(StatefulSet)[0].status
    assert status is not None
    assert (status.current_revision, status.update_revision) == (old, new)
    assert (status.current_replicas, status.updated_replicas, status.ready_replicas) == (1, 2, 3)


async def test_a_finished_rolling_update_makes_the_new_revision_current() -> None:
    cluster, controller, _ = setup(statefulset(2))
    await converge(cluster, controller)
    new = revision_of_template(await update_image(cluster, "busybox:2"))
    await converge(cluster, controller)
    status = cluster.client.all(StatefulSet)[0].status
    assert status is not None
    assert (status.current_revision, status.update_revision, status.current_replicas) == (new, new, 2)
    assert status.observed_generation == 2


async def test_on_delete_replaces_only_pods_the_user_deletes() -> None:
    cluster, controller, _ = setup(statefulset(2, strategy={"type": "OnDelete"}))
    await converge(cluster, controller)
    old = revision_of_template(cluster.client.all(StatefulSet)[0])
    new = revision_of_template(await update_image(cluster, "busybox:2"))
    cluster.client.clear_actions()
    await converge(cluster, controller, rounds=3)
    assert deleted(cluster) == []
    await cluster.client.delete(Pod, "web-0", NS)
    await converge(cluster, controller, rounds=2)
    assert revisions(cluster) == {"web-0": new, "web-1": old}


async def test_pods_of_another_set_with_a_similar_name_are_not_adopted() -> None:
    cluster, controller, _ = setup(statefulset(1))
    orphan = Pod.model_validate(
        {
            "metadata": {"name": "web-db-0", "namespace": NS, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "x"}]},
        }
    )
    cluster.client.seed(orphan)
    await controller.sync(KEY)
    stray = next(p for p in cluster.client.all(Pod) if p.metadata.name == "web-db-0")
    assert stray.metadata.owner_references is None


async def test_a_failed_create_is_an_event_and_an_error() -> None:
    cluster, controller, _ = setup(statefulset(1))
    cluster.client.fail("create", "pods", ApiError(403, "Forbidden", "quota"))
    with pytest.raises(ApiError):
        await controller.sync(KEY)
    assert "FailedCreate" in cluster.recorder.reasons()


def test_status_counts_ready_current_and_updated_pods() -> None:
    sts = statefulset(3)
    pods = [
        Pod.model_validate(
            {
                "metadata": {"name": f"web-{i}", "labels": {REVISION_LABEL: rev}},
                "spec": {"containers": []},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": ready}]},
            }
        )
        for i, (rev, ready) in enumerate([("a", "True"), ("b", "True"), ("b", "False")])
    ]
    status = calculate_status(sts, pods, current="a", update="b", now=0.0)
    assert (status.replicas, status.ready_replicas, status.available_replicas) == (3, 2, 2)
    assert (status.current_replicas, status.updated_replicas, status.current_revision) == (1, 2, "a")


async def test_min_ready_seconds_holds_availability_and_an_ordered_start() -> None:
    sts = statefulset(2)
    sts.spec.min_ready_seconds = 10
    cluster, controller, _ = setup(sts)
    await controller.sync(KEY)
    await run(cluster, "web-0", since=at(cluster.clock))
    await controller.sync(KEY)
    status = cluster.client.all(StatefulSet)[0].status
    assert status is not None and (status.ready_replicas, status.available_replicas) == (1, 0)
    assert names(cluster) == ["web-0"]  # web-1 waits for web-0 to be available
    assert (KEY, 10.0) in controller.queue.after  # type: ignore[attr-defined]
    cluster.clock.advance(11)
    await controller.sync(KEY)
    assert names(cluster) == ["web-0", "web-1"]


@pytest.mark.parametrize(
    ("max_unavailable", "first_round"),
    [(1, ["web-3"]), (2, ["web-3", "web-2"]), ("50%", ["web-3", "web-2"]), ("30%", ["web-3", "web-2"])],
)
async def test_max_unavailable_replaces_that_many_pods_at_once(
    max_unavailable: Any, first_round: list[str]
) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": max_unavailable}}
    cluster, controller, _ = setup(statefulset(4, strategy=strategy))
    await converge(cluster, controller)
    await update_image(cluster, "busybox:2")
    cluster.client.clear_actions()
    await controller.sync(KEY)
    assert deleted(cluster) == first_round  # 30% of 4 rounds up to 2
