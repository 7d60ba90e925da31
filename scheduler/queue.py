"""The scheduling queue: which pod to try next, and when to try again one that did not fit.

Three places a pending pod can wait, as in Kubernetes' PriorityQueue:

* **active**: ready to be tried, first in first out;
* **backoff**: tried and failed, waiting out its back-off (1 s doubling per attempt, up to 10 s);
* **unschedulable**: no node fits; it stays until the cluster changes in a way that may help
  (a node is added, uncordoned, relabelled, a pod is removed: :meth:`move_all`), or until it has
  waited :attr:`max_unschedulable` seconds (a periodic flush, in case an event was missed).

:meth:`move_all` sends a pod whose back-off has not run out to backoff rather than straight to
active, so a busy cluster cannot retry a hopeless pod in a tight loop. A pod being scheduled
while such a move happens is not parked as unschedulable afterwards: the change it missed may be
the one that makes it fit (the "move request cycle" check). Time comes from an injected clock;
:meth:`flush` (called every half second by the scheduler) does the timed moves.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_UNSCHEDULABLE = 60.0


@dataclass(slots=True)
class _Entry:
    attempts: int = 0
    last_attempt: float = 0.0
    unschedulable_since: float = 0.0


class SchedulingQueue:
    def __init__(self, *, clock: Callable[[], float], initial_backoff: float = INITIAL_BACKOFF,
                 max_backoff: float = MAX_BACKOFF, max_unschedulable: float = MAX_UNSCHEDULABLE) -> None:
        self.clock = clock
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_unschedulable = max_unschedulable
        self._entries: dict[str, _Entry] = {}
        self._active: deque[str] = deque()
        self._active_set: set[str] = set()
        self._backoff: list[tuple[float, str]] = []  # heap of (ready time, key); stale rows skipped
        self._backoff_due: dict[str, float] = {}
        self._unschedulable: dict[str, float] = {}  # key -> time parked
        self._in_flight: dict[str, int] = {}  # key -> scheduling cycle it was popped in
        self._dirty: set[str] = set()  # changed while in flight: try again when done
        self._cycle = 0
        self._move_cycle = -1
        self._ready = asyncio.Event()

    # -- adding ----------------------------------------------------------------------------

    def add(self, key: str) -> None:
        """A new pending pod, or one that changed: make it active unless it is already waiting."""
        if key in self._in_flight:
            self._dirty.add(key)
            return
        if key in self._active_set or key in self._backoff_due or key in self._unschedulable:
            return
        self._entries.setdefault(key, _Entry())
        self._push_active(key)

    def activate(self, key: str) -> None:
        """The pod's spec changed, so an earlier verdict no longer holds: try it now."""
        if key in self._in_flight:
            self._dirty.add(key)
            return
        self._unschedulable.pop(key, None)
        self._backoff_due.pop(key, None)
        self._entries.setdefault(key, _Entry())
        self._push_active(key)

    def _push_active(self, key: str) -> None:
        if key not in self._active_set:
            self._active.append(key)
            self._active_set.add(key)
            self._ready.set()

    def delete(self, key: str) -> None:
        """The pod is gone or no longer pending."""
        self._entries.pop(key, None)
        self._unschedulable.pop(key, None)
        self._backoff_due.pop(key, None)
        self._dirty.discard(key)
        self._active_set.discard(key)  # its row in the deque is skipped when popped

    # -- taking ----------------------------------------------------------------------------

    def pop_nowait(self) -> tuple[str, int] | None:
        """The next active key and its scheduling cycle, or None."""
        while self._active:
            key = self._active.popleft()
            if key not in self._active_set:
                continue  # deleted while waiting
            self._active_set.discard(key)
            entry = self._entries.setdefault(key, _Entry())
            self._cycle += 1
            entry.attempts += 1
            entry.last_attempt = self.clock()
            self._in_flight[key] = self._cycle
            return key, self._cycle
        self._ready.clear()
        return None

    async def pop(self) -> tuple[str, int]:
        while True:
            item = self.pop_nowait()
            if item is not None:
                return item
            await self._ready.wait()

    # -- outcomes --------------------------------------------------------------------------

    def done(self, key: str) -> None:
        """Scheduling finished (bound, or dropped): forget the pod unless it changed meanwhile."""
        self._in_flight.pop(key, None)
        if key in self._dirty:
            self._dirty.discard(key)
            self._entries.setdefault(key, _Entry())
            self._push_active(key)
        else:
            self._entries.pop(key, None)

    def add_unschedulable(self, key: str, cycle: int) -> None:
        """No node fits: park the pod, or back it off when the cluster changed during the attempt."""
        self._in_flight.pop(key, None)
        if key in self._dirty:  # the pod changed during the attempt: the verdict is stale
            self._dirty.discard(key)
            self._push_backoff(key, self._entries.setdefault(key, _Entry()))
            return
        entry = self._entries.get(key)
        if entry is None:
            return  # deleted meanwhile
        if self._move_cycle >= cycle:
            self._push_backoff(key, entry)
            return
        entry.unschedulable_since = self.clock()
        self._unschedulable[key] = entry.unschedulable_since

    def add_backoff(self, key: str) -> None:
        """An error (not a verdict) stopped the attempt: retry after the back-off."""
        self._in_flight.pop(key, None)
        self._dirty.discard(key)
        entry = self._entries.setdefault(key, _Entry())
        self._push_backoff(key, entry)

    def backoff_duration(self, key: str) -> float:
        entry = self._entries.get(key)
        attempts = entry.attempts if entry else 0
        if attempts <= 0:
            return 0.0
        return min(self.initial_backoff * 2 ** (attempts - 1), self.max_backoff)

    def _push_backoff(self, key: str, entry: _Entry) -> None:
        due = entry.last_attempt + self.backoff_duration(key)
        if due <= self.clock():
            self._push_active(key)
            return
        self._backoff_due[key] = due
        heapq.heappush(self._backoff, (due, key))

    # -- cluster events and time -----------------------------------------------------------

    def move_all(self) -> int:
        """Something changed that may let parked pods fit: retry them (after their back-off)."""
        self._move_cycle = self._cycle
        moved = list(self._unschedulable)
        self._unschedulable.clear()
        for key in moved:
            self._push_backoff(key, self._entries[key])
        return len(moved)

    def flush(self) -> None:
        """Move pods whose back-off ran out to active, and long-parked pods out of unschedulable."""
        now = self.clock()
        while self._backoff and self._backoff[0][0] <= now:
            due, key = heapq.heappop(self._backoff)
            if self._backoff_due.get(key) == due:
                del self._backoff_due[key]
                self._push_active(key)
        stale = []
        for key, since in self._unschedulable.items():  # in parking order, so oldest first
            if now - since < self.max_unschedulable:
                break
            stale.append(key)
        for key in stale:
            del self._unschedulable[key]
            self._push_backoff(key, self._entries[key])

    # -- introspection ---------------------------------------------------------------------

    def is_unschedulable(self, key: str) -> bool:
        return key in self._unschedulable

    def is_backing_off(self, key: str) -> bool:
        return key in self._backoff_due

    def is_active(self, key: str) -> bool:
        return key in self._active_set

    def stats(self) -> dict[str, int]:
        return {"active": len(self._active_set), "backoff": len(self._backoff_due),
                "unschedulable": len(self._unschedulable), "in_flight": len(self._in_flight)}

    def __len__(self) -> int:
        return len(self._active_set) + len(self._backoff_due) + len(self._unschedulable)
