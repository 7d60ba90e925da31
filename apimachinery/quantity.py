"""Kubernetes resource quantities (``500m``, ``1.5Gi``, ``1e3``) as exact decimals.

The scheduler and kubelet compare and sum requests, so quantities are parsed into
``Decimal`` (never float) with the same grammar Kubernetes accepts: an optionally signed decimal
number followed by one binary suffix (``Ki`` .. ``Ei``), one decimal suffix (``n u m k M G T P
E``) or a decimal exponent (``e3``, ``E-2``). Anything else is a ``ValueError`` carrying
Kubernetes' own wording.

Converting to integers rounds away from zero, as ``Quantity.MilliValue()`` / ``Value()`` do, so
``0.0001`` CPU still reserves 1m. Formatting follows Kubernetes' canonical forms: CPU in the
decimal system (``500m``, ``2``), memory in the binary system (``16318420Ki``, as kubelets report
capacity).

Inputs longer than :data:`MAX_LENGTH` characters or with exponents beyond ±:data:`MAX_EXPONENT`
are refused, so a hostile manifest cannot make the apiserver build a million-digit integer.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_UP, Context, Decimal, InvalidOperation

MAX_LENGTH = 100
MAX_EXPONENT = 30

_FORMAT_HINT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE](?P<exponent>[+-]?[0-9]+))?$"
)
_DECIMAL_EXPONENTS = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_BINARY_EXPONENTS = {suffix: 10 * i for i, suffix in enumerate(_BINARY_SUFFIXES) if suffix}
_DECIMAL_SUFFIXES = {exp: suffix for suffix, exp in _DECIMAL_EXPONENTS.items()}
# Enough digits that no parse or scale is ever rounded: MAX_LENGTH digits times 2**60.
_EXACT = Context(prec=MAX_LENGTH + 60)


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact value of a quantity string (or of a plain JSON number)."""
    if isinstance(value, bool):
        raise ValueError(f"invalid quantity {value!r}: a quantity is a string or a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"invalid quantity {value!r}: must be a finite number")
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise ValueError(f"invalid quantity {value!r}: a quantity is a string or a number")
    return _parse_string(value)


def _parse_string(text: str) -> Decimal:
    if len(text) > MAX_LENGTH:
        raise ValueError(f"invalid quantity {text[:20]!r}...: longer than {MAX_LENGTH} characters")
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"invalid quantity {text!r}: {_FORMAT_HINT}")
    number = Decimal(match["number"])
    suffix = match["suffix"] or ""
    if suffix in _BINARY_EXPONENTS:
        return _EXACT.multiply(number, Decimal(2) ** _BINARY_EXPONENTS[suffix])
    exponent = int(match["exponent"]) if match["exponent"] is not None else _DECIMAL_EXPONENTS[suffix]
    if abs(exponent) > MAX_EXPONENT:
        raise ValueError(f"invalid quantity {text!r}: exponent {exponent} is out of range")
    return number.scaleb(exponent, _EXACT)


def _round_up(value: Decimal) -> int:
    """Round away from zero to an integer, like Quantity.Value()."""
    try:
        return int(value.quantize(Decimal(1), rounding=ROUND_UP, context=_EXACT))
    except InvalidOperation:
        raise ValueError(f"quantity {value} is too large") from None


def cpu_millis(value: str | int | float) -> int:
    """CPU in millicores: ``"500m"`` -> 500, ``"2"`` -> 2000, ``"0.0001"`` -> 1."""
    return _round_up(_EXACT.multiply(parse_quantity(value), Decimal(1000)))


def memory_bytes(value: str | int | float) -> int:
    """Memory in bytes: ``"1Gi"`` -> 1073741824, ``"1G"`` -> 1000000000, ``"1500m"`` -> 2."""
    return _round_up(parse_quantity(value))


def format_cpu_millis(millis: int) -> str:
    """The canonical decimal form of a CPU amount: 500 -> ``500m``, 2000 -> ``2``, 1500 -> ``1500m``."""
    return _format_decimal_si(millis, -3)


def format_cpu_nanos(nanos: int) -> str:
    """The canonical decimal form of a CPU rate in nanocores: ``123456789n``, ``250m``, ``1``."""
    return _format_decimal_si(nanos, -9)


def format_bytes(count: int) -> str:
    """The canonical binary form of a byte count: ``16318420Ki``, ``1Gi``, ``1536``.

    As in Kubernetes, amounts under 1024 are written in the decimal system (``512``, ``1k``),
    and larger ones use the largest binary suffix that divides them exactly.
    """
    if -1024 < count < 1024:
        return _format_decimal_si(count, 0)
    index = 0
    while count % 1024 == 0 and index < len(_BINARY_SUFFIXES) - 1:
        count //= 1024
        index += 1
    return f"{count}{_BINARY_SUFFIXES[index]}"


def _format_decimal_si(mantissa: int, exponent: int) -> str:
    """mantissa * 10**exponent with the largest decimal suffix keeping the mantissa whole."""
    if mantissa == 0:
        return "0"
    while mantissa % 1000 == 0 and exponent < 18:
        mantissa //= 1000
        exponent += 3
    return f"{mantissa}{_DECIMAL_SUFFIXES[exponent]}"
