"""The CronJob controller's pure part: which time is due, and what the Job it makes looks like."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from apimachinery.cron import load_zone, parse
from apimachinery.models.batch import CronJob
from controllers.cronjob_util import (
    history_to_delete,
    job_name,
    most_recent_schedule,
    next_wake,
    rfc3339_in_zone,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def cronjob(*, created: str = "2026-01-01T00:00:00Z", last: str | None = None, deadline: int | None = None) -> CronJob:
    spec: dict[str, Any] = {"schedule": "unused"}
    if deadline is not None:
        spec["startingDeadlineSeconds"] = deadline
    return CronJob.model_validate({"metadata": {"name": "tick", "creationTimestamp": created}, "spec": spec,
                                   "status": {"lastScheduleTime": last} if last else {}})


@pytest.mark.parametrize(
    ("schedule", "last", "deadline", "now", "most_recent", "missed"),
    [
        pytest.param("*/5 * * * *", None, None, "2026-01-01T00:04:59", None, 0, id="not-yet"),
        pytest.param("*/5 * * * *", None, None, "2026-01-01T00:05:00", "2026-01-01T00:05:00", 1, id="exactly-due"),
        pytest.param("*/5 * * * *", "2026-01-01T00:05:00Z", None, "2026-01-01T00:09:00", None, 0, id="already-run"),
        pytest.param("*/5 * * * *", None, None, "2026-01-01T00:31:00", "2026-01-01T00:30:00", 6, id="several"),
        pytest.param("*/5 * * * *", None, 120, "2026-01-01T00:31:00", "2026-01-01T00:30:00", 1, id="deadline"),
        pytest.param("*/5 * * * *", None, 30, "2026-01-01T00:31:00", None, 0, id="deadline-passed"),
        # a year of weekday mornings missed: the count is estimated from the first interval (a day), as
        # Kubernetes estimates it, while the time is found exactly
        pytest.param("0 9 * * MON-FRI", None, None, "2027-01-06T12:00:00", "2027-01-06T09:00:00", 371,
                     id="many-non-uniform"),
        pytest.param("* * * * *", None, None, "2026-01-03T00:00:30", "2026-01-03T00:00:00", 2880, id="many-minutes"),
    ],
)
def test_most_recent_schedule(schedule: str, last: str | None, deadline: int | None, now: str,
                              most_recent: str | None, missed: int) -> None:
    due = most_recent_schedule(cronjob(last=last, deadline=deadline), parse(schedule), at(now), with_deadline=True)
    assert due.most_recent == (at(most_recent) if most_recent else None)
    assert due.missed == missed


def test_next_wake_is_just_after_the_next_time() -> None:
    cj = cronjob(last="2026-01-01T00:05:00Z")
    assert next_wake(cj, parse("*/5 * * * *"), at("2026-01-01T00:07:30")) == pytest.approx(150.1)


def test_job_name_counts_minutes_since_the_epoch() -> None:
    assert job_name(cronjob(), at("2026-01-01T00:05:00")) == f"tick-{int(at('2026-01-01T00:05:00').timestamp()) // 60}"
    assert len(job_name(cronjob(), at("2200-01-01T00:00:00")).split("-")[1]) <= 10


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("UTC", "2026-07-01T01:00:00Z"), ("Europe/Paris", "2026-07-01T03:00:00+02:00"),
     ("America/New_York", "2026-06-30T21:00:00-04:00")],
)
def test_scheduled_timestamp_is_rfc3339_in_the_zone(zone: str, expected: str) -> None:
    assert rfc3339_in_zone(at("2026-07-01T01:00:00").astimezone(load_zone(zone))) == expected


def _job(name: str, outcome: str | None, started: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": [{"type": outcome, "status": "True"}]} if outcome else {}
    if started:
        status["startTime"] = started
    return {"metadata": {"name": name}, "status": status}


def test_history_deletes_the_oldest_beyond_each_limit() -> None:
    jobs = [_job("c3", "Complete", "2026-01-01T00:03:00Z"), _job("c1", "Complete", "2026-01-01T00:01:00Z"),
            _job("c-none", "Complete", None), _job("c2", "Complete", "2026-01-01T00:02:00Z"),
            _job("f1", "Failed", "2026-01-01T00:01:00Z"), _job("f2", "Failed", "2026-01-01T00:02:00Z"),
            _job("running", None, "2026-01-01T00:00:00Z")]
    names = [j["metadata"]["name"] for j in history_to_delete(jobs, successful=2, failed=0)]
    assert names == ["c1", "c2", "f1", "f2"]  # a Job never started sorts last: kept
    assert history_to_delete(jobs, successful=None, failed=None) == []
