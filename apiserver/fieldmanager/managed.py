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


@dataclass(frozen=True)
class Entry:
    manager: str
    operation: str
    api_version: str
    fields: FieldSet
    time: str | None = None
    subresource: str = ""

    @property
    def identity(self) -> tuple[str, str, str, str]:
        version = "" if self.operation == APPLY else self.api_version
        return (self.manager, self.operation, self.subresource, version)

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
        entry["fieldsV1"] = fieldpath.encode(self.fields)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def decode(raw: Any) -> list[Entry]:
    """The entries of a ``managedFields`` list; ApiError 400 when one is malformed."""
    if not isinstance(raw, list):
        raise _invalid("must be a list")
    return [_decode_entry(item, index) for index, item in enumerate(raw)]


def _decode_entry(item: Any, index: int) -> Entry:
    if not isinstance(item, dict):
        raise _invalid(f"[{index}]: must be an object")
    operation = item.get("operation")
    if operation not in (APPLY, UPDATE):
        raise _invalid(f'[{index}].operation: Unsupported value: "{operation}": supported values: "Apply", "Update"')
    if item.get("fieldsType") != FIELDS_V1:
        raise _invalid(f'[{index}].fieldsType: Unsupported value: "{item.get("fieldsType")}": '
                       'supported values: "FieldsV1"')
    return Entry(
        manager=str(item.get("manager") or ""),
        operation=operation,
        api_version=str(item.get("apiVersion") or ""),
        fields=fieldpath.decode(item.get("fieldsV1") or {}),
        time=item.get("time"),
        subresource=str(item.get("subresource") or ""),
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
                   fields=fields, time=merged[-1].time)
    gone = {id(e) for e in merged}
    return [e for e in entries if id(e) not in gone] + [bucket]


def with_fields(entry: Entry, fields: FieldSet) -> Entry:
    return replace(entry, fields=fields)
