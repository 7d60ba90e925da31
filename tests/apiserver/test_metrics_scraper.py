"""The metrics scraper's rounds, with the kubelets replaced by answers given per node.

What is real: the registry and its Nodes, the storage, the concurrency limit and the
per-kubelet deadline. Only the HTTPS fetch is replaced (the e2e test covers it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from apimachinery import resources as res
from apiserver.metricsprovider import scraper as scraping
from apiserver.metricsprovider.storage import MetricsStorage
from apiserver.registry import Registry
from apiserver.store.sqlite import SqliteStore

Answer = dict[str, Any] | BaseException | None  # None: never answers


class Scripted(scraping.Scraper):
    """A scraper whose kubelets answer what ``answers`` says."""

    def __init__(self, registry: Registry, answers: dict[str, Answer], **kwargs: Any) -> None:
        super().__init__(registry, None, storage=MetricsStorage(), **kwargs)
        self.answers, self.in_flight, self.most = answers, 0, 0

    async def fetch(self, client: httpx.AsyncClient, node: str) -> dict[str, Any]:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            answer = self.answers[node]
            if answer is None:
                await asyncio.sleep(3600)
            if isinstance(answer, BaseException):
                raise answer
            assert isinstance(answer, dict)
            return answer
        finally:
            self.in_flight -= 1


def summary(node: str, ts: str, cpu_ns: int) -> dict[str, Any]:
    return {"node": {"nodeName": node, "cpu": {"time": ts, "usageCoreNanoSeconds": cpu_ns},
                     "memory": {"workingSetBytes": 1024}}, "pods": []}


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(SqliteStore(tmp_path / "state.db"))


def add_node(registry: Registry, name: str, *, ready: bool = True) -> None:
    status = "True" if ready else "False"
    registry.create(res.NODES, None, {"metadata": {"name": name},
                                      "status": {"conditions": [{"type": "Ready", "status": status}]}})


async def two_rounds(scraper: Scripted, answers: list[dict[str, Answer]]) -> list[tuple[int, int]]:
    results = []
    clients = scraping.NodeClients(verify=False)
    try:
        for round_answers in answers:
            scraper.answers = round_answers
            results.append(await scraper.scrape_all(clients))
    finally:
        await clients.close()
    return results


def test_rate_between_rounds_and_down_or_broken_kubelets_are_dropped(registry: Registry) -> None:
    for name in ("up", "down", "broken", "hung"):
        add_node(registry, name)
    add_node(registry, "notready", ready=False)
    first = {"up": summary("up", "2027-01-01T00:00:00.000000000Z", 0), "down": summary("down", "2027-01-01T00:00:00Z", 0),
             "broken": summary("broken", "2027-01-01T00:00:00Z", 0), "hung": summary("hung", "2027-01-01T00:00:00Z", 0)}
    second: dict[str, Answer] = {"up": summary("up", "2027-01-01T00:00:02.500000000Z", 1_250_000_000),
                                 "down": httpx.ConnectError("refused"), "broken": {"node": ["not", "a", "map"]},
                                 "hung": None}
    scraper = Scripted(registry, {}, resolution=0.5)
    rounds = asyncio.run(two_rounds(scraper, [first, second]))
    assert rounds == [(4, 4), (4, 1)]  # the NotReady node is never asked
    usage = scraper.storage.node("up")
    assert usage is not None and (usage.nano_cores, usage.window) == (500_000_000, 2.5)
    assert all(scraper.storage.node(n) is None for n in ("down", "broken", "hung"))


def test_concurrency_is_bounded(registry: Registry) -> None:
    names = [f"n{i}" for i in range(scraping.SCRAPE_CONCURRENCY * 3)]
    for name in names:
        add_node(registry, name)
    scraper = Scripted(registry, {}, resolution=0.5)
    rounds = asyncio.run(two_rounds(scraper, [{n: summary(n, "2027-01-01T00:00:00Z", 0) for n in names}]))
    assert rounds == [(len(names), len(names))]
    assert scraper.most == scraping.SCRAPE_CONCURRENCY


@pytest.mark.parametrize(("resolution", "timeout"), [(15.0, 10.0), (1.0, 0.9), (0.1, 0.5)])
def test_each_kubelet_has_a_deadline_within_the_round(registry: Registry, resolution: float, timeout: float) -> None:
    assert Scripted(registry, {}, resolution=resolution).timeout == pytest.approx(timeout)


def test_each_node_keeps_its_own_client_while_it_is_scraped(registry: Registry) -> None:
    """A connection is kept per node between rounds, never shared, and closed once the node goes."""
    for name in ("a", "b"):
        add_node(registry, name)
    scraper = Scripted(registry, {}, resolution=0.5)
    answers = {n: summary(n, "2027-01-01T00:00:00Z", 0) for n in ("a", "b")}

    async def rounds() -> tuple[dict[str, httpx.AsyncClient], dict[str, httpx.AsyncClient]]:
        clients = scraping.NodeClients(verify=False)
        scraper.answers = answers
        await scraper.scrape_all(clients)
        first = dict(clients.clients)
        registry.delete(res.NODES, None, "b")
        await scraper.scrape_all(clients)
        return first, dict(clients.clients)

    first, second = asyncio.run(rounds())
    assert first["a"] is not first["b"]
    assert second == {"a": first["a"]} and first["b"].is_closed and not first["a"].is_closed


def test_without_a_kubelet_client_certificate_nothing_runs(registry: Registry) -> None:
    scraper = scraping.Scraper(registry, None, storage=MetricsStorage())
    asyncio.run(asyncio.wait_for(scraper.run(), 1))
