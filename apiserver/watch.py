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
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from apimachinery import jsonio
from apimachinery.errors import bad_request, expired
from apimachinery.selectors import FieldSelector, LabelSelector, parse_field_selector, parse_label_selector
from apiserver import negotiation, tables
from apiserver.registry import Registry, list_prefix, with_revision
from apiserver.routes.paths import Target
from apiserver.store.base import CompactedError, StoreEvent, WatchClosedError
from apiserver.store.watch_queue import INDEXED_FIELDS, Index

BOOKMARK_INTERVAL = 30.0
DEFAULT_TIMEOUT = 1800.0


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


def _encode(event_type: str, obj: dict[str, Any], table_kind: str | None) -> bytes:
    if table_kind and event_type != "ERROR" and event_type != "BOOKMARK":
        obj = tables.to_table(
            table_kind,
            [obj],
            resource_version=obj["metadata"].get("resourceVersion", ""),
            now=datetime.now(UTC),
        )
    return jsonio.dumps({"type": event_type, "object": obj}) + b"\n"


def _encode_event(event: StoreEvent, event_type: str, table_kind: str | None) -> bytes:
    """``event`` on the wire as ``event_type``; plain JSON is encoded once per event for all watchers."""
    if table_kind:
        return _encode(event_type, with_revision(event.kv), table_kind)
    data = event.encoded.get(event_type)
    if data is None:
        data = event.encoded[event_type] = _encode(event_type, with_revision(event.kv), None)
    return data


def _bookmark(target: Target, revision: int, *, initial_end: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(revision)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": target.rt.kind, "apiVersion": target.rt.api_version, "metadata": meta}


async def watch_response(request: Request, target: Target) -> StreamingResponse:
    query = request.query_params
    registry: Registry = request.app.state.registry
    labels = parse_label_selector(query["labelSelector"]) if query.get("labelSelector") else None
    fields = parse_field_selector(query["fieldSelector"]) if query.get("fieldSelector") else None
    flt = WatchFilter(labels, fields)
    send_initial = query.get("sendInitialEvents", "").lower() == "true"
    if send_initial and query.get("resourceVersionMatch") not in (None, "NotOlderThan"):
        raise bad_request("sendInitialEvents requires resourceVersionMatch=NotOlderThan")
    try:
        timeout = float(query.get("timeoutSeconds") or DEFAULT_TIMEOUT)
    except ValueError:
        raise bad_request("timeoutSeconds must be a number") from None
    bookmarks = query.get("allowWatchBookmarks", "").lower() == "true"
    rv_text = query.get("resourceVersion") or ""
    try:
        rv = int(rv_text) if rv_text else 0
    except ValueError:
        raise bad_request(f'invalid resourceVersion "{rv_text}"') from None
    table_kind = target.rt.kind if negotiation.wants_table(request.headers.get("accept")) else None
    stream = _events(
        registry,
        target,
        flt,
        rv=rv,
        send_initial=send_initial or rv == 0,
        initial_bookmark=send_initial,
        bookmarks=bookmarks,
        timeout=timeout,
        table_kind=table_kind,
    )
    return StreamingResponse(
        stream,
        media_type="application/json",
        headers={"Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked"},
    )


async def _events(
    registry: Registry,
    target: Target,
    flt: WatchFilter,
    *,
    rv: int,
    send_initial: bool,
    initial_bookmark: bool,
    bookmarks: bool,
    timeout: float,
    table_kind: str | None,
) -> AsyncIterator[bytes]:
    store = registry.store
    prefix = list_prefix(target.rt, target.namespace)
    if target.name:
        # a named watch (``/watch/.../name``) is a fieldSelector on metadata.name
        flt.fields = parse_field_selector(f"metadata.name={target.name}")
    try:
        # Subscribing and reading the snapshot happen without an await between them, so no
        # write can fall between the snapshot's revision and the first live event.
        watcher = store.watch(prefix, after_revision=0 if send_initial else rv, index=flt.index())
    except CompactedError as err:
        yield _encode(
            "ERROR", expired(f"too old resource version: {err.requested} ({err.compacted})").status(), None
        )
        return
    try:
        last = rv
        if send_initial:
            page = store.list(prefix)
            last = page.revision
            for kv in page.items:
                obj = with_revision(kv)
                if flt.matches(obj):
                    yield _encode("ADDED", obj, table_kind)
            if initial_bookmark:
                yield _encode("BOOKMARK", _bookmark(target, last, initial_end=True), None)
        async for chunk in _live(
            watcher,
            flt,
            target,
            store=store,
            last=last,
            bookmarks=bookmarks,
            timeout=timeout,
            table_kind=table_kind,
        ):
            yield chunk
    finally:
        watcher.close()


async def _live(
    watcher: Any,
    flt: WatchFilter,
    target: Target,
    *,
    store: Any,
    last: int,
    bookmarks: bool,
    timeout: float,
    table_kind: str | None,
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    next_bookmark = loop.time() + BOOKMARK_INTERVAL
    while True:
        now = loop.time()
        if now >= deadline:
            return
        wait = min(deadline, next_bookmark) - now if bookmarks else deadline - now
        try:
            event = await watcher.next(max(wait, 0.0))
        except WatchClosedError:
            return
        if event is None:
            if bookmarks and loop.time() >= next_bookmark:
                next_bookmark = loop.time() + BOOKMARK_INTERVAL
                # The queue is drained and writes happen on this thread: nothing up to the
                # store's current revision is pending for this watcher.
                yield _encode("BOOKMARK", _bookmark(target, max(last, store.committed_revision())), None)
            continue
        last = event.revision
        event_type = flt.translate(event)
        if event_type is not None:
            yield _encode_event(event, event_type, table_kind)
