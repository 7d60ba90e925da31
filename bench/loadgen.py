"""A closed-loop HTTP load generator (httpx + asyncio) and a watch-latency probe.

Closed loop: ``connections`` workers share a pool of as many keep-alive connections, each sends
its next request as soon as the previous answered, for ``duration`` seconds. Throughput is
requests completed / elapsed; every request's latency is kept for p50/p99. A server that slows
down therefore receives fewer requests (no coordinated-omission correction): fine for comparing
two servers under the same generator, which is all this is for.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

Op = Callable[[httpx.AsyncClient, int, int], Awaitable[httpx.Response]]  # (client, worker, i) -> response


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


def make_client(base_url: str, *, ca: str, token: str, connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, verify=ca, headers={"Authorization": f"Bearer {token}"},
                             timeout=httpx.Timeout(30.0), limits=httpx.Limits(max_connections=connections,
                                                                              max_keepalive_connections=connections))


async def closed_loop(clients: list[httpx.AsyncClient], op: Op, *, duration: float) -> LoadResult:
    """One worker per client: a client per connection, as httpx's shared pool serialises 64 workers."""
    result = LoadResult()
    end = time.perf_counter() + duration

    async def worker(w: int) -> None:
        client = clients[w]
        i = 0
        while time.perf_counter() < end:
            start = time.perf_counter()
            try:
                response = await op(client, w, i)
                ok = response.status_code < 400
                if not ok and not result.first_error:
                    result.first_error = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as err:
                ok = False
                result.first_error = result.first_error or repr(err)
            result.latencies.append(time.perf_counter() - start)
            result.count += ok
            result.errors += not ok
            i += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(len(clients))))
    result.elapsed = time.perf_counter() - began
    return result


async def watch_latency(watch_client: httpx.AsyncClient, write: Callable[[str], Awaitable[httpx.Response]], *,
                        path: str, watchers: int, events: int, prefix: str, gap: float = 0.01) -> list[float]:
    """Write ``events`` objects one at a time; latency = write sent -> event received, per watcher."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    seen: list[set[str]] = [set() for _ in range(watchers)]
    ready = asyncio.Event()

    async def watch(k: int) -> None:
        async with watch_client.stream("GET", path, params={"watch": "true"}, timeout=None) as response:
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                now = time.perf_counter()
                name = json.loads(line).get("object", {}).get("metadata", {}).get("name", "")
                if name in sent:
                    latencies.append(now - sent[name])
                seen[k].add(name)
                if all(f"{prefix}-sync" in s for s in seen):
                    ready.set()

    tasks = [asyncio.create_task(watch(k)) for k in range(watchers)]
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
