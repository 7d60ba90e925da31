"""The fields an object sets, read with the kind's list semantics; and reading or removing one.

Which lists are associative (merged by key) or sets comes from the strategic-merge table in
:func:`apimachinery.patch.merge_keys_for`, the single description of list semantics in the
project: server-side apply merges the same lists, on the same keys, as ``kubectl apply`` does.
Every other list is atomic: the list as a whole is one field.

A path is in an object's set when it names, as structured-merge-diff's ``ToFieldSet`` has it, a
scalar, ``null``, an atomic list, an empty map, or an item of a keyed list or set (the item is a
member of the set, and its fields are too).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from apimachinery.patch import SET
from apiserver.fieldmanager import fieldpath
from apiserver.fieldmanager.fieldpath import FieldSet, Path

_MISSING = object()


def field_set(obj: Mapping[str, Any], keys: Mapping[str, str]) -> FieldSet:
    """Every path ``obj`` sets; ``keys`` maps dotted list paths to merge keys (or :data:`SET`)."""
    return frozenset(field_values(obj, keys))


def field_values(obj: Mapping[str, Any], keys: Mapping[str, str], *, at: Path = (),
                 dotted: str = "") -> dict[Path, Any]:
    """Every path ``obj`` sets, with its value (a list item's value is the item itself).

    ``at`` and ``dotted`` place ``obj`` inside a larger object (to walk only its ``status``)."""
    out: dict[Path, Any] = {}
    _walk_map(obj, at, dotted, keys, out)
    return out


def _walk_map(obj: Mapping[str, Any], at: Path, dotted: str, keys: Mapping[str, str], out: dict[Path, Any]) -> None:
    for name, item in obj.items():
        _walk_value(item, at + (("f", name),), f"{dotted}.{name}" if dotted else name, keys, out)


def _walk_value(item: Any, at: Path, dotted: str, keys: Mapping[str, str], out: dict[Path, Any]) -> None:
    if isinstance(item, dict):
        if item:
            _walk_map(item, at, dotted, keys, out)
        else:
            out[at] = item
        return
    merge_key = keys.get(dotted) if isinstance(item, list) else None
    if merge_key is None or not _keyed(item, merge_key):
        out[at] = item  # a scalar, null, or an atomic list
        return
    for element in item:
        if merge_key == SET:
            out[at + (fieldpath.value(element),)] = element
        else:
            here = at + (fieldpath.key({merge_key: element[merge_key]}),)
            out[here] = element
            _walk_map(element, here, dotted, keys, out)


def _keyed(items: list[Any], merge_key: str) -> bool:
    """Whether every item can be addressed by the key (else the list is kept whole)."""
    if merge_key == SET:
        return all(not isinstance(element, dict | list) for element in items)
    return all(isinstance(element, dict) and merge_key in element for element in items)


def _matches(element: Any, step: tuple[str, str]) -> bool:
    kind, text = step
    if kind == "v":
        return not isinstance(element, dict | list) and fieldpath.compact_json(element) == text
    if kind == "k" and isinstance(element, dict):
        wanted = fieldpath.key({name: element.get(name) for name in _key_names(text)})
        return wanted[1] == text
    return False


def _key_names(text: str) -> list[str]:
    return list(json.loads(text))


def value_at(obj: Any, path: Path) -> Any:
    """The value ``path`` names in ``obj``, or :data:`MISSING`."""
    current = obj
    for step in path:
        current = _step(current, step)
        if current is _MISSING:
            break
    return current


def _step(current: Any, step: tuple[str, str]) -> Any:
    kind, text = step
    if kind == "f":
        return current.get(text, _MISSING) if isinstance(current, dict) else _MISSING
    if not isinstance(current, list):
        return _MISSING
    if kind == "i":
        index = int(text)
        return current[index] if index < len(current) else _MISSING
    return next((element for element in current if _matches(element, step)), _MISSING)


MISSING = _MISSING


def remove(obj: dict[str, Any], path: Path) -> None:
    """Delete the field or list item ``path`` names from ``obj`` (in place); absent is fine."""
    parent = value_at(obj, path[:-1])
    kind, text = path[-1]
    if kind == "f" and isinstance(parent, dict):
        parent.pop(text, None)
    elif kind in ("k", "v") and isinstance(parent, list):
        parent[:] = [element for element in parent if not _matches(element, path[-1])]


def is_key_field(path: Path) -> bool:
    """Whether ``path`` is a key field of the list item holding it (kept while the item is)."""
    if len(path) < 2 or path[-1][0] != "f" or path[-2][0] != "k":
        return False
    return path[-1][1] in _key_names(path[-2][1])


def changes(old: Mapping[str, Any], new: Mapping[str, Any], keys: Mapping[str, str]) -> tuple[set[Path], set[Path]]:
    """The paths ``new`` adds or changes, and those it drops, relative to ``old``.

    The same answer as comparing the two objects' :func:`field_values`, but subtrees that are
    equal (one C-level ``==``) are skipped, so a write costs in proportion to what it changed."""
    changed: set[Path] = set()
    removed: set[Path] = set()
    _diff_maps(old, new, (), "", keys, changed, removed)
    return changed, removed


def _diff_maps(old: Mapping[str, Any], new: Mapping[str, Any], at: Path, dotted: str, keys: Mapping[str, str],
               changed: set[Path], removed: set[Path]) -> None:
    for name, after in new.items():
        here, inner = at + (("f", name),), f"{dotted}.{name}" if dotted else name
        if name not in old:
            changed.update(_values_of(after, here, inner, keys))
        else:
            _diff_values(old[name], after, here, inner, keys, changed, removed)
    for name, before in old.items():
        if name not in new:
            removed.update(_values_of(before, at + (("f", name),), f"{dotted}.{name}" if dotted else name, keys))


def _values_of(item: Any, at: Path, dotted: str, keys: Mapping[str, str]) -> dict[Path, Any]:
    out: dict[Path, Any] = {}
    _walk_value(item, at, dotted, keys, out)
    return out


def _diff_values(before: Any, after: Any, at: Path, dotted: str, keys: Mapping[str, str],
                 changed: set[Path], removed: set[Path]) -> None:
    if type(before) is type(after) and before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict) and before and after:
        _diff_maps(before, after, at, dotted, keys, changed, removed)
        return
    merge_key = keys.get(dotted)
    if (isinstance(before, list) and isinstance(after, list) and merge_key is not None
            and merge_key != SET and _keyed(before, merge_key) and _keyed(after, merge_key)):
        _diff_items(before, after, at, dotted, merge_key, keys, changed, removed)
        return
    old_paths, new_paths = _values_of(before, at, dotted, keys), _values_of(after, at, dotted, keys)
    removed.update(p for p in old_paths if p not in new_paths)
    changed.update(p for p, v in new_paths.items() if p not in old_paths or differs(old_paths[p], v))


def _diff_items(before: list[Any], after: list[Any], at: Path, dotted: str, merge_key: str,
                keys: Mapping[str, str], changed: set[Path], removed: set[Path]) -> None:
    """Two keyed lists: items matched by key, recursing only into those that differ."""
    def by_key(items: list[Any]) -> dict[Path, Any]:
        return {at + (fieldpath.key({merge_key: e[merge_key]}),): e for e in items}

    old_items, new_items = by_key(before), by_key(after)
    for here, item in new_items.items():
        if here not in old_items:
            changed.add(here)
            changed.update(field_values(item, keys, at=here, dotted=dotted))
        elif item != old_items[here]:
            _diff_maps(old_items[here], item, here, dotted, keys, changed, removed)
    for here, item in old_items.items():
        if here not in new_items:
            removed.add(here)
            removed.update(field_values(item, keys, at=here, dotted=dotted))


def differs(before: Any, after: Any) -> bool:
    """Whether a field's value changed (``1`` is not ``True``)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return False  # a list item: its own fields say what changed
    return type(before) is not type(after) or bool(before != after)
