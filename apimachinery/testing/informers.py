"""Informers over :class:`apimachinery.testing.FakeApi`: the real cache, fed without a watch.

A :class:`FakeInformer` is an :class:`apimachinery.informer.InformerCache` - the same cache,
indexes, handlers and skipping of undecodable objects the components run with - that the fake
feeds each write synchronously, filtered by namespace and selectors the way a watch filters:
an object that stops matching arrives as DELETED, one that starts matching as ADDED. So the
scheduler's pending-pod informer (``spec.nodeName=``) loses a pod when it is bound, exactly as
in production.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, TypeVar

from apimachinery import jsonio
from apimachinery.api import WatchEvent
from apimachinery.informer import EventSink, InformerCache, raw_key
from apimachinery.models.base import TypedObject
from apimachinery.resources import ResourceType
from apimachinery.selectors import FieldSelector, LabelSelector, parse_field_selector, parse_label_selector
from apimachinery.testing.rules import translate

T = TypeVar("T", bound=TypedObject)


@dataclass(frozen=True)
class Change:
    """One write as the store saw it: ``old`` is the previous value (None when created); on a
    deletion ``new`` is the last value at the deletion's revision."""

    type: str  # ADDED | MODIFIED | DELETED
    rt: ResourceType
    old: dict[str, Any] | None
    new: dict[str, Any]
    revision: int


@dataclass(frozen=True)
class Filter:
    """A watch's or list's scope: the resource, a namespace, label and field selectors."""

    rt: ResourceType
    namespace: str | None
    labels: LabelSelector | None
    fields: FieldSelector | None

    @classmethod
    def parse(cls, rt: ResourceType, namespace: str | None, label_selector: str | None,
              field_selector: str | None) -> Filter:
        return cls(rt, namespace if rt.namespaced else None,
                   parse_label_selector(label_selector) if label_selector else None,
                   parse_field_selector(field_selector) if field_selector else None)

    def matches(self, obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if self.labels is not None and not self.labels.matches(meta.get("labels") or {}):
            return False
        return self.fields is None or self.fields.matches(obj)

    def event_type(self, change: Change) -> str | None:
        if change.rt is not self.rt:
            return None
        before = change.old is not None and self.matches(change.old)
        return translate(change.type, before=before, now=self.matches(change.new))

    def event(self, change: Change) -> WatchEvent | None:
        kind = self.event_type(change)
        return WatchEvent(kind, _copy(change.new)) if kind is not None else None


class FakeInformer(InformerCache[T]):
    def __init__(self, model: type[T], scope: Filter, *, recorder: EventSink | None = None) -> None:
        super().__init__(model, recorder=recorder)
        self.scope = scope
        self._revisions: dict[str, int] = {}  # key -> revision last applied

    def sync(self, items: builtins.list[tuple[dict[str, Any], int]]) -> None:
        """The initial list: objects with their revisions."""
        for obj, revision in items:
            if (key := raw_key(obj)) is not None:
                self._revisions[key] = revision
        self.replace_raw([obj for obj, _ in items])

    def observe(self, change: Change) -> None:
        """One write, if it concerns this informer and is newer than what it holds for the key
        (a seed delivered at once overtakes older writes still waiting for :meth:`FakeApi.deliver`)."""
        kind = self.scope.event_type(change)
        key = raw_key(change.new)
        if kind is None or key is None or self._revisions.get(key, 0) >= change.revision:
            return
        self._revisions[key] = change.revision
        self.apply_raw(kind, change.new)  # decoding builds the model; cached objects are read-only anyway

    # -- what a watch would deliver, without the store ------------------------------------------

    def add(self, obj: T) -> T:
        """Put ``obj`` in the cache (notifying handlers) as a watch event would, without storing it."""
        self.apply_raw("MODIFIED", obj.to_dict())
        return obj

    def delete(self, obj: T) -> None:
        """Drop ``obj`` from the cache as a DELETED event would, without touching the store."""
        self.apply_raw("DELETED", obj.to_dict())


def _copy(obj: dict[str, Any]) -> dict[str, Any]:
    """A private copy for one consumer (each client decodes its own bytes)."""
    value: dict[str, Any] = jsonio.loads(jsonio.dumps(obj))
    return value
