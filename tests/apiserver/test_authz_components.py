"""The controller manager and the scheduler run as their own users with their default roles.

``system:kube-controller-manager`` and ``system:kube-scheduler`` hold only what
:mod:`apiserver.authz.policy` grants them; a Deployment must still roll out to scheduled pods,
a deleted namespace must still be emptied and finalized, and neither component may be refused
anything along the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from apimachinery.client import ApiClient
from apimachinery.models.apps import Deployment, ReplicaSet
from apimachinery.models.core import ConfigMap, Endpoints, Namespace, Pod, Service
from apimachinery.models.discovery import EndpointSlice
from apiserver.app import AppSettings
from apiserver.authn.tokens import StaticTokens
from apiserver.authn.user import AUTHENTICATED, SYSTEM_MASTERS, UserInfo
from apiserver.store.sqlite import SqliteStore
from controllers.manager import run_term
from scheduler.runner import run_with_client
from tests.apiserver.conftest import RunningServer
from tests.scheduler.objects import make_node

TOKENS = {
    "cm": UserInfo("system:kube-controller-manager", groups=(AUTHENTICATED,)),
    "sched": UserInfo("system:kube-scheduler", groups=(AUTHENTICATED,)),
    "root": UserInfo("root", groups=(SYSTEM_MASTERS, AUTHENTICATED)),
}


class Refusals:
    """ASGI middleware noting every 403 the server answers."""

    def __init__(self, app: Any, seen: list[str]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def noting(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] == 403:
                self.seen.append(f"{scope['method']} {scope['path']}?{scope['query_string'].decode()}")
            await send(message)

        await self.app(scope, receive, noting)


@pytest.fixture
def refused() -> list[str]:
    return []


@pytest.fixture
def server(tmp_path: Path, refused: list[str]) -> Iterator[RunningServer]:
    settings = AppSettings(authenticator=StaticTokens(TOKENS), compaction_interval=3600)
    srv = RunningServer(SqliteStore(tmp_path / "state.db"), settings)
    srv.app.add_middleware(Refusals, seen=refused)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
async def clients(server: RunningServer) -> AsyncIterator[dict[str, ApiClient]]:
    made = {who: ApiClient(server.url, token=who) for who in TOKENS}
    yield made
    for client in made.values():
        await client.close()


async def wait_until(what: str, check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def deployment(name: str, replicas: int) -> Deployment:
    labels = {"app": name}
    return Deployment.from_dict({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "c", "image": "podvisor/busybox:latest"}]}}},
    })


async def test_components_work_with_exactly_their_roles(clients: dict[str, ApiClient], refused: list[str]) -> None:
    root = clients["root"]
    node = await root.create(make_node("worker"))
    node.status = make_node("worker").status
    await root.replace_status(node)
    tasks = [asyncio.create_task(run_term(clients["cm"], node_grace_period=3600)),
             asyncio.create_task(run_with_client(clients["sched"], identity="sched-test"))]
    try:
        await root.create(deployment("web", 2), "default")

        async def rolled_out() -> bool:
            pods, _ = await root.list(Pod, "default")
            sets, _ = await root.list(ReplicaSet, "default")
            return len(sets) == 1 and len(pods) == 2 and all(p.spec.node_name == "worker" for p in pods)

        await wait_until("two scheduled pods of one ReplicaSet", rolled_out)
        await root.create(Service.from_dict({"metadata": {"name": "web"},
                                             "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}), "default")

        async def endpoints_written() -> bool:  # no pod IPs without a kubelet: empty, and a placeholder slice
            slices, _ = await root.list(EndpointSlice, "default", label_selector="kubernetes.io/service-name=web")
            return bool((await root.list(Endpoints, "default"))[0]) and len(slices) == 1

        await wait_until("the Service's Endpoints and EndpointSlice", endpoints_written)
        await root.delete(Service, "web", "default")

        async def slices_collected() -> bool:
            return not (await root.list(EndpointSlice, "default"))[0] and not (await root.list(Endpoints, "default"))[0]

        await wait_until("the Service's endpoints gone with it", slices_collected)
        await root.delete(Deployment, "web", "default")

        async def collected() -> bool:  # the garbage collector deletes the orphaned ReplicaSet
            return not (await root.list(ReplicaSet, "default"))[0]

        await wait_until("the ReplicaSet collected", collected)
        await root.create(Namespace.from_dict({"metadata": {"name": "scratch"}}))
        await root.create(ConfigMap.from_dict({"metadata": {"name": "cm"}, "data": {"a": "b"}}), "scratch")
        await root.delete(Namespace, "scratch")

        async def namespace_gone() -> bool:
            names = [n.metadata.name for n in (await root.list(Namespace))[0]]
            return "scratch" not in names

        await wait_until("the namespace emptied and finalized", namespace_gone)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*tasks, return_exceptions=True)
    assert refused == []
