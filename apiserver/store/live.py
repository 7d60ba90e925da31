"""The latest state of every key, in memory: what both stores serve gets and current lists from.

Keys are grouped by resource (``/registry/pods/...`` -> ``pods``) so a list scans only the
objects of its resource, not the whole cluster.
"""

from __future__ import annotations

from apiserver.store.base import KeyValue


def bucket_of(key: str) -> str:
    """``/registry/pods/default/x`` -> ``pods``: the resource a key belongs to."""
    parts = key.split("/", 3)
    return parts[2] if len(parts) > 2 else ""


class LiveState:
    def __init__(self) -> None:
        self._buckets: dict[str, dict[str, KeyValue]] = {}

    def get(self, key: str) -> KeyValue | None:
        return self._buckets.get(bucket_of(key), {}).get(key)

    def put(self, kv: KeyValue) -> None:
        self._buckets.setdefault(bucket_of(kv.key), {})[kv.key] = kv

    def remove(self, key: str) -> None:
        self._buckets.get(bucket_of(key), {}).pop(key, None)

    def count(self, prefix: str) -> int:
        return sum(1 for k in self._buckets.get(bucket_of(prefix), {}) if k.startswith(prefix))

    def page(self, prefix: str, *, start_after: str = "", limit: int = 0) -> tuple[list[KeyValue], bool]:
        """Objects under ``prefix`` after ``start_after`` in key order, and whether more follow."""
        bucket = self._buckets.get(bucket_of(prefix), {})
        keys = sorted(k for k in bucket if k.startswith(prefix) and k > start_after)
        more = bool(limit) and len(keys) > limit
        if limit:
            keys = keys[:limit]
        return [bucket[k] for k in keys], more


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
