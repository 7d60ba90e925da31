"""ReplicaSet controller as a specification: sync(key) against the fake client, actions asserted."""

from __future__ import annotations

import pytest

from apimachinery.errors import ApiError
from apimachinery.models.core import Pod
from apimachinery.supervision import FAILED_ON, INTENSITY, PERIOD, RESTART_INTENSITY_EXCEEDED
from controllers import podutil
from controllers.replicaset import (
    KEPT_ESCALATED_PODS,
    ReplicaSetController,
    calculate_status,
    slow_start_batch,
)
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, at, deployment, escalated, pod, replicaset

KEY = f"{NS}/web"


def setup(*, auto_deliver: bool = False) -> tuple[FakeCluster, ReplicaSetController, FakeQueue]:
    cluster = fake_context(auto_deliver=auto_deliver)
    queue = FakeQueue()
    return cluster, ReplicaSetController(cluster.ctx, queue=queue), queue


@pytest.mark.parametrize(
    ("have", "want", "creates", "deletes"),
    [
        pytest.param(0, 3, 3, 0, id="create-all"),
        pytest.param(1, 3, 2, 0, id="create-missing"),
        pytest.param(3, 3, 0, 0, id="steady"),
        pytest.param(5, 2, 0, 3, id="delete-extra"),
        pytest.param(2, 0, 0, 2, id="scale-to-zero"),
    ],
)
async def test_replica_math(have: int, want: int, creates: int, deletes: int) -> None:
    cluster, rsc, _ = setup()
    rs = cluster.client.seed(replicaset(replicas=want))
    for i in range(have):
        cluster.client.seed(pod(f"web-{i}", owner=rs, node="n1", ready=True))
    await rsc.sync(KEY)
    assert len(cluster.client.calls("create", "pods")) == creates
    assert len(cluster.client.calls("delete", "pods")) == deletes


async def test_created_pods_carry_template_owner_and_generated_name() -> None:
    cluster, rsc, _ = setup()
    rs = cluster.client.seed(replicaset(replicas=1))
    await rsc.sync(KEY)
    (created,) = cluster.client.all(Pod)
    assert created.metadata.generate_name == "web-"
    assert created.metadata.name and created.metadata.name.startswith("web-") and len(created.metadata.name) == 9
    assert created.metadata.labels == {"app": "web"}
    (ref,) = created.metadata.owner_references or []
    assert (ref.kind, ref.name, ref.uid, ref.controller, ref.block_owner_deletion) == (
        "ReplicaSet", "web", rs.metadata.uid, True, True)
    assert cluster.recorder.reasons() == ["SuccessfulCreate"]


async def test_expectations_stop_double_creation_until_the_informer_catches_up() -> None:
    cluster, rsc, _ = setup()
    cluster.client.seed(replicaset(replicas=3))
    await rsc.sync(KEY)
    await rsc.sync(KEY)  # the informer has not delivered the three pods yet
    assert len(cluster.client.calls("create", "pods")) == 3
    cluster.client.deliver()
    assert rsc.expectations.satisfied(KEY)
    await rsc.sync(KEY)
    assert len(cluster.client.calls("create", "pods")) == 3


async def test_expectations_expire() -> None:
    cluster, rsc, _ = setup()
    cluster.client.seed(replicaset(replicas=2))
    await rsc.sync(KEY)
    cluster.clock.advance(301)
    await rsc.sync(KEY)
    assert len(cluster.client.calls("create", "pods")) == 4


async def test_slow_start_stops_after_the_first_failing_batch() -> None:
    cluster, rsc, _ = setup()
    cluster.client.seed(replicaset(replicas=10))
    cluster.client.fail("create", "pods", ApiError(403, "Forbidden", "quota exceeded"), times=100)
    with pytest.raises(ApiError):
        await rsc.sync(KEY)
    assert len(cluster.client.calls("create", "pods")) == 1  # batch of 1 failed: no batch of 2
    assert rsc.expectations.satisfied(KEY)  # the skipped creations are not awaited
    status = cluster.client.all(type(replicaset()))[0].status
    assert status is not None and status.conditions and status.conditions[0].reason == "FailedCreate"


@pytest.mark.parametrize(
    ("count", "fail_at", "calls_made", "succeeded"),
    [
        pytest.param(10, None, 10, 10, id="all-succeed"),
        pytest.param(10, 1, 1, 0, id="first-call-fails-nothing-more"),
        pytest.param(10, 2, 3, 2, id="failure-in-batch-of-two-stops-before-four"),
        pytest.param(10, 5, 7, 6, id="failure-in-batch-of-four-stops-before-rest"),
        pytest.param(0, None, 0, 0, id="nothing-to-do"),
    ],
)
async def test_slow_start_batches(count: int, fail_at: int | None, calls_made: int, succeeded: int) -> None:
    calls = 0

    async def one() -> None:
        nonlocal calls
        calls += 1
        if calls == fail_at:
            raise ApiError(500, "InternalError", "boom")

    done, error = await slow_start_batch(count, initial=1, fn=one)
    assert (calls, done) == (calls_made, succeeded)
    assert (error is None) == (fail_at is None)


async def test_adopts_matching_orphans_and_releases_mismatched_pods() -> None:
    cluster, rsc, _ = setup()
    rs = cluster.client.seed(replicaset(replicas=2))
    cluster.client.seed(pod("orphan", node="n1"))
    cluster.client.seed(pod("drifted", owner=rs, labels={"app": "other"}, node="n1"))
    cluster.client.seed(pod("owned", owner=rs, node="n1"))
    await rsc.sync(KEY)
    patches = {a.name: a.body for a in cluster.client.calls("patch", "pods")}
    assert patches["orphan"]["metadata"]["ownerReferences"][0]["uid"] == rs.metadata.uid
    assert patches["drifted"] == {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": rs.metadata.uid}]}}
    assert cluster.client.calls("create", "pods") == []  # orphan + owned = 2
    drifted = cluster.client.stored(Pod, "drifted", NS)
    assert drifted is not None and not drifted.metadata.owner_references


async def test_pods_of_other_controllers_are_left_alone() -> None:
    cluster, rsc, _ = setup()
    cluster.client.seed(replicaset(replicas=1))
    other = cluster.client.seed(replicaset(name="other", replicas=1, uid="rs-other"))
    cluster.client.seed(pod("theirs", owner=other, node="n1"))
    await rsc.sync(KEY)
    assert cluster.client.calls("patch", "pods") == []
    assert len(cluster.client.calls("create", "pods")) == 1


async def test_finished_pods_are_deleted_and_replaced() -> None:
    cluster, rsc, _ = setup()
    rs = cluster.client.seed(replicaset(replicas=2))
    cluster.client.seed(pod("ok", owner=rs, node="n1", ready=True))
    cluster.client.seed(pod("failed", owner=rs, node="n1", phase="Failed"))
    cluster.client.seed(pod("done", owner=rs, node="n1", phase="Succeeded"))
    await rsc.sync(KEY)
    assert sorted(a.name for a in cluster.client.calls("delete", "pods")) == ["done", "failed"]
    assert len(cluster.client.calls("create", "pods")) == 1


async def test_terminating_pods_do_not_count() -> None:
    cluster, rsc, _ = setup()
    rs = cluster.client.seed(replicaset(replicas=2))
    cluster.client.seed(pod("going", owner=rs, node="n1", deleting=True))
    cluster.client.seed(pod("staying", owner=rs, node="n1"))
    await rsc.sync(KEY)
    assert len(cluster.client.calls("create", "pods")) == 1
    assert cluster.client.calls("delete", "pods") == []


async def test_being_deleted_replicaset_creates_nothing() -> None:
    cluster, rsc, _ = setup()
    rs = replicaset(replicas=3)
    rs.metadata.deletion_timestamp = "2026-01-01T00:00:00Z"
    cluster.client.seed(rs)
    await rsc.sync(KEY)
    assert cluster.client.calls("create") == []


async def test_missing_replicaset_is_not_an_error() -> None:
    cluster, rsc, _ = setup()
    await rsc.sync(KEY)
    assert cluster.client.actions == []


# --- who is deleted first ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pods", "first"),
    [
        pytest.param([pod("sched", node="n1"), pod("unsched")], "unsched", id="unscheduled-first"),
        pytest.param([pod("run", node="n1"), pod("pend", node="n1", phase="Pending")], "pend", id="pending-first"),
        pytest.param([pod("ready", node="n1", ready=True), pod("notready", node="n1", ready=False)], "notready",
                     id="not-ready-first"),
        pytest.param([pod("calm", node="n1", ready=True, ready_since="2026-01-01T00:00:00Z"),
                      pod("flappy", node="n1", ready=True, ready_since="2026-01-01T00:00:00Z", restarts=5)],
                     "flappy", id="more-restarts-first"),
        pytest.param([pod("old", node="n1", created="2026-01-01T00:00:00Z"),
                      pod("new", node="n1", created="2026-01-02T00:00:00Z")], "new", id="newer-first"),
        pytest.param([pod("long", node="n1", ready=True, ready_since="2026-01-01T00:00:00Z"),
                      pod("recent", node="n1", ready=True, ready_since="2026-01-01T01:00:00Z")], "recent",
                     id="recently-ready-first"),
        pytest.param([pod("alone", node="n1"), pod("crowded", node="n2"), pod("crowded-too", node="n2",
                                                                               created="2026-01-01T00:00:00Z")],
                     "crowded", id="doubled-up-first"),
    ],
)
def test_deletion_ranking(pods: list[Pod], first: str) -> None:
    (victim,) = podutil.pods_to_delete(pods, pods, 1)
    assert victim.metadata.name == first


async def test_scale_down_deletes_the_lowest_ranked_and_expects_them() -> None:
    cluster, rsc, _ = setup()
    rs = cluster.client.seed(replicaset(replicas=1))
    cluster.client.seed(pod("a", owner=rs, node="n1", ready=True))
    cluster.client.seed(pod("b", owner=rs, node="n1", ready=False))
    await rsc.sync(KEY)
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["b"]
    assert rsc.expectations.pending(KEY) == (0, frozenset({f"{NS}/b"}))
    cluster.client.deliver()  # the pod gets a deletionTimestamp: observed
    assert rsc.expectations.satisfied(KEY)


# --- status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("min_ready", "ready_for", "ready", "available"),
    [
        pytest.param(0, 0, 2, 2, id="no-min-ready"),
        pytest.param(10, 5, 2, 0, id="not-yet-available"),
        pytest.param(10, 11, 2, 2, id="available-after-min-ready"),
    ],
)
def test_status_counts(min_ready: int, ready_for: float, ready: int, available: int) -> None:
    cluster = fake_context()
    rs = replicaset(replicas=3, min_ready=min_ready)
    rs.metadata.generation = 4
    since = at(cluster.clock, -ready_for)
    pods = [pod("a", ready=True, ready_since=since), pod("b", ready=True, ready_since=since),
            pod("c", ready=False, labels={"app": "web", "extra": "x"}), pod("d", labels={"other": "x"})]
    status = calculate_status(rs, pods, now=cluster.clock.time())
    assert (status.replicas, status.ready_replicas or 0, status.available_replicas or 0) == (4, ready, available)
    assert status.fully_labeled_replicas == 3
    assert status.observed_generation == 4


async def test_status_written_only_when_it_changes() -> None:
    cluster, rsc, _ = setup()
    rs = cluster.client.seed(replicaset(replicas=1))
    cluster.client.seed(pod("a", owner=rs, node="n1", ready=True))
    await rsc.sync(KEY)
    assert len(cluster.client.calls("update-status")) == 1
    cluster.client.deliver()
    await rsc.sync(KEY)
    assert len(cluster.client.calls("update-status")) == 1


async def test_min_ready_seconds_requeues_until_available() -> None:
    cluster, rsc, queue = setup()
    rs = cluster.client.seed(replicaset(replicas=1, min_ready=30))
    cluster.client.seed(pod("a", owner=rs, node="n1", ready=True, ready_since=at(cluster.clock)))
    await rsc.sync(KEY)
    assert (KEY, 30.0) in queue.after


# --- handlers only enqueue --------------------------------------------------------------------


def test_pod_events_enqueue_the_owner_key() -> None:
    cluster, _, queue = setup()
    rs = cluster.client.seed(replicaset(replicas=1))
    queue.clear()
    cluster.pods.add(pod("a", owner=rs))
    cluster.pods.add(pod("orphan"))
    assert queue.added == [KEY, KEY]


def test_pod_of_replaced_owner_with_same_name_is_not_attributed() -> None:
    cluster, _, queue = setup()
    cluster.client.seed(replicaset(replicas=1))
    stale = replicaset(replicas=1, uid="old-uid")
    queue.clear()
    cluster.pods.add(pod("a", owner=stale, labels={"app": "nothing-matches"}))
    assert queue.added == []


# --- escalation: a pod that exceeded its restart intensity -----------------------------------


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        pytest.param([("n1", "00:05")], "n1", id="one-node"),
        pytest.param([("n1", "00:05"), ("n2", "00:06")], "n1,n2", id="most-recent-last"),
        pytest.param([("n1", "00:05"), ("n2", "00:06"), ("n1", "00:07")], "n2,n1", id="repeat-moves-last"),
        pytest.param([("n2", "00:06"), ("n1", "00:05")], "n1,n2", id="ordered-by-failure-time"),
    ],
)
async def test_escalated_pods_are_kept_and_their_replacement_names_the_nodes(
        failures: list[tuple[str, str]], expected: str) -> None:
    cluster, rsc, _ = setup()
    rs = cluster.client.seed(replicaset(replicas=1))
    for i, (node, minute) in enumerate(failures):
        cluster.client.seed(escalated(f"bad-{i}", owner=rs, node=node, failed_at=f"2026-01-01T{minute}:00Z"))
    await rsc.sync(KEY)
    assert cluster.client.calls("delete", "pods") == []  # left in place, for the Deployment to count
    (create,) = cluster.client.calls("create", "pods")
    made = create.body
    assert (made.metadata.annotations or {})[FAILED_ON] == expected
    assert made.metadata.labels == {"app": "web"}  # the rest of the template as before


async def test_a_pod_without_earlier_escalations_has_no_failed_on() -> None:
    cluster, rsc, _ = setup()
    rs = cluster.client.seed(replicaset(replicas=2))
    cluster.client.seed(pod("failed", owner=rs, node="n1", phase="Failed"))  # an ordinary failure
    await rsc.sync(KEY)
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["failed"]
    assert all(a.body.metadata.annotations is None for a in cluster.client.calls("create", "pods"))


async def test_the_escalation_event_is_written_once_per_pod() -> None:
    cluster, rsc, _ = setup()
    rs = cluster.client.seed(replicaset(replicas=1))
    cluster.client.seed(escalated("bad", owner=rs, node="n1"))
    await rsc.sync(KEY)
    await rsc.sync(KEY)  # the informer has not seen the replacement yet
    cluster.client.deliver()
    await rsc.sync(KEY)
    (replacement,) = [p for p in cluster.client.all(Pod) if p.metadata.name != "bad"]
    cluster.client.remove(Pod, replacement.metadata.name or "", NS)  # a second replacement is due
    await rsc.sync(KEY)
    assert len(cluster.client.calls("create", "pods")) == 2
    assert cluster.recorder.messages(KEY, RESTART_INTENSITY_EXCEEDED, "Warning") == [
        "Pod bad exceeded its restart intensity on node n1; creating a replacement"]


@pytest.mark.parametrize(
    ("count", "intensity", "deleted"),
    [
        pytest.param(KEPT_ESCALATED_PODS, None, 0, id="all-kept"),
        pytest.param(KEPT_ESCALATED_PODS + 2, None, 2, id="oldest-beyond-the-bound-deleted"),
        pytest.param(KEPT_ESCALATED_PODS + 2, "30", 0, id="deployment-intensity-needs-more"),
    ],
)
async def test_only_the_newest_escalated_pods_are_kept(count: int, intensity: str | None, deleted: int) -> None:
    cluster, rsc, _ = setup()
    d = deployment(replicas=1)
    if intensity is not None:
        d.metadata.annotations = {INTENSITY: intensity, PERIOD: "600"}
    d = cluster.client.seed(d)
    rs = cluster.client.seed(replicaset(replicas=1, owner=d))
    cluster.client.seed(pod("ok", owner=rs, node="n1", ready=True))
    for i in range(count):
        cluster.client.seed(escalated(f"bad-{i:02d}", owner=rs, failed_at=at(cluster.clock, i - count)))
    await rsc.sync(KEY)
    names = sorted(a.name for a in cluster.client.calls("delete", "pods"))
    assert names == [f"bad-{i:02d}" for i in range(deleted)]
