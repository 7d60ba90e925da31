"""JSON on the hot paths (API bodies, watch events, stored rows) through orjson.

orjson encodes an object about eight times faster than the standard library. It refuses what
JSON decoded from a client may still hold (integers beyond 64 bits); those few objects fall
back to the standard encoder, so the output is the same compact JSON either way.

Decoding has the mirror problem, worse because it is silent: orjson reads an integer beyond 64
bits as a float (2^70 becomes ``1.1805916207174113e+21``), which a model then rejects with a
misleading type error, or worse, accepts rounded. A document holding a run of 19 or more digits
(every integer outside int64 has one) is therefore decoded by the standard library, made as
strict as orjson (no NaN, no Infinity, no lone surrogates); everything else stays on orjson.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

# Every digit becomes "0" and everything else a space, so one substring search finds a run of
# 19 digits: about a twentieth of orjson's own decoding time (a regex takes as long as orjson).
_DIGITS_ONLY = bytes(b"0"[0] if chr(i).isdigit() and i < 128 else b" "[0] for i in range(256))
_LONG_RUN = b"0" * 19


def dumps(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def dumps_text(obj: Any) -> str:
    """:func:`dumps` as text (for TEXT columns)."""
    return dumps(obj).decode()


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ValueError (as ``json.loads`` does) on bad input.

    Integers of any size come back as ``int``."""
    raw = data.encode() if isinstance(data, str) else data
    if _LONG_RUN not in raw.translate(_DIGITS_ONLY):
        return orjson.loads(raw)
    return _loads_exact(raw)


def _loads_exact(raw: bytes) -> Any:
    value = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError as err:  # a lone surrogate, which orjson also refuses
        raise ValueError(f"invalid string in JSON: {err.reason}") from None
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text} is infinity when parsed as double")
    return value


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists/objects nest more than ``limit`` levels (iterative: no stack to exhaust)."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
