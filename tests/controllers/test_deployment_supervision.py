"""The Deployment as a supervisor: escalations of the new revision's pods counted within the
period (fake clock), the rollout stopped, or rolled back to the last fully available revision, and
a rejected template held until the template changes. Driven as test_deployment drives rollouts."""

from __future__ import annotations

import pytest

from apimachinery.conditions import get_condition
from apimachinery.models.apps import ReplicaSet
from apimachinery.supervision import (
    AUTO_ROLLBACK,
    INTENSITY,
    LAST_AVAILABLE_REVISION,
    PERIOD,
    REJECTED_TEMPLATE,
    RESTART_INTENSITY_EXCEEDED,
    REVISION_REJECTED,
    ROLLED_BACK,
    Intensity,
)
from apimachinery.timeutil import FakeClock
from controllers import deployment_util as du
from controllers.deployment import DeploymentController
from controllers.deployment_supervision import CHANGE_CAUSE, escalation_times, within_period
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import at, deployment, escalated
from tests.controllers.test_deployment import KEY, current, replica_sets, roll_until_complete, settle

SUPERVISED = {INTENSITY: "2", PERIOD: "60"}
ROLLING_BACK = {**SUPERVISED, AUTO_ROLLBACK: "true"}


def auto_rollbacks(cluster: FakeCluster) -> float:
    return cluster.ctx.metrics.registry.get_sample_value("podvisor_deployment_auto_rollbacks_total") or 0.0


def setup() -> tuple[FakeCluster, DeploymentController, FakeQueue]:
    cluster = fake_context(auto_deliver=True)
    queue = FakeQueue()
    return cluster, DeploymentController(cluster.ctx, queue=queue), queue


def by_revision(cluster: FakeCluster) -> dict[int, ReplicaSet]:
    return {du.revision(rs): rs for rs in replica_sets(cluster).values()}


def progressing(cluster: FakeCluster) -> tuple[str, str, str]:
    cond = get_condition(current(cluster).status.conditions, "Progressing")  # type: ignore[union-attr]
    assert cond is not None
    return cond.status, cond.reason or "", cond.message or ""


async def set_image(cluster: FakeCluster, image: str) -> None:
    d = current(cluster)
    d.spec.template.spec.containers[0].image = image
    await cluster.client.replace(d)


async def bad_rollout(
    annotations: dict[str, str], *, first_completes: bool = True, deadline: int = 600
) -> tuple[FakeCluster, DeploymentController, FakeQueue, ReplicaSet]:
    """Revision 1 (busybox:1) fully available, then revision 2 (busybox:2) started; returns its RS."""
    cluster, dc, queue = setup()
    d = deployment(
        replicas=2, image="busybox:1" if first_completes else "busybox:2", progressDeadlineSeconds=deadline
    )
    d.metadata.annotations = dict(annotations)
    cluster.client.seed(d)
    if first_completes:
        await roll_until_complete(cluster, dc)
        await dc.sync(KEY)  # sees the completed rollout: records revision 1
        await set_image(cluster, "busybox:2")
    await dc.sync(KEY)
    await settle(cluster)
    new_rs = by_revision(cluster)[2 if first_completes else 1]
    return cluster, dc, queue, new_rs


def fail_pods(cluster: FakeCluster, rs: ReplicaSet, ages: list[float | None], *, node: str = "n1") -> None:
    """Escalated pods of ``rs`` that failed ``age`` seconds ago (None: the pod does not say when)."""
    for i, age in enumerate(ages):
        when = at(cluster.clock, -age) if age is not None else None
        cluster.client.seed(escalated(f"{rs.metadata.name}-bad{i}", owner=rs, node=node, failed_at=when))


async def test_a_completed_rollout_records_the_last_available_revision() -> None:
    cluster, dc, _ = setup()
    cluster.client.seed(deployment(replicas=2))
    await roll_until_complete(cluster, dc)
    await dc.sync(KEY)
    assert (current(cluster).metadata.annotations or {})[LAST_AVAILABLE_REVISION] == "1"
    (rs,) = replica_sets(cluster).values()
    assert LAST_AVAILABLE_REVISION not in (rs.metadata.annotations or {})  # the Deployment's own state


@pytest.mark.parametrize(
    ("ages", "stops"),
    [
        pytest.param([10, 20, 30], True, id="three-in-period-exceeds-two"),
        pytest.param([10, 20], False, id="two-in-period-is-within"),
        pytest.param([10, 20, 61], False, id="an-old-one-does-not-count"),
        pytest.param([10, 20, None], True, id="undated-counts-from-first-seen"),
    ],
)
async def test_escalations_counted_within_the_period_only(ages: list[float | None], stops: bool) -> None:
    cluster, dc, _, new_rs = await bad_rollout(SUPERVISED)
    await settle(cluster)  # the first new pod is available: the next step would move on
    fail_pods(cluster, new_rs, ages)
    cluster.client.clear_actions()
    await dc.sync(KEY)
    status, reason, message = progressing(cluster)
    if stops:
        assert (status, reason) == ("False", RESTART_INTENSITY_EXCEEDED)
        assert message == "3 pods of revision 2 exceeded their restart intensity in 60s (intensity 2)"
        assert cluster.client.calls("update", "replicasets") == []  # the rollout stopped
    else:
        assert reason != RESTART_INTENSITY_EXCEEDED
        assert cluster.client.calls("update", "replicasets") != []  # it went on


@pytest.mark.parametrize(
    ("condition_age", "finished_age", "counted"),
    [
        pytest.param(5, 500, True, id="condition-time-first"),
        pytest.param(500, 5, False, id="condition-time-decides"),
        pytest.param(None, 5, True, id="container-exit-as-fallback"),
        pytest.param(None, 500, False, id="old-container-exit"),
        pytest.param(None, None, True, id="first-seen-now"),
    ],
)
def test_escalation_time(condition_age: float | None, finished_age: float | None, counted: bool) -> None:
    clock = FakeClock()
    owner = deployment()
    pod = escalated(
        "p",
        owner=owner,
        failed_at=at(clock, -condition_age) if condition_age is not None else None,
        finished_at=at(clock, -finished_age) if finished_age is not None else None,
    )
    times = escalation_times([pod], first_seen={"pod-p": clock.time()})
    assert bool(within_period(times, now=clock.time(), intensity=Intensity(2, 60))) is counted


async def test_a_stopped_rollout_warns_once_and_goes_on_when_the_escalations_age_out() -> None:
    cluster, dc, queue, new_rs = await bad_rollout(SUPERVISED)
    fail_pods(cluster, new_rs, [10, 20, 30])
    await dc.sync(KEY)
    await dc.sync(KEY)
    assert cluster.recorder.messages(KEY, RESTART_INTENSITY_EXCEEDED, "Warning") == [
        "3 pods of revision 2 exceeded their restart intensity in 60s (intensity 2)"
    ]
    assert any(key == KEY and 0 < delay <= 32 for key, delay in queue.after)  # when the oldest leaves
    cluster.clock.advance(32)
    await roll_until_complete(cluster, dc)
    assert du.replicas(by_revision(cluster)[2]) == 2


async def test_without_auto_rollback_the_progress_deadline_still_reports() -> None:
    cluster, dc, _, new_rs = await bad_rollout({INTENSITY: "2", PERIOD: "3600"}, deadline=30)
    fail_pods(cluster, new_rs, [1, 2, 3])
    await dc.sync(KEY)
    assert progressing(cluster)[1] == RESTART_INTENSITY_EXCEEDED
    cluster.clock.advance(31)
    await dc.sync(KEY)
    assert progressing(cluster)[:2] == ("False", "ProgressDeadlineExceeded")
    await dc.sync(KEY)
    assert progressing(cluster)[:2] == ("False", "ProgressDeadlineExceeded")  # no flapping back
    assert current(cluster).spec.template.spec.containers[0].image == "busybox:2"  # no rollback


async def test_auto_rollback_goes_back_to_the_last_available_revision() -> None:
    cluster, dc, _, new_rs = await bad_rollout(ROLLING_BACK)
    old_rs = by_revision(cluster)[1]
    fail_pods(cluster, new_rs, [10, 20, 30])
    await dc.sync(KEY)
    d = current(cluster)
    assert du.equal_ignore_hash(d.spec.template, old_rs.spec.template)
    annotations = d.metadata.annotations or {}
    assert (
        annotations[CHANGE_CAUSE]
        == "auto-rollback from revision 2 to 1: RestartIntensityExceeded (3 pods in 60s)"
    )
    assert annotations[REJECTED_TEMPLATE] == (new_rs.metadata.labels or {})[du.HASH_LABEL]
    assert cluster.recorder.messages(KEY, ROLLED_BACK, "Normal") == [
        "Rolled back from revision 2 to 1: 3 pods of revision 2 exceeded their restart intensity in 60s "
        "(intensity 2)"
    ]
    assert cluster.recorder.messages(KEY, RESTART_INTENSITY_EXCEEDED, "Warning") != []
    assert auto_rollbacks(cluster) == 1
    await roll_until_complete(cluster, dc)
    await dc.sync(KEY)
    assert auto_rollbacks(cluster) == 1  # rolling the old revision out again is no second rollback
    rss = replica_sets(cluster)
    back = rss[old_rs.metadata.name or ""]
    assert (du.replicas(back), du.replicas(rss[new_rs.metadata.name or ""])) == (2, 0)
    assert (back.metadata.annotations or {})[du.REVISION] == "3"  # the old ReplicaSet is the newest again
    assert (back.metadata.annotations or {})[CHANGE_CAUSE].startswith("auto-rollback from revision 2 to 1")
    final = current(cluster).metadata.annotations or {}
    assert (final[du.REVISION], final[LAST_AVAILABLE_REVISION], final[REJECTED_TEMPLATE]) == (
        "3",
        "3",
        annotations[REJECTED_TEMPLATE],
    )


async def rolled_back() -> tuple[FakeCluster, DeploymentController, ReplicaSet]:
    cluster, dc, _, new_rs = await bad_rollout(ROLLING_BACK)
    fail_pods(cluster, new_rs, [10, 20, 30])
    await dc.sync(KEY)
    await roll_until_complete(cluster, dc)
    await dc.sync(KEY)
    return cluster, dc, new_rs


async def test_reapplying_the_rejected_template_is_held() -> None:
    cluster, dc, bad = await rolled_back()
    await set_image(cluster, "busybox:2")  # the same bad manifest again
    cluster.client.clear_actions()
    for _ in range(3):
        await dc.sync(KEY)
        await settle(cluster)
    status, reason, message = progressing(cluster)
    assert (status, reason) == ("False", REVISION_REJECTED)
    assert "change the template" in message and REJECTED_TEMPLATE in message
    assert cluster.client.calls("update", "replicasets") == []
    assert du.replicas(replica_sets(cluster)[bad.metadata.name or ""]) == 0
    assert cluster.recorder.messages(KEY, REVISION_REJECTED, "Warning") == [message]


async def test_a_changed_template_clears_the_rejection_and_rolls_out() -> None:
    cluster, dc, _ = await rolled_back()
    await set_image(cluster, "busybox:3")
    await roll_until_complete(cluster, dc)
    d = current(cluster)
    assert REJECTED_TEMPLATE not in (d.metadata.annotations or {})
    (fixed,) = [rs for rs in replica_sets(cluster).values() if du.replicas(rs) == 2]
    assert fixed.spec.template.spec.containers[0].image == "busybox:3"  # type: ignore[union-attr]


async def test_no_rollback_without_a_fully_available_revision() -> None:
    cluster, dc, _, new_rs = await bad_rollout(ROLLING_BACK, first_completes=False)
    fail_pods(cluster, new_rs, [10, 20, 30])
    await dc.sync(KEY)
    status, reason, message = progressing(cluster)
    assert (status, reason) == ("False", RESTART_INTENSITY_EXCEEDED)
    assert message == (
        "3 pods of revision 1 exceeded their restart intensity in 60s (intensity 2); "
        "no fully available revision to roll back to"
    )
    d = current(cluster)
    assert d.spec.template.spec.containers[0].image == "busybox:2"
    assert REJECTED_TEMPLATE not in (d.metadata.annotations or {})
    assert cluster.recorder.messages(KEY, ROLLED_BACK) == []
    assert auto_rollbacks(cluster) == 0


async def test_no_rollback_when_the_failing_revision_is_the_last_available_one() -> None:
    cluster, dc, _ = setup()
    d = deployment(replicas=2)
    d.metadata.annotations = dict(ROLLING_BACK)
    cluster.client.seed(d)
    await roll_until_complete(cluster, dc)
    await dc.sync(KEY)
    fail_pods(cluster, by_revision(cluster)[1], [10, 20, 30])
    await dc.sync(KEY)
    assert progressing(cluster)[1] == RESTART_INTENSITY_EXCEEDED
    assert cluster.recorder.messages(KEY, ROLLED_BACK) == []


async def test_without_the_annotations_escalations_change_nothing() -> None:
    cluster, dc, _, new_rs = await bad_rollout({})
    fail_pods(cluster, new_rs, [10, 20, 30, 40])
    await roll_until_complete(cluster, dc)
    assert current(cluster).spec.template.spec.containers[0].image == "busybox:2"


async def test_a_held_template_keeps_its_reason_past_the_deadline_and_is_not_polled() -> None:
    cluster, dc, _ = await rolled_back()
    queue = dc.queue
    assert isinstance(queue, FakeQueue)
    await set_image(cluster, "busybox:2")
    await dc.sync(KEY)
    queue.clear()
    cluster.clock.advance(601)
    await dc.sync(KEY)
    assert progressing(cluster)[1] == REVISION_REJECTED
    assert queue.after == []
