"""Periodic compaction: keep about ``retention`` seconds of history, as etcd's apiserver does.

Every ``interval`` seconds the current revision is sampled; the store is compacted to the
revision sampled ``retention`` seconds ago. Heartbeats (Lease renewals) therefore cost a bounded
number of rows however long the cluster runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from apiserver.store.base import StorageError, Store

log = logging.getLogger(__name__)


class Compactor:
    def __init__(
        self,
        store: Store,
        *,
        retention: float = 300.0,
        interval: float = 30.0,
        clock: Callable[[], float] | None = None,
        on_compact: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.retention = retention
        self.interval = interval
        self._clock = clock or asyncio.get_running_loop().time
        self._samples: deque[tuple[float, int]] = deque()
        self._on_compact = on_compact  # told after each compaction that dropped history (metrics)

    def tick(self) -> int:
        """Record the current revision; compact to the newest sample older than retention."""
        now = self._clock()
        self._samples.append((now, self.store.current_revision()))
        target = 0
        while self._samples and self._samples[0][0] <= now - self.retention:
            target = self._samples.popleft()[1]
        if target > self.store.compacted_revision():
            self.store.compact(target)
            if self._on_compact is not None:
                self._on_compact()
        return self.store.compacted_revision()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.tick()
            except StorageError as err:  # a full disk: the store reports it; retry next tick
                log.warning("compaction failed: %s", err.message)
            except Exception:  # a failed compaction must not stop the server; retry next tick
                log.exception("compaction failed")
