"""Two apiservers on one PostgreSQL database allocate ClusterIPs and node ports without ever
handing one value to two Services: the database's create-if-absent decides every race."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from apiserver.app import AppSettings
from apiserver.servicealloc.ranges import ServiceRanges
from apiserver.store.postgres import PostgresStore
from tests.apiserver import pgcluster
from tests.apiserver.conftest import RunningServer

postgres_cluster = pgcluster.postgres_cluster  # the session's server (fixture)
postgres_url = pgcluster.postgres_url  # a fresh database per test (fixture)
SVC = "/api/v1/namespaces/default/services"


@pytest.fixture
def apiservers(postgres_url: str) -> Iterator[list[httpx.Client]]:
    """Two apiservers with a 62-address service CIDR, so random picks collide often."""
    settings = AppSettings(compaction_interval=3600, service_ranges=ServiceRanges.parse("10.0.0.0/26", "30000-30099"))
    servers = [RunningServer(PostgresStore(postgres_url), settings) for _ in range(2)]
    clients = []
    for server in servers:
        server.start()
        clients.append(httpx.Client(base_url=server.url, timeout=20))
    yield clients
    for client, server in zip(clients, servers, strict=True):
        client.close()
        server.stop()


def test_parallel_creates_on_two_apiservers_get_distinct_values(apiservers: list[httpx.Client]) -> None:
    def make(i: int) -> tuple[str, int]:
        body = {"metadata": {"name": f"s{i}"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
        r = apiservers[i % 2].post(SVC, json=body)
        assert r.status_code == 201, r.text
        return r.json()["spec"]["clusterIP"], r.json()["spec"]["ports"][0]["nodePort"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        got = list(pool.map(make, range(60)))
    assert len({ip for ip, _ in got}) == 60 and len({port for _, port in got}) == 60
    r = apiservers[1].post(SVC, json={"metadata": {"name": "late"}, "spec": {"clusterIP": got[0][0],
                                                                             "ports": [{"port": 80}]}})
    assert r.status_code == 422 and "provided IP is already allocated" in r.text
    assert apiservers[1].delete(f"{SVC}/s0").status_code == 200
    r = apiservers[0].post(SVC, json={"metadata": {"name": "late"}, "spec": {"clusterIP": got[0][0],
                                                                             "ports": [{"port": 80}]}})
    assert r.status_code == 201, r.text
