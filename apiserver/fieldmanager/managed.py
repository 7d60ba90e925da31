"""``metadata.managedFields``: one entry per manager, decoded to field sets and encoded back.

A manager is identified, as in Kubernetes' ``BuildManagerIdentifier``, by its name, operation and
subresource, plus the apiVersion for an ``Update`` (an applier keeps one entry whatever version it
applies). Entries are written sorted as Kubernetes sorts them (``Apply`` before ``Update``, then
by time, name, version, subresource), and ``Update`` entries are capped: past
:data:`MAX_UPDATE_MANAGERS` the oldest are merged into one ``ancient-changes`` entry, so an object
written by many clients does not grow without bound.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from apimachinery.errors import ApiError
from apiserver.fieldmanager import fieldpath
from apiserver.fieldmanager.fieldpath import FieldSet

APPLY = "Apply"
UPDATE = "Update"
FIELDS_V1 = "FieldsV1"
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"


@dataclass(frozen=True, eq=False)
class Entry:
    """One manager's entry. Read from a stored object it keeps its FieldsV1 tree as it was and
    decodes it only when asked (most writes touch one manager's fields), and an entry a write
    did not change is written back as it was read."""

    manager: str
    operation: str
    api_version: str
    owned: FieldSet | None = None  # the set, once known
    time: str | None = None
    subresource: str = ""
    encoded: dict[str, Any] | None = None  # the stored FieldsV1, while the set is unchanged

    @cached_property
    def fields(self) -> FieldSet:
        if self.owned is not None:
            return self.owned
        try:
            return fieldpath.decode(self.encoded or {}, trusted=True)
        except ApiError:
            return frozenset()  # stored before ownership was checked, and unreadable: dropped

    @property
    def identity(self) -> tuple[str, str, str, str]:
        version = "" if self.operation == APPLY else self.api_version
        return (self.manager, self.operation, self.subresource, version)

    def holds_any(self, paths: FieldSet) -> bool:
        if self.owned is not None or "fields" in self.__dict__ or self.encoded is None:
            return not self.fields.isdisjoint(paths)
        return any(fieldpath.contains(self.encoded, p) for p in paths)

    def without(self, paths: FieldSet) -> Entry:
        """This entry minus ``paths`` (itself when it holds none of them)."""
        return with_fields(self, self.fields - paths) if self.holds_any(paths) else self

    def describe(self) -> str:
        """The manager as a conflict message names it: ``"kubectl" using apps/v1``."""
        if self.operation == UPDATE:
            return f'"{self.manager}" using {self.api_version}'
        return f'"{self.manager}"'

    def to_wire(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"manager": self.manager, "operation": self.operation,
                                 "apiVersion": self.api_version}
        if self.time:
            entry["time"] = self.time
        entry["fieldsType"] = FIELDS_V1
        entry["fieldsV1"] = self.encoded if self.encoded is not None else fieldpath.encode_set(self.fields)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def decode(raw: Any, *, trusted: bool = False) -> list[Entry]:
    """The entries of a ``managedFields`` list; ApiError 400 when one is malformed.

    ``trusted`` entries (read from a stored object, which only this server writes) keep their
    FieldsV1 undecoded until needed; a client's are checked in full here."""
    if not isinstance(raw, list):
        raise _invalid("must be a list")
    return [_decode_entry(item, index, trusted=trusted) for index, item in enumerate(raw)]


def _decode_entry(item: Any, index: int, *, trusted: bool) -> Entry:
    if not isinstance(item, dict):
        raise _invalid(f"[{index}]: must be an object")
    operation = item.get("operation")
    if operation not in (APPLY, UPDATE):
        raise _invalid(f'[{index}].operation: Unsupported value: "{operation}": supported values: "Apply", "Update"')
    if item.get("fieldsType") != FIELDS_V1:
        raise _invalid(f'[{index}].fieldsType: Unsupported value: "{item.get("fieldsType")}": '
                       'supported values: "FieldsV1"')
    fields_v1 = item.get("fieldsV1") or {}
    if not isinstance(fields_v1, dict):
        raise _invalid(f"[{index}].fieldsV1: must be an object")
    return Entry(
        manager=str(item.get("manager") or ""),
        operation=operation,
        api_version=str(item.get("apiVersion") or ""),
        owned=None if trusted else fieldpath.decode(fields_v1),
        time=item.get("time"),
        subresource=str(item.get("subresource") or ""),
        encoded=fields_v1 if trusted else None,
    )


def _invalid(message: str) -> ApiError:
    return ApiError(400, "BadRequest", f"metadata.managedFields{message}")


def is_reset(raw: Any) -> bool:
    """Whether a client asks to clear ownership: ``[]`` or ``[{}]``, as Kubernetes reads it."""
    return isinstance(raw, list) and (raw == [] or raw == [{}])


def encode(entries: list[Entry]) -> list[dict[str, Any]] | None:
    """The wire list, capped and sorted; None when no entry owns anything."""
    kept = cap_updates([e for e in entries if e.fields])
    if not kept:
        return None
    return [e.to_wire() for e in sorted(kept, key=_order)]


def _order(entry: Entry) -> tuple[str, str, str, str, str]:
    return (entry.operation, entry.time or "", entry.manager, entry.api_version, entry.subresource)


def cap_updates(entries: list[Entry], limit: int = MAX_UPDATE_MANAGERS) -> list[Entry]:
    """Merge the oldest ``Update`` entries into ``ancient-changes`` until ``limit`` remain."""
    updates = sorted((e for e in entries if e.operation == UPDATE), key=lambda e: e.time or "")
    if len(updates) <= limit:
        return entries
    merged = updates[: len(updates) - limit + 1]
    fields = frozenset().union(*(e.fields for e in merged))
    bucket = Entry(manager=ANCIENT_CHANGES, operation=UPDATE, api_version=merged[-1].api_version,
                   owned=fields, time=merged[-1].time)
    gone = {id(e) for e in merged}
    return [e for e in entries if id(e) not in gone] + [bucket]


def with_fields(entry: Entry, fields: FieldSet) -> Entry:
    return replace(entry, owned=fields, encoded=None)
