"""Durable, race-free allocation from a range: one store key per value, created exclusively.

Kubernetes keeps Service IPs as ``networking.k8s.io/v1`` IPAddress objects (the
MultiCIDRServiceAllocator, GA in 1.33): allocating an address is creating the object named
after it, and the store's create-if-absent settles every race, between requests of one
apiserver or of several sharing a database. podvisor does the same for IPs and node ports
(:class:`Book`): no in-memory bitmap to rebuild, nothing to lose on a crash but a record
that names its Service, which the repair loop (:mod:`.repair`) frees once no Service holds it.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from apiserver.store.base import KeyExistsError, KeyNotFoundError, RevisionConflictError, Store

#: Random picks tried before listing what is taken: in a sparsely used range one pick succeeds.
RANDOM_TRIES = 8


@dataclass(frozen=True)
class Owner:
    """The Service holding a value, as an IPAddress's ``spec.parentRef`` names it."""

    namespace: str
    name: str

    def parent_ref(self) -> dict[str, str]:
        return {"group": "", "resource": "services", "namespace": self.namespace, "name": self.name}

    @classmethod
    def of(cls, record: dict[str, Any]) -> Owner | None:
        ref = (record.get("spec") or {}).get("parentRef") or {}
        if ref.get("resource") != "services" or not ref.get("name"):
            return None
        return cls(str(ref.get("namespace") or ""), str(ref["name"]))


class AllocationError(Exception):
    """A value could not be allocated; the subclass says why."""


class NotInRangeError(AllocationError):
    pass


class AllocatedError(AllocationError):
    pass


class RangeFullError(AllocationError):
    pass


class Range(Protocol):
    @property
    def size(self) -> int: ...

    @property
    def band(self) -> int: ...

    def name(self, offset: int) -> str: ...

    def offset(self, value: str) -> int | None: ...


Record = Callable[[str, Owner, str], dict[str, Any]]  # (value, owner, creation time) -> stored object


class Book:
    """The reservation records of one range, under one key prefix of the store."""

    def __init__(self, store: Store, *, prefix: str, record: Record, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.prefix = prefix
        self.record = record
        self.clock = clock

    def key(self, value: str) -> str:
        return self.prefix + value

    def reserve(self, value: str, owner: Owner) -> bool:
        """Create the record; False when another holds the value (the store decided, atomically)."""
        now = self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            self.store.create(self.key(value), self.record(value, owner, now))
        except (KeyExistsError, RevisionConflictError):
            return False
        return True

    def holder(self, value: str) -> Owner | None:
        kv = self.store.get(self.key(value))
        return Owner.of(kv.value) if kv is not None else None

    def release(self, value: str, owner: Owner) -> None:
        """Delete the record if ``owner`` holds it; one held by another Service is left alone."""
        kv = self.store.get(self.key(value))
        if kv is None or Owner.of(kv.value) != owner:
            return
        with contextlib.suppress(KeyNotFoundError, RevisionConflictError):  # released, or taken over, meanwhile
            self.store.delete(kv.key, expected_revision=kv.mod_revision)

    def taken(self) -> set[str]:
        """Every value reserved now."""
        names: set[str] = set()
        start = ""
        while True:
            page = self.store.list(self.prefix, start_after=start, limit=1000)
            names.update(kv.key[len(self.prefix):] for kv in page.items)
            if not page.more or not page.items:
                return names
            start = page.items[-1].key


class Allocator:
    """Specific and random allocation of one range's values, each a :class:`Book` record."""

    def __init__(self, values: Range, book: Book, *, rng: random.Random | None = None,
                 kept_for: dict[str, Owner] | None = None) -> None:
        self.values = values
        self.book = book
        self.rng = rng or random.Random()
        #: Values only one owner may have, never allocated at random (the kubernetes Service's IP).
        self.kept_for = kept_for or {}

    def allocate(self, value: str, owner: Owner, *, dry_run: bool = False) -> None:
        if self.values.offset(value) is None:
            raise NotInRangeError(value)
        if self.kept_for.get(value, owner) != owner:
            raise AllocatedError(value)
        if dry_run:
            if self.book.holder(value) is not None:
                raise AllocatedError(value)
            return
        if not self.book.reserve(value, owner):
            raise AllocatedError(value)

    def allocate_next(self, owner: Owner, *, dry_run: bool = False) -> str:
        """A random free value: above the static band first, as Kubernetes allocates, then in it."""
        size, band = self.values.size, self.values.band
        if band < size:
            for _ in range(RANDOM_TRIES):
                value = self.values.name(self.rng.randrange(band, size))
                if value in self.kept_for:
                    continue
                if self.book.holder(value) is None if dry_run else self.book.reserve(value, owner):
                    return value
        taken = self.book.taken() | set(self.kept_for)
        for value in self._candidates(taken):
            if dry_run or self.book.reserve(value, owner):
                return value
        raise RangeFullError()

    def _candidates(self, taken: set[str]) -> Iterator[str]:
        """Free values (as last listed), each segment walked from a random point."""
        size, band = self.values.size, self.values.band
        for low, high in ((band, size), (0, band)):
            if low >= high:
                continue
            start = self.rng.randrange(low, high)
            for offset in itertools.chain(range(start, high), range(low, start)):
                value = self.values.name(offset)
                if value not in taken:
                    yield value

    def release(self, value: str, owner: Owner) -> None:
        self.book.release(value, owner)
