"""Resource quantities: Kubernetes' grammar, exact values, rounding and canonical formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apimachinery.quantity import (
    cpu_millis,
    format_bytes,
    format_cpu_millis,
    memory_bytes,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", "0"),
        ("1", "1"),
        ("+2", "2"),
        ("-3", "-3"),
        ("1.5", "1.5"),
        (".5", "0.5"),
        ("1.", "1"),
        ("100n", "0.0000001"),
        ("5u", "0.000005"),
        ("500m", "0.5"),
        ("2k", "2000"),
        ("3M", "3000000"),
        ("1G", "1000000000"),
        ("1T", "1e12"),
        ("1P", "1e15"),
        ("1E", "1e18"),
        ("1Ki", "1024"),
        ("1.5Mi", "1572864"),
        ("2Gi", "2147483648"),
        ("1Ti", str(1024**4)),
        ("1Pi", str(1024**5)),
        ("1Ei", str(1024**6)),
        ("1e3", "1000"),
        ("1E3", "1000"),
        ("1e-3", "0.001"),
        ("1E+2", "100"),
        ("123456789.123456789Ei", "142335987070146021999130099.071320064"),  # no rounding
    ],
    ids=lambda v: v if len(v) < 25 else "long",
)
def test_parse_quantity(text: str, value: str) -> None:
    assert parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize(
    ("number", "value"),
    [(3, "3"), (0.5, "0.5"), (0.1, "0.1"), (-2, "-2")],
    ids=["int", "float", "float-not-binary-rounded", "negative"],
)
def test_parse_numbers(number: int | float, value: str) -> None:
    assert parse_quantity(number) == Decimal(value)


@pytest.mark.parametrize(
    "bad",
    ["", " 1", "1 ", "abc", "1K", "1kb", "Ki", "1e", "1ee3", "1.2.3", "--1", "1Ki2", "0x10", "1_000", "½"],
    ids=[
        "empty", "leading-space", "trailing-space", "letters", "uppercase-K", "two-suffixes", "no-number",
        "bare-e", "double-e", "two-dots", "double-sign", "suffix-then-digits", "hex", "underscore",
        "unicode-digit",
    ],
)
def test_invalid_quantity(bad: str) -> None:
    with pytest.raises(ValueError, match="quantities must match the regular expression"):
        parse_quantity(bad)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("1e99", "exponent 99 is out of range"),
        ("1" * 101, "longer than 100 characters"),
        (True, "a string or a number"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (None, "a string or a number"),
    ],
    ids=["huge-exponent", "too-long", "bool", "nan", "inf", "none"],
)
def test_refused_quantity(bad: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_quantity(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("1", 1000), ("2", 2000), ("500m", 500), ("0.5", 500), ("1.5", 1500), ("250m", 250),
        ("0.0001", 1), ("1u", 1), ("100n", 1), ("0", 0), (2, 2000), ("1e-3", 1), ("1k", 1_000_000),
    ],
    ids=[
        "one", "two", "millis", "half", "one-and-half", "quarter", "rounds-up-tiny", "micro-rounds-up",
        "nano-rounds-up", "zero", "int", "exponent", "kilo",
    ],
)
def test_cpu_millis(text: str | int, millis: int) -> None:
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("128974848", 128974848), ("129e6", 129_000_000), ("129M", 129_000_000),
        ("128974848000m", 128974848), ("123Mi", 128974848), ("1Gi", 1073741824), ("1G", 1_000_000_000),
        ("1500m", 2), ("0.1", 1), ("16318420Ki", 16318420 * 1024), (1024, 1024),
    ],
    ids=[
        "plain", "exponent", "mega", "milli-bytes", "mebi", "gibi", "giga", "fraction-rounds-up",
        "tenth-rounds-up", "kubelet-capacity", "int",
    ],
)
def test_memory_bytes(text: str | int, count: int) -> None:
    assert memory_bytes(text) == count


@pytest.mark.parametrize(
    ("millis", "text"),
    [(0, "0"), (1, "1m"), (500, "500m"), (1000, "1"), (1500, "1500m"), (2000, "2"), (1_000_000, "1k"), (1_500_000, "1500")],
    ids=["zero", "one-milli", "half", "one", "one-and-half", "two", "kilo", "fifteen-hundred"],
)
def test_format_cpu_millis(millis: int, text: str) -> None:
    assert format_cpu_millis(millis) == text
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0"), (512, "512"), (1000, "1k"), (1023, "1023"), (1024, "1Ki"), (1536, "1536"),
        (1048576, "1Mi"), (1073741824, "1Gi"), (16318420 * 1024, "16318420Ki"), (1024**6, "1Ei"),
        (3 * 1024**7, "3072Ei"), (1_000_000_000, "1000000000"),
    ],
    ids=[
        "zero", "small-decimal", "small-kilo", "just-under-ki", "ki", "not-divisible", "mi", "gi",
        "kubelet-capacity", "ei", "beyond-ei", "decimal-giga-stays-plain",
    ],
)
def test_format_bytes(count: int, text: str) -> None:
    assert format_bytes(count) == text
    assert memory_bytes(text) == count
