"""The watch protocol: newline-delimited JSON events over a chunked response.

Start points, as Kubernetes defines them:
* ``sendInitialEvents=true`` (watch-list): ADDED for every current object, then a BOOKMARK
  annotated ``k8s.io/initial-events-end``, then live events. kubectl's ``rollout status``,
  ``wait`` and ``delete`` rely on that bookmark.
* no resourceVersion or ``"0"``: the current state as ADDED events, then live events.
* ``resourceVersion=R``: every change after R, in revision order, with no gaps or duplicates;
  R older than the compacted history gives an ERROR event carrying a 410 Expired Status.

Selectors are applied to transitions: an object that stops matching is sent as DELETED and one
that starts matching as ADDED, so a client's cache stays equal to a fresh filtered list.

Bounded, as the Kubernetes watch cache is: every watcher's queue is bounded in events and bytes
(:meth:`QueueWatch.bound`); a watcher that falls behind gets an ERROR event carrying a 410
Expired Status and must list again. If it has stopped reading altogether, so even that event
cannot be written, the stream is cut off after ``SLOW_WATCH_GRACE`` seconds. Each event and
each current object is encoded once for all watchers (plain JSON and Table rows alike), and
written in slices of at most ``PIECE_BYTES``, so a slow connection holds a slice of a 1 MB
object in its buffers rather than a copy of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from apimachinery import jsonio
from apimachinery.errors import bad_request, expired
from apimachinery.selectors import FieldSelector, LabelSelector, parse_field_selector, parse_label_selector
from apiserver import negotiation, tables
from apiserver.registry import Registry, list_prefix, with_revision
from apiserver.routes.paths import Target
from apiserver.store.base import (
    CompactedError,
    KeyValue,
    ListResult,
    StoreEvent,
    WatchClosedError,
    WatchOverflowError,
)
from apiserver.store.watch_queue import INDEXED_FIELDS, WATCH_MAX_BYTES, WATCH_QUEUE_LIMIT, Index, QueueWatch

log = logging.getLogger(__name__)

BOOKMARK_INTERVAL = 30.0
DEFAULT_TIMEOUT = 1800.0
SLOW_WATCH_GRACE = 10.0  # seconds a cut-off watcher has to take its ERROR event before the stream ends
CHUNK_BYTES = 64 * 1024  # queued events sent together in one chunk, up to this size
CHUNK_EVENTS = 32
PIECE_BYTES = 64 * 1024  # the largest write handed to the transport at once
SHARED_ENCODINGS_BYTES = 64 * 1024 * 1024  # encodings of current objects kept for watches starting


@dataclass(frozen=True)
class WatchLimits:
    """How far one watcher may fall behind before it is cut off and must re-list."""

    max_events: int = WATCH_QUEUE_LIMIT
    max_bytes: int = WATCH_MAX_BYTES


class WatchFilter:
    def __init__(self, labels: LabelSelector | None, fields: FieldSelector | None) -> None:
        self.labels = labels
        self.fields = fields

    def matches(self, obj: dict[str, Any]) -> bool:
        if self.labels is not None and not self.labels.matches(obj.get("metadata", {}).get("labels") or {}):
            return False
        return self.fields is None or self.fields.matches(obj)

    def translate(self, event: StoreEvent) -> str | None:
        """The type of the event a client filtered by these selectors should see, if any."""
        now = self.matches(event.kv.value)
        before = event.prev is not None and self.matches(event.prev.value)
        if event.type == "ADDED":
            return "ADDED" if now else None
        if event.type == "DELETED":
            return "DELETED" if (before or now) else None
        if now and before:
            return "MODIFIED"
        if now:
            return "ADDED"
        if before:
            return "DELETED"
        return None

    def index(self) -> Index | None:
        """The indexed field this filter pins to one value, for the store's watcher index."""
        if self.fields is None:
            return None
        for path in INDEXED_FIELDS:
            value = self.fields.exact(path)
            if value is not None:
                return path, value
        return None


def _encode(event_type: str, obj: dict[str, Any], table_kind: str | None, now: datetime | None = None) -> bytes:
    if table_kind and event_type != "ERROR" and event_type != "BOOKMARK":
        obj = tables.to_table(
            table_kind,
            [obj],
            resource_version=obj["metadata"].get("resourceVersion", ""),
            now=now or datetime.now(UTC),
        )
    return jsonio.dumps({"type": event_type, "object": obj}) + b"\n"


def event_line(event: StoreEvent, event_type: str, table_kind: str | None) -> bytes:
    """``event`` on the wire as ``event_type``, encoded once per event for all its watchers."""
    variant = f"{table_kind}:{event_type}" if table_kind else event_type
    data = event.encoded.get(variant)
    if data is None:
        data = event.encoded[variant] = _encode(event_type, with_revision(event.kv), table_kind)
    return data


class SharedEncodings:
    """ADDED lines of current objects, shared by the watches that start from them.

    A thousand watches starting on a namespace that holds a 1 MB object send one encoding of
    it, not a thousand. Keyed by key and revision (so never stale); Table rows also by the
    second they were made, since their AGE column moves on. Least recently used entries go
    once ``max_bytes`` is exceeded.
    """

    def __init__(self, max_bytes: int = SHARED_ENCODINGS_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lines: OrderedDict[tuple[str, int, str, int], bytes] = OrderedDict()
        self._bytes = 0

    def added(self, kv: KeyValue, table_kind: str | None, now: datetime) -> bytes:
        key = (kv.key, kv.mod_revision, table_kind or "", int(now.timestamp()) if table_kind else 0)
        line = self._lines.get(key)
        if line is not None:
            self._lines.move_to_end(key)
            return line
        line = _encode("ADDED", with_revision(kv), table_kind, now)
        self._lines[key] = line
        self._bytes += len(line)
        while self._bytes > self.max_bytes and self._lines:
            self._bytes -= len(self._lines.popitem(last=False)[1])
        return line


def _bookmark(target: Target, revision: int, *, initial_end: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(revision)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": target.rt.kind, "apiVersion": target.rt.api_version, "metadata": meta}


def _shared_encodings(request: Request) -> SharedEncodings:
    state = request.app.state
    if not hasattr(state, "watch_encodings"):
        state.watch_encodings = SharedEncodings()
    encodings: SharedEncodings = state.watch_encodings
    return encodings


def _watch_limits(request: Request) -> WatchLimits:
    settings = request.app.state.settings  # AppSettings (apiserver.app imports this module)
    return WatchLimits(
        max_events=getattr(settings, "watch_max_events", WATCH_QUEUE_LIMIT),
        max_bytes=getattr(settings, "watch_max_bytes", WATCH_MAX_BYTES),
    )


@dataclass
class _Options:
    """What the request asked for."""

    flt: WatchFilter
    rv: int
    send_initial: bool
    initial_bookmark: bool
    bookmarks: bool
    timeout: float
    table_kind: str | None


def _options(request: Request, target: Target) -> _Options:
    query = request.query_params
    labels = parse_label_selector(query["labelSelector"]) if query.get("labelSelector") else None
    fields = parse_field_selector(query["fieldSelector"]) if query.get("fieldSelector") else None
    if target.name:
        # a named watch (``/watch/.../name``) is a fieldSelector on metadata.name
        fields = parse_field_selector(f"metadata.name={target.name}")
    send_initial = query.get("sendInitialEvents", "").lower() == "true"
    if send_initial and query.get("resourceVersionMatch") not in (None, "NotOlderThan"):
        raise bad_request("sendInitialEvents requires resourceVersionMatch=NotOlderThan")
    try:
        timeout = float(query.get("timeoutSeconds") or DEFAULT_TIMEOUT)
    except ValueError:
        raise bad_request("timeoutSeconds must be a number") from None
    rv_text = query.get("resourceVersion") or ""
    try:
        rv = int(rv_text) if rv_text else 0
    except ValueError:
        raise bad_request(f'invalid resourceVersion "{rv_text}"') from None
    return _Options(
        flt=WatchFilter(labels, fields),
        rv=rv,
        send_initial=send_initial or rv == 0,
        initial_bookmark=send_initial,
        bookmarks=query.get("allowWatchBookmarks", "").lower() == "true",
        timeout=timeout,
        table_kind=target.rt.kind if negotiation.wants_table(request.headers.get("accept")) else None,
    )


async def watch_response(request: Request, target: Target) -> Response:
    opts = _options(request, target)
    registry: Registry = request.app.state.registry
    store = registry.store
    prefix = list_prefix(target.rt, target.namespace)
    try:
        # Subscribing and reading the snapshot happen without an await between them, so no
        # write can fall between the snapshot's revision and the first live event.
        watcher = store.watch(prefix, after_revision=0 if opts.send_initial else opts.rv, index=opts.flt.index())
    except CompactedError as err:
        error = expired(f"too old resource version: {err.requested} ({err.compacted})").status()
        return WatchResponse(_one(_encode("ERROR", error, None)), timeout=opts.timeout)
    snapshot = store.list(prefix) if opts.send_initial else None
    response = WatchResponse(
        _events(watcher, snapshot, target, opts, store=store, encodings=_shared_encodings(request)),
        timeout=opts.timeout,
        on_disconnect=watcher.close,
    )
    limits = _watch_limits(request)
    if isinstance(watcher, QueueWatch):
        table_kind = opts.table_kind
        watcher.bound(
            max_events=limits.max_events,
            max_bytes=limits.max_bytes,
            size_of=lambda event: len(event_line(event, event.type, table_kind)),
            on_overflow=response.cut_off_soon,
        )
    return response


async def _one(line: bytes) -> AsyncGenerator[bytes, None]:
    yield line


class WatchResponse(Response):
    """A chunked stream of watch events that ends when the client goes away or stops reading.

    Starlette's StreamingResponse runs two tasks per stream; this runs the stream in the
    request's own task, with one task waiting for the client to disconnect (which ends the
    watch at once, so it stops counting against its owner's limits).
    """

    media_type = "application/json"

    def __init__(
        self,
        chunks: AsyncGenerator[bytes, None],
        *,
        timeout: float,
        on_disconnect: Callable[[], None] = lambda: None,
    ) -> None:
        # as StreamingResponse does: no body, so no Content-Length
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked"})
        self._chunks = chunks
        self._timeout = timeout
        self._on_disconnect = on_disconnect
        self._cutoff: asyncio.Timeout | None = None
        self._cut_off = False

    def cut_off_soon(self) -> None:
        """The watcher was cut off: if its ERROR event cannot be written in time, end the stream."""
        self._cut_off = True
        if self._cutoff is not None:
            when = asyncio.get_running_loop().time() + SLOW_WATCH_GRACE
            deadline = self._cutoff.when()
            self._cutoff.reschedule(when if deadline is None else min(deadline, when))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        loop = asyncio.get_running_loop()
        listener = loop.create_task(self._until_disconnect(receive))
        try:
            async with asyncio.timeout_at(loop.time() + self._timeout + SLOW_WATCH_GRACE) as self._cutoff:
                if self._cut_off:
                    self.cut_off_soon()
                async for chunk in self._chunks:
                    for start in range(0, len(chunk), PIECE_BYTES):
                        piece = chunk if len(chunk) <= PIECE_BYTES else chunk[start : start + PIECE_BYTES]
                        await send({"type": "http.response.body", "body": piece, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except TimeoutError:
            # the client stopped reading; returning with the response incomplete makes the
            # server close the connection
            log.warning("cut off a watch whose client stopped reading (%s)", scope.get("client"))
        finally:
            self._cutoff = None
            listener.cancel()
            await self._chunks.aclose()

    async def _until_disconnect(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self._on_disconnect()


async def _events(
    watcher: Any,
    snapshot: ListResult | None,
    target: Target,
    opts: _Options,
    *,
    store: Any,
    encodings: SharedEncodings,
) -> AsyncGenerator[bytes, None]:
    try:
        last = opts.rv
        if snapshot is not None:
            last = snapshot.revision
            async for chunk in _initial(snapshot.items, opts, encodings):
                yield chunk
            if opts.initial_bookmark:
                yield _encode("BOOKMARK", _bookmark(target, last, initial_end=True), None)
        async for chunk in _live(watcher, target, opts, store=store, last=last):
            yield chunk
    finally:
        watcher.close()


async def _initial(items: list[KeyValue], opts: _Options, encodings: SharedEncodings) -> AsyncIterator[bytes]:
    """The current objects as ADDED events, a chunk at a time, letting other tasks run between."""
    now = datetime.now(UTC)
    chunk: list[bytes] = []
    size = 0
    for kv in items:
        if not opts.flt.matches(kv.value):
            continue
        line = encodings.added(kv, opts.table_kind, now)
        chunk.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield _join(chunk)
            chunk, size = [], 0
            await asyncio.sleep(0)
    if chunk:
        yield _join(chunk)


def _join(lines: list[bytes]) -> bytes:
    return lines[0] if len(lines) == 1 else b"".join(lines)


async def _live(watcher: Any, target: Target, opts: _Options, *, store: Any, last: int) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + opts.timeout
    next_bookmark = loop.time() + BOOKMARK_INTERVAL
    while True:
        now = loop.time()
        if now >= deadline:
            return
        wait = min(deadline, next_bookmark) - now if opts.bookmarks else deadline - now
        try:
            event = await watcher.next(max(wait, 0.0))
        except WatchClosedError as err:
            if isinstance(err, WatchOverflowError):
                yield _fell_behind(watcher)
            return
        if event is None:
            if opts.bookmarks and loop.time() >= next_bookmark:
                next_bookmark = loop.time() + BOOKMARK_INTERVAL
                # The queue is drained and writes happen on this thread: nothing up to the
                # store's current revision is pending for this watcher.
                yield _encode("BOOKMARK", _bookmark(target, max(last, store.committed_revision())), None)
            continue
        chunk, last = _drain(watcher, event, opts)
        if chunk:
            yield chunk


def _drain(watcher: Any, event: StoreEvent, opts: _Options) -> tuple[bytes, int]:
    """``event`` and the events queued behind it, up to a chunk's size, as one chunk; and the
    revision reached. A watch that ends meanwhile raises on the next call to ``next``."""
    lines: list[bytes] = []
    size = 0
    last = event.revision
    next_event: StoreEvent | None = event
    while next_event is not None:
        last = next_event.revision
        event_type = opts.flt.translate(next_event)
        if event_type is not None:
            line = event_line(next_event, event_type, opts.table_kind)
            lines.append(line)
            size += len(line)
        if size >= CHUNK_BYTES or len(lines) >= CHUNK_EVENTS:
            break
        try:
            next_event = watcher.poll()
        except WatchClosedError:
            break  # raised again by the next ``next``
    return (_join(lines) if lines else b""), last


def _fell_behind(watcher: Any) -> bytes:
    message = "the watch fell too far behind and was closed; list again"
    return _encode("ERROR", expired(message).status(), None)
