"""Timestamps, kubectl-style ages and the injectable clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from apimachinery.timeutil import (
    Clock,
    FakeClock,
    SystemClock,
    format_rfc3339,
    human_age,
    now_rfc3339,
    parse_time,
)

MINUTE, HOUR, DAY, YEAR = 60, 3600, 86400, 365 * 86400
MS = 0.001


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1s"), (70, "70s"), (190, "3m10s"), (70 * MINUTE, "70m"), (47 * HOUR, "47h"),
        (49 * HOUR, "2d1h"), ((8 * 24 + 2) * HOUR, "8d"), (367 * DAY, "367d"),
        (2 * YEAR + 25 * HOUR, "2y1d"), (8 * YEAR + 2 * HOUR, "8y"),
    ],
    ids=lambda v: str(v),
)
def test_human_age_examples(seconds: float, text: str) -> None:
    assert human_age(seconds) == text


# The boundaries of kubectl's duration.HumanDuration, one row per threshold.
@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-2, "<invalid>"), (-2 + 1e-9, "0s"), (0, "0s"), (1 - MS, "0s"),
        (2 * MINUTE - MS, "119s"), (2 * MINUTE, "2m"), (2 * MINUTE + 1, "2m1s"),
        (10 * MINUTE - MS, "9m59s"), (10 * MINUTE, "10m"), (10 * MINUTE + 1, "10m"),
        (3 * HOUR - MS, "179m"), (3 * HOUR, "3h"), (3 * HOUR + MINUTE, "3h1m"),
        (8 * HOUR - MS, "7h59m"), (8 * HOUR, "8h"), (8 * HOUR + 59 * MINUTE, "8h"),
        (2 * DAY - MS, "47h"), (2 * DAY, "2d"), (2 * DAY + HOUR, "2d1h"),
        (8 * DAY - MS, "7d23h"), (8 * DAY, "8d"), (8 * DAY + 23 * HOUR, "8d"),
        (2 * YEAR - MS, "729d"), (2 * YEAR, "2y"), (2 * YEAR + 23 * HOUR, "2y"),
        (2 * YEAR + DAY, "2y1d"), (3 * YEAR, "3y"), (8 * YEAR - MS, "7y364d"), (8 * YEAR, "8y"),
        (8 * YEAR + 364 * DAY, "8y"), (9 * YEAR, "9y"),
    ],
    ids=lambda v: str(v),
)
def test_human_age_boundaries(seconds: float, text: str) -> None:
    assert human_age(seconds) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T02:45:24Z", datetime(2026, 11, 26, 2, 45, 24, tzinfo=UTC)),
        ("2026-11-26T02:45:24+00:00", datetime(2026, 11, 26, 2, 45, 24, tzinfo=UTC)),
        ("2026-11-26T02:45:24.5Z", datetime(2026, 11, 26, 2, 45, 24, 500000, tzinfo=UTC)),
        ("2026-11-26T02:45:24.123456789Z", datetime(2026, 11, 26, 2, 45, 24, 123456, tzinfo=UTC)),
        ("2026-11-26T04:45:24+02:00", datetime(2026, 11, 26, 2, 45, 24, tzinfo=UTC)),
        ("2026-11-25T21:15:24-05:30", datetime(2026, 11, 26, 2, 45, 24, tzinfo=UTC)),
        ("2026-11-26t02:45:24z", datetime(2026, 11, 26, 2, 45, 24, tzinfo=UTC)),
    ],
    ids=["zulu", "python-client-offset", "fraction", "nanoseconds", "east-offset", "west-offset", "lowercase"],
)
def test_parse_time(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize(
    "bad",
    ["", "2026-11-26", "2026-11-26T02:45:24", "2026-13-01T00:00:00Z", "2026-11-26T02:45Z",
     "20261126T024524Z", "2026-11-26T02:45:24+2400", "2026-11-26T02:45:24+24:00", "yesterday"],
    ids=["empty", "date-only", "no-offset", "month-13", "no-seconds", "basic-format", "offset-no-colon",
         "offset-out-of-range", "words"],
)
def test_parse_time_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        parse_time(bad)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 26, 2, 45, 24, 999999, tzinfo=UTC), "2026-11-26T02:45:24Z"),
        (datetime(2026, 11, 26, 4, 45, 24, tzinfo=timezone(timedelta(hours=2))), "2026-11-26T02:45:24Z"),
        (datetime(2026, 11, 26, 2, 45, 24), "2026-11-26T02:45:24Z"),
    ],
    ids=["drops-fraction", "converts-to-utc", "naive-is-utc"],
)
def test_format_rfc3339(moment: datetime, text: str) -> None:
    assert format_rfc3339(moment) == text


def test_now_from_fake_clock() -> None:
    clock = FakeClock(start=datetime(2026, 11, 26, 2, 45, 24, tzinfo=UTC).timestamp())
    assert now_rfc3339(clock) == "2026-11-26T02:45:24Z"
    clock.advance(90.7)
    assert now_rfc3339(clock) == "2026-11-26T02:46:54Z"
    assert parse_time(now_rfc3339(clock)).timestamp() == pytest.approx(clock.time(), abs=1)


def test_fake_clock_moves_only_when_advanced() -> None:
    clock = FakeClock(start=100.0, monotonic_start=5.0)
    assert (clock.time(), clock.monotonic()) == (100.0, 5.0)
    clock.advance(2.5)
    assert (clock.time(), clock.monotonic()) == (102.5, 7.5)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


@pytest.mark.parametrize("clock", [SystemClock(), FakeClock()], ids=["system", "fake"])
def test_clocks_satisfy_protocol(clock: Clock) -> None:
    assert isinstance(clock, Clock)
    assert clock.monotonic() <= clock.monotonic()
    assert abs(parse_time(now_rfc3339(clock)).timestamp() - clock.time()) < 1.0  # seconds precision
