"""JSON decoding keeps integers exact, and stays as strict as orjson on the slow path too."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery import jsonio


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(b'{"replicas": 1180591620717411303424}', {"replicas": 2**70}, id="two-to-the-seventy"),
        pytest.param(b'{"replicas": -1180591620717411303424}', {"replicas": -(2**70)}, id="negative-big"),
        pytest.param(b'[18446744073709551616]', [2**64], id="just-beyond-uint64"),
        pytest.param(b'[9223372036854775807]', [2**63 - 1], id="int64-max"),
        pytest.param(b'[2147483648]', [2**31], id="beyond-int32"),
        pytest.param(b'{"x": 1.5, "y": 12345678901234567890.25}', {"x": 1.5, "y": 12345678901234567890.25},
                     id="floats-stay-floats"),
        pytest.param(b'{"uid": "12345678901234567890123"}', {"uid": "12345678901234567890123"},
                     id="digits-in-a-string"),
        pytest.param('{"a": "\u00e9", "n": 99999999999999999999}', {"a": "\u00e9", "n": 99999999999999999999},
                     id="text-input"),
    ],
)
def test_integers_decode_exactly(text: bytes | str, expected: Any) -> None:
    value = jsonio.loads(text)
    assert value == expected
    assert [type(v) for v in _leaves(value)] == [type(v) for v in _leaves(expected)]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(b"[NaN, 12345678901234567890]", id="nan"),
        pytest.param(b"[Infinity, 12345678901234567890]", id="infinity"),
        pytest.param(b"[1e400, 12345678901234567890]", id="overflowing-float"),
        pytest.param(b'["\\ud800", 12345678901234567890]', id="lone-surrogate"),
        pytest.param(b'{"a": 12345678901234567890', id="truncated"),
        pytest.param(b"[NaN]", id="nan-fast-path"),
    ],
)
def test_what_orjson_refuses_is_refused_on_the_exact_path_too(text: bytes) -> None:
    with pytest.raises(ValueError):
        jsonio.loads(text)


def test_big_integers_round_trip() -> None:
    obj = {"spec": {"replicas": 2**70}}
    assert jsonio.loads(jsonio.dumps(obj)) == obj


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]
