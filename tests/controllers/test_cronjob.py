"""CronJob controller as a specification: a fake clock, sync(key), the Jobs it starts and deletes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from apimachinery.models.batch import CronJob
from apimachinery.resources import JOBS
from apimachinery.timeutil import FakeClock
from controllers.base import add_standard_indexers
from controllers.cronjob import CronJobController
from controllers.cronjob_util import SCHEDULED_TIMESTAMP
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, ref_to

Job = JOBS.model
KEY = f"{NS}/tick"
T0 = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday, midnight


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def minutes(text: str) -> int:
    return int(epoch(text)) // 60


def cronjob(
    schedule: str = "*/5 * * * *",
    *,
    created: str = "2026-01-01T00:00:00Z",
    status: dict[str, Any] | None = None,
    **spec: Any,
) -> CronJob:
    body: dict[str, Any] = {
        "metadata": {"name": "tick", "namespace": NS, "uid": "cj-tick", "creationTimestamp": created},
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Allow",
            "suspend": False,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": {"app": "tick"}, "annotations": {"team": "a"}},
                "spec": {
                    "backoffLimit": 2,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "busybox:1"}],
                        }
                    },
                },
            },
            **spec,
        },
    }
    if status is not None:
        body["status"] = status
    return CronJob.model_validate(body)


def job(
    owner: CronJob,
    at: str,
    *,
    finished: str | None = None,
    started: str | None = None,
    completed: str | None = None,
) -> Any:
    status: dict[str, Any] = {}
    if started:
        status["startTime"] = started
    if finished:
        status["conditions"] = [{"type": finished, "status": "True"}]
        if finished == "Complete":
            status["completionTime"] = completed or started or at
    return Job.model_validate(
        {
            "metadata": {
                "name": f"tick-{minutes(at)}",
                "namespace": NS,
                "uid": f"job-{at}",
                "ownerReferences": [ref_to(owner)],
            },
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "b:1"}]}
                }
            },
            "status": status,
        }
    )


def active_ref(j: Any) -> dict[str, Any]:
    return {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "namespace": NS,
        "name": j.metadata.name,
        "uid": j.metadata.uid,
    }


def setup(now: str) -> tuple[FakeCluster, CronJobController, FakeQueue]:
    cluster = fake_context(clock=FakeClock(start=epoch(now)))
    cronjobs = cluster.client.informer(CronJob)
    add_standard_indexers(cronjobs)
    queue = FakeQueue()
    return cluster, CronJobController(cluster.ctx, cronjobs, queue=queue), queue


def stored(cluster: FakeCluster) -> CronJob:
    cj = cluster.client.stored(CronJob, "tick", NS)
    assert cj is not None
    return cj


def job_names(cluster: FakeCluster) -> list[str]:
    return sorted(j.metadata.name or "" for j in cluster.client.all(Job))


async def test_nothing_is_due_before_the_first_time_and_it_comes_back_then() -> None:
    cluster, controller, queue = setup("2026-01-01T00:02:00")
    cluster.client.seed(cronjob())
    await controller.sync(KEY)
    assert job_names(cluster) == []
    assert queue.after == [(KEY, pytest.approx(180.1))]


async def test_a_due_time_starts_its_job_named_by_the_minute() -> None:
    cluster, controller, queue = setup("2026-01-01T00:05:02")
    owner = cluster.client.seed(cronjob())
    await controller.sync(KEY)
    (made,) = cluster.client.all(Job)
    assert made.metadata.name == f"tick-{minutes('2026-01-01T00:05:00')}"
    assert made.metadata.labels == {"app": "tick"}
    assert made.metadata.annotations == {"team": "a", SCHEDULED_TIMESTAMP: "2026-01-01T00:05:00Z"}
    (ref,) = made.metadata.owner_references or []
    assert (ref.kind, ref.name, ref.uid, ref.controller) == ("CronJob", "tick", owner.metadata.uid, True)
    assert made.to_dict()["spec"]["backoffLimit"] == 2
    status = stored(cluster).status
    assert status is not None and status.last_schedule_time == "2026-01-01T00:05:00Z"
    assert [r.name for r in status.active or []] == [made.metadata.name]
    assert cluster.recorder.reasons() == ["SuccessfulCreate"]
    assert queue.after == [(KEY, pytest.approx(298.1))]


async def test_a_restart_that_lost_the_status_write_starts_no_second_job() -> None:
    cluster, controller, _ = setup("2026-01-01T00:05:30")
    owner = cluster.client.seed(cronjob())
    cluster.client.seed(job(owner, "2026-01-01T00:05:00"))  # created, then the controller died
    await controller.sync(KEY)
    assert job_names(cluster) == [f"tick-{minutes('2026-01-01T00:05:00')}"]
    status = stored(cluster).status
    assert status is not None and [r.uid for r in status.active or []] == ["job-2026-01-01T00:05:00"]
    assert status.last_schedule_time == "2026-01-01T00:05:00Z"
    assert "SuccessfulCreate" not in cluster.recorder.reasons()
    cluster.client.deliver()
    cluster.client.clear_actions()
    await controller.sync(KEY)  # and again, with the status seen: nothing to do
    assert cluster.client.calls("create") == []
    assert len(job_names(cluster)) == 1


@pytest.mark.parametrize(
    ("policy", "jobs_after", "reason"),
    [
        pytest.param("Allow", ["00:05", "00:10"], "SuccessfulCreate", id="allow-runs-both"),
        pytest.param("Forbid", ["00:05"], "JobAlreadyActive", id="forbid-skips"),
        pytest.param("Replace", ["00:10"], "SuccessfulDelete", id="replace-replaces"),
    ],
)
async def test_concurrency_policy(policy: str, jobs_after: list[str], reason: str) -> None:
    cluster, controller, _ = setup("2026-01-01T00:10:01")
    running = job(cronjob(), "2026-01-01T00:05:00", started="2026-01-01T00:05:01Z")
    owner = cluster.client.seed(
        cronjob(
            concurrencyPolicy=policy,
            status={"active": [active_ref(running)], "lastScheduleTime": "2026-01-01T00:05:00Z"},
        )
    )
    cluster.client.seed(running)
    await controller.sync(KEY)
    assert job_names(cluster) == sorted(f"tick-{minutes(f'2026-01-01T{t}:00')}" for t in jobs_after)
    assert reason in cluster.recorder.reasons()
    status = stored(cluster).status
    assert status is not None
    assert sorted(r.name or "" for r in status.active or []) == job_names(cluster)
    del owner


async def test_a_finished_job_leaves_active_and_sets_last_successful_time() -> None:
    cluster, controller, _ = setup("2026-01-01T00:07:00")
    done = job(
        cronjob(),
        "2026-01-01T00:05:00",
        finished="Complete",
        started="2026-01-01T00:05:01Z",
        completed="2026-01-01T00:06:00Z",
    )
    cluster.client.seed(
        cronjob(status={"active": [active_ref(done)], "lastScheduleTime": "2026-01-01T00:05:00Z"})
    )
    cluster.client.seed(done)
    await controller.sync(KEY)
    status = stored(cluster).status
    assert status is not None and status.active is None
    assert status.last_successful_time == "2026-01-01T00:06:00Z"
    assert cluster.recorder.messages(reason="SawCompletedJob") == [
        f"Saw completed job: {done.metadata.name}, condition: Complete"
    ]


async def test_an_active_job_that_is_gone_leaves_active() -> None:
    cluster, controller, _ = setup("2026-01-01T00:07:00")
    gone = job(cronjob(), "2026-01-01T00:05:00")
    cluster.client.seed(
        cronjob(status={"active": [active_ref(gone)], "lastScheduleTime": "2026-01-01T00:05:00Z"})
    )
    await controller.sync(KEY)
    status = stored(cluster).status
    assert status is not None and status.active is None
    assert cluster.recorder.reasons() == ["MissingJob"]


async def test_history_keeps_the_newest_finished_jobs() -> None:
    cluster, controller, _ = setup("2026-01-01T00:32:00")
    owner = cluster.client.seed(cronjob(status={"lastScheduleTime": "2026-01-01T00:30:00Z"}))
    times = ["00:05", "00:10", "00:15", "00:20", "00:25"]
    for t in times:
        cluster.client.seed(
            job(owner, f"2026-01-01T{t}:00", finished="Complete", started=f"2026-01-01T{t}:01Z")
        )
    for t in ("00:26", "00:28"):
        cluster.client.seed(
            job(owner, f"2026-01-01T{t}:00", finished="Failed", started=f"2026-01-01T{t}:01Z")
        )
    await controller.sync(KEY)
    kept = sorted(f"tick-{minutes(f'2026-01-01T{t}:00')}" for t in ("00:15", "00:20", "00:25", "00:28"))
    assert job_names(cluster) == kept
    deletes = cluster.client.calls("delete", "jobs")
    assert [a.name for a in deletes] == [
        f"tick-{minutes(f'2026-01-01T{t}:00')}" for t in ("00:05", "00:10", "00:26")
    ]


@pytest.mark.parametrize(
    ("deadline", "events", "started"),
    [
        pytest.param(None, ["TooManyMissedTimes", "SuccessfulCreate"], "02:59", id="no-deadline-too-many"),
        pytest.param(120, ["SuccessfulCreate"], "02:59", id="deadline-bounds-the-count"),
    ],
)
async def test_missed_schedules_start_only_the_most_recent(
    deadline: int | None, events: list[str], started: str
) -> None:
    cluster, controller, _ = setup("2026-01-01T02:59:30")  # 179 minutes since the last one
    extra = {"startingDeadlineSeconds": deadline} if deadline is not None else {}
    cluster.client.seed(cronjob("* * * * *", status={"lastScheduleTime": "2026-01-01T00:00:00Z"}, **extra))
    await controller.sync(KEY)
    assert job_names(cluster) == [f"tick-{minutes(f'2026-01-01T{started}:00')}"]
    assert cluster.recorder.reasons() == events
    if deadline is None:
        (message,) = cluster.recorder.messages(reason="TooManyMissedTimes")
        assert message.startswith("too many missed start times: 179.")


async def test_a_deadline_past_skips_the_missed_time() -> None:
    cluster, controller, queue = setup("2026-01-01T01:00:30")  # 30 s after 01:00
    cluster.client.seed(cronjob("0 * * * *", startingDeadlineSeconds=10))
    await controller.sync(KEY)
    assert job_names(cluster) == []
    assert queue.after == [(KEY, pytest.approx(3570.1))]


async def test_a_few_missed_times_raise_no_warning() -> None:
    cluster, controller, _ = setup("2026-01-01T00:20:30")
    cluster.client.seed(cronjob(status={"lastScheduleTime": "2026-01-01T00:00:00Z"}))
    await controller.sync(KEY)
    assert job_names(cluster) == [f"tick-{minutes('2026-01-01T00:20:00')}"]
    assert cluster.recorder.reasons() == ["SuccessfulCreate"]


async def test_time_zone() -> None:
    cluster, controller, _ = setup("2026-07-01T01:00:30")  # 03:00:30 in Paris (summer, UTC+2)
    cluster.client.seed(cronjob("0 3 * * *", timeZone="Europe/Paris", created="2026-06-30T12:00:00Z"))
    await controller.sync(KEY)
    (made,) = cluster.client.all(Job)
    assert (made.metadata.annotations or {})[SCHEDULED_TIMESTAMP] == "2026-07-01T03:00:00+02:00"
    status = stored(cluster).status
    assert status is not None and status.last_schedule_time == "2026-07-01T01:00:00Z"


async def test_suspended_starts_nothing_and_sets_no_timer() -> None:
    cluster, controller, queue = setup("2026-01-01T00:05:02")
    cluster.client.seed(cronjob(suspend=True))
    await controller.sync(KEY)
    assert job_names(cluster) == []
    assert queue.after == []


async def test_the_clock_drives_a_run_of_schedules() -> None:
    cluster, controller, queue = setup("2026-01-01T00:00:00")
    cluster.client.seed(cronjob())
    for _ in range(3):
        await controller.sync(KEY)
        cluster.clock.advance(queue.after[-1][1])
    await controller.sync(KEY)
    assert job_names(cluster) == sorted(f"tick-{minutes(f'2026-01-01T00:{m:02}:00')}" for m in (5, 10, 15))


async def test_a_schedule_whose_day_never_comes_starts_nothing_and_says_so() -> None:
    cluster, controller, queue = setup("2026-03-01T00:00:00")
    cluster.client.seed(cronjob("0 0 30 2 *"))  # 30 February: valid fields, never due
    await controller.sync(KEY)
    assert job_names(cluster) == []
    assert queue.after == []
    assert cluster.recorder.reasons() == ["UnparseableSchedule"]
