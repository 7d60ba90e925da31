"""Deployment controller: sync(key) against the fake client, steps and whole rollouts simulated.

The simulation stands in for the ReplicaSet controller and kubelets: after every deployment sync
each ReplicaSet's status is brought to its spec, with new pods becoming available one step after
they were asked for. The invariants a rolling update promises are checked after every step.
"""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.apps import Deployment, ReplicaSet, ReplicaSetStatus
from controllers import deployment_util as du
from controllers.deployment import DeploymentController
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, deployment

KEY = f"{NS}/web"


def setup() -> tuple[FakeCluster, DeploymentController, FakeQueue]:
    cluster = fake_context(auto_deliver=True)
    queue = FakeQueue()
    return cluster, DeploymentController(cluster.ctx, queue=queue), queue


def replica_sets(cluster: FakeCluster) -> dict[str, ReplicaSet]:
    return {rs.metadata.name or "": rs for rs in cluster.client.all(ReplicaSet)}


def current(cluster: FakeCluster) -> Deployment:
    found = cluster.client.stored(Deployment, "web", NS)
    assert found is not None
    return found


async def settle(cluster: FakeCluster, *, available_lag: bool = True) -> None:
    """Every ReplicaSet's pods exist; those asked for in the previous step are available now."""
    for rs in cluster.client.all(ReplicaSet):
        want = rs.spec.replicas or 0
        before = rs.status or ReplicaSetStatus()
        available = min(want, before.replicas) if available_lag else want
        status = ReplicaSetStatus(replicas=want, ready_replicas=available or None, available_replicas=available or None,
                                  fully_labeled_replicas=want or None, observed_generation=rs.metadata.generation)
        if status != rs.status:
            rs.status = status
            await cluster.client.replace_status(rs)


async def roll_until_complete(cluster: FakeCluster, dc: DeploymentController, *, steps: int = 60,
                              check: Any = None) -> int:
    for step in range(steps):
        await dc.sync(KEY)
        await settle(cluster)
        if check is not None:
            check(cluster)
        d = current(cluster)
        status = d.status
        if status and (status.updated_replicas or 0) == du.desired(d) and (status.replicas or 0) == du.desired(d) \
                and (status.available_replicas or 0) == du.desired(d) and status.observed_generation == d.metadata.generation:
            return step
    raise AssertionError(f"rollout did not complete: {replica_sets(cluster)}")


async def test_first_sync_creates_the_new_replica_set() -> None:
    cluster, dc, _ = setup()
    d = cluster.client.seed(deployment(replicas=3))
    await dc.sync(KEY)
    (rs,) = replica_sets(cluster).values()
    pod_hash = rs.metadata.labels[du.HASH_LABEL]  # type: ignore[index]
    assert rs.metadata.name == f"web-{pod_hash}"
    assert rs.spec.replicas == 3
    assert rs.spec.selector.match_labels == {"app": "web", du.HASH_LABEL: pod_hash}  # type: ignore[union-attr]
    assert rs.spec.template.metadata.labels == {"app": "web", du.HASH_LABEL: pod_hash}  # type: ignore[union-attr]
    (ref,) = rs.metadata.owner_references or []
    assert (ref.kind, ref.uid, ref.controller, ref.block_owner_deletion) == ("Deployment", d.metadata.uid, True, True)
    assert rs.metadata.annotations == {du.REVISION: "1", du.DESIRED_REPLICAS: "3", du.MAX_REPLICAS: "4"}
    stored = current(cluster)
    assert (stored.metadata.annotations or {})[du.REVISION] == "1"
    reasons = [c.reason for c in (stored.status.conditions if stored.status else None) or []]
    assert "NewReplicaSetCreated" in reasons
    assert cluster.recorder.events[-1][2:4] == ("ScalingReplicaSet", f"Scaled up replica set web-{pod_hash} from 0 to 3")


async def test_reaches_complete_status_and_conditions() -> None:
    cluster, dc, _ = setup()
    cluster.client.seed(deployment(replicas=3))
    await roll_until_complete(cluster, dc)
    await dc.sync(KEY)
    status = current(cluster).status
    assert status is not None
    assert (status.replicas, status.updated_replicas, status.ready_replicas, status.available_replicas,
            status.unavailable_replicas) == (3, 3, 3, 3, None)
    conditions = {c.type: (c.status, c.reason) for c in status.conditions or []}
    assert conditions == {"Available": ("True", "MinimumReplicasAvailable"),
                          "Progressing": ("True", "NewReplicaSetAvailable")}


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable"),
    [
        pytest.param(5, "25%", "25%", id="defaults"),
        pytest.param(5, 1, 0, id="surge-only"),
        pytest.param(5, 0, 1, id="unavailable-only"),
        pytest.param(4, "50%", "50%", id="half-and-half"),
        pytest.param(10, "30%", "20%", id="ten-replicas"),
        pytest.param(1, 1, 0, id="single-surge"),
        pytest.param(1, 0, 1, id="single-unavailable"),
        pytest.param(6, "100%", 0, id="blue-green"),
    ],
)
async def test_rolling_update_keeps_its_promises(replicas: int, surge: Any, unavailable: Any) -> None:
    cluster, dc, _ = setup()
    cluster.client.seed(deployment(replicas=replicas, surge=surge, unavailable=unavailable))
    await roll_until_complete(cluster, dc)
    d = current(cluster)
    max_surge, max_unavailable = du.max_surge(d), du.max_unavailable(d)

    def invariants(c: FakeCluster) -> None:
        rss = list(replica_sets(c).values())
        assert du.total_spec(rss) <= replicas + max_surge
        assert du.total_status(rss, "available_replicas") >= replicas - max_unavailable

    d.spec.template.spec.containers[0].image = "busybox:2"
    await cluster.client.replace(d)
    await roll_until_complete(cluster, dc, check=invariants)
    rss = replica_sets(cluster)
    assert sorted(du.replicas(rs) for rs in rss.values()) == [0, replicas]
    new = next(rs for rs in rss.values() if du.replicas(rs) == replicas)
    assert new.spec.template.spec.containers[0].image == "busybox:2"  # type: ignore[union-attr]
    assert (current(cluster).metadata.annotations or {})[du.REVISION] == "2"
    assert (new.metadata.annotations or {})[du.REVISION] == "2"


@pytest.mark.parametrize(
    ("desired", "surge", "unavailable", "old_available", "new_spec", "new_available", "expected"),
    [
        pytest.param(10, 3, 2, 10, None, 0, {"new": 3, "old": 8}, id="create-new-at-surge-and-shrink-old"),
        pytest.param(10, 3, 2, 10, 3, 0, {"new": 3, "old": 8}, id="shrink-old-within-unavailable"),
        pytest.param(10, 3, 2, 8, 3, 3, {"new": 5, "old": 8}, id="grow-new-after-old-shrank"),
        pytest.param(10, 0, 2, 10, 0, 0, {"new": 0, "old": 8}, id="no-surge-shrinks-old-first"),
        pytest.param(10, 2, 0, 10, 2, 0, {"new": 2, "old": 10}, id="no-unavailable-waits-for-new"),
        pytest.param(10, 2, 0, 10, 2, 2, {"new": 2, "old": 8}, id="no-unavailable-then-shrinks"),
    ],
)
async def test_one_rolling_step(desired: int, surge: int, unavailable: int, old_available: int,
                                new_spec: int | None, new_available: int, expected: dict[str, int]) -> None:
    cluster, dc, _ = setup()
    d = cluster.client.seed(deployment(replicas=desired, surge=surge, unavailable=unavailable, image="busybox:2"))
    old_d = deployment(replicas=desired, image="busybox:1")
    cluster.client.seed(_rs_for(d, old_d, name="old", replicas=old_available, available=old_available, revision=1,
                                created="2026-01-01T00:00:00Z"))
    if new_spec is not None:
        cluster.client.seed(_rs_for(d, d, name="new", replicas=new_spec, available=new_available, revision=2,
                                    created="2026-01-02T00:00:00Z"))
    await dc.sync(KEY)
    sizes = {("new" if rs.metadata.name != "old" else "old"): du.replicas(rs) for rs in replica_sets(cluster).values()}
    assert sizes == expected


def _rs_for(owner: Deployment, source: Deployment, *, name: str, replicas: int, available: int, revision: int,
            created: str) -> ReplicaSet:
    pod_hash = du.template_hash(source.spec.template)
    template = source.spec.template.model_copy(deep=True)
    template.metadata.labels = {**(template.metadata.labels or {}), du.HASH_LABEL: pod_hash}  # type: ignore[union-attr]
    return ReplicaSet.model_validate({
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "creationTimestamp": created,
                     "labels": template.metadata.labels,  # type: ignore[union-attr]
                     "annotations": {du.REVISION: str(revision), du.DESIRED_REPLICAS: str(du.desired(owner))},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                          "uid": owner.metadata.uid, "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"replicas": replicas, "selector": {"matchLabels": template.metadata.labels},  # type: ignore[union-attr]
                 "template": template.to_dict()},
        "status": {"replicas": replicas, "readyReplicas": available, "availableReplicas": available,
                   "observedGeneration": 1},
    })


async def test_recreate_scales_old_down_then_waits_for_its_pods() -> None:
    cluster, dc, _ = setup()
    d = cluster.client.seed(deployment(replicas=3, strategy="Recreate", image="busybox:2"))
    cluster.client.seed(_rs_for(d, deployment(image="busybox:1"), name="old", replicas=3, available=3, revision=1,
                                created="2026-01-01T00:00:00Z"))
    await dc.sync(KEY)
    assert {n: du.replicas(rs) for n, rs in replica_sets(cluster).items()} == {"old": 0}
    await dc.sync(KEY)  # old status still reports 3 pods: no new ReplicaSet yet
    assert list(replica_sets(cluster)) == ["old"]
    await settle(cluster)
    await dc.sync(KEY)
    sizes = sorted((n == "old", du.replicas(rs)) for n, rs in replica_sets(cluster).items())
    assert sizes == [(False, 3), (True, 0)]


async def test_rollback_reuses_the_old_replica_set_with_a_new_revision() -> None:
    cluster, dc, _ = setup()
    cluster.client.seed(deployment(replicas=2, image="busybox:1"))
    await roll_until_complete(cluster, dc)
    (first,) = replica_sets(cluster)
    d = current(cluster)
    d.spec.template.spec.containers[0].image = "busybox:2"
    await cluster.client.replace(d)
    await roll_until_complete(cluster, dc)
    # kubectl rollout undo: the template of the old ReplicaSet, without its hash label
    old = replica_sets(cluster)[first]
    template = old.spec.template.model_copy(deep=True)  # type: ignore[union-attr]
    template.metadata.labels.pop(du.HASH_LABEL)  # type: ignore[union-attr]
    d = current(cluster)
    d.spec.template = template
    await cluster.client.replace(d)
    await roll_until_complete(cluster, dc)
    rss = replica_sets(cluster)
    assert len(rss) == 2
    assert du.replicas(rss[first]) == 2
    assert (rss[first].metadata.annotations or {})[du.REVISION] == "3"
    assert (rss[first].metadata.annotations or {})[du.REVISION_HISTORY] == "1"
    assert (current(cluster).metadata.annotations or {})[du.REVISION] == "3"


async def test_restarted_at_annotation_is_a_new_template() -> None:
    cluster, dc, _ = setup()
    cluster.client.seed(deployment(replicas=2))
    await roll_until_complete(cluster, dc)
    d = current(cluster)
    d.spec.template.metadata.annotations = {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}  # type: ignore[union-attr]
    await cluster.client.replace(d)
    await roll_until_complete(cluster, dc)
    assert sorted(du.replicas(rs) for rs in replica_sets(cluster).values()) == [0, 2]


async def test_paused_deployment_scales_but_does_not_roll_out() -> None:
    cluster, dc, _ = setup()
    cluster.client.seed(deployment(replicas=2))
    await roll_until_complete(cluster, dc)
    d = current(cluster)
    d.spec.paused = True
    d.spec.template.spec.containers[0].image = "busybox:2"
    d.spec.replicas = 4
    await cluster.client.replace(d)
    for _ in range(3):
        await dc.sync(KEY)
        await settle(cluster)
    (rs,) = replica_sets(cluster).values()
    assert du.replicas(rs) == 4
    conditions = {c.type: c.reason for c in current(cluster).status.conditions or []}  # type: ignore[union-attr]
    assert conditions["Progressing"] == "DeploymentPaused"


async def test_scaling_mid_rollout_is_proportional() -> None:
    cluster, dc, _ = setup()
    d = cluster.client.seed(deployment(replicas=10, surge=3, unavailable=2, image="busybox:2"))
    old_d = deployment(replicas=10, image="busybox:1")
    old = _rs_for(d, old_d, name="old", replicas=8, available=8, revision=1, created="2026-01-01T00:00:00Z")
    new = _rs_for(d, d, name="new", replicas=5, available=0, revision=2, created="2026-01-02T00:00:00Z")
    for rs in (old, new):
        rs.metadata.annotations = {**(rs.metadata.annotations or {}), du.MAX_REPLICAS: "13"}
        cluster.client.seed(rs)
    d.spec.replicas = 20
    d = await cluster.client.replace(d)
    await dc.sync(KEY)
    sizes = {n: du.replicas(rs) for n, rs in replica_sets(cluster).items()}
    # both grow by their share of (20 + 3 surge) / (10 + 3): 8 -> 14, 5 -> 9
    assert sizes == {"old": 14, "new": 9}


async def test_revision_history_limit_deletes_oldest_empty_replica_sets() -> None:
    cluster, dc, _ = setup()
    d = cluster.client.seed(deployment(replicas=1, revisionHistoryLimit=1))
    for revision in (1, 2, 3):
        src = deployment(image=f"busybox:{revision}0")
        cluster.client.seed(_rs_for(d, src, name=f"old{revision}", replicas=0, available=0, revision=revision,
                                    created=f"2026-01-0{revision}T00:00:00Z"))
    await roll_until_complete(cluster, dc)
    await dc.sync(KEY)
    deleted = sorted(a.name for a in cluster.client.calls("delete", "replicasets"))
    assert deleted == ["old1", "old2"]


async def test_progress_deadline_exceeded() -> None:
    cluster, dc, queue = setup()
    cluster.client.seed(deployment(replicas=2, progressDeadlineSeconds=30))
    await dc.sync(KEY)  # new RS, Progressing NewReplicaSetCreated; no pod ever becomes available
    await dc.sync(KEY)
    assert queue.after and queue.after[-1][0] == KEY and 0 < queue.after[-1][1] <= 31
    cluster.clock.advance(31)
    await dc.sync(KEY)
    cond = next(c for c in current(cluster).status.conditions or [] if c.type == "Progressing")  # type: ignore[union-attr]
    assert (cond.status, cond.reason) == ("False", "ProgressDeadlineExceeded")


async def test_orphan_replica_set_matching_the_selector_is_adopted() -> None:
    cluster, dc, _ = setup()
    d = cluster.client.seed(deployment(replicas=2))
    orphan = _rs_for(d, d, name="found", replicas=2, available=2, revision=1, created="2026-01-01T00:00:00Z")
    orphan.metadata.owner_references = None
    cluster.client.seed(orphan)
    await dc.sync(KEY)
    (patch,) = cluster.client.calls("patch", "replicasets")
    assert patch.body["metadata"]["ownerReferences"][0]["uid"] == d.metadata.uid
    assert list(replica_sets(cluster)) == ["found"]  # re-used, not duplicated


async def test_deleted_deployment_is_not_an_error() -> None:
    cluster, dc, _ = setup()
    await dc.sync(KEY)
    assert cluster.client.actions == []


async def test_a_write_lost_to_a_newer_version_ends_the_sync_and_its_event_brings_the_key_back() -> None:
    cluster = fake_context(auto_deliver=False)
    queue = FakeQueue()
    dc = DeploymentController(cluster.ctx, queue=queue)
    cluster.client.seed(deployment(replicas=2))
    await dc.sync(KEY)
    cluster.client.deliver()
    (rs,) = cluster.client.all(ReplicaSet)
    rs.status = ReplicaSetStatus(replicas=2, ready_replicas=2, available_replicas=2, observed_generation=1)
    await cluster.client.replace_status(rs)
    cluster.client.deliver()  # the cache knows the pods are up ...
    await cluster.client.patch(Deployment, "web", {"metadata": {"labels": {"team": "a"}}}, NS)  # ... not this
    queue.clear()
    await dc.sync(KEY)  # the status write is a stale compare-and-swap: 409, and no error
    assert cluster.client.calls("update-status", "deployments")[-1].body.status.available_replicas == 2
    assert (current(cluster).status.available_replicas or 0) == 0  # type: ignore[union-attr]
    cluster.client.deliver()
    assert KEY in queue.added
    await dc.sync(KEY)
    assert current(cluster).status.available_replicas == 2  # type: ignore[union-attr]


async def test_a_just_shrunk_replica_set_is_not_trusted_for_more_than_its_spec() -> None:
    """Old RS scaled 4 -> 3 but its status still shows 4 available: only one more may go, not two."""
    cluster, dc, _ = setup()
    d = cluster.client.seed(deployment(replicas=4, surge=1, unavailable=1, image="busybox:2"))
    old = _rs_for(d, deployment(image="busybox:1"), name="old", replicas=3, available=4, revision=1,
                  created="2026-01-01T00:00:00Z")
    cluster.client.seed(old)
    cluster.client.seed(_rs_for(d, d, name="new", replicas=2, available=1, revision=2, created="2026-01-02T00:00:00Z"))
    await dc.sync(KEY)
    assert du.replicas(replica_sets(cluster)["old"]) == 2
