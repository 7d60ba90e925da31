"""Controller expectations: what a controller is still waiting to *see* after its own writes.

A ReplicaSet sync that creates three pods returns before the pod informer has delivered them; the
next sync (triggered by any event) would count too few pods and create three more. Kubernetes'
answer, reproduced here, is to remember per owner how many creations and which deletions are in
flight, decrement as the informer reports them, and skip the "manage replicas" step until the
count is back to zero. Expectations expire after a TTL so a lost event cannot wedge an owner
forever.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from apimachinery.timeutil import Clock

EXPECTATIONS_TTL = 300.0  # seconds, as Kubernetes' ExpectationsTimeout


@dataclass
class _Pending:
    adds: int
    deletes: set[str] = field(default_factory=set)
    since: float = 0.0


class Expectations:
    """Per-owner-key counts of creations and pod keys of deletions not yet observed."""

    def __init__(self, clock: Clock, *, ttl: float = EXPECTATIONS_TTL) -> None:
        self.clock = clock
        self.ttl = ttl
        self._pending: dict[str, _Pending] = {}

    def satisfied(self, key: str) -> bool:
        """True when the owner may act: nothing pending, or the expectations went stale."""
        pending = self._pending.get(key)
        if pending is None:
            return True
        if pending.adds <= 0 and not pending.deletes:
            return True
        return self.clock.monotonic() - pending.since > self.ttl

    def expect_creations(self, key: str, count: int) -> None:
        self._pending[key] = _Pending(adds=count, since=self.clock.monotonic())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        self._pending[key] = _Pending(adds=0, deletes=set(pod_keys), since=self.clock.monotonic())

    def creation_observed(self, key: str) -> None:
        pending = self._pending.get(key)
        if pending is not None and pending.adds > 0:
            pending.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        pending = self._pending.get(key)
        if pending is not None:
            pending.deletes.discard(pod_key)

    def pending(self, key: str) -> tuple[int, frozenset[str]]:
        """(creations, deletions) still expected; for tests and debugging."""
        found = self._pending.get(key)
        return (found.adds, frozenset(found.deletes)) if found else (0, frozenset())

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)
