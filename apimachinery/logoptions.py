"""``pods/{name}/log`` query parameters, parsed and validated as Kubernetes' ``PodLogOptions``.

The apiserver checks them before it proxies and the kubelet checks them again (it may be called
directly), so both answer the same: a parameter that is not an int64 is a 400 (the query codec
refuses it), a value out of bounds a 422 ``PodLogOptions`` Invalid naming it (``sinceSeconds``
and ``limitBytes`` at least 1, ``tailLines`` at least 0, not both ``sinceSeconds`` and
``sinceTime``). A huge but valid ``sinceSeconds`` means "since the beginning", never an overflow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apimachinery.errors import ApiError, bad_request, cause, invalid
from apimachinery.timeutil import parse_time

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DECIMAL = re.compile(r"[-+]?[0-9]{1,40}")
_INTEGERS = ("sinceSeconds", "tailLines", "limitBytes")
_MINIMUM = {"sinceSeconds": 1, "tailLines": 0, "limitBytes": 1}
_TOO_SMALL = {
    "sinceSeconds": "must be greater than 0",
    "tailLines": "must be greater than or equal to 0",
    "limitBytes": "must be greater than 0",
}


@dataclass(frozen=True)
class PodLogOptions:
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    since_seconds: int | None = None
    since_time: datetime | None = None
    tail_lines: int | None = None
    limit_bytes: int | None = None

    def since(self, now: datetime) -> datetime | None:
        """The earliest log time to show: ``sinceTime``, or ``now - sinceSeconds`` (saturating)."""
        if self.since_time is not None:
            return self.since_time
        if self.since_seconds is None:
            return None
        try:
            return now - timedelta(seconds=self.since_seconds)
        except OverflowError:
            return datetime.min.replace(tzinfo=UTC)


def parse_log_options(query: Mapping[str, str], *, pod: str = "") -> PodLogOptions:
    """The options of a log request; 400 for values of the wrong type, 422 for values out of bounds."""
    numbers = {name: _int64(name, query.get(name)) for name in _INTEGERS}
    since_time = None
    if query.get("sinceTime"):
        try:
            since_time = parse_time(query["sinceTime"])
        except ValueError as err:
            raise bad_request(f"sinceTime: {err}", [cause("sinceTime", str(err))]) from None
    causes = [
        cause(name, f"Invalid value: {value}: {_TOO_SMALL[name]}")
        for name, value in numbers.items()
        if value is not None and value < _MINIMUM[name]
    ]
    if numbers["sinceSeconds"] is not None and since_time is not None:
        message = "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
        causes.append(cause("sinceSeconds", message, "FieldValueForbidden"))
    if causes:
        raise invalid("PodLogOptions", pod, causes)
    return PodLogOptions(
        follow=_flag(query.get("follow")),
        previous=_flag(query.get("previous")),
        timestamps=_flag(query.get("timestamps")),
        since_seconds=numbers["sinceSeconds"],
        since_time=since_time,
        tail_lines=numbers["tailLines"],
        limit_bytes=numbers["limitBytes"],
    )


def _int64(name: str, raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    number = int(raw) if _DECIMAL.fullmatch(raw) else None
    if number is None or not INT64_MIN <= number <= INT64_MAX:
        message = f'Invalid value: "{raw}": must be an integer in the int64 range'
        raise ApiError(400, "BadRequest", f"{name}: {message}", causes=[cause(name, message)])
    return number


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")
