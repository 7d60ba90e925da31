"""The API's contract, run against the in-memory FakeApi and the real ApiClient + apiserver.

Every case here is a rule some component relies on (the controllers' optimistic concurrency and
generation checks, the scheduler's binding, the kubelet's status writes and final delete, the
informers' watch). Both implementations must pass each one: that is what lets unit tests trust
the fake. The server runs in-process (``create_app(SqliteStore(":memory:"))``) behind
:class:`StreamingASGITransport`, so watches stream as they do over a socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from apimachinery.api import Api, WatchEvent
from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.models.apps import Deployment, DeploymentStatus, Lease
from apimachinery.models.core import ConfigMap, Node, Pod, PodStatus
from apimachinery.models.meta import OwnerReference
from apimachinery.resources import PODS
from apimachinery.testing import FakeApi
from apimachinery.testing.asgi import StreamingASGITransport
from apiserver.app import create_app
from apiserver.store.sqlite import SqliteStore

NS = "default"
TIMEOUT = 5.0


@pytest.fixture(params=["fake", "server"])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    if request.param == "fake":
        yield FakeApi()
        return
    store = SqliteStore(":memory:")
    client = ApiClient("http://apiserver", transport=StreamingASGITransport(create_app(store)))
    try:
        yield client
    finally:
        await client.close()
        store.close()


def pod(name: str = "web", *, node: str | None = None, labels: dict[str, str] | None = None,
        finalizers: list[str] | None = None) -> Pod:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "labels": labels or {"app": "web"}}
    if finalizers:
        meta["finalizers"] = finalizers
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox:1"}]}
    if node:
        spec["nodeName"] = node
    return Pod.model_validate({"metadata": meta, "spec": spec})


def deployment(name: str = "web", replicas: int = 1) -> Deployment:
    labels = {"app": name}
    return Deployment.model_validate({
        "metadata": {"name": name, "namespace": NS},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}},
    })


def rv(obj: Any) -> int:
    return int(obj.metadata.resource_version)


async def expect_error(code: int, reason: str, call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call
    assert (caught.value.code, caught.value.reason) == (code, reason), caught.value.message
    return caught.value


# -- create -------------------------------------------------------------------------------------


async def test_create_sets_server_owned_metadata(api: Api) -> None:
    sent = pod()
    sent.metadata.uid = "client-chosen"
    sent.metadata.resource_version = "12345"
    created = await api.create(sent)
    assert created.metadata.uid and created.metadata.uid != "client-chosen"
    assert created.metadata.generation == 1
    assert created.metadata.creation_timestamp
    assert created.metadata.resource_version and created.metadata.resource_version != "12345"
    assert (await api.get(Pod, "web", NS)).metadata.uid == created.metadata.uid


async def test_generate_name_adds_five_characters(api: Api) -> None:
    sent = pod()
    sent.metadata.name, sent.metadata.generate_name = None, "web-"
    created = await api.create(sent)
    assert created.metadata.name and created.metadata.name.startswith("web-") and len(created.metadata.name) == 9


async def test_create_of_an_existing_name_is_already_exists(api: Api) -> None:
    await api.create(pod())
    await expect_error(409, "AlreadyExists", api.create(pod()))


async def test_create_in_a_missing_namespace_is_not_found(api: Api) -> None:
    elsewhere = pod()
    elsewhere.metadata.namespace = "no-such-namespace"
    await expect_error(404, "NotFound", api.create(elsewhere))


@pytest.mark.parametrize(
    ("kind", "keeps_status"),
    [pytest.param("Deployment", False, id="deployment-status-dropped"),
     pytest.param("Node", True, id="node-status-kept")],
)
async def test_create_resets_status_except_for_nodes(api: Api, kind: str, keeps_status: bool) -> None:
    if kind == "Node":
        obj: Any = Node.model_validate({"metadata": {"name": "n1"}, "status": {"capacity": {"pods": "10"}}})
    else:
        obj = deployment()
        obj.status = DeploymentStatus(replicas=7)
    created = await api.create(obj)
    has_status = bool(created.status and created.status.model_dump(exclude_none=True, exclude_defaults=True))
    assert has_status == keeps_status


async def test_a_created_pod_is_pending(api: Api) -> None:
    created = await api.create(pod())
    assert created.status is not None and created.status.phase == "Pending"


async def test_get_of_a_missing_object_is_not_found(api: Api) -> None:
    await expect_error(404, "NotFound", api.get(Pod, "nothing", NS))


# -- update -------------------------------------------------------------------------------------


async def test_update_with_a_stale_resource_version_conflicts(api: Api) -> None:
    first = await api.create(deployment())
    newer = first.model_copy(deep=True)
    newer.spec.replicas = 2
    await api.replace(newer)
    first.spec.replicas = 3
    await expect_error(409, "Conflict", api.replace(first))


async def test_update_without_a_resource_version_is_unconditional(api: Api) -> None:
    created = await api.create(deployment())
    created.metadata.resource_version = None
    created.spec.replicas = 4
    assert (await api.replace(created)).spec.replicas == 4


@pytest.mark.parametrize(
    ("change", "bumped"),
    [pytest.param("spec", True, id="spec-change-bumps"),
     pytest.param("labels", False, id="label-change-keeps"),
     pytest.param("status", False, id="status-in-a-put-is-ignored")],
)
async def test_generation_moves_only_with_the_spec(api: Api, change: str, bumped: bool) -> None:
    created = await api.create(deployment())
    changed = created.model_copy(deep=True)
    if change == "spec":
        changed.spec.replicas = 5
    elif change == "labels":
        changed.metadata.labels = {"team": "a"}
    else:
        changed.status = DeploymentStatus(replicas=9)
    updated = await api.replace(changed)
    assert updated.metadata.generation == (2 if bumped else 1)
    assert updated.status is None or not updated.status.replicas


async def test_a_no_op_update_keeps_the_resource_version(api: Api) -> None:
    created = await api.create(deployment())
    again = await api.replace(created)
    assert again.metadata.resource_version == created.metadata.resource_version


async def test_status_update_keeps_spec_metadata_and_generation(api: Api) -> None:
    created = await api.create(deployment(replicas=1))
    sent = created.model_copy(deep=True)
    sent.spec.replicas = 9
    sent.metadata.labels = {"changed": "yes"}
    sent.status = DeploymentStatus(replicas=1, observed_generation=1)
    updated = await api.replace_status(sent)
    assert updated.status is not None and (updated.status.replicas, updated.status.observed_generation) == (1, 1)
    assert (updated.spec.replicas, updated.metadata.labels, updated.metadata.generation) == (1, None, 1)
    assert rv(updated) > rv(created)


async def test_status_update_with_a_stale_resource_version_conflicts(api: Api) -> None:
    created = await api.create(pod(node="n1"))
    await api.replace_status(created.model_copy(update={"status": PodStatus(phase="Running")}))
    await expect_error(409, "Conflict", api.replace_status(created.model_copy(update={"status": PodStatus(phase="Failed")})))


async def test_objects_without_a_status_subresource_update_as_a_whole(api: Api) -> None:
    lease = await api.create(Lease.model_validate({"metadata": {"name": "n1", "namespace": "kube-node-lease"},
                                                   "spec": {"holderIdentity": "a"}}))
    lease.spec.holder_identity = "b"
    assert (await api.replace(lease)).spec.holder_identity == "b"


# -- patch --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patch_type", "body"),
    [pytest.param("merge", {"metadata": {"labels": {"app": "web", "tier": "front"}}}, id="merge"),
     pytest.param("strategic", {"metadata": {"labels": {"tier": "front"}}}, id="strategic"),
     pytest.param("json", [{"op": "add", "path": "/metadata/labels/tier", "value": "front"}], id="json")],
)
async def test_patch_types(api: Api, patch_type: str, body: Any) -> None:
    created = await api.create(pod())
    patched = await api.patch(Pod, "web", body, NS, patch_type=patch_type)
    assert patched.metadata.labels == {"app": "web", "tier": "front"}
    assert rv(patched) > rv(created) and patched.metadata.generation == 1


async def test_patch_with_a_stale_resource_version_conflicts(api: Api) -> None:
    created = await api.create(pod())
    await api.patch(Pod, "web", {"metadata": {"labels": {"v": "1"}}}, NS)
    stale = {"metadata": {"resourceVersion": created.metadata.resource_version, "labels": {"v": "2"}}}
    await expect_error(409, "Conflict", api.patch(Pod, "web", stale, NS))


async def test_status_patch_changes_only_status(api: Api) -> None:
    await api.create(deployment(replicas=1))
    body = {"spec": {"replicas": 8}, "status": {"replicas": 1}}
    patched = await api.patch(Deployment, "web", body, NS, subresource="status")
    assert patched.spec.replicas == 1 and patched.status is not None and patched.status.replicas == 1


async def test_strategic_patch_deletes_an_owner_reference_by_uid(api: Api) -> None:
    sent = pod()
    sent.metadata.owner_references = [OwnerReference(api_version="apps/v1", kind="ReplicaSet", name=n, uid=f"uid-{n}")
                                      for n in ("a", "b")]
    await api.create(sent)
    patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "uid-a"}]}}
    patched = await api.patch(Pod, "web", patch, NS, patch_type="strategic")
    assert [r.uid for r in patched.metadata.owner_references or []] == ["uid-b"]


async def test_patch_of_a_missing_object_is_not_found(api: Api) -> None:
    await expect_error(404, "NotFound", api.patch(Pod, "nothing", {"metadata": {"labels": {"a": "b"}}}, NS))


# -- delete -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "grace", "gone", "grace_left"),
    [pytest.param(None, None, True, None, id="unscheduled-pod-goes-at-once"),
     pytest.param("n1", None, False, 30, id="scheduled-pod-gets-its-grace-period"),
     pytest.param("n1", 5, False, 5, id="requested-grace-period"),
     pytest.param("n1", 0, True, None, id="grace-zero-goes-at-once")],
)
async def test_pod_deletion(api: Api, node: str | None, grace: int | None, gone: bool, grace_left: int | None) -> None:
    await api.create(pod(node=node))
    await api.delete(Pod, "web", NS, grace_period=grace)
    if gone:
        await expect_error(404, "NotFound", api.get(Pod, "web", NS))
        return
    left = await api.get(Pod, "web", NS)
    assert left.metadata.deletion_timestamp and left.metadata.deletion_grace_period_seconds == grace_left


async def test_a_terminating_pod_goes_when_its_kubelet_deletes_it_with_grace_zero(api: Api) -> None:
    created = await api.create(pod(node="n1"))
    await api.delete(Pod, "web", NS)
    await api.delete(Pod, "web", NS, grace_period=0, preconditions={"uid": created.metadata.uid or ""})
    await expect_error(404, "NotFound", api.get(Pod, "web", NS))


@pytest.mark.parametrize(
    ("propagation", "finalizer"),
    [pytest.param("Foreground", "foregroundDeletion", id="foreground"),
     pytest.param("Orphan", "orphan", id="orphan")],
)
async def test_propagation_policy_adds_its_finalizer(api: Api, propagation: str, finalizer: str) -> None:
    await api.create(deployment())
    await api.delete(Deployment, "web", NS, propagation=propagation)
    left = await api.get(Deployment, "web", NS)
    assert left.metadata.deletion_timestamp and left.metadata.finalizers == [finalizer]


async def test_removing_the_last_finalizer_of_a_terminating_object_deletes_it(api: Api) -> None:
    await api.create(deployment())
    await api.delete(Deployment, "web", NS, propagation="Foreground")
    await api.patch(Deployment, "web", {"metadata": {"$deleteFromPrimitiveList/finalizers": ["foregroundDeletion"]}},
                    NS, patch_type="strategic")
    await expect_error(404, "NotFound", api.get(Deployment, "web", NS))


async def test_a_finalizer_holds_a_deleted_object(api: Api) -> None:
    await api.create(pod(finalizers=["example.com/hold"]))
    await api.delete(Pod, "web", NS)
    assert (await api.get(Pod, "web", NS)).metadata.deletion_timestamp


async def test_delete_with_another_uid_as_precondition_conflicts(api: Api) -> None:
    await api.create(pod())
    await expect_error(409, "Conflict", api.delete(Pod, "web", NS, preconditions={"uid": "someone-else"}))
    assert await api.get(Pod, "web", NS)


async def test_delete_of_a_missing_object_is_not_found(api: Api) -> None:
    await expect_error(404, "NotFound", api.delete(Pod, "nothing", NS))


# -- binding ------------------------------------------------------------------------------------


async def test_binding_assigns_the_node_and_marks_the_pod_scheduled(api: Api) -> None:
    created = await api.create(pod())
    await api.bind(NS, "web", "n1", uid=created.metadata.uid)
    bound = await api.get(Pod, "web", NS)
    assert bound.spec.node_name == "n1" and bound.metadata.generation == 1
    conditions = {c.type: c.status for c in (bound.status.conditions if bound.status else None) or []}
    assert conditions.get("PodScheduled") == "True"


async def test_binding_a_bound_pod_conflicts(api: Api) -> None:
    await api.create(pod())
    await api.bind(NS, "web", "n1")
    await expect_error(409, "Conflict", api.bind(NS, "web", "n2"))
    assert (await api.get(Pod, "web", NS)).spec.node_name == "n1"


async def test_binding_another_pod_of_the_same_name_conflicts(api: Api) -> None:
    await api.create(pod())
    await expect_error(409, "Conflict", api.bind(NS, "web", "n1", uid="an-older-pod"))


async def test_binding_a_terminating_pod_conflicts(api: Api) -> None:
    await api.create(pod(finalizers=["example.com/hold"]))
    await api.delete(Pod, "web", NS)
    await expect_error(409, "Conflict", api.bind(NS, "web", "n1"))


async def test_binding_a_missing_pod_is_not_found(api: Api) -> None:
    await expect_error(404, "NotFound", api.bind(NS, "nothing", "n1"))


# -- list and watch -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "fields", "expected"),
    [pytest.param(None, None, ["a", "b", "c"], id="everything"),
     pytest.param("app=db", None, ["b"], id="label-selector"),
     pytest.param(None, "spec.nodeName=", ["a", "b"], id="unscheduled"),
     pytest.param(None, "spec.nodeName=n1", ["c"], id="on-a-node")],
)
async def test_list_filters_by_selectors(api: Api, labels: str | None, fields: str | None,
                                         expected: list[str]) -> None:
    await api.create(pod("a"))
    await api.create(pod("b", labels={"app": "db"}))
    await api.create(pod("c", node="n1"))
    items, list_rv = await api.list(Pod, NS, label_selector=labels, field_selector=fields)
    assert [p.metadata.name for p in items] == expected
    assert all(rv(p) <= int(list_rv) for p in items)


async def test_resource_versions_increase_across_objects(api: Api) -> None:
    versions = [rv(await api.create(pod(name))) for name in ("a", "b", "c")]
    versions.append(rv(await api.create(ConfigMap.model_validate({"metadata": {"name": "cm", "namespace": NS}}))))
    assert versions == sorted(versions) and len(set(versions)) == 4


async def collect(events: AsyncIterator[WatchEvent], count: int) -> list[tuple[str, str, int]]:
    seen: list[tuple[str, str, int]] = []

    async def read() -> None:
        async for event in events:
            if event.type != "BOOKMARK":
                seen.append((event.type, event.object["metadata"]["name"], int(event.resource_version)))
            if len(seen) == count:
                return

    await asyncio.wait_for(read(), TIMEOUT)
    await events.aclose()  # type: ignore[attr-defined]
    return seen


async def test_watch_replays_changes_after_a_resource_version_in_order(api: Api) -> None:
    _, start = await api.list(Pod, NS)
    created = await api.create(pod("a"))
    await api.patch(Pod, "a", {"metadata": {"labels": {"v": "2"}}}, NS)
    await api.delete(Pod, "a", NS)
    seen = await collect(api.watch_raw(PODS, NS, resource_version=start, timeout_seconds=10), 3)
    assert [(t, n) for t, n, _ in seen] == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    versions = [v for _, _, v in seen]
    assert versions == sorted(versions) and versions[0] == rv(created)


async def test_watch_streams_live_changes(api: Api) -> None:
    _, start = await api.list(Pod, NS)
    watch = api.watch_raw(PODS, NS, resource_version=start, timeout_seconds=10)
    reading = asyncio.create_task(collect(watch, 2))
    await asyncio.sleep(0.05)  # let the watch subscribe before the writes
    await api.create(pod("a"))
    await api.create(pod("b"))
    assert [(t, n) for t, n, _ in await reading] == [("ADDED", "a"), ("ADDED", "b")]


async def test_a_field_selected_watch_sees_a_pod_leave_when_bound(api: Api) -> None:
    _, start = await api.list(Pod, NS)
    await api.create(pod("a"))
    await api.bind(NS, "a", "n1")
    pending = await collect(api.watch_raw(PODS, NS, resource_version=start, field_selector="spec.nodeName=",
                                          timeout_seconds=10), 2)
    assert [(t, n) for t, n, _ in pending] == [("ADDED", "a"), ("DELETED", "a")]
    assigned = await collect(api.watch_raw(PODS, NS, resource_version=start, field_selector="spec.nodeName=n1",
                                           timeout_seconds=10), 1)
    assert [(t, n) for t, n, _ in assigned] == [("ADDED", "a")]


async def test_a_watch_without_a_resource_version_starts_with_the_current_state(api: Api) -> None:
    await api.create(pod("a"))
    await api.create(pod("b"))
    seen = await collect(api.watch_raw(PODS, NS, timeout_seconds=10), 2)
    assert sorted((t, n) for t, n, _ in seen) == [("ADDED", "a"), ("ADDED", "b")]
