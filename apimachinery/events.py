"""Recording Events about objects, aggregated like client-go's recorder.

Repeats of the same (object, type, reason, message) within the aggregation window update the
existing Event's ``count`` and ``lastTimestamp`` instead of creating a new object, so a crash
loop yields one Event counting restarts rather than thousands of rows. Recording never raises:
an Event lost to an API error must not break the component that reported it.

Events are best effort, as client-go's broadcaster makes them: :meth:`EventRecorder.event`
queues and returns, a few sender tasks write the queue in order, and an event that finds the
queue full (``queue_size``) or the budget spent (``qps``/``burst``, a token bucket like the
kubelet's ``eventRecordQPS``) is dropped. So a burst of thousands of pods costs a bounded
number of event writes in flight, never delays the writes that matter (bindings, pod status),
and cannot grow memory without bound.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.models.core import Event, EventSource, ObjectReference
from apimachinery.models.meta import ObjectMeta
from apimachinery.resources import EVENTS

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"
_CACHE_SIZE = 4096
QUEUE_SIZE = 1000  # client-go's maxQueuedEvents
SENDERS = 2


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reference(obj: Any) -> ObjectReference:
    """An ObjectReference to a typed object (Pod, Deployment, Node, ...)."""
    meta = obj.metadata
    return ObjectReference(kind=obj.kind, namespace=meta.namespace, name=meta.name, uid=meta.uid,
                           api_version=obj.api_version, resource_version=meta.resource_version)


class EventRecorder:
    def __init__(self, client: ApiClient, component: str, host: str | None = None,
                 clock: Callable[[], str] = _now, *, qps: float | None = None, burst: int = 100,
                 queue_size: int = QUEUE_SIZE, senders: int = SENDERS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.source = EventSource(component=component, host=host)
        self.clock = clock
        self.dropped = 0
        self._seen: OrderedDict[tuple[str, ...], tuple[str, str, int]] = OrderedDict()
        self._queue: deque[tuple[ObjectReference, str, str, str]] = deque()
        self._queue_size = queue_size
        self._senders = senders
        self._tasks: set[asyncio.Task[None]] = set()
        self._budget = TokenBucket(qps, burst, monotonic) if qps is not None else None

    def event(self, obj: Any, type_: str, reason: str, message: str, *, field_path: str | None = None) -> None:
        """Queue an Event about ``obj`` and return; it is written in the background, or dropped."""
        if len(self._queue) >= self._queue_size or (self._budget is not None and not self._budget.take()):
            self.dropped += 1
            log.debug("event %s about %s dropped: queue full or over budget", reason, obj.metadata.name)
            return
        ref = reference(obj)
        if field_path:
            ref.field_path = field_path
        self._queue.append((ref, type_, reason, message))
        if len(self._tasks) < self._senders:
            task = asyncio.get_running_loop().create_task(self._send())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self) -> None:
        while self._queue:
            await self.record(*self._queue.popleft())

    async def record(self, ref: ObjectReference, type_: str, reason: str, message: str) -> None:
        namespace = ref.namespace or "default"
        key = (ref.uid or "", ref.field_path or "", type_, reason, message)
        now = self.clock()
        try:
            if key in self._seen:
                name, first, count = self._seen[key]
                patch = {"count": count + 1, "lastTimestamp": now}
                await self.client.request("PATCH", EVENTS.path(namespace, name), body=patch,
                                          content_type="application/merge-patch+json")
                self._remember(key, (name, first, count + 1))
                return
            name = f"{ref.name}.{secrets.token_hex(8)}"
            event = Event(
                metadata=ObjectMeta(name=name, namespace=namespace), involved_object=ref, reason=reason,
                message=message, source=self.source, first_timestamp=now, last_timestamp=now, count=1, type=type_,
                reporting_component=self.source.component, reporting_instance=self.source.host or "",
            )
            await self.client.create(event, namespace)
            self._remember(key, (name, now, 1))
        except ApiError as err:
            self._seen.pop(key, None)
            log.debug("event %s/%s not recorded: %s", reason, ref.name, err)

    def _remember(self, key: tuple[str, ...], value: tuple[str, str, int]) -> None:
        self._seen[key] = value
        self._seen.move_to_end(key)
        while len(self._seen) > _CACHE_SIZE:
            self._seen.popitem(last=False)

    async def flush(self) -> None:
        """Wait until every queued event is written (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; :meth:`take` spends one if there is one."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._refilled = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
