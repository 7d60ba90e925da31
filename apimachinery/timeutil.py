"""Timestamps and clocks as Kubernetes writes and shows them.

Kubernetes stores times as RFC 3339 strings with second precision and a ``Z`` suffix
(``2026-11-26T02:45:24Z``), but clients send other spellings too: the official Python client
sends ``+00:00``, Go clients may send fractional seconds. :func:`parse_time` accepts all of them;
:func:`now_rfc3339` writes only the canonical form.

Ages in tables are computed by the server and must read exactly like kubectl's
(``duration.HumanDuration``): ``119s``, then ``2m1s`` up to ten minutes, whole minutes up to three
hours, and so on. :func:`human_age` reproduces those thresholds.

Every component takes its time from a :class:`Clock` so tests drive time with
:class:`FakeClock` instead of sleeping.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_YEAR = 365 * _DAY


@runtime_checkable
class Clock(Protocol):
    """Wall-clock time for timestamps, monotonic time for intervals."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when a test calls :meth:`advance`."""

    def __init__(self, start: float = 1_790_000_000.0, monotonic_start: float = 1000.0) -> None:
        self._wall = start
        self._mono = monotonic_start

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward; time never runs backwards."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance by {seconds})")
        self._wall += seconds
        self._mono += seconds


def format_rfc3339(moment: datetime) -> str:
    """``2026-11-26T02:45:24Z``: UTC, whole seconds. Naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_rfc3339(clock: Clock | None = None) -> str:
    """The current time as Kubernetes writes it into metadata and status."""
    seconds = (clock or SystemClock()).time()
    return format_rfc3339(datetime.fromtimestamp(seconds, UTC))


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime.

    Accepts ``Z`` or a numeric offset and any number of fractional digits (kept to the
    microsecond). Raises ``ValueError`` for anything else, including dates without a time.
    """
    match = _RFC3339.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"invalid timestamp {text!r}: expected RFC 3339, e.g. 2026-11-26T02:45:24Z")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros,
            tzinfo=_offset(offset),
        )
    except ValueError as exc:
        raise ValueError(f"invalid timestamp {text!r}: {exc}") from None
    return moment.astimezone(UTC)


def _offset(text: str) -> timezone:
    if text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(f"invalid UTC offset {text}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def human_age(delta_seconds: float) -> str:
    """A duration with ~2-3 significant figures, exactly as kubectl prints ages.

    Slightly negative values (clock skew under two seconds) read as ``0s``; anything more
    negative is ``<invalid>``.
    """
    seconds = int(delta_seconds)  # truncates toward zero, like Go's int(d.Seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 2 * _MINUTE:
        return f"{seconds}s"
    minutes = seconds // _MINUTE
    if minutes < 10:
        return _pair(minutes, "m", seconds % _MINUTE, "s")
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = seconds // _HOUR
    if hours < 8:
        return _pair(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _pair(hours // 24, "d", hours % 24, "h")
    days = seconds // _DAY
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return _pair(days // 365, "y", days % 365, "d")
    return f"{seconds // _YEAR}y"


def _pair(major: int, major_unit: str, minor: int, minor_unit: str) -> str:
    return f"{major}{major_unit}" if minor == 0 else f"{major}{major_unit}{minor}{minor_unit}"
