"""Decoding request bodies strictly: what must never reach the store, and what must be reported.

A body that decodes in Python may still be unstorable or poisonous to other readers: a lone
UTF-16 surrogate (``"\\ud800"``) cannot be encoded as UTF-8, ``1e400`` becomes infinity, which JSON
cannot carry, and an integer beyond 64 bits turns into a float in every other client's reader.
Those are refused here with a 400 naming the field, before any revision is taken.

Duplicate keys are legal JSON that Kubernetes' strict decoder reports (``duplicate field
"spec.replicas"``, the last value wins): they are returned with the value so the request's
``fieldValidation`` can warn, ignore or reject them.

The decoder is the standard library's, with hooks that only *mark* what is suspicious while
parsing (a dict subclass for an object with a repeated key, an int subclass for a huge integer);
the tree is walked for paths only when something was marked, so an ordinary body pays for
nothing but the hooks.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from apimachinery import jsonio
from apimachinery.errors import ApiError, bad_request, cause
from apimachinery.yamlsafe import MAX_DEPTH

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Only a \ud800-\udfff escape can produce a lone surrogate from valid UTF-8 text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


@dataclass
class Decoded:
    """A decoded body and the JSON paths of keys it gave more than once."""

    value: Any
    duplicates: list[str] = field(default_factory=list)


class _Repeated(dict[str, Any]):
    """An object in which some key appeared twice; ``repeated`` names them."""

    repeated: list[str]


class _Huge(int):
    """An integer outside int64, kept until its path is known."""


class _Marks:
    """Parser hooks that note what the walk afterwards must look at."""

    def __init__(self) -> None:
        self.marked = False

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        self.marked = True
        repeated = _Repeated(obj)
        repeated.repeated = []
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                repeated.repeated.append(key)
            seen.add(key)
        return repeated

    def integer(self, text: str) -> int:
        number = int(text)
        if INT64_MIN <= number <= INT64_MAX:
            return number
        self.marked = True
        return _Huge(number)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text} is out of the float64 range")
    return number


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_json(raw: bytes) -> Decoded:
    """Parse a JSON body; 400 for anything Kubernetes' decoder refuses or we cannot store."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _undecodable(f"invalid UTF-8 at byte {err.start}") from None
    marks = _Marks()
    try:
        value = json.loads(
            text,
            object_pairs_hook=marks.object,
            parse_int=marks.integer,
            parse_float=_finite,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as err:
        raise _undecodable(f"{err.msg} at line {err.lineno}, column {err.colno}") from None
    except RecursionError:
        raise _undecodable(f"nesting deeper than {MAX_DEPTH} levels") from None
    except ValueError as err:  # NaN/Infinity, huge floats, integers of more than 4300 digits
        raise _undecodable(str(err)) from None
    if jsonio.nested_deeper_than(value, MAX_DEPTH):
        raise _undecodable(f"nesting deeper than {MAX_DEPTH} levels")
    if not marks.marked and not _SURROGATE_ESCAPE.search(text):
        return Decoded(value)
    return _checked(value)


def check_decoded(value: Any) -> Decoded:
    """The same checks for a body decoded elsewhere (YAML): surrogates and integer ranges."""
    return _checked(value)


def _checked(value: Any) -> Decoded:
    """Walk once: refuse lone surrogates and huge integers, collect duplicate keys, unmark."""
    duplicates: list[str] = []
    for path, node in _walk(value):
        if isinstance(node, str):
            if _has_lone_surrogate(node):
                raise _lone_surrogate(path, node)
        elif isinstance(node, _Huge) or (
            isinstance(node, int) and not isinstance(node, bool) and not INT64_MIN <= node <= INT64_MAX
        ):
            raise _out_of_range(path, int(node))
        elif isinstance(node, _Repeated):
            duplicates.extend(_join(path, key) for key in node.repeated)
    return Decoded(_plain(value), duplicates)


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, node) for every node, keys included (a key's path is the path of its value)."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, node = stack.pop()
        yield where, node
        if isinstance(node, dict):
            for key, item in node.items():
                child = _join(where, key)
                if _has_lone_surrogate(key):
                    raise _lone_surrogate(child, key)
                stack.append((child, item))
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(node))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _plain(value: Any) -> Any:
    """The value with the parser's marker types replaced by plain dicts and ints."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, _Huge):
        return int(value)
    return value


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _undecodable(why: str) -> ApiError:
    return bad_request(f"the request body could not be decoded: {why}")


def _lone_surrogate(path: str, text: str) -> ApiError:
    code = next(f"\\u{ord(c):04x}" for c in text if 0xD800 <= ord(c) <= 0xDFFF)
    message = f"invalid Unicode: a lone UTF-16 surrogate ({code}) cannot be encoded as UTF-8"
    field_name = path or "<root>"
    return bad_request(
        f"the request body could not be decoded: {field_name}: {message}",
        [cause(field_name, message, "FieldValueInvalid")],
    )


def _out_of_range(path: str, number: int) -> ApiError:
    message = f"json: cannot unmarshal number {number} into Go value of type int64"
    field_name = path or "<root>"
    return bad_request(
        f"the request body could not be decoded: {field_name}: {message}",
        [cause(field_name, message, "FieldValueInvalid")],
    )
