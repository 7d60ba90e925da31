"""Informers: a local cache of one resource kept current by list + watch.

Components read from the cache and react to its change notifications (which only enqueue keys);
they never act on a watch payload directly. The watch resumes from the last resourceVersion
seen (bookmarks keep it fresh); a 410 Expired or a broken stream triggers a relist, which is
reconciled against the cache so handlers still see exact add/update/delete transitions.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import random
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.models.base import TypedObject
from apimachinery.resources import by_model

log = logging.getLogger(__name__)
T = TypeVar("T", bound=TypedObject)

AddHandler = Callable[[Any], None]
UpdateHandler = Callable[[Any, Any], None]
DeleteHandler = Callable[[Any], None]


def object_key(obj: Any) -> str:
    """``namespace/name`` for namespaced objects, ``name`` otherwise (client-go's MetaNamespaceKey)."""
    meta = obj.metadata
    return f"{meta.namespace}/{meta.name}" if meta.namespace else str(meta.name)


class Informer(Generic[T]):
    def __init__(
        self,
        client: ApiClient,
        model: type[T],
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        watch_timeout: int = 300,
    ) -> None:
        self.client = client
        self.model = model
        self.rt = by_model(model)
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.watch_timeout = watch_timeout
        self._cache: dict[str, T] = {}
        self._indexers: dict[str, Callable[[T], list[str]]] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}
        self._handlers: list[tuple[AddHandler | None, UpdateHandler | None, DeleteHandler | None]] = []
        self._synced = asyncio.Event()
        self.resource_version = ""

    # -- reading ---------------------------------------------------------------------------

    def get(self, key: str) -> T | None:
        return self._cache.get(key)

    def list(self) -> builtins.list[T]:
        return list(self._cache.values())

    def keys(self) -> builtins.list[str]:
        return list(self._cache)

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

    def _replace(self, items: builtins.list[T]) -> None:
        fresh = {object_key(o): o for o in items}
        for key in [k for k in self._cache if k not in fresh]:
            self._apply("DELETED", self._cache[key])
        for obj in items:
            old = self._cache.get(object_key(obj))
            if old is None or old.metadata.resource_version != obj.metadata.resource_version:  # type: ignore[attr-defined]
                self._apply("MODIFIED" if old else "ADDED", obj)

    # -- list + watch loop -----------------------------------------------------------------

    async def _relist(self) -> None:
        items, rv = await self.client.list_raw(
            self.rt, self.namespace, label_selector=self.label_selector, field_selector=self.field_selector
        )
        self._replace([self.model.model_validate(i) for i in items])
        self.resource_version = rv
        self._synced.set()

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
                self._apply(event.type, self.model.model_validate(event.object))
        return True

    async def run(self) -> None:
        """List, then watch forever; reconnect with back-off, relist when history expired."""
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
                need_list = need_list or (isinstance(err, ApiError) and err.code == 410)
                log.debug("%s informer: %s; retrying in %.1fs", self.rt.plural, err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
