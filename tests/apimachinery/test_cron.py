"""Cron schedules as CronJobs read them: a table of schedules, instants and the next firing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apimachinery.cron import CronError, load_zone, parse


def at(text: str) -> datetime:
    return (
        datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text)
    )


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        pytest.param("* * * * *", "2026-01-01T10:00:30", "2026-01-01T10:01:00", id="every-minute"),
        pytest.param("* * * * *", "2026-01-01T10:01:00", "2026-01-01T10:02:00", id="strictly-after"),
        pytest.param("*/15 * * * *", "2026-01-01T10:16:00", "2026-01-01T10:30:00", id="step"),
        pytest.param("5-10/2 * * * *", "2026-01-01T10:07:00", "2026-01-01T10:09:00", id="range-step"),
        pytest.param("7/20 * * * *", "2026-01-01T10:28:00", "2026-01-01T10:47:00", id="start-step"),
        pytest.param("1,31 * * * *", "2026-01-01T10:02:00", "2026-01-01T10:31:00", id="list"),
        pytest.param("0 9 * * MON-FRI", "2026-01-02T10:00:00", "2026-01-05T09:00:00", id="weekday-names"),
        pytest.param("0 0 1 jan,Jul *", "2026-02-01T00:00:00", "2026-07-01T00:00:00", id="month-names"),
        pytest.param("0 0 13 * 5", "2026-01-01T00:00:00", "2026-01-02T00:00:00", id="day-or-weekday"),
        pytest.param("0 0 */2 * 5", "2026-01-01T01:00:00", "2026-01-09T00:00:00", id="star-step-day-and"),
        pytest.param("0 0 29 2 *", "2026-01-01T00:00:00", "2028-02-29T00:00:00", id="leap-day"),
        pytest.param("0 0 31 * *", "2026-04-01T00:00:00", "2026-05-31T00:00:00", id="short-months-skipped"),
        pytest.param("@hourly", "2026-01-01T10:59:00", "2026-01-01T11:00:00", id="hourly"),
        pytest.param("@daily", "2026-01-01T10:00:00", "2026-01-02T00:00:00", id="daily"),
        pytest.param("@midnight", "2026-01-01T10:00:00", "2026-01-02T00:00:00", id="midnight"),
        pytest.param("@weekly", "2026-01-01T10:00:00", "2026-01-04T00:00:00", id="weekly-sunday"),
        pytest.param("@monthly", "2026-01-15T00:00:00", "2026-02-01T00:00:00", id="monthly"),
        pytest.param("@yearly", "2026-01-15T00:00:00", "2027-01-01T00:00:00", id="yearly"),
        pytest.param("@annually", "2026-01-15T00:00:00", "2027-01-01T00:00:00", id="annually"),
        pytest.param("0 0 ? * *", "2026-01-01T10:00:00", "2026-01-02T00:00:00", id="question-mark"),
    ],
)
def test_next(schedule: str, after: str, expected: str) -> None:
    assert parse(schedule).next(at(after)) == at(expected)


@pytest.mark.parametrize(
    ("schedule", "zone", "after", "expected"),
    [
        pytest.param("0 3 * * *", "Europe/Paris", "2026-07-01T00:00:00", "2026-07-01T01:00:00", id="summer"),
        pytest.param("0 3 * * *", "Europe/Paris", "2026-01-01T00:00:00", "2026-01-01T02:00:00", id="winter"),
        # 29 March 2026: 02:00 -> 03:00 in Paris, so 02:30 does not exist that day.
        pytest.param(
            "30 2 * * *", "Europe/Paris", "2026-03-28T03:00:00", "2026-03-30T00:30:00", id="dst-gap"
        ),
        # 25 October 2026: 02:30 happens twice; it fires at the first one only.
        pytest.param(
            "30 2 * * *", "Europe/Paris", "2026-10-24T03:00:00", "2026-10-25T00:30:00", id="dst-repeat"
        ),
        pytest.param(
            "30 2 * * *", "Europe/Paris", "2026-10-25T00:30:00", "2026-10-26T01:30:00", id="dst-once"
        ),
    ],
)
def test_next_in_zone(schedule: str, zone: str, after: str, expected: str) -> None:
    fired = parse(schedule, zone=load_zone(zone)).next(at(after))
    assert fired.astimezone(UTC) == at(expected)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        pytest.param("61 * * * *", "end of range (61) above maximum (59): 61", id="minute-too-big"),
        pytest.param("* 24 * * *", "end of range (24) above maximum (23)", id="hour-too-big"),
        pytest.param("* * 0 * *", "beginning of range (0) below minimum (1)", id="day-zero"),
        pytest.param("* * * 13 *", "above maximum (12)", id="month-too-big"),
        pytest.param("* * * * 7", "above maximum (6)", id="weekday-seven"),
        pytest.param("5-1 * * * *", "beyond end of range", id="backwards"),
        pytest.param("*/0 * * * *", "step of range should be a positive number", id="zero-step"),
        pytest.param("* * * *", "expected exactly 5 fields, found 4", id="four-fields"),
        pytest.param("* * * * * *", "expected exactly 5 fields, found 6", id="six-fields"),
        pytest.param("x * * * *", "failed to parse int from x", id="garbage"),
        pytest.param("1,,2 * * * *", "empty list item", id="empty-item"),
        pytest.param("@every 5m", "unrecognized descriptor", id="every"),
        pytest.param("@fortnightly", "unrecognized descriptor: @fortnightly", id="unknown-macro"),
    ],
)
def test_invalid(schedule: str, message: str) -> None:
    with pytest.raises(CronError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        parse(schedule)


def test_unknown_zone() -> None:
    with pytest.raises(CronError, match="unknown time zone Europe/Pariss"):
        load_zone("Europe/Pariss")
