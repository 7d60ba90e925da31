"""Scraping every Ready node's kubelet Summary API, a bounded number at a time.

Each kubelet is reached as the log route reaches it (:mod:`apiserver.kubeletclient`): the
TLS server name is the node name and the peer certificate must name the node, so a forged
Node address gets nothing stored. Each scrape has a deadline and a size cap; a node that
fails a round is dropped from the metrics until it answers again (metrics-server does the
same), so stale figures are never served as current.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apiserver.kubeletclient import KubeletTls, kubelet_endpoint, peer_names_node, request_extensions
from apiserver.metricsprovider.storage import MetricsStorage
from apiserver.registry import Registry

log = logging.getLogger(__name__)

#: metrics-server's --metric-resolution default
DEFAULT_RESOLUTION = 15.0
#: nodes scraped at once
SCRAPE_CONCURRENCY = 16
#: the largest Summary API answer read (about 30 000 containers)
MAX_SUMMARY_BYTES = 16 * 1024 * 1024
SUMMARY_PATH = "/stats/summary"
#: how long a node's idle connection is kept between rounds (Go's http.Transport IdleConnTimeout,
#: which metrics-server's scrapes ride on); the kubelet keeps its side open longer
KEEPALIVE = 90.0


def ready_nodes(registry: Registry) -> list[str]:
    names = []
    for node in registry.list(res.NODES, None).items:
        conditions = (node.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            names.append(node["metadata"]["name"])
    return names


class Scraper:
    def __init__(self, registry: Registry, tls: KubeletTls | None, *, storage: MetricsStorage,
                 resolution: float = DEFAULT_RESOLUTION, clock: Callable[[], float] = time.time) -> None:
        self.registry, self.tls, self.storage = registry, tls, storage
        self.resolution, self.clock = resolution, clock
        self.timeout = max(min(resolution * 0.9, 10.0), 0.5)

    async def run(self) -> None:
        """Scrape every ``resolution`` seconds until cancelled."""
        if self.tls is None:
            return
        clients = NodeClients(self.tls.context, self.timeout)
        try:
            while True:
                started = time.monotonic()
                try:
                    nodes, scraped = await self.scrape_all(clients)
                except Exception:  # one bad round never stops the loop
                    log.exception("metrics scrape failed")
                else:
                    self._report(nodes, scraped, time.monotonic() - started)
                await asyncio.sleep(max(self.resolution - (time.monotonic() - started), 0.1))
        finally:
            await clients.close()

    def _report(self, nodes: int, scraped: int, took: float) -> None:
        level = logging.INFO if took > self.resolution else logging.DEBUG
        log.log(level, "metrics scrape round: %d of %d Ready nodes answered in %.3f s (resolution %.1f s)",
                scraped, nodes, took, self.resolution)

    async def scrape_all(self, clients: NodeClients) -> tuple[int, int]:
        """One round over every Ready node: (nodes tried, nodes that answered)."""
        nodes = ready_nodes(self.registry)
        await clients.retain(set(nodes))
        limit = asyncio.Semaphore(SCRAPE_CONCURRENCY)

        async def one(node: str) -> str | None:
            async with limit:
                try:
                    summary = await asyncio.wait_for(self.fetch(clients.get(node), node), self.timeout)
                except (ApiError, httpx.HTTPError, TimeoutError, ValueError) as err:
                    log.info("cannot scrape the kubelet of node %s: %s", node, err)
                    return None
            try:
                self.storage.store(node, summary, now=self.clock())
            except (AttributeError, TypeError, ValueError) as err:  # not the Summary API's shape
                log.info("the kubelet of node %s answered a malformed summary: %s", node, err)
                return None
            return node

        answered = {n for n in await asyncio.gather(*(one(n) for n in nodes)) if n is not None}
        self.storage.retain(answered)
        return len(nodes), len(answered)

    async def fetch(self, client: httpx.AsyncClient, node: str) -> dict[str, Any]:
        url = kubelet_endpoint(self.registry, node) + SUMMARY_PATH
        request = client.build_request("GET", url, extensions=request_extensions(node))
        response = await client.send(request, stream=True)
        try:
            if not peer_names_node(_peer_certificate(response), node):
                raise ApiError(503, "ServiceUnavailable", f"the kubelet endpoint of node {node} is not that node's kubelet")
            if response.status_code != 200:
                raise ApiError(503, "ServiceUnavailable", f"kubelet of node {node} answered {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_SUMMARY_BYTES:
                    raise ValueError(f"summary of node {node} is larger than {MAX_SUMMARY_BYTES} bytes")
        finally:
            with contextlib.suppress(Exception):
                await response.aclose()
        summary = json.loads(body)
        if not isinstance(summary, dict):
            raise ValueError(f"summary of node {node} is not an object")
        return summary


class NodeClients:
    """One HTTPS client per node, each keeping its one connection alive between rounds.

    A handshake per node per round would cost both sides more than the scrape itself. The
    clients are not shared between nodes: hollow kubelets share one address, told apart by
    the TLS server name, and a pooled connection would carry one node's name into another's.
    """

    def __init__(self, verify: ssl.SSLContext | bool, timeout: float = 10.0) -> None:
        self.verify, self.timeout = verify, timeout
        self.clients: dict[str, httpx.AsyncClient] = {}

    def get(self, node: str) -> httpx.AsyncClient:
        client = self.clients.get(node)
        if client is None:
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=KEEPALIVE)
            client = self.clients[node] = httpx.AsyncClient(verify=self.verify, trust_env=False, limits=limits,
                                                                timeout=httpx.Timeout(self.timeout))
        return client

    async def retain(self, nodes: set[str]) -> None:
        """Close the clients of nodes no longer scraped."""
        for node in [n for n in self.clients if n not in nodes]:
            await self.clients.pop(node).aclose()

    async def close(self) -> None:
        await self.retain(set())


def _peer_certificate(response: httpx.Response) -> dict[str, Any] | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    return ssl_object.getpeercert() if ssl_object is not None else None
