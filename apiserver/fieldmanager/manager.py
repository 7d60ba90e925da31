"""Who owns which field after a write: the ``Update`` and ``Apply`` rules of structured-merge-diff.

Both compare the object before and after the write. A field whose value changed or that was
added is *changed*; one that disappeared is *removed*.

* An **Update** (create, PUT, any non-apply PATCH) takes every changed field for its manager,
  from whoever held it, without conflict; removed fields leave every manager.
* An **Apply** owns exactly the fields of its configuration. A changed field another manager
  holds is a conflict (409) unless the apply is forced, which takes it. Fields the applier held
  before and no longer sets are removed from the object (:func:`prune`) unless someone else
  still holds them. Holding the same value as another manager is shared ownership, no conflict.

``kubectl`` itself gets Kubernetes' client-side-apply upgrade: its conflicts on fields whose live
value still equals the ``last-applied-configuration`` annotation are not conflicts (the
annotation shows kubectl wrote them), and the annotation is kept in step with what it applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from apimachinery.errors import ApiError
from apimachinery.patch import merge_keys_for
from apiserver.fieldmanager import fieldpath, walk
from apiserver.fieldmanager.fieldpath import EMPTY, FieldSet, Path
from apiserver.fieldmanager.managed import APPLY, BEFORE_FIRST_APPLY, UPDATE, Entry, with_fields

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL = "kubectl"
# Never owned: identity and server-set metadata (Kubernetes' stripMeta set).
_STRIPPED_TOP = frozenset({("f", "apiVersion"), ("f", "kind")})
_STRIPPED_META = frozenset(("f", name) for name in (
    "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "selfLink",
    "managedFields", "generateName", "deletionTimestamp", "deletionGracePeriodSeconds",
))
_METADATA = ("f", "metadata")
_STATUS = fieldpath.path_of("status")


@dataclass(frozen=True)
class Writer:
    """The manager of one write, and where it wrote."""

    manager: str
    api_version: str
    subresource: str = ""

    def entry(self, operation: str, fields: FieldSet, time: str | None) -> Entry:
        return Entry(manager=self.manager, operation=operation, api_version=self.api_version,
                     owned=fields, time=time, subresource=self.subresource)


@dataclass(frozen=True)
class Scope:
    """Which part of an object a write may own: status on ``/status``, the rest elsewhere."""

    kind: str
    status_split: bool  # the kind has a status subresource
    status: bool = False  # this write is to it

    def owned(self, obj: Mapping[str, Any] | None) -> FieldSet:
        return frozenset(self.owned_values(obj))

    def owned_values(self, obj: Mapping[str, Any] | None) -> dict[Path, Any]:
        """The paths of ``obj`` this write may own, with their values."""
        if not obj:
            return {}
        keys = merge_keys_for(self.kind)
        if self.status:
            status = obj.get("status")
            return walk.field_values(status, keys, at=_STATUS, dotted="status") if isinstance(status, dict) else {}
        rest = {k: v for k, v in obj.items() if not (self.status_split and k == "status")}
        return {p: v for p, v in walk.field_values(rest, keys).items() if not _stripped(p)}

    def keep(self, paths: set[Path]) -> FieldSet:
        """Those of ``paths`` this write may own."""
        if self.status:
            return frozenset(p for p in paths if p[0] == _STATUS[0])
        return frozenset(p for p in paths if not _stripped(p) and not (self.status_split and p[0] == _STATUS[0]))


def _stripped(path: Path) -> bool:
    head = path[0]
    if head in _STRIPPED_TOP:
        return True
    return head == _METADATA and len(path) > 1 and path[1] in _STRIPPED_META


@dataclass(frozen=True)
class Diff:
    changed: FieldSet  # added or modified
    removed: FieldSet


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any], scope: Scope) -> Diff:
    changed, removed = walk.changes(old or {}, new, merge_keys_for(scope.kind))
    return Diff(changed=scope.keep(changed), removed=scope.keep(removed))


def record_update(*, old: Mapping[str, Any] | None, new: Mapping[str, Any], entries: list[Entry],
                  writer: Writer, scope: Scope, now: str) -> list[Entry]:
    """The entries after an Update by ``writer`` turned ``old`` into ``new``."""
    change = diff(old, new, scope)
    if not change.changed and not change.removed:
        return entries
    mine = writer.entry(UPDATE, EMPTY, now)
    previous: Entry | None = None
    out = []
    for entry in entries:
        if entry.identity == mine.identity:
            previous = entry
            continue
        out.append(entry.without(change.changed | change.removed))
    fields = ((previous.fields if previous else EMPTY) | change.changed) - change.removed
    if change.changed:
        out.append(with_fields(mine, fields))
    elif previous is not None:
        out.append(with_fields(previous, fields))
    return out


def record_apply(*, old: Mapping[str, Any] | None, new: Mapping[str, Any], entries: list[Entry],
                 applied: FieldSet, writer: Writer, scope: Scope, now: str, force: bool) -> list[Entry]:
    """The entries after ``writer`` applied a configuration owning ``applied``; 409 on conflicts."""
    change = diff(old, new, scope)
    mine = writer.entry(APPLY, applied, now)
    conflicts = [(e, e.fields & change.changed) for e in entries
                 if e.identity != mine.identity and e.holds_any(change.changed)]
    if conflicts and not force:
        allowed = _written_by_client_side_apply(old, scope) if writer.manager == KUBECTL else EMPTY
        remaining = [(e, paths - allowed) for e, paths in conflicts if paths - allowed]
        if remaining:
            raise conflict_error(remaining)
    previous = next((e for e in entries if e.identity == mine.identity), None)
    out = [e.without(change.changed | change.removed) for e in entries if e.identity != mine.identity]
    unchanged = not change.changed and not change.removed and previous is not None
    if unchanged and previous is not None and previous.fields == applied:
        mine = previous
    out.append(mine)
    return out


def before_first_apply(live: Mapping[str, Any], entries: list[Entry], *, writer: Writer,
                       scope: Scope) -> list[Entry]:
    """An object nobody owns yet is, to its first applier, owned by ``before-first-apply``."""
    if entries:
        return entries
    owned = scope.owned(live)
    if not owned:
        return entries
    return [Entry(manager=BEFORE_FIRST_APPLY, operation=UPDATE, api_version=writer.api_version,
                  owned=owned, subresource=writer.subresource)]


def prune(merged: dict[str, Any], *, entries: list[Entry], applied: FieldSet, writer: Writer) -> None:
    """Remove from ``merged`` (in place) what the applier held before, dropped, and nobody holds."""
    identity = writer.entry(APPLY, EMPTY, None).identity
    previous = next((e.fields for e in entries if e.identity == identity), EMPTY)
    held = set(applied).union(*(e.fields for e in entries if e.identity != identity))
    dropped = sorted(previous - held, key=len)
    removed: list[Path] = []
    for path in dropped:
        if walk.is_key_field(path) or any(fieldpath.has_prefix(path, r) for r in removed):
            continue
        if any(fieldpath.has_prefix(h, path) for h in held):
            continue  # a field below it is still held, so it stays
        walk.remove(merged, path)
        removed.append(path)
        _drop_emptied_parents(merged, path, held)


def _drop_emptied_parents(obj: dict[str, Any], path: Path, held: set[Path]) -> None:
    """A map or list left empty by a removal goes too (Kubernetes' typed objects omit empty
    ``labels``, ``env`` ...), unless someone owns it as it is."""
    parent = path[:-1]
    while len(parent) > 1 and parent[-1][0] == "f" and parent not in held:
        current = walk.value_at(obj, parent)
        if not isinstance(current, dict | list) or current:
            return
        walk.remove(obj, parent)
        parent = parent[:-1]


def _written_by_client_side_apply(live: Mapping[str, Any] | None, scope: Scope) -> FieldSet:
    """The fields ``last-applied-configuration`` names whose live value is still the one it has."""
    raw = ((live or {}).get("metadata") or {}).get("annotations", {}).get(LAST_APPLIED)
    try:
        last = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return EMPTY
    if not isinstance(last, dict) or last.get("apiVersion") != (live or {}).get("apiVersion"):
        return EMPTY
    return frozenset(p for p in scope.owned(last)
                     if not walk.differs(walk.value_at(last, p), walk.value_at(live, p)))


def sync_last_applied(obj: dict[str, Any], config: Mapping[str, Any], *, writer: Writer) -> None:
    """After ``kubectl`` applies, an existing last-applied annotation records the configuration."""
    annotations = (obj.get("metadata") or {}).get("annotations")
    if writer.manager != KUBECTL or not isinstance(annotations, dict) or not annotations.get(LAST_APPLIED):
        return
    recorded = json.loads(json.dumps(config))
    config_annotations = (recorded.get("metadata") or {}).get("annotations")
    if isinstance(config_annotations, dict):
        config_annotations.pop(LAST_APPLIED, None)
    annotations[LAST_APPLIED] = fieldpath.compact_json(recorded) + "\n"


def conflict_error(conflicts: Iterable[tuple[Entry, FieldSet]]) -> ApiError:
    """Kubernetes' 409 for apply conflicts: one ``FieldManagerConflict`` cause per field."""
    pairs = sorted(((e.describe(), fieldpath.to_string(p)) for e, paths in conflicts for p in sorted(paths)))
    causes = [{"reason": "FieldManagerConflict",
               "message": f"conflict with {who}", "field": where} for who, where in pairs]
    if len(pairs) == 1:
        message = f"Apply failed with 1 conflict: conflict with {pairs[0][0]}: {pairs[0][1]}"
    else:
        lines: list[str] = []
        for who in sorted({who for who, _ in pairs}):
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {where}" for w, where in pairs if w == who)
        message = f"Apply failed with {len(pairs)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, causes=causes)


def owns(entries: Iterable[Entry], path: Path) -> list[str]:
    """The managers holding ``path`` (for tests and diagnostics)."""
    return [e.manager for e in entries if path in e.fields]
