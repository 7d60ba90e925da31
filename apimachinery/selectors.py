"""Label and field selectors, with Kubernetes' grammar and matching rules.

Label selectors come from two places: query strings (``?labelSelector=app=web,tier!=db``),
parsed by :func:`parse_label_selector`, and objects (``spec.selector`` of a ReplicaSet or
Deployment), converted by :func:`selector_from_model`. Both yield the same small
:class:`LabelSelector`, so the apiserver's list filter and the controllers' ownership checks
cannot disagree.

Two selectors are special, as in Kubernetes: a *missing* object selector matches nothing (a
ReplicaSet without a selector must not adopt every pod), an *empty* one matches everything.

Field selectors (:func:`parse_field_selector`) compare dotted paths of the wire dict. A missing
field reads as ``""``, which is how ``spec.nodeName=`` selects unscheduled pods.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from apimachinery.errors import bad_request
from apimachinery.models.meta import LabelSelector as LabelSelectorModel

EQUALS = "="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_MODEL_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}
_SET_OPERATORS = (IN, NOT_IN)
_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CHARSET = "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"


@dataclass(frozen=True)
class Requirement:
    """One term of a label selector: a key, an operator and its values."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == EXISTS:
            return self.key in labels
        if self.operator == DOES_NOT_EXIST:
            return self.key not in labels
        if self.operator in (EQUALS, IN):
            return self.key in labels and labels[self.key] in self.values
        if self.operator in (NOT_EQUALS, NOT_IN):
            return self.key not in labels or labels[self.key] not in self.values
        return self._compare(labels.get(self.key))

    def _compare(self, value: str | None) -> bool:
        """``gt`` / ``lt``: both sides must be integers, else the label does not match."""
        try:
            actual, bound = int(value or ""), int(self.values[0])
        except ValueError:
            return False
        return actual > bound if self.operator == GREATER_THAN else actual < bound

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return f"!{self.key}"
        if self.operator in _SET_OPERATORS:
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{self.values[0]}"


@dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector: all requirements must hold (logical AND)."""

    requirements: tuple[Requirement, ...] = ()
    matches_nothing: bool = False

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    @classmethod
    def nothing(cls) -> LabelSelector:
        return cls(matches_nothing=True)

    @property
    def empty(self) -> bool:
        """True when the selector selects everything."""
        return not self.requirements and not self.matches_nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.matches_nothing:
            return False
        present = labels or {}
        return all(req.matches(present) for req in self.requirements)

    def __str__(self) -> str:
        """The canonical form: requirements sorted by key, set values sorted, ``=`` not ``==``."""
        return ",".join(str(req) for req in self.requirements)


def _sorted(requirements: list[Requirement]) -> LabelSelector:
    return LabelSelector(tuple(sorted(requirements, key=lambda req: req.key)))


# --- validation -------------------------------------------------------------------------------


def _key_problem(key: str) -> str | None:
    """Why ``key`` is not a qualified name (``[prefix/]name``), or None when it is."""
    parts = key.split("/")
    if len(parts) > 2:
        return "a qualified name must have at most one '/' (e.g. 'example.com/MyName')"
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            return "prefix part must be non-empty"
        if len(prefix) > 253 or not _SUBDOMAIN.match(prefix):
            return "prefix part must be a lowercase DNS subdomain of at most 253 characters"
    name = parts[-1]
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _NAME.match(name):
        return f"name part must consist of {_CHARSET}"
    return None


def _value_problem(value: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    if value and not _NAME.match(value):
        return f"a valid label value must be an empty string or consist of {_CHARSET}"
    return None


def new_requirement(key: str, operator: str, values: list[str] | tuple[str, ...] = ()) -> Requirement:
    """Validate and build a requirement; raises ``ValueError`` naming the problem."""
    problem = _key_problem(key)
    if problem:
        raise ValueError(f"invalid label key {key!r}: {problem}")
    if operator in _SET_OPERATORS and not values:
        raise ValueError(f"for 'in', 'notin' operators, values set can't be empty (key {key!r})")
    if operator in (EXISTS, DOES_NOT_EXIST) and values:
        raise ValueError(f"values set must be empty for exists and does not exist (key {key!r})")
    if operator in (EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN) and len(values) != 1:
        raise ValueError(f"exact-match and comparison operators need exactly one value (key {key!r})")
    for value in values:
        if operator in (GREATER_THAN, LESS_THAN):
            if not re.fullmatch(r"[+-]?[0-9]+", value):
                raise ValueError(f"for 'gt', 'lt' operators, the value must be an integer, got {value!r}")
        elif problem := _value_problem(value):
            raise ValueError(f"invalid label value {value!r}: {problem}")
    return Requirement(key, operator, tuple(sorted(set(values))) if operator in _SET_OPERATORS else tuple(values))


# --- the string grammar -----------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<op>==|!=|[=!(),<>])|(?P<ident>[^\s=!(),<>]+))")
_OPERATOR_TOKENS = {"=": EQUALS, "==": EQUALS, "!=": NOT_EQUALS, "in": IN, "notin": NOT_IN, ">": GREATER_THAN, "<": LESS_THAN}
_END = ""


class _Lexer:
    """Tokens of a selector string: operators, parentheses, commas and identifiers."""

    def __init__(self, text: str) -> None:
        self._tokens = list(self._scan(text))
        self._pos = 0

    @staticmethod
    def _scan(text: str) -> Iterator[tuple[str, str]]:
        pos, end = 0, len(text.rstrip())
        while pos < end:
            match = _TOKEN.match(text, pos)
            assert match is not None  # every non-space character starts some token
            pos = match.end()
            yield ("op", match["op"]) if match["op"] else ("ident", match["ident"])

    def peek(self) -> tuple[str, str]:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else ("end", _END)

    def next(self) -> tuple[str, str]:
        token = self.peek()
        self._pos += 1
        return token


def _found(token: tuple[str, str], expected: str) -> ValueError:
    shown = "end of string" if token[0] == "end" else token[1]
    return ValueError(f"found '{shown}', expected: {expected}")


def parse_label_selector(text: str) -> LabelSelector:
    """Parse ``a=b,c!=d,e in (f,g),!h`` into a selector; ``""`` selects everything.

    Raises ``ApiError`` 400 BadRequest naming the problem.
    """
    lexer = _Lexer(text)
    requirements: list[Requirement] = []
    try:
        while lexer.peek()[0] != "end":
            requirements.append(_parse_requirement(lexer))
            token = lexer.next()
            if token[0] == "end":
                break
            if token != ("op", ","):
                raise _found(token, "',' or 'end of string'")
            if lexer.peek()[0] == "end":
                raise _found(lexer.peek(), "identifier")
    except ValueError as exc:
        raise bad_request(f'unable to parse label selector "{text}": {exc}') from None
    return _sorted(requirements)


def _parse_requirement(lexer: _Lexer) -> Requirement:
    token = lexer.next()
    negated = token == ("op", "!")
    if negated:
        token = lexer.next()
    if token[0] != "ident":
        raise _found(token, "identifier")
    key = token[1]
    following = lexer.peek()
    if following[0] == "end" or following == ("op", ","):
        return new_requirement(key, DOES_NOT_EXIST if negated else EXISTS)
    if negated:
        raise _found(following, "',' or 'end of string' after a '!key' term")
    operator = _OPERATOR_TOKENS.get(lexer.next()[1])
    if operator is None:
        raise _found(following, "'=', '==', '!=', 'in', 'notin', '>' or '<'")
    if operator in _SET_OPERATORS:
        return new_requirement(key, operator, _parse_set(lexer))
    return new_requirement(key, operator, [_parse_exact(lexer)])


def _parse_exact(lexer: _Lexer) -> str:
    token = lexer.peek()
    if token[0] == "end" or token == ("op", ","):
        return ""  # "a=" selects an empty value
    if token[0] != "ident":
        raise _found(token, "identifier")
    return lexer.next()[1]


def _parse_set(lexer: _Lexer) -> list[str]:
    """``(x, y)``; empty members (``(x,)``) stand for the empty value."""
    if (token := lexer.next()) != ("op", "("):
        raise _found(token, "'('")
    values: list[str] = []
    current: str | None = None
    saw_comma = False
    while True:
        token = lexer.next()
        if token[0] == "ident" and current is None:
            current = token[1]
        elif token == ("op", ","):
            values.append(current or "")
            current, saw_comma = None, True
        elif token == ("op", ")"):
            if current is not None or saw_comma:
                values.append(current or "")
            return values
        else:
            raise _found(token, "',', ')' or identifier")


# --- selectors stored in objects --------------------------------------------------------------


def selector_from_model(selector: LabelSelectorModel | Mapping[str, Any] | None) -> LabelSelector:
    """``matchLabels`` + ``matchExpressions`` as a selector. None matches nothing, ``{}`` everything.

    Raises ``ApiError`` 400 when an operator or a key/value is invalid.
    """
    if selector is None:
        return LabelSelector.nothing()
    wire = selector.to_dict() if isinstance(selector, LabelSelectorModel) else dict(selector)
    try:
        requirements = [new_requirement(k, EQUALS, [v]) for k, v in (wire.get("matchLabels") or {}).items()]
        requirements.extend(_from_expression(expr) for expr in wire.get("matchExpressions") or [])
    except (ValueError, TypeError, AttributeError) as exc:
        raise bad_request(f"invalid label selector: {exc}") from None
    return _sorted(requirements)


def _from_expression(expression: Mapping[str, Any]) -> Requirement:
    operator = _MODEL_OPERATORS.get(expression.get("operator", ""))
    if operator is None:
        raise ValueError(f"{expression.get('operator')!r} is not a valid label selector operator")
    return new_requirement(str(expression.get("key", "")), operator, list(expression.get("values") or []))


def selector_to_string(selector: LabelSelectorModel | Mapping[str, Any] | None) -> str:
    """The canonical string of an object's selector (``Scale.status.selector``); ``""`` if none."""
    return str(selector_from_model(selector))


# --- field selectors --------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRequirement:
    path: str
    operator: str  # EQUALS or NOT_EQUALS
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        actual = field_value(obj, self.path)
        return (actual == self.value) == (self.operator == EQUALS)

    def __str__(self) -> str:
        return f"{self.path}{self.operator}{_escape_field_value(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    """Equality tests on dotted paths of an object's wire form; all must hold."""

    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(req.matches(obj) for req in self.requirements)

    def exact(self, path: str) -> str | None:
        """The value ``path`` must equal, if the selector pins it (for indexed lookups)."""
        for req in self.requirements:
            if req.path == path and req.operator == EQUALS:
                return req.value
        return None

    def __str__(self) -> str:
        return ",".join(str(req) for req in self.requirements)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The string form of the field at ``path``; ``""`` when any step is missing."""
    current: Any = obj
    for step in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(step)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return current if isinstance(current, str) else str(current)


def parse_field_selector(text: str) -> FieldSelector:
    """Parse ``metadata.name=x,spec.nodeName!=`` (values may escape ``\\,`` ``\\=`` ``\\\\``).

    Raises ``ApiError`` 400 BadRequest naming the term it cannot understand.
    """
    if not text:
        return FieldSelector()
    try:
        return FieldSelector(tuple(_parse_field_term(term) for term in _split_unescaped(text, ",")))
    except ValueError as exc:
        raise bad_request(f'invalid field selector "{text}": {exc}') from None


def _parse_field_term(term: str) -> FieldRequirement:
    for index in range(len(term)):
        for symbol, operator in (("!=", NOT_EQUALS), ("==", EQUALS), ("=", EQUALS)):
            if term.startswith(symbol, index):
                path = term[:index].strip()
                if not path:
                    raise ValueError(f"can't understand '{term}': the field path is empty")
                return FieldRequirement(path, operator, _unescape_field_value(term[index + len(symbol):]))
    raise ValueError(f"can't understand '{term}': expected field=value, field==value or field!=value")


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        current.append("\\")
    parts.append("".join(current))
    return parts


def _unescape_field_value(raw: str) -> str:
    out, chars = [], iter(raw)
    for char in chars:
        if char == "=":
            raise ValueError(f"unescaped '=' in value {raw!r} (write it as '\\=')")
        if char != "\\":
            out.append(char)
            continue
        nxt = next(chars, "")
        if nxt not in ("\\", ",", "="):
            raise ValueError(f"invalid escape sequence '\\{nxt}' in value {raw!r}")
        out.append(nxt)
    return "".join(out)


def _escape_field_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")

