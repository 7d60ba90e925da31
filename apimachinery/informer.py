"""Informers: a local cache of one resource kept current by list + watch.

Components read from the cache and react to its change notifications (which only enqueue keys);
they never act on a watch payload directly. The watch resumes from the last resourceVersion
seen (bookmarks keep it fresh); a 410 Expired or a broken stream triggers a relist, which is
reconciled against the cache so handlers still see exact add/update/delete transitions.

An object that does not decode into its model (old data written before the server checked a
range, or a future bug) must not stop a component: client-go would fail the whole list and
retry it forever, leaving every controller of that kind down. Here it is skipped - logged once
per resourceVersion, with a ``FailedToDecode`` Warning Event on it (best effort) - and the rest
of the list and the watch go on. A cached object whose new version does not decode keeps its
last good version (acting as if it were deleted could make the garbage collector or the
scheduler act on something that still exists); its deletion is still seen.

:class:`InformerCache` is the cache side alone, shared with the in-memory fake's informers
(:mod:`apimachinery.testing`), so both skip, index and notify the same way.

Informers of one process that watch one server share what they decode: a version of an object
(its uid and resourceVersion on that server) is validated once and held once, however many
components cache it (``podvisor server``'s scheduler and controllers both cache every pod). As
in client-go, a cached object is shared and must never be changed in place; a component copies
it before editing.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import random
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import ValidationError

from apimachinery.api import WatchApi
from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.events import WARNING, EventRecorder
from apimachinery.models.base import TypedObject
from apimachinery.models.meta import ObjectMeta
from apimachinery.resources import by_model

log = logging.getLogger(__name__)
T = TypeVar("T", bound=TypedObject)

AddHandler = Callable[[Any], None]
UpdateHandler = Callable[[Any, Any], None]
DeleteHandler = Callable[[Any], None]

FAILED_TO_DECODE = "FailedToDecode"  # the Warning Event's reason on an object that was skipped
_MAX_REPORTED_ERRORS = 3


class EventSink(Protocol):
    def event(self, obj: Any, type_: str, reason: str, message: str) -> None: ...


def object_key(obj: Any) -> str:
    """``namespace/name`` for namespaced objects, ``name`` otherwise (client-go's MetaNamespaceKey)."""
    meta = obj.metadata
    return f"{meta.namespace}/{meta.name}" if meta.namespace else str(meta.name)


def raw_key(raw: dict[str, Any]) -> str | None:
    """:func:`object_key` of a wire object, or None when its metadata names nothing."""
    meta = raw.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        return None
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if isinstance(namespace, str) and namespace else meta["name"]


def without_managed_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` without ``metadata.managedFields``, as kube-scheduler's and kube-controller-manager's
    informers drop it (client-go's ``TransformStripManagedFields``): no controller reads it, and
    it is the largest part of a small object, so caching it costs decode time and memory for
    nothing. A write of a cached object sends none, which keeps the stored ones."""
    meta = raw.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return raw
    return {**raw, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


@dataclass(frozen=True)
class Undecodable:
    """What an Event needs to point at an object that has no model instance."""

    kind: str
    api_version: str
    metadata: ObjectMeta

    @classmethod
    def of(cls, raw: dict[str, Any], kind: str, api_version: str) -> Undecodable:
        meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
        fields = {k: v for k, v in meta.items()  # type: ignore[union-attr]
                  if k in ("name", "namespace", "uid", "resourceVersion") and isinstance(v, str)}
        return cls(kind, api_version, ObjectMeta.model_validate(fields))


def describe(err: ValidationError) -> str:
    """``spec.replicas: Input should be ...`` for the first few errors of a model validation."""
    parts = []
    for item in err.errors()[:_MAX_REPORTED_ERRORS]:
        path = ".".join(str(p) for p in item["loc"]) or "<root>"
        parts.append(f"{path}: {item['msg']}")
    more = err.error_count() - _MAX_REPORTED_ERRORS
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


class InformerCache(Generic[T]):
    """Objects by key with indexes and handlers, fed by wire events; undecodable ones skipped."""

    def __init__(self, model: type[T], *, recorder: EventSink | None = None) -> None:
        self.model = model
        self.rt = by_model(model)
        self.recorder = recorder
        self._cache: dict[str, T] = {}
        self._indexers: dict[str, Callable[[T], list[str]]] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}
        self._handlers: list[tuple[AddHandler | None, UpdateHandler | None, DeleteHandler | None]] = []
        self._undecodable: dict[str, str] = {}  # key -> the resourceVersion that failed (reported once)
        self._synced = asyncio.Event()

    # -- reading ---------------------------------------------------------------------------

    def get(self, key: str) -> T | None:
        return self._cache.get(key)

    def list(self) -> builtins.list[T]:
        return list(self._cache.values())

    def keys(self) -> builtins.list[str]:
        return list(self._cache)

    def undecodable(self) -> builtins.list[str]:
        """Keys of objects whose current version was skipped."""
        return list(self._undecodable)

    def add_indexer(self, name: str, fn: Callable[[T], builtins.list[str]]) -> None:
        self._indexers[name] = fn
        index: dict[str, set[str]] = {}
        for key, obj in self._cache.items():
            for value in fn(obj):
                index.setdefault(value, set()).add(key)
        self._indices[name] = index

    def by_index(self, name: str, value: str) -> builtins.list[T]:
        keys = self._indices.get(name, {}).get(value, set())
        return [self._cache[k] for k in keys if k in self._cache]

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._synced.wait(), timeout)

    def add_handler(
        self,
        on_add: AddHandler | None = None,
        on_update: UpdateHandler | None = None,
        on_delete: DeleteHandler | None = None,
    ) -> None:
        self._handlers.append((on_add, on_update, on_delete))
        for obj in self._cache.values():
            if on_add:
                on_add(obj)

    # -- wire events -----------------------------------------------------------------------

    def apply_raw(self, event_type: str, raw: dict[str, Any]) -> None:
        """One ADDED / MODIFIED / DELETED event as a watch delivers it."""
        if event_type == "DELETED":
            key = raw_key(raw)
            if key is None:
                return
            self._undecodable.pop(key, None)
            old = self._cache.get(key)
            if old is not None:
                self._apply("DELETED", self._decode(raw, report=False) or old)
            return
        obj = self._decode(raw)
        if obj is not None:
            self._undecodable.pop(object_key(obj), None)
            self._apply(event_type, obj)

    def replace_raw(self, items: builtins.list[dict[str, Any]]) -> None:
        """A fresh list: the cache becomes exactly what decodes, keeping skipped objects' last good version."""
        decoded: builtins.list[T] = []
        skipped: set[str] = set()
        for raw in items:
            obj = self._decode(raw)
            if obj is not None:
                decoded.append(obj)
            elif (key := raw_key(raw)) is not None:
                skipped.add(key)
        for key in [k for k in self._undecodable if k not in skipped]:
            del self._undecodable[key]
        self._replace(decoded, keep=skipped)
        self._synced.set()

    def _decode(self, raw: dict[str, Any], *, report: bool = True) -> T | None:
        try:
            return self.model.model_validate(without_managed_fields(raw))
        except ValidationError as err:
            if report:
                self._report_undecodable(raw, err)
            return None

    def _report_undecodable(self, raw: dict[str, Any], err: ValidationError) -> None:
        key = raw_key(raw) or "<unnamed>"
        meta = raw.get("metadata")
        rv = str(meta.get("resourceVersion") or "") if isinstance(meta, dict) else ""
        if self._undecodable.get(key) == rv:
            return  # this version was reported already (a relist sees it again)
        self._undecodable[key] = rv
        message = f"{self.rt.kind} {key} does not decode and is ignored until it is fixed: {describe(err)}"
        log.warning("skipping %s (resourceVersion %s): %s", key, rv or "?", message)
        if self.recorder is None or key == "<unnamed>":
            return
        try:
            self.recorder.event(Undecodable.of(raw, self.rt.kind, self.rt.api_version), WARNING, FAILED_TO_DECODE,
                                message)
        except Exception:  # best effort: reporting must not break the informer either
            log.debug("could not record %s for %s", FAILED_TO_DECODE, key, exc_info=True)

    # -- cache updates ---------------------------------------------------------------------

    def _index(self, key: str, old: T | None, new: T | None) -> None:
        for name, fn in self._indexers.items():
            index = self._indices[name]
            for value in fn(old) if old is not None else []:
                index.get(value, set()).discard(key)
            for value in fn(new) if new is not None else []:
                index.setdefault(value, set()).add(key)

    def _apply(self, kind: str, obj: T) -> None:
        key = object_key(obj)
        old = self._cache.get(key)
        if kind == "DELETED":
            if old is None:
                return
            del self._cache[key]
            self._index(key, old, None)
            self._dispatch(lambda h: h[2] and h[2](obj))
            return
        self._cache[key] = obj
        self._index(key, old, obj)
        if old is None:
            self._dispatch(lambda h: h[0] and h[0](obj))
        else:
            self._dispatch(lambda h: h[1] and h[1](old, obj))

    def _dispatch(self, call: Callable[[Any], Any]) -> None:
        for handler in self._handlers:
            try:
                call(handler)
            except Exception:  # a broken handler must not stop the informer
                log.exception("%s informer handler failed", self.rt.plural)

    def _replace(self, items: builtins.list[T], *, keep: set[str]) -> None:
        fresh = {object_key(o): o for o in items}
        for key in [k for k in self._cache if k not in fresh and k not in keep]:
            self._apply("DELETED", self._cache[key])
        for obj in items:
            old = self._cache.get(object_key(obj))
            if old is None or old.metadata.resource_version != obj.metadata.resource_version:  # type: ignore[attr-defined]
                self._apply("MODIFIED" if old else "ADDED", obj)


#: Decoded objects by (server, model, uid, resourceVersion), alive while some cache holds them.
_decoded: weakref.WeakValueDictionary[tuple[str, type, str, str], Any] = weakref.WeakValueDictionary()


def _version_key(server: str, model: type, raw: dict[str, Any]) -> tuple[str, type, str, str] | None:
    """What names one stored version of ``raw`` on ``server``; None without a uid and version."""
    meta = raw.get("metadata")
    if not server or not isinstance(meta, dict):
        return None
    uid, version = meta.get("uid"), meta.get("resourceVersion")
    if not isinstance(uid, str) or not uid or not isinstance(version, str) or not version:
        return None
    return server, model, uid, version


class Informer(InformerCache[T]):
    def __init__(
        self,
        client: WatchApi,
        model: type[T],
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        watch_timeout: int = 300,
        recorder: EventSink | None = None,
    ) -> None:
        super().__init__(model, recorder=recorder if recorder is not None else _default_recorder(client))
        self.client = client
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.watch_timeout = watch_timeout
        self.resource_version = ""
        server = getattr(client, "base_url", "")  # an ApiClient's; the fakes' have none and share nothing
        self.server = server if isinstance(server, str) else ""

    def _decode(self, raw: dict[str, Any], *, report: bool = True) -> T | None:
        key = _version_key(self.server, self.model, raw)
        found = _decoded.get(key) if key is not None else None
        if found is not None:
            return found  # type: ignore[no-any-return]
        obj = super()._decode(raw, report=report)
        if key is not None and obj is not None:
            _decoded[key] = obj
        return obj

    # -- list + watch loop -----------------------------------------------------------------

    async def _relist(self) -> None:
        items, rv = await self.client.list_raw(
            self.rt, self.namespace, label_selector=self.label_selector, field_selector=self.field_selector
        )
        self.replace_raw(items)
        self.resource_version = rv

    async def _watch_once(self) -> bool:
        """Stream events until the server closes; False means the cache must be relisted."""
        async for event in self.client.watch_raw(
            self.rt,
            self.namespace,
            resource_version=self.resource_version,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            timeout_seconds=self.watch_timeout + random.randint(0, self.watch_timeout // 5 + 1),
        ):
            if event.type == "ERROR":
                log.info("%s watch: %s; relisting", self.rt.plural, event.object.get("message"))
                return False
            if event.resource_version:
                self.resource_version = event.resource_version
            if event.type != "BOOKMARK":
                self.apply_raw(event.type, event.object)
        return True

    async def run(self) -> None:
        """List, then watch forever; reconnect with back-off, relist when history expired.

        A stream that cannot be parsed (ValueError) is relisted too: resuming from the same
        resourceVersion would only read the same bytes again."""
        delay = 0.2
        need_list = True
        while True:
            try:
                if need_list:
                    await self._relist()
                need_list = not await self._watch_once()
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except (ApiError, ValueError) as err:
                need_list = need_list or not isinstance(err, ApiError) or err.code == 410
                log.debug("%s informer: %s; retrying in %.1fs", self.rt.plural, err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


def _default_recorder(client: WatchApi) -> EventSink | None:
    """Events through the informer's own client, as the component its user agent names."""
    if not isinstance(client, ApiClient):
        return None
    component, _, host = client.user_agent.partition("/")
    return EventRecorder(client, component, host or None)
