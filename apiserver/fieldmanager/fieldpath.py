"""Field paths and sets of them, and their FieldsV1 wire form, as structured-merge-diff has them.

A path names one field of an object: a sequence of elements, each of one of four kinds, spelled
as in FieldsV1 keys:

* ``f:<name>`` - a field of a map or struct (``f:spec``, ``f:replicas``);
* ``k:<json>`` - the item of an associative list whose key fields have these values
  (``k:{"name":"nginx"}``, key fields sorted by name, compact JSON);
* ``v:<json>`` - the item of a set (a list of scalars merged as a set: ``v:"foo"``);
* ``i:<n>`` - an item by index (never produced here: lists without keys are atomic).

A :data:`FieldSet` is a plain frozenset of paths. Sets stay small (one entry per field of one
object), so set algebra on Python frozensets is both simplest and fast enough; the tree shape
exists only in :func:`encode` / :func:`decode`.

FieldsV1 is that tree as JSON: each element a key, a leaf ``{}``, and ``".": {}`` marking a path
that is itself in the set *and* has children (a list item whose fields are owned too).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from typing import Any

from apimachinery.errors import bad_request

Element = tuple[str, str]  # (kind, text): ("f", "spec"), ("k", '{"name":"c"}'), ("v", '"x"')
Path = tuple[Element, ...]
FieldSet = frozenset[Path]

EMPTY: FieldSet = frozenset()
#: distinct field sets whose FieldsV1 spelling is remembered, and the most paths one may have:
#: a pod template owns tens; a client's giant objects are spelled each time, not kept
ENCODED_SETS = 1024
REMEMBERED_SET_PATHS = 512
_KINDS = ("f", "k", "v", "i")
_RANK = {kind: rank for rank, kind in enumerate(_KINDS)}


def compact_json(value: Any) -> str:
    """JSON as Go's encoder writes it in paths: compact, keys sorted, HTML characters escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return escape_html(text)


def escape_html(text: str) -> str:
    """Go's encoding/json escapes ``<``, ``>``, ``&`` and the JavaScript line separators."""
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def field(name: str) -> Element:
    return ("f", name)


def key(fields: dict[str, Any]) -> Element:
    return ("k", compact_json(fields))


def value(item: Any) -> Element:
    return ("v", compact_json(item))


def path_of(*names: str) -> Path:
    """A path of plain field names: ``path_of("spec", "replicas")``."""
    return tuple(field(name) for name in names)


def to_string(path: Path) -> str:
    """The path as Kubernetes prints it in conflicts: ``.spec.containers[name="c"].image``."""
    parts = []
    for kind, text in path:
        if kind == "f":
            parts.append(f".{text}")
        elif kind == "k":
            fields = json.loads(text)
            parts.append("[" + ",".join(f"{k}={_scalar_text(v)}" for k, v in fields.items()) + "]")
        elif kind == "v":
            parts.append(f"[={_scalar_text(json.loads(text))}]")
        else:
            parts.append(f"[{text}]")
    return "".join(parts)


def _scalar_text(item: Any) -> str:
    if isinstance(item, str):
        return json.dumps(item, ensure_ascii=False)
    return compact_json(item)


def has_prefix(path: Path, prefix: Path) -> bool:
    return path[: len(prefix)] == prefix


def under(paths: Iterable[Path], prefix: Path) -> FieldSet:
    """The paths at or below ``prefix``."""
    return frozenset(p for p in paths if has_prefix(p, prefix))


def without(paths: Iterable[Path], prefixes: Iterable[Path]) -> FieldSet:
    """``paths`` minus everything at or below any of ``prefixes``."""
    cut = tuple(prefixes)
    return frozenset(p for p in paths if not any(has_prefix(p, c) for c in cut))


# --- FieldsV1 ---------------------------------------------------------------------------------


def _sort_key(element: Element) -> tuple[int, Any]:
    kind, text = element
    return (_RANK[kind], int(text) if kind == "i" else text)


def encode(paths: Iterable[Path]) -> dict[str, Any]:
    """The FieldsV1 object of a set of paths."""
    tree: dict[Element, Any] = {}
    members: set[Path] = set()
    for path in paths:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        members.add(path)
    return _emit(tree, (), members)


def encode_set(paths: FieldSet) -> dict[str, Any]:
    """:func:`encode` of a set, remembered when small: pods made from one template own the same
    fields, so most writes spell a set already spelled. The object returned is shared and must
    not be changed (entries read from stored objects are written back shared in the same way)."""
    return _remembered(paths) if len(paths) <= REMEMBERED_SET_PATHS else encode(paths)


@functools.lru_cache(maxsize=ENCODED_SETS)
def _remembered(paths: FieldSet) -> dict[str, Any]:
    return encode(paths)


def _emit(tree: dict[Element, Any], at: Path, members: set[Path]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for element in sorted(tree, key=_sort_key):
        path = at + (element,)
        children = _emit(tree[element], path, members)
        if children and path in members:
            children = {".": {}, **children}
        out[f"{element[0]}:{element[1]}"] = children
    return out


def decode(fields_v1: Any, *, trusted: bool = False) -> FieldSet:
    """The set a FieldsV1 object spells; 400 BadRequest when it is malformed. A ``trusted`` one
    (written by :func:`encode`) is read as it is, without re-spelling its elements."""
    if not isinstance(fields_v1, dict):
        raise bad_request("metadata.managedFields: fieldsV1 must be a JSON object")
    out: set[Path] = set()
    _collect(fields_v1, (), out, trusted=trusted)
    return frozenset(out)


def _collect(node: dict[str, Any], at: Path, out: set[Path], *, trusted: bool) -> None:
    for name, child in node.items():
        if name == ".":
            if at:
                out.add(at)
            continue
        kind, sep, text = name.partition(":")
        if not isinstance(child, dict) or not trusted and (not sep or kind not in _KINDS):
            raise bad_request(f"metadata.managedFields: invalid fieldsV1 key {name!r}")
        path = at + ((kind, text if trusted else _canonical(kind, text)),)
        if child:
            _collect(child, path, out, trusted=trusted)
        else:
            out.add(path)


def contains(fields_v1: dict[str, Any], path: Path) -> bool:
    """Whether the FieldsV1 tree holds ``path``, read without decoding the rest of it."""
    node: Any = fields_v1
    for kind, text in path:
        node = node.get(f"{kind}:{text}") if isinstance(node, dict) else None
        if node is None:
            return False
    return isinstance(node, dict) and (not node or "." in node)


def _canonical(kind: str, text: str) -> str:
    """Re-spell a decoded key or value element the way :func:`key` and :func:`value` do."""
    if kind in ("k", "v"):
        try:
            return compact_json(json.loads(text))
        except ValueError:
            raise bad_request(f"metadata.managedFields: invalid fieldsV1 element {kind}:{text}") from None
    if kind == "i" and not text.isdigit():
        raise bad_request(f"metadata.managedFields: invalid fieldsV1 index i:{text}")
    return text
