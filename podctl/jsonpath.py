"""kubectl's ``-o jsonpath=TEMPLATE``: the part of its template language people use.

Supported: text outside braces; ``{.a.b}``, ``{.items[*].metadata.name}``, ``{.a[0]}``,
``{.a[1:3]}``, ``{.a.*}``, ``{..name}`` (recursive), ``{['dotted.key']}``, filters
``[?(@.type=="Ready")]`` (``==`` / ``!=``, or bare ``@.field`` for "has field"), string
literals ``{"\\n"}``, and ``{range EXPR}...{end}``. Several results of one expression are joined
by a space; strings print raw, other values as JSON; a missing field prints nothing (kubectl's
``--allow-missing-template-keys`` default).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from podctl.errors import PodctlError

_TOKEN = re.compile(r"\{((?:[^{}\"']|\"(?:\\.|[^\"\\])*\"|'[^']*')*)\}")
_MISSING = object()


@dataclass
class _Node:
    text: str = ""
    expr: str | None = None
    body: list[_Node] = field(default_factory=list)
    is_range: bool = False


def parse_template(template: str) -> list[_Node]:
    """Split a template into text, expressions and ``range``/``end`` blocks."""
    root: list[_Node] = []
    stack: list[list[_Node]] = [root]
    position = 0
    for match in _TOKEN.finditer(template):
        if match.start() > position:
            stack[-1].append(_Node(text=template[position:match.start()]))
        position = match.end()
        inner = match.group(1).strip()
        if inner.startswith("range "):
            node = _Node(expr=inner[len("range "):].strip(), is_range=True)
            stack[-1].append(node)
            stack.append(node.body)
        elif inner == "end":
            if len(stack) == 1:
                raise PodctlError(f'error parsing jsonpath {template}: unexpected "{{end}}"')
            stack.pop()
        else:
            stack[-1].append(_Node(expr=inner))
    if len(stack) > 1:
        raise PodctlError(f"error parsing jsonpath {template}: unclosed {{range}}")
    if position < len(template):
        root.append(_Node(text=template[position:]))
    return root


def execute(template: str, data: Any) -> str:
    """Render ``template`` against ``data``."""
    return "".join(_render(parse_template(template), data, data))


def _render(nodes: list[_Node], data: Any, root: Any) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if node.expr is None:
            out.append(node.text)
        elif node.is_range:
            for item in evaluate(node.expr, data, root):
                out.extend(_render(node.body, item, root))
        elif node.expr.startswith(('"', "'")):
            out.append(_literal(node.expr))
        else:
            out.append(" ".join(_text(v) for v in evaluate(node.expr, data, root)))
    return out


def _literal(expr: str) -> str:
    try:
        value = json.loads(expr) if expr.startswith('"') else expr[1:-1]
    except ValueError:
        raise PodctlError(f"error parsing jsonpath: invalid string literal {expr}") from None
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else json.dumps(value)


_STEP = re.compile(
    r"\.\.(?P<recurse>[\w\-]+|\*)|\.(?P<name>[\w\-/]+|\*)|\[(?P<bracket>(?:[^\]\"']|\"[^\"]*\"|'[^']*')*)\]"
)


def steps(expr: str) -> list[tuple[str, str]]:
    """``.items[*].metadata.name`` -> ``[("name","items"), ("index","*"), ...]``."""
    expr = expr.strip()
    if expr.startswith(("$", "@")):
        expr = expr[1:]
    if expr == "" or expr == ".":
        return []
    result, position = [], 0
    while position < len(expr):
        match = _STEP.match(expr, position)
        if match is None:
            raise PodctlError(f"error parsing jsonpath {{{expr}}}: unrecognized at {expr[position:]!r}")
        position = match.end()
        if match.group("recurse") is not None:
            result.append(("recurse", match.group("recurse")))
        elif match.group("name") is not None:
            result.append(("name", match.group("name")))
        else:
            result.append(_bracket(match.group("bracket").strip()))
    return result


def _bracket(inner: str) -> tuple[str, str]:
    if inner.startswith(("'", '"')):
        return ("name", inner[1:-1])
    if inner.startswith("?(") and inner.endswith(")"):
        return ("filter", inner[2:-1].strip())
    return ("index", inner)


def evaluate(expr: str, data: Any, root: Any = None) -> list[Any]:
    """All values ``expr`` selects in ``data`` (``$`` refers to ``root``)."""
    current = [root if expr.strip().startswith("$") and root is not None else data]
    for kind, arg in steps(expr):
        current = [v for item in current for v in _step(kind, arg, item) if v is not _MISSING]
    return current


def _step(kind: str, arg: str, item: Any) -> list[Any]:
    if kind == "name":
        if arg == "*":
            return list(item.values()) if isinstance(item, dict) else list(item) if isinstance(item, list) else []
        return [item.get(arg, _MISSING)] if isinstance(item, dict) else []
    if kind == "recurse":
        return _recurse(arg, item)
    if kind == "filter":
        return [v for v in (item if isinstance(item, list) else []) if _matches(arg, v)]
    return _index(arg, item)


def _index(arg: str, item: Any) -> list[Any]:
    if not isinstance(item, list):
        return [item.get(arg, _MISSING)] if isinstance(item, dict) and arg != "*" else (
            list(item.values()) if isinstance(item, dict) else [])
    if arg == "*":
        return list(item)
    try:
        if ":" in arg:
            start, _, stop = arg.partition(":")
            return item[int(start) if start else None:int(stop) if stop else None]
        index = int(arg)
    except ValueError:
        raise PodctlError(f"error parsing jsonpath: invalid array index [{arg}]") from None
    return [item[index]] if -len(item) <= index < len(item) else []


def _recurse(name: str, item: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(item, dict):
        if name == "*":
            found.extend(item.values())
        elif name in item:
            found.append(item[name])
        for value in item.values():
            found.extend(_recurse(name, value))
    elif isinstance(item, list):
        for value in item:
            found.extend(_recurse(name, value))
    return found


_COMPARE = re.compile(r"^(@[^=!<>]*?)\s*(==|!=)\s*(.+)$")


def _matches(condition: str, item: Any) -> bool:
    match = _COMPARE.match(condition)
    if match is None:
        return bool(evaluate(condition, item))
    left, operator, right = match.groups()
    right = right.strip()
    expected: Any = right[1:-1] if right[:1] in ("'", '"') else _number(right)
    values = evaluate(left, item)
    equal = bool(values) and values[0] == expected
    return equal if operator == "==" else not equal


def _number(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
