"""A stored object the models refuse must not stop the controller manager.

The poisoned Deployment is written into the store directly (the server refuses such a body
now), beside a good one created through the API. The controllers run in-process against the
real app (in-memory SQLite, no socket): the good Deployment still gets its ReplicaSet and pods,
the bad one is skipped with a FailedToDecode Warning Event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from apimachinery.client import ApiClient
from apimachinery.informer import FAILED_TO_DECODE
from apimachinery.models.apps import ReplicaSet
from apimachinery.models.core import Event, Pod
from apimachinery.resources import DEPLOYMENTS
from apimachinery.testing.asgi import StreamingASGITransport
from apiserver.app import create_app
from apiserver.registry import object_key
from apiserver.store.sqlite import SqliteStore
from controllers.manager import run_term
from tests.controllers.objects import NS, deployment

TIMEOUT = 20.0


def poisoned(replicas: int) -> dict[str, Any]:
    labels = {"app": "bad"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "bad", "namespace": NS, "uid": "uid-bad", "generation": 1,
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}


@pytest.fixture
async def store() -> AsyncIterator[SqliteStore]:
    store = SqliteStore(":memory:")
    yield store
    store.close()


@pytest.fixture
async def api(store: SqliteStore) -> AsyncIterator[ApiClient]:
    client = ApiClient("http://apiserver", transport=StreamingASGITransport(create_app(store)),
                       user_agent="podvisor-controller-manager")
    yield client
    await client.close()


async def eventually(what: str, check: Callable[[], Awaitable[Any]]) -> Any:
    deadline = time.monotonic() + TIMEOUT
    last: Any = None
    while time.monotonic() < deadline:
        if last := await check():
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@pytest.mark.parametrize("replicas", [pytest.param(2**70, id="two-to-the-seventy"),
                                      pytest.param(2**31, id="beyond-int32")])
async def test_a_poisoned_deployment_does_not_stop_the_good_one(store: SqliteStore, api: ApiClient,
                                                               replicas: int) -> None:
    store.create(object_key(DEPLOYMENTS, NS, "bad"), poisoned(replicas))
    await store.sync()
    await api.create(deployment("good", replicas=2), NS)
    controllers = asyncio.create_task(run_term(api, node_grace_period=3600))
    try:
        async def good_pods() -> list[Pod]:
            pods, _ = await api.list(Pod, NS)
            return pods if len(pods) == 2 else []

        pods = await eventually("the good Deployment's two pods", good_pods)

        async def skip_event() -> list[Event]:
            events, _ = await api.list(Event, NS)
            return [e for e in events if e.reason == FAILED_TO_DECODE and e.involved_object.name == "bad"]

        (event,) = await eventually("the FailedToDecode event", skip_event)
    finally:
        controllers.cancel()
        await asyncio.gather(controllers, return_exceptions=True)
    replicasets, _ = await api.list(ReplicaSet, NS)
    (rs,) = replicasets
    assert (rs.metadata.name or "").startswith("good-") and rs.spec.replicas == 2
    assert all(p.metadata.controller_ref().uid == rs.metadata.uid for p in pods)  # type: ignore[union-attr]
    assert event.type == "Warning" and "spec.replicas" in (event.message or "")
    assert event.involved_object.kind == "Deployment" and event.involved_object.uid == "uid-bad"
