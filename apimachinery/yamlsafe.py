"""Loading untrusted manifests and request bodies without trusting them.

Manifests come from users (``podctl apply -f``) and request bodies from the network, so the
loader refuses everything a Kubernetes object never needs and an attacker might use:

* input over ``max_bytes`` (3 MiB, the apiserver's request limit) is refused before parsing;
* anchors and aliases are refused *while reading parser events*, before any structure is
  built, so a "billion laughs" document fails on its first ``&anchor`` in microseconds;
* only the plain JSON tags (``!!str``, ``!!int``, ``!!float``, ``!!bool``, ``!!null``, ``!!map``,
  ``!!seq``) may be written explicitly; ``!!python/...``, ``!!binary``, custom ``!tags`` fail;
* nesting deeper than :data:`MAX_DEPTH` fails instead of exhausting the stack;
* duplicate keys, non-string keys that have no JSON spelling, and ``.inf``/``.nan`` fail,
  because the result must be plain JSON data.

Scalars resolve as YAML 1.1 (``yes``/``on`` are booleans, like Kubernetes' YAML decoder) except
that dates stay strings and ``1:30`` is not a base-60 number. Each document is composed from
the libyaml event stream (``CSafeLoader``'s parser when available) by a small composer here,
then built by PyYAML's safe constructor, so no unsafe constructor is ever reachable.

Errors are :class:`ManifestError`, which names the source, document and line:
``manifests/web.yaml: document 2, line 7: aliases (*name) are not allowed``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Hashable, Iterator
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    Event,
    MappingEndEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from apimachinery import jsonio
from apimachinery.errors import ApiError

DEFAULT_MAX_BYTES = 3 * 1024 * 1024
MAX_DEPTH = 100

_PARSER_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CORE = "tag:yaml.org,2002:"
_COLLECTION_TAGS = {_CORE + "map", _CORE + "seq"}
_SCALAR_TAGS = {_CORE + name for name in ("str", "int", "float", "bool", "null")}


class ManifestError(Exception):
    """A manifest or request body that cannot be read, with where it went wrong."""

    def __init__(self, message: str, *, source: str, document: int | None = None, line: int | None = None) -> None:
        self.source = source
        self.document = document
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [part for part in (
            f"document {self.document}" if self.document is not None else "",
            f"line {self.line}" if self.line is not None else "",
        ) if part]
        location = f"{self.source}: {', '.join(where)}" if where else self.source
        return f"{location}: {self.message}"


class _NodeError(Exception):
    """A refusal found while composing or constructing, with its 1-based line."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.line: int | None = mark.line + 1 if mark is not None else None


class _ManifestResolver(BaseResolver):
    """YAML 1.1 implicit types minus timestamps, merge keys and base-60 numbers."""


_IMPLICIT_TYPES = (
    ("bool", r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$", "yYnNtTfFoO"),
    ("int", r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
)
for _name, _pattern, _first in _IMPLICIT_TYPES:
    _ManifestResolver.add_implicit_resolver(_CORE + _name, re.compile(_pattern), list(_first))
_ManifestResolver.add_implicit_resolver(_CORE + "null", re.compile(r"^$"), [""])


class _Composer:
    """Builds node trees from parser events, refusing anchors, aliases and foreign tags."""

    def __init__(self, events: Iterator[Event]) -> None:
        self._events = events
        self._pending: Event | None = None
        self._resolver = _ManifestResolver()
        self.document = 0

    def _peek(self) -> Event:
        if self._pending is None:
            self._pending = next(self._events)
        return self._pending

    def _next(self) -> Event:
        event = self._peek()
        self._pending = None
        return event

    def documents(self) -> Iterator[Node]:
        """Each document's root node; ``document`` counts documents from 1."""
        if not isinstance(self._next(), StreamStartEvent):
            raise _NodeError("not a YAML stream", None)
        while not isinstance(self._next(), StreamEndEvent):  # DocumentStartEvent
            self.document += 1
            node = self._node(depth=1)
            self._next()  # DocumentEndEvent
            yield node

    def _node(self, depth: int) -> Node:
        event = self._next()
        _refuse_unsafe(event, depth)
        assert isinstance(event, NodeEvent)
        if isinstance(event, ScalarEvent):
            return self._scalar(event)
        assert isinstance(event, CollectionStartEvent)
        tag = event.tag if event.tag not in (None, "!") else None
        if isinstance(event, SequenceStartEvent):
            items = []
            while not isinstance(self._peek(), SequenceEndEvent):
                items.append(self._node(depth + 1))
            end: Any = self._next()
            tag = tag or self._resolver.resolve(SequenceNode, None, event.implicit)
            return SequenceNode(tag, items, _mark(event), end.end_mark, flow_style=event.flow_style)
        pairs = []
        while not isinstance(self._peek(), MappingEndEvent):
            pairs.append((self._node(depth + 1), self._node(depth + 1)))
        end = self._next()
        tag = tag or self._resolver.resolve(MappingNode, None, event.implicit)
        return MappingNode(tag, pairs, _mark(event), end.end_mark, flow_style=event.flow_style)

    def _scalar(self, event: ScalarEvent) -> ScalarNode:
        tag = event.tag
        if tag in (None, "!"):
            tag = self._resolver.resolve(ScalarNode, event.value, event.implicit)
        elif tag != _CORE + "str":
            # An explicit !!int / !!float / !!bool / !!null must hold what that type looks like.
            looks_like = self._resolver.resolve(ScalarNode, event.value, (True, False))
            if looks_like != tag and (tag, looks_like) != (_CORE + "float", _CORE + "int"):
                raise _NodeError(f"value {event.value!r} cannot be read as {_short_tag(tag)}", event.start_mark)
        return ScalarNode(tag, event.value, _mark(event), _mark(event, end=True), style=event.style)


def _refuse_unsafe(event: Event, depth: int) -> None:
    if isinstance(event, AliasEvent):
        raise _NodeError(f"aliases (*{event.anchor}) are not allowed in manifests", event.start_mark)
    if not isinstance(event, NodeEvent):
        raise _NodeError(f"unexpected {type(event).__name__}", event.start_mark)
    if event.anchor is not None:
        raise _NodeError(f"anchors (&{event.anchor}) are not allowed in manifests", event.start_mark)
    tag = getattr(event, "tag", None)
    allowed = _SCALAR_TAGS if isinstance(event, ScalarEvent) else _COLLECTION_TAGS
    if tag not in (None, "!") and tag not in allowed:
        raise _NodeError(f"tag {_short_tag(tag)} is not allowed in manifests", event.start_mark)
    if depth > MAX_DEPTH:
        raise _NodeError(f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)


def _mark(event: Event, *, end: bool = False) -> Any:
    """libyaml's marks stand in for PyYAML's (same ``line``/``column``); typed loosely."""
    return event.end_mark if end else event.start_mark


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag


class _Constructor(SafeConstructor):
    """PyYAML's safe constructor, made to produce strict JSON data."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        if not isinstance(node, MappingNode):
            raise _NodeError(f"expected a mapping, found a {node.id}", node.start_mark)
        mapping: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = _json_key(self.construct_object(key_node, deep=True), key_node)
            if key in mapping:
                raise _NodeError(f"duplicate key {key!r}", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_finite_float(self, node: ScalarNode) -> float:
        value = self.construct_yaml_float(node)
        if not math.isfinite(value):
            raise _NodeError(f"{node.value!r} is not a finite number; JSON cannot carry it", node.start_mark)
        return value


_Constructor.yaml_constructors = {
    **SafeConstructor.yaml_constructors,
    _CORE + "float": _Constructor.construct_finite_float,
}


def _json_key(key: Any, node: Node) -> str:
    """Mapping keys become strings as Kubernetes' YAML-to-JSON conversion spells them."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int | float) and math.isfinite(key):
        return str(key)
    raise _NodeError(f"mapping key {key!r} has no JSON spelling; quote it", node.start_mark)


def _as_text(data: str | bytes, *, source: str, max_bytes: int) -> str:
    size = len(data)
    if isinstance(data, str) and size <= max_bytes < size * 4:
        size = len(data.encode("utf-8", "surrogatepass"))  # only encode when characters could tip it over
    if size > max_bytes:
        raise ManifestError(f"input is {size} bytes, over the limit of {max_bytes}", source=source)
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"input is not UTF-8 (byte {exc.start})", source=source) from None


def _yaml_error(exc: yaml.YAMLError, *, source: str, document: int) -> ManifestError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError):
        message = "; ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
    else:
        message = str(exc)
    line = mark.line + 1 if mark is not None else None
    return ManifestError(message, source=source, document=max(document, 1), line=line)


def _iter_documents(text: str, source: str) -> Iterator[tuple[int, int, Any]]:
    """(document number, first line, value) for every document, empty ones included."""
    composer = _Composer(yaml.parse(text, Loader=_PARSER_LOADER))
    constructor = _Constructor()
    try:
        for node in composer.documents():
            yield composer.document, node.start_mark.line + 1, constructor.construct_document(node)
    except _NodeError as exc:
        raise ManifestError(exc.message, source=source, document=composer.document or None, line=exc.line) from None
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source=source, document=composer.document) from None


def load_documents(
    text: str | bytes, *, source: str = "<stdin>", max_bytes: int = DEFAULT_MAX_BYTES
) -> list[dict[str, Any]]:
    """Every non-empty document of a multi-document manifest, each a JSON-ready mapping."""
    objects: list[dict[str, Any]] = []
    for number, line, value in _iter_documents(_as_text(text, source=source, max_bytes=max_bytes), source):
        if value is None:
            continue
        if not isinstance(value, dict):
            kind = "list" if isinstance(value, list) else type(value).__name__
            raise ManifestError(
                f"a manifest document must be a mapping (a Kubernetes object), not a {kind}",
                source=source, document=number, line=line,
            )
        objects.append(value)
    return objects


# --- request bodies ---------------------------------------------------------------------------

_JSON_TYPES = {"", "application/json"}
_YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}
_BODY = "request body"


def load_json_or_yaml(
    body: bytes, content_type: str, *, source: str = _BODY, max_bytes: int = DEFAULT_MAX_BYTES
) -> Any:
    """Decode a request body by its Content-Type (a missing one means JSON, as clients assume).

    JSON (``application/json``, ``*+json``) may be any JSON value, nested at most
    :data:`MAX_DEPTH` deep. YAML (``application/yaml``, ``*+yaml``) must be one mapping; a YAML
    body that is really JSON (kubectl's server-side apply) is read as JSON. Unreadable bodies
    raise :class:`ManifestError`; an unknown media type raises ``ApiError`` 415.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if len(body) > max_bytes:
        raise ManifestError(f"input is {len(body)} bytes, over the limit of {max_bytes}", source=source)
    if media in _JSON_TYPES or media.endswith("+json"):
        return _load_json(body, source)
    if media in _YAML_TYPES or media.endswith("+yaml"):
        return _load_yaml_body(body, source=source, max_bytes=max_bytes)
    raise ApiError(
        415,
        "UnsupportedMediaType",
        f'the body of the request was in an unknown format ("{media}") - accepted media types include: '
        "application/json, application/yaml, application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json, application/apply-patch+yaml",
    )


def _load_yaml_body(body: bytes, *, source: str, max_bytes: int) -> Any:
    if body.lstrip()[:1] == b"{":
        try:
            return _load_json(body, source)
        except ManifestError:
            pass  # YAML that merely starts with a flow mapping
    documents = load_documents(body, source=source, max_bytes=max_bytes)
    if len(documents) != 1:
        raise ManifestError(f"expected exactly one object, found {len(documents)} documents", source=source)
    return documents[0]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _load_json(body: bytes, source: str) -> Any:
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ManifestError(exc.msg, source=source, line=exc.lineno) from None
    except RecursionError:
        raise ManifestError(f"nesting deeper than {MAX_DEPTH} levels", source=source) from None
    except ValueError as exc:  # invalid encoding, NaN/Infinity
        raise ManifestError(str(exc), source=source) from None
    if jsonio.nested_deeper_than(value, MAX_DEPTH):
        raise ManifestError(f"nesting deeper than {MAX_DEPTH} levels", source=source)
    return value


