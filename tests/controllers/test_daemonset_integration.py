"""The DaemonSet and disruption controllers against the real apiserver (in-process, temp SQLite).

A stand-in scheduler and kubelet bind each pod to the node its required node affinity names (as
the scheduler does with a DaemonSet's ``metadata.name`` term) or to the first node, report it
Running and Ready, and remove pods being deleted after a short delay (a container stopping).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.models.apps import ControllerRevision, DaemonSet
from apimachinery.models.core import Node, Pod
from apimachinery.models.policy import PodDisruptionBudget
from controllers import daemonset_util as util
from controllers.manager import run_term
from tests.controllers.objects import NS, deployment
from tests.controllers.test_integration import api_url, eventually

__all__ = ["api_url"]  # the fixture, shared with the Deployment integration tests

NODES = ("n1", "n2", "n3")


async def _node(client: ApiClient, name: str) -> None:
    await client.create(Node.model_validate({"metadata": {"name": name}, "status": {"conditions": [
        {"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-01-01T00:00:00Z"}]}}))


async def stand_in_nodes(client: ApiClient) -> None:
    terminating: dict[str, int] = {}
    while True:
        pods, _ = await client.list(Pod, NS)
        for pod in pods:
            name = pod.metadata.name or ""
            with contextlib.suppress(ApiError):
                if pod.metadata.deletion_timestamp:
                    terminating[name] = terminating.get(name, 0) + 1
                    if terminating[name] > 3:  # a few rounds to stop its containers
                        await client.delete(Pod, name, NS, grace_period=0)
                elif not pod.spec.node_name:
                    await client.bind(NS, name, util.target_node(pod) or NODES[0])
                elif (pod.status.phase if pod.status else None) != "Running":
                    wire = pod.to_dict()
                    wire["status"] = {**wire.get("status", {}), "phase": "Running", "conditions": [
                        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
                    await client.replace_status(Pod.model_validate(wire))
        await asyncio.sleep(0.05)


@pytest.fixture
async def api(api_url: str) -> AsyncIterator[ApiClient]:
    client = ApiClient(api_url)
    for name in NODES:
        await _node(client, name)
    controllers = asyncio.create_task(run_term(client, node_grace_period=3600))
    nodes = asyncio.create_task(stand_in_nodes(client))
    try:
        yield client
    finally:
        for task in (controllers, nodes):
            task.cancel()
        await asyncio.gather(controllers, nodes, return_exceptions=True)
        await client.close()


def agent() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": NS},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": [{"name": "c", "image": "agent:1"}]}}}}


async def _live(api: ApiClient, app: str) -> list[Pod]:
    pods, _ = await api.list(Pod, NS, label_selector=f"app={app}")
    return [p for p in pods if p.metadata.deletion_timestamp is None]


async def _rolled_out(api: ApiClient, count: int) -> bool:
    ds = await api.get(DaemonSet, "agent", NS)
    s = ds.status
    return bool(s and s.observed_generation == ds.metadata.generation and s.desired_number_scheduled == count
                and s.updated_number_scheduled == count and s.number_available == count)


async def test_a_daemonset_follows_the_nodes_and_rolls_one_node_at_a_time(api: ApiClient) -> None:
    await api.request("POST", f"/apis/apps/v1/namespaces/{NS}/daemonsets", body=agent())
    await eventually("3 nodes rolled out", lambda: _rolled_out(api, 3))
    assert Counter(p.spec.node_name for p in await _live(api, "agent")) == Counter(NODES)

    await _node(api, "n4")
    await eventually("the new node's pod", lambda: _rolled_out(api, 4))
    assert Counter(p.spec.node_name for p in await _live(api, "agent")) == Counter([*NODES, "n4"])

    old = {(p.metadata.labels or {})[util.REVISION_HASH_LABEL] for p in await _live(api, "agent")}
    worst = 0

    async def replaced() -> bool:
        nonlocal worst
        live = await _live(api, "agent")
        ready_on = {p.spec.node_name for p in live if p.status and p.status.phase == "Running"}
        worst = max(worst, 4 - len(ready_on))
        hashes = {(p.metadata.labels or {})[util.REVISION_HASH_LABEL] for p in live}
        return hashes.isdisjoint(old) and len(live) == 4 and await _rolled_out(api, 4)

    await api.patch(DaemonSet, "agent", {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}}}}, NS, patch_type="strategic")
    await eventually("every pod replaced", replaced, timeout=60)
    assert worst == 1  # one node at a time, and not zero: the update did take pods down


async def test_an_eviction_waits_for_the_budget(api: ApiClient) -> None:
    await api.create(deployment(replicas=3), NS)
    await api.request("POST", f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets", body={
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}})

    async def allowed() -> int:
        pdb = await api.get(PodDisruptionBudget, "web", NS)
        return pdb.status.disruptions_allowed if pdb.status else 0

    await eventually("one disruption allowed", allowed)
    first, second = [p.metadata.name or "" for p in await _live(api, "web")][:2]

    def evict(name: str) -> Any:
        return api.request("POST", f"/api/v1/namespaces/{NS}/pods/{name}/eviction",
                           body={"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}})

    # Sent together, so no replacement can become ready between them: the budget allows one.
    results = await asyncio.gather(evict(first), evict(second), return_exceptions=True)
    (refused,) = [r for r in results if isinstance(r, ApiError)]
    assert refused.code == 429
    assert refused.message == "Cannot evict pod as it would violate the pod's disruption budget."
    second = first if isinstance(results[0], ApiError) else second
    await eventually("the replacement ready and one disruption allowed again", allowed, timeout=30)
    await evict(second)


async def test_deleting_a_daemonset_removes_its_pods_and_revisions(api: ApiClient) -> None:
    await api.request("POST", f"/apis/apps/v1/namespaces/{NS}/daemonsets", body=agent())
    await eventually("3 nodes rolled out", lambda: _rolled_out(api, 3))
    assert len((await api.list(ControllerRevision, NS))[0]) == 1
    await api.delete(DaemonSet, "agent", NS, propagation="Background")

    async def gone() -> bool:
        pods, _ = await api.list(Pod, NS, label_selector="app=agent")
        return not pods and not (await api.list(ControllerRevision, NS))[0]

    await eventually("pods and revisions collected", gone, timeout=30)
