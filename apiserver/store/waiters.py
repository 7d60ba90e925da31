"""Requests waiting for revisions to settle: committed, or rolled back by a failed commit.

A waiter waits for ``target`` (the store's revision when it started waiting). A *strict*
waiter (``sync()``: a request about to be answered) needs every write up to its target
durable, so it fails with the commit's error if any of them was rolled back. A *lenient* one
(``wait_fresh()``: a request about to read) only needs the live state to hold nothing that is
not durable, which a rollback also achieves, so it never fails for another request's write.
"""

from __future__ import annotations

import asyncio

from apiserver.store.base import StorageError


class Waiters:
    def __init__(self) -> None:
        self._waiting: list[tuple[int, bool, asyncio.Future[None]]] = []

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, target: int, *, strict: bool) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((target, strict, future))
        return future

    def committed(self, revision: int) -> None:
        """Everything up to ``revision`` is durable: wake who waited for no more than that."""
        keep = []
        for target, strict, future in self._waiting:
            if future.done():
                continue
            if target <= revision:
                future.set_result(None)
            else:
                keep.append((target, strict, future))
        self._waiting = keep

    def rolled_back(self, durable: int, error: StorageError) -> None:
        """Writes after ``durable`` are gone: strict waiters beyond it fail, the rest go on."""
        for target, strict, future in self._waiting:
            if future.done():
                continue
            if strict and target > durable:
                future.set_exception(error)
            else:
                future.set_result(None)
        self._waiting = []

    def fail_all(self, error: StorageError) -> None:
        for _, _, future in self._waiting:
            if not future.done():
                future.set_exception(error)
        self._waiting = []
