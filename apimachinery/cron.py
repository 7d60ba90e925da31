"""Cron schedules as a CronJob's ``spec.schedule`` reads them: five fields, or a macro.

Kubernetes parses schedules with robfig/cron's standard parser, so this follows its rules rather
than any one Unix cron: minute, hour, day of month, month, day of week; each field a ``*``, a
number, a range ``a-b``, a step ``*/n`` or ``a-b/n`` (``a/n`` runs from ``a`` to the field's
maximum), or a comma-separated list of those; month and weekday names (``JAN``, ``MON``) in any
case; ``?`` as ``*``; weekdays 0-6 with 0 Sunday. When both day fields are restricted, a day
matching either runs (cron's classic OR); when one of them starts with ``*`` they must both match.
Macros: ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``,
``@hourly``. ``@every`` (robfig's own extension) is refused: a CronJob cannot express it.

:meth:`Schedule.next` is the one question the controller asks: the first instant strictly after
``t`` at which the schedule fires, in the schedule's time zone (wall-clock times that a daylight
saving jump skips are skipped, as cron does; a repeated hour fires once, at its first occurrence).
The search walks days, not minutes, so a schedule as rare as ``0 0 29 2 *`` is found at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}
_WEEKDAYS = {name: i for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
#: How far ahead a schedule is searched: a 29 February with a given weekday recurs within 28 years.
_HORIZON_DAYS = 366 * 29


class CronError(ValueError):
    """A schedule that does not parse; the message says which part and why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, _MONTHS),
    _Field("day of week", 0, 6, _WEEKDAYS),
)


def _number(text: str, field: _Field) -> int:
    named = field.names.get(text.lower())
    if named is not None:
        return named
    if not text.isdigit():
        raise CronError(f"failed to parse int from {text}: invalid syntax")
    return int(text)


def _parse_range(part: str, field: _Field) -> tuple[set[int], bool]:
    """The values of one comma-separated part, and whether it starts with ``*`` (or ``?``)."""
    span, slash, step_text = part.partition("/")
    star = span in ("*", "?")
    if star:
        low, high = field.low, field.high
    else:
        first, dash, last = span.partition("-")
        low = _number(first, field)
        high = _number(last, field) if dash else (field.high if slash else low)
    step = 1
    if slash:
        if not step_text.isdigit():
            raise CronError(f"failed to parse int from {step_text}: invalid syntax")
        step = int(step_text)
        if step == 0:
            raise CronError(f"step of range should be a positive number: {part}")
    if low < field.low:
        raise CronError(f"beginning of range ({low}) below minimum ({field.low}): {part}")
    if high > field.high:
        raise CronError(f"end of range ({high}) above maximum ({field.high}): {part}")
    if low > high:
        raise CronError(f"beginning of range ({low}) beyond end of range ({high}): {part}")
    return set(range(low, high + 1, step)), star


def _parse_field(text: str, field: _Field) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for part in text.split(","):
        if not part:
            raise CronError(f"empty list item in {field.name}: {text}")
        found, part_star = _parse_range(part, field)
        values |= found
        star = star or part_star
    return frozenset(values), star


def load_zone(name: str | None) -> tzinfo:
    """The IANA zone ``name`` (UTC when none), as the controller and validation load it."""
    if name is None:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(f"unknown time zone {name}") from None


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day of month or day of week starts with '*': both must match, else either
    zone: tzinfo = UTC

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month, in_week = day.day in self.days, (day.isoweekday() % 7) in self.weekdays
        return (in_month and in_week) if self.any_day else (in_month or in_week)

    def next(self, after: datetime) -> datetime:
        """The first firing strictly after ``after`` (an aware datetime), in the schedule's zone."""
        local = after.astimezone(self.zone)
        start = local.replace(second=0, microsecond=0, tzinfo=None) + timedelta(minutes=1)
        day = start.date()
        for _ in range(_HORIZON_DAYS):
            if self._day_matches(day):
                found = self._first_time_on(day, start, after)
                if found is not None:
                    return found
            day += timedelta(days=1)
        raise CronError("the schedule never fires")

    def _first_time_on(self, day: date, start: datetime, after: datetime) -> datetime | None:
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                wall = datetime(day.year, day.month, day.day, hour, minute)
                if wall < start:
                    continue
                aware = wall.replace(tzinfo=self.zone)
                if aware.astimezone(UTC).astimezone(self.zone).replace(tzinfo=None) != wall:
                    continue  # skipped by a daylight saving jump
                if aware > after:
                    return aware
        return None


def parse(schedule: str, *, zone: tzinfo = UTC) -> Schedule:
    """Parse a CronJob schedule; :class:`CronError` says what is wrong (robfig/cron's wording)."""
    text = schedule.strip()
    if text.startswith("@"):
        if text.startswith("@every"):
            raise CronError(f"unrecognized descriptor: {text} (@every is not supported by CronJobs)")
        expanded = MACROS.get(text.lower())
        if expanded is None:
            raise CronError(f"unrecognized descriptor: {text}")
        text = expanded
    fields = text.split()
    if len(fields) != len(_FIELDS):
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    parsed = [_parse_field(f, spec) for f, spec in zip(fields, _FIELDS, strict=True)]
    (minutes, _), (hours, _), (days, day_star), (months, _), (weekdays, week_star) = parsed
    return Schedule(minutes, hours, days, months, weekdays, any_day=day_star or week_star, zone=zone)
