"""The controllers against the real apiserver (in-process, temp SQLite), with a stand-in kubelet.

Unit tests pin the logic on fakes; these check the wire: the patches, status writes, finalizers and
graceful deletions the controllers rely on behave the same on the real server. The stand-in
kubelet binds pods to a node, reports them Running and Ready, and removes pods being deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.leaderelection import LeaderElector
from apimachinery.models.apps import Deployment, Lease, ReplicaSet
from apimachinery.models.core import ConfigMap, Namespace, Node, Pod
from apimachinery.models.meta import ObjectMeta
from apiserver.app import AppSettings, create_app
from apiserver.store.sqlite import SqliteStore
from controllers import deployment_util as du
from controllers.manager import run_term
from tests.controllers.objects import NS, deployment

NODE = "node-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def api_url(tmp_path: Path) -> Iterator[str]:
    store = SqliteStore(tmp_path / "state.db")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store, AppSettings(compaction_interval=3600)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign,attr-defined]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


async def stand_in_kubelet(client: ApiClient) -> None:
    """Bind, start (Running + Ready) and finally remove pods, like scheduler + kubelet would."""
    while True:
        pods, _ = await client.list(Pod, NS)
        for pod in pods:
            name = pod.metadata.name or ""
            with contextlib.suppress(ApiError):
                if pod.metadata.deletion_timestamp:
                    await client.delete(Pod, name, NS, grace_period=0)
                elif not pod.spec.node_name:
                    await client.bind(NS, name, NODE)
                elif (pod.status.phase if pod.status else None) != "Running":
                    wire = pod.to_dict()
                    wire["status"] = {**wire.get("status", {}), "phase": "Running", "conditions": [
                        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
                    await client.replace_status(Pod.model_validate(wire))
        await asyncio.sleep(0.05)


@pytest.fixture
async def api(api_url: str) -> AsyncIterator[ApiClient]:
    client = ApiClient(api_url)
    await client.create(Node.model_validate({"metadata": {"name": NODE}, "status": {"conditions": [
        {"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-01-01T00:00:00Z"}]}}))
    controllers = asyncio.create_task(run_term(client, node_grace_period=3600))
    kubelet = asyncio.create_task(stand_in_kubelet(client))
    try:
        yield client
    finally:
        for task in (controllers, kubelet):
            task.cancel()
        await asyncio.gather(controllers, kubelet, return_exceptions=True)
        await client.close()


async def eventually(what: str, check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


async def rollout_done(api: ApiClient, replicas: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        d = await api.get(Deployment, "web", NS)
        s = d.status
        return bool(s and s.observed_generation == d.metadata.generation and s.updated_replicas == replicas
                    and s.replicas == replicas and s.available_replicas == replicas)
    return check


async def test_deployment_rolls_out_updates_and_rolls_back(api: ApiClient) -> None:
    await api.create(deployment(replicas=3, image="busybox:1"), NS)
    await eventually("3/3 available", await rollout_done(api, 3))
    rss, _ = await api.list(ReplicaSet, NS)
    (first,) = rss
    assert first.metadata.name == f"web-{first.metadata.labels[du.HASH_LABEL]}"  # type: ignore[index]
    pods, _ = await api.list(Pod, NS)
    assert len(pods) == 3 and all((p.metadata.name or "").startswith(f"{first.metadata.name}-") for p in pods)

    await api.patch(Deployment, "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}}, NS, patch_type="strategic")
    await eventually("update rolled out", await rollout_done(api, 3))
    d = await api.get(Deployment, "web", NS)
    assert (d.metadata.annotations or {})[du.REVISION] == "2"
    conditions = {c.type: c.reason for c in d.status.conditions or []}  # type: ignore[union-attr]
    assert conditions == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}

    # kubectl rollout undo: JSON-patch the template back to revision 1's (hash label removed)
    old = await api.get(ReplicaSet, first.metadata.name or "", NS)
    template = old.spec.template.to_dict()  # type: ignore[union-attr]
    template["metadata"]["labels"].pop(du.HASH_LABEL)
    await api.patch(Deployment, "web", [{"op": "replace", "path": "/spec/template", "value": template}], NS,
                    patch_type="json")
    await eventually("rolled back", await rollout_done(api, 3))
    old = await api.get(ReplicaSet, first.metadata.name or "", NS)
    assert (old.spec.replicas, (old.metadata.annotations or {})[du.REVISION]) == (3, "3")
    assert len((await api.list(ReplicaSet, NS))[0]) == 2


async def test_deleting_a_deployment_removes_replica_sets_and_pods(api: ApiClient) -> None:
    await api.create(deployment(replicas=2), NS)
    await eventually("2/2 available", await rollout_done(api, 2))
    await api.delete(Deployment, "web", NS, propagation="Background")

    async def all_gone() -> bool:
        return not (await api.list(ReplicaSet, NS))[0] and not (await api.list(Pod, NS))[0]

    await eventually("everything gone", all_gone)


async def test_foreground_deletion_waits_for_the_pods(api: ApiClient) -> None:
    await api.create(deployment(replicas=2), NS)
    await eventually("2/2 available", await rollout_done(api, 2))
    await api.delete(Deployment, "web", NS, propagation="Foreground")

    async def deployment_gone() -> bool:
        try:
            await api.get(Deployment, "web", NS)
        except ApiError as err:
            return err.code == 404
        return False

    await eventually("deployment gone", deployment_gone)
    assert not (await api.list(Pod, NS))[0]
    assert not (await api.list(ReplicaSet, NS))[0]


async def test_orphan_deletion_keeps_the_replica_set(api: ApiClient) -> None:
    await api.create(deployment(replicas=1), NS)
    await eventually("1/1 available", await rollout_done(api, 1))
    await api.delete(Deployment, "web", NS, propagation="Orphan")

    async def orphaned() -> bool:
        rss, _ = await api.list(ReplicaSet, NS)
        return len(rss) == 1 and not rss[0].metadata.owner_references

    await eventually("replica set orphaned", orphaned)
    pods, _ = await api.list(Pod, NS)
    assert len(pods) == 1


async def test_scale_up_and_down(api: ApiClient) -> None:
    await api.create(deployment(replicas=2), NS)
    await eventually("2/2", await rollout_done(api, 2))
    scale = "/apis/apps/v1/namespaces/default/deployments/web/scale"
    merge = "application/merge-patch+json"
    await api.request("PATCH", scale, body={"spec": {"replicas": 5}}, content_type=merge)
    await eventually("5/5", await rollout_done(api, 5))
    await api.request("PATCH", scale, body={"spec": {"replicas": 1}}, content_type=merge)
    await eventually("1/1", await rollout_done(api, 1))

    async def one_pod() -> bool:
        return len((await api.list(Pod, NS))[0]) == 1

    await eventually("one pod left", one_pod)


async def test_leader_election_on_the_real_server(api_url: str) -> None:
    async with ApiClient(api_url) as client:
        a = LeaderElector(client, "kube-system", "election-test", "a")
        b = LeaderElector(client, "kube-system", "election-test", "b")
        assert await a.try_acquire_or_renew()
        assert not await b.try_acquire_or_renew()
        assert await a.try_acquire_or_renew()
        held = await client.get(Lease, "election-test", "kube-system")
        assert held.spec.holder_identity == "a"


async def test_silent_node_is_marked_tainted_and_its_pods_evicted(api_url: str) -> None:
    """Three nodes, one of which never renews its Lease: Unknown, pods Ready=False, taint, eviction."""
    async with ApiClient(api_url) as client:
        for name in ("n1", "n2", "n3"):
            await client.create(Node.model_validate({"metadata": {"name": name}, "status": {"conditions": [
                {"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-01-01T00:00:00Z"}]}}))
        pod = Pod.model_validate({"metadata": {"name": "p", "namespace": NS}, "spec": {
            "containers": [{"name": "c", "image": "busybox"}],
            "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 1}]}})
        await client.create(pod, NS)
        await client.bind(NS, "p", "n1")
        bound = await client.get(Pod, "p", NS)
        wire = bound.to_dict()
        wire["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        await client.replace_status(Pod.model_validate(wire))

        async def heartbeats() -> None:
            while True:
                for name in ("n2", "n3"):
                    lease = Lease.model_validate({"metadata": {"name": name, "namespace": "kube-node-lease"},
                                                  "spec": {"holderIdentity": name,
                                                           "renewTime": f"2026-01-01T00:00:00.{time.time_ns() % 10**6:06d}Z"}})
                    with contextlib.suppress(ApiError):
                        current = await client.get(Lease, name, "kube-node-lease")
                        lease.metadata = current.metadata
                        await client.replace(lease)
                        continue
                    with contextlib.suppress(ApiError):
                        await client.create(lease, "kube-node-lease")
                await asyncio.sleep(0.2)

        tasks = [asyncio.create_task(run_term(client, node_grace_period=1.5)), asyncio.create_task(heartbeats())]
        try:
            async def marked() -> bool:
                node = await client.get(Node, "n1")
                ready = next(c for c in node.status.conditions or [] if c.type == "Ready")  # type: ignore[union-attr]
                taints = [t.key for t in node.spec.taints or []]
                return ready.status == "Unknown" and taints == ["node.kubernetes.io/unreachable"]

            await eventually("n1 Unknown and tainted", marked, timeout=15)

            async def evicted() -> bool:
                p = await client.get(Pod, "p", NS)
                ready = next(c for c in p.status.conditions or [] if c.type == "Ready")  # type: ignore[union-attr]
                return ready.status == "False" and p.metadata.deletion_timestamp is not None

            await eventually("pod not ready, then evicted", evicted, timeout=15)
            for name in ("n2", "n3"):
                node = await client.get(Node, name)
                assert not node.spec.taints
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_namespace_deletion_waits_for_its_pods_then_removes_the_namespace(api: ApiClient) -> None:
    """Kubernetes' namespace e2e "should ensure that all pods are removed when a namespace is deleted"."""
    await api.create(Namespace.model_validate({"metadata": {"name": "team"}}))
    await api.create(ConfigMap.model_validate({"metadata": {"name": "cfg", "namespace": "team"}}))
    await api.create(deployment(replicas=2).model_copy(update={"metadata": ObjectMeta(name="web", namespace="team")}))
    await api.create(Pod.model_validate({"metadata": {"name": "running", "namespace": "team"}, "spec": {
        "nodeName": NODE, "terminationGracePeriodSeconds": 30, "containers": [{"name": "c", "image": "busybox"}]}}))

    deleted = await api.request("DELETE", "/api/v1/namespaces/team")
    assert deleted["status"]["phase"] == "Terminating"
    with pytest.raises(ApiError) as refused:
        await api.create(ConfigMap.model_validate({"metadata": {"name": "late", "namespace": "team"}}))
    assert refused.value.code == 403

    async def only_the_running_pod_is_left() -> bool:
        ns = await api.get(Namespace, "team")
        conditions = {c.type: c for c in (ns.status.conditions if ns.status else None) or []}
        remaining = conditions.get("NamespaceContentRemaining")
        deployments, _ = await api.list(Deployment, "team")
        configmaps, _ = await api.list(ConfigMap, "team")
        pods, _ = await api.list(Pod, "team")
        return bool(remaining and remaining.status == "True" and "pods has 1 resource instances" in
                    (remaining.message or "") and not deployments and not configmaps
                    and [p.metadata.name for p in pods] == ["running"] and pods[0].metadata.deletion_timestamp)
    await eventually("content deleted but the pod's grace period", only_the_running_pod_is_left)

    await api.delete(Pod, "running", "team", grace_period=0)  # its kubelet stopped it

    async def namespace_gone() -> bool:
        try:
            await api.get(Namespace, "team")
        except ApiError as err:
            return err.code == 404
        return False
    await eventually("namespace removed", namespace_gone)
