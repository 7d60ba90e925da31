"""The client-side apply patch: a three-way strategic merge, as kubectl computes it.

Three versions of an object meet in ``podctl apply``:

* ``original`` - what was applied last time (the ``last-applied-configuration`` annotation);
* ``modified`` - the file now, with the new annotation already set in it;
* ``current``  - the live object, including fields other writers set (status, defaults,
  a controller's annotations, a ``scale`` to 5).

The patch changes only what the file speaks about: every field of ``modified`` that differs
from ``current`` is set (additions and changes), and every field of ``original`` that is gone
from ``modified`` is deleted (``null``), but only if it is still there. Fields the file never
mentioned (``status``, defaulted ``imagePullPolicy``) are left alone, which is why the result is
empty - and apply writes nothing - when the file did not change.

Lists with a merge key (containers by ``name``, env by ``name``, ports by ``containerPort``; the
table comes from :func:`apimachinery.patch.merge_keys_for`) are diffed element by element: a
changed element sends only its changed fields plus its key, an element dropped from the file
becomes ``{"$patch": "delete", key: ...}``, and ``$setElementOrder/<list>`` keeps the file's
order. Lists of scalars with merge semantics (finalizers) add items and remove dropped ones with
``$deleteFromPrimitiveList/<list>``. Every other list is atomic and sent whole when it differs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from apimachinery.patch import SET, merge_keys_for

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

Obj = dict[str, Any]


def same(left: Any, right: Any) -> bool:
    """JSON equality (``True`` is not ``1``, key order does not matter)."""
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def without_nulls(value: Any) -> Any:
    """A manifest's explicit ``null``s mean "not set"; drop them before diffing."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def last_applied_json(obj: Obj) -> str:
    """The annotation's value: the object as applied, minus the annotation, as compact JSON."""
    clean = json.loads(json.dumps(obj))
    annotations = (clean.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            clean["metadata"].pop("annotations")
    return json.dumps(clean, sort_keys=True, separators=(",", ":")) + "\n"


def with_last_applied(obj: Obj) -> Obj:
    """A copy of ``obj`` carrying its own last-applied annotation, as apply sends it."""
    annotated = json.loads(json.dumps(obj))
    metadata = annotated.setdefault("metadata", {})
    annotations = metadata.get("annotations") or {}
    metadata["annotations"] = {**annotations, LAST_APPLIED: last_applied_json(obj)}
    return annotated


def read_last_applied(live: Obj) -> Obj | None:
    """The configuration recorded by the previous apply, if any (a corrupt one counts as none)."""
    raw = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def three_way_patch(*, original: Obj | None, modified: Obj, current: Obj, kind: str) -> Obj:
    """The strategic merge patch that turns ``current`` into what ``modified`` asks for."""
    keys = merge_keys_for(kind)
    return _diff_map(original or {}, without_nulls(modified), current, "", keys)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _diff_map(original: Obj, modified: Obj, current: Obj, path: str, keys: Mapping[str, str]) -> Obj:
    patch: Obj = {}
    for key in original:
        if key not in modified and key in current:
            patch[key] = None  # removed from the file: remove from the object
    for key, wanted in modified.items():
        field_path = _join(path, key)
        live, before = current.get(key), original.get(key)
        if isinstance(wanted, dict) and isinstance(live, dict):
            sub = _diff_map(before if isinstance(before, dict) else {}, wanted, live, field_path, keys)
            if sub:
                patch[key] = sub
        elif isinstance(wanted, list) and isinstance(live, list) and field_path in keys:
            _diff_merge_list(patch, key, before if isinstance(before, list) else [], wanted, live,
                             field_path, keys)
        elif key not in current or not same(wanted, live):
            patch[key] = wanted
    return patch


def _diff_merge_list(patch: Obj, key: str, original: list[Any], modified: list[Any], current: list[Any],
                     path: str, keys: Mapping[str, str]) -> None:
    merge_key = keys[path]
    if merge_key == SET or not all(isinstance(item, dict) for item in [*modified, *current]):
        _diff_scalar_set(patch, key, original, modified, current)
        return
    live_by = {json.dumps(e.get(merge_key)): e for e in current if isinstance(e, dict)}
    before_by = {json.dumps(e.get(merge_key)): e for e in original if isinstance(e, dict)}
    wanted_keys = [json.dumps(e.get(merge_key)) for e in modified]
    items: list[Any] = []
    for element, ident in zip(modified, wanted_keys, strict=True):
        live = live_by.get(ident)
        if live is None:
            items.append(element)
            continue
        before = before_by.get(ident)
        sub = _diff_map(before if isinstance(before, dict) else {}, element, live, path, keys)
        if sub:
            items.append({merge_key: element.get(merge_key), **sub})
    for ident, element in before_by.items():
        if ident not in wanted_keys and ident in live_by:
            items.append({"$patch": "delete", merge_key: element.get(merge_key)})
    if items:
        patch[key] = items
        patch[f"$setElementOrder/{key}"] = [{merge_key: e.get(merge_key)} for e in modified]


def _diff_scalar_set(patch: Obj, key: str, original: list[Any], modified: list[Any], current: list[Any]) -> None:
    added = [item for item in modified if not any(same(item, live) for live in current)]
    dropped = [item for item in original
               if not any(same(item, m) for m in modified) and any(same(item, live) for live in current)]
    if added:
        patch[key] = added
    if dropped:
        patch[f"$deleteFromPrimitiveList/{key}"] = dropped
