"""Completion indexes as Kubernetes writes them: sorted intervals, ``"1,3-5,7"``.

``status.completedIndexes`` / ``status.failedIndexes`` and a success policy's
``succeededIndexes`` use this compressed form; the apiserver validates it and the Job
controller reads and writes it, so the parser lives in the shared package.
"""

from __future__ import annotations

from collections.abc import Iterable


class IndexesError(ValueError):
    """Text that is not a list of sorted, non-overlapping intervals."""


def parse_indexes(text: str | None, *, limit: int | None = None) -> set[int]:
    """The indexes of ``"0-2,5"``; with ``limit``, each must be below it."""
    out: set[int] = set()
    last = -1
    for part in (text or "").split(","):
        if not part:
            if text:
                raise IndexesError("empty interval")
            continue
        first, _, end = part.partition("-")
        try:
            low = int(first)
            high = int(end) if end else low
        except ValueError:
            raise IndexesError(f"cannot convert {part!r} to an interval") from None
        if low < 0 or high < low:
            raise IndexesError(f"interval {part!r} is not ordered")
        if low <= last:
            raise IndexesError("intervals must be sorted and must not overlap")
        if limit is not None and high >= limit:
            raise IndexesError(f"too large: {high} is not below the completions {limit}")
        out.update(range(low, high + 1))
        last = high
    return out


def format_indexes(indexes: Iterable[int]) -> str | None:
    """``{0, 1, 2, 5}`` → ``"0-2,5"``; no indexes → None (the field is omitted)."""
    ordered = sorted(set(indexes))
    if not ordered:
        return None
    parts: list[str] = []
    start = prev = ordered[0]
    for index in [*ordered[1:], None]:
        if index is not None and index == prev + 1:
            prev = index
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if index is not None:
            start = prev = index
    return ",".join(parts)
