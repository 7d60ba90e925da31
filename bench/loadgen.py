"""A closed-loop HTTP load generator and a watch-latency probe, on aiohttp (httpx as a fallback).

Closed loop: one worker per connection sends its next request as soon as the previous answered,
for ``duration`` seconds. Throughput is requests completed / elapsed; every request's latency is
kept for p50/p99. A server that slows down therefore receives fewer requests (no
coordinated-omission correction): fine for comparing two servers under the same generator.

The generator shares 2 cores with the server, so its own cost per request matters: measured
here, httpx spends ~2.3 ms of CPU per HTTPS GET and aiohttp ~0.3 ms, so with httpx the
generator, not the server, sets the ceiling. aiohttp is used when installed (the ``bench``
extra should carry it); the results name the generator used.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

try:
    import aiohttp
except ImportError:  # pragma: no cover - depends on the environment
    aiohttp = None  # type: ignore[assignment]


class Conn(Protocol):
    """One keep-alive HTTPS connection to the server under test, with the bearer token set."""

    async def request(self, method: str, path: str, *, body: Any = None) -> tuple[int, bytes]: ...

    def stream_lines(self, path: str, params: dict[str, str]) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


Op = Callable[[Conn, int, int], Awaitable[tuple[int, bytes]]]  # (connection, worker, i) -> (status, body)


def generator_name() -> str:
    return "aiohttp" if aiohttp is not None else "httpx"


class AiohttpConn:
    def __init__(self, base_url: str, *, ca: str, token: str, limit: int) -> None:
        connector = aiohttp.TCPConnector(limit=limit, ssl=ssl.create_default_context(cafile=ca))
        self._session = aiohttp.ClientSession(base_url=base_url, connector=connector,
                                              headers={"Authorization": f"Bearer {token}"},
                                              timeout=aiohttp.ClientTimeout(total=None, sock_read=60))

    async def request(self, method: str, path: str, *, body: Any = None) -> tuple[int, bytes]:
        async with self._session.request(method, path, json=body) as response:
            return response.status, await response.read()

    async def stream_lines(self, path: str, params: dict[str, str]) -> AsyncIterator[bytes]:
        async with self._session.get(path, params=params) as response:
            async for line in response.content:
                yield line

    async def close(self) -> None:
        await self._session.close()


class HttpxConn:
    def __init__(self, base_url: str, *, ca: str, token: str, limit: int) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, verify=ca, headers={"Authorization": f"Bearer {token}"},
                                         timeout=httpx.Timeout(60.0),
                                         limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit))

    async def request(self, method: str, path: str, *, body: Any = None) -> tuple[int, bytes]:
        response = await self._client.request(method, path, json=body)
        return response.status_code, response.content

    async def stream_lines(self, path: str, params: dict[str, str]) -> AsyncIterator[bytes]:
        async with self._client.stream("GET", path, params=params, timeout=None) as response:
            async for line in response.aiter_lines():
                yield line.encode()

    async def close(self) -> None:
        await self._client.aclose()


def connect(base_url: str, *, ca: str, token: str, limit: int = 1) -> Conn:
    cls = AiohttpConn if aiohttp is not None else HttpxConn
    return cls(base_url, ca=ca, token=token, limit=limit)


@dataclass
class LoadResult:
    count: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""

    @property
    def seconds_per_op(self) -> float:
        return self.elapsed / self.count if self.count else float("inf")


async def closed_loop(conns: list[Conn], op: Op, *, duration: float) -> LoadResult:
    """One worker per connection, each sending back-to-back requests for ``duration`` seconds."""
    result = LoadResult()
    end = time.perf_counter() + duration

    async def worker(w: int) -> None:
        conn, i = conns[w], 0
        while time.perf_counter() < end:
            start = time.perf_counter()
            try:
                status, body = await op(conn, w, i)
                ok = status < 400
                if not ok and not result.first_error:
                    result.first_error = f"{status} {body[:200]!r}"
            except Exception as err:  # noqa: BLE001 - counted and reported, the run goes on
                ok = False
                result.first_error = result.first_error or repr(err)
            result.latencies.append(time.perf_counter() - start)
            result.count += ok
            result.errors += not ok
            i += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(len(conns))))
    result.elapsed = time.perf_counter() - began
    return result


async def watch_latency(watchers: list[Conn], write: Callable[[str], Awaitable[Any]], *,
                        path: str, events: int, prefix: str, gap: float = 0.01) -> list[float]:
    """Write ``events`` objects one at a time; latency = write sent -> event received, per watcher."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    seen: list[set[str]] = [set() for _ in watchers]
    ready = asyncio.Event()

    async def watch(k: int) -> None:
        async for line in watchers[k].stream_lines(path, {"watch": "true"}):
            if not line.strip():
                continue
            now = time.perf_counter()
            name = json.loads(line).get("object", {}).get("metadata", {}).get("name", "")
            if name in sent:
                latencies.append(now - sent[name])
            seen[k].add(name)
            if all(f"{prefix}-sync" in s for s in seen):
                ready.set()

    tasks = [asyncio.create_task(watch(k)) for k in range(len(watchers))]
    try:
        await asyncio.sleep(0.5)  # let every stream open before the first event
        await write(f"{prefix}-sync")
        await asyncio.wait_for(ready.wait(), 60)
        for i in range(events):
            name = f"{prefix}-{i}"
            sent[name] = time.perf_counter()
            await write(name)
            await asyncio.sleep(gap)
        last = f"{prefix}-{events - 1}"
        deadline = time.perf_counter() + 30
        while not all(last in s for s in seen) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return latencies
