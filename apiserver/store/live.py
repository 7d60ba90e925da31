"""The latest state of every key, in memory: what both stores serve gets and current lists from.

Keys are grouped by resource (``/registry/pods/...`` -> ``pods``) so a list scans only the
objects of its resource, not the whole cluster.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from itertools import islice

from apiserver.store.base import KeyValue


def bucket_of(key: str) -> str:
    """``/registry/pods/default/x`` -> ``pods``: the resource a key belongs to."""
    parts = key.split("/", 3)
    return parts[2] if len(parts) > 2 else ""


class _Bucket:
    """One resource's objects, with their keys kept sorted: a list finds its namespace by bisection
    instead of sorting every key of the resource."""

    def __init__(self) -> None:
        self.objects: dict[str, KeyValue] = {}
        self.keys: list[str] = []

    def put(self, kv: KeyValue) -> None:
        if kv.key not in self.objects:
            bisect.insort(self.keys, kv.key)
        self.objects[kv.key] = kv

    def remove(self, key: str) -> None:
        if self.objects.pop(key, None) is not None:
            del self.keys[bisect.bisect_left(self.keys, key)]

    def under(self, prefix: str, start_after: str = "") -> Iterator[str]:
        """Keys under ``prefix`` after ``start_after``, in order."""
        keys = self.keys
        i = bisect.bisect_right(keys, start_after) if start_after >= prefix else bisect.bisect_left(keys, prefix)
        while i < len(keys) and keys[i].startswith(prefix):
            yield keys[i]
            i += 1


class LiveState:
    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def get(self, key: str) -> KeyValue | None:
        bucket = self._buckets.get(bucket_of(key))
        return bucket.objects.get(key) if bucket is not None else None

    def put(self, kv: KeyValue) -> None:
        bucket = self._buckets.get(bucket_of(kv.key))
        if bucket is None:
            bucket = self._buckets[bucket_of(kv.key)] = _Bucket()
        bucket.put(kv)

    def remove(self, key: str) -> None:
        bucket = self._buckets.get(bucket_of(key))
        if bucket is not None:
            bucket.remove(key)

    def count(self, prefix: str) -> int:
        bucket = self._buckets.get(bucket_of(prefix))
        return sum(1 for _ in bucket.under(prefix)) if bucket is not None else 0

    def page(self, prefix: str, *, start_after: str = "", limit: int = 0) -> tuple[list[KeyValue], bool]:
        """Objects under ``prefix`` after ``start_after`` in key order, and whether more follow."""
        bucket = self._buckets.get(bucket_of(prefix))
        if bucket is None:
            return [], False
        keys = list(islice(bucket.under(prefix, start_after), limit + 1 if limit else None))
        more = bool(limit) and len(keys) > limit
        return [bucket.objects[k] for k in keys[: limit or None]], more


class LiveReads:
    """The reads both stores answer alike, from memory; each keeps these three fields current."""

    _live: LiveState
    _revision: int
    _compacted: int

    def current_revision(self) -> int:
        return self._revision

    def compacted_revision(self) -> int:
        return self._compacted

    def get(self, key: str) -> KeyValue | None:
        return self._live.get(key)

    def count(self, prefix: str) -> int:
        return self._live.count(prefix)
