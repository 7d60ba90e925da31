"""Where audit events go: a Protocol, the in-memory fake the tests read, and the file (:mod:`.logfile`)."""

from __future__ import annotations

from typing import Any, Protocol


class Sink(Protocol):
    def process(self, event: dict[str, Any]) -> None:
        """Take one event; never blocks the event loop for long and never raises (a request
        must not fail because its audit event could not be written)."""
        ...

    def close(self) -> None:
        """Write what is queued (bounded wait) and release the file."""
        ...


class MemorySink:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def process(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass
