"""Calling the blocking runtime from the event loop.

The runtime Protocol is synchronous (the Docker SDK blocks), so every call goes through a
``Runner``: a thread from a pool of its own for Docker (sized to the SDK's connection pool,
not the loop's small default executor, because a graceful stop holds a thread for the whole
grace period), or inline for the in-memory fake, which never blocks. Inline calls keep unit
tests deterministic and let one process simulate thousands of hollow nodes without threads.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

R = TypeVar("R")


class Runner(Protocol):
    async def __call__(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R: ...


class ThreadRunner:
    """Runs each call in a dedicated thread pool."""

    def __init__(self, max_workers: int = 64) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="runtime")

    async def __call__(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class InlineRunner:
    """Runs each call directly on the loop: only for runtimes that never block (the fake)."""

    async def __call__(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        return fn(*args, **kwargs)

    def shutdown(self) -> None:
        pass
