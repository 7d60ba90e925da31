"""A recorder that keeps the Events components report, for tests to read back.

It stands in for :class:`apimachinery.events.EventRecorder` (the controllers' ``Recorder``, the
scheduler's ``EventSink``, the kubelet's ``PodApi.event``): same call, nothing written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class RecordedEvent(NamedTuple):
    key: str  # namespace/name of the object the Event is about
    type: str  # Normal | Warning
    reason: str
    message: str
    field_path: str | None = None


@dataclass
class RecordingRecorder:
    events: list[RecordedEvent] = field(default_factory=list)

    def event(self, obj: Any, type_: str, reason: str, message: str, *, field_path: str | None = None) -> None:
        meta = obj.metadata
        key = f"{meta.namespace}/{meta.name}" if meta.namespace else str(meta.name)
        self.events.append(RecordedEvent(key, type_, reason, message, field_path))

    def reasons(self, key: str | None = None) -> list[str]:
        return [e.reason for e in self.events if key in (None, e.key)]

    def messages(self, key: str | None = None, reason: str | None = None, type_: str | None = None) -> list[str]:
        return [e.message for e in self.events
                if key in (None, e.key) and reason in (None, e.reason) and type_ in (None, e.type)]

    def clear(self) -> None:
        self.events.clear()
