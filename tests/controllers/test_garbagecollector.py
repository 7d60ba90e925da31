"""Garbage collector: background, foreground and orphan deletion, against the fake client."""

from __future__ import annotations

import pytest

from apimachinery.models.apps import Deployment, Lease, ReplicaSet
from apimachinery.models.core import Node, Pod
from controllers.garbagecollector import GarbageCollector
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, deployment, node, pod, ref_to, replicaset


def setup() -> tuple[FakeCluster, GarbageCollector, FakeQueue]:
    cluster = fake_context()
    queue = FakeQueue()
    return cluster, GarbageCollector(cluster.ctx, queue=queue), queue


def rs_key(name: str = "web") -> str:
    return f"replicasets.apps/{NS}/{name}"


def pod_key(name: str) -> str:
    return f"pods/{NS}/{name}"


async def test_dependent_of_a_vanished_owner_is_deleted_in_the_background() -> None:
    cluster, gc, queue = setup()
    rs = cluster.client.seed(replicaset())
    cluster.client.seed(pod("a", owner=rs, node="n1"))
    queue.clear()
    cluster.client.remove(ReplicaSet, "web", NS)  # the owner is gone, and the informer saw it go
    assert queue.added == [pod_key("a")]
    await gc.sync(pod_key("a"))
    (delete,) = cluster.client.calls("delete", "pods")
    assert (delete.name, delete.body["propagationPolicy"]) == ("a", "Background")
    assert [a.verb for a in cluster.client.calls(resource="replicasets")] == ["get"]  # confirmed on the server


async def test_owner_missing_from_the_cache_but_alive_on_the_server_protects_the_dependent() -> None:
    cluster, gc, _ = setup()
    stored = await cluster.client.create(replicaset())  # on the server, not yet in the informer
    cluster.client.seed(pod("a", owner=stored, node="n1"))
    await gc.sync(pod_key("a"))
    assert cluster.client.calls("delete") == []


async def test_owner_replaced_by_a_new_object_of_the_same_name_counts_as_gone() -> None:
    cluster, gc, _ = setup()
    cluster.client.seed(replicaset(uid="new-uid"))
    old = replicaset(uid="old-uid")
    cluster.client.seed(pod("a", owner=old, node="n1", labels={"app": "x"}))
    await gc.sync(pod_key("a"))
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["a"]


async def test_dangling_reference_is_removed_when_another_owner_remains() -> None:
    cluster, gc, _ = setup()
    alive = cluster.client.seed(replicaset(name="alive", uid="alive"))
    gone = replicaset(name="gone", uid="gone")
    cluster.client.seed(pod("a", refs=[ref_to(alive, controller=False), ref_to(gone, controller=False)]))
    await gc.sync(pod_key("a"))
    assert cluster.client.calls("delete") == []
    (patch,) = cluster.client.calls("patch", "pods")
    assert patch.body == {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "gone"}]}}


async def test_foreground_deletes_dependents_then_lets_the_owner_go() -> None:
    cluster, gc, queue = setup()
    d = cluster.client.seed(deployment())
    rs = cluster.client.seed(replicaset(owner=d))
    cluster.client.seed(pod("a", owner=rs, node="n1"))
    await cluster.client.delete(Deployment, "web", NS, propagation="Foreground")
    cluster.client.deliver()
    await gc.sync(f"deployments.apps/{NS}/web")
    (delete,) = cluster.client.calls("delete", "replicasets")
    assert delete.body["propagationPolicy"] == "Foreground"  # the ReplicaSet has dependents of its own
    assert "foregroundDeletion" in (cluster.client.stored(Deployment, "web", NS).metadata.finalizers or [])  # type: ignore[union-attr]
    cluster.client.deliver()
    queue.clear()
    await gc.sync(rs_key())  # the ReplicaSet, deleting in the foreground, deletes its pod
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["a"]
    cluster.client.deliver()
    # the pod still exists (its kubelet stops it): both owners wait
    await gc.sync(rs_key())
    assert cluster.client.stored(ReplicaSet, "web", NS) is not None
    # the kubelet removes the pod; the waiting ReplicaSet is woken up, finishes, then the Deployment
    cluster.client.remove(Pod, "a", NS)
    assert rs_key() in queue.added
    await gc.sync(rs_key())
    assert cluster.client.stored(ReplicaSet, "web", NS) is None
    cluster.client.deliver()
    await gc.sync(f"deployments.apps/{NS}/web")
    assert cluster.client.stored(Deployment, "web", NS) is None


async def test_non_blocking_dependents_do_not_hold_the_owner() -> None:
    cluster, gc, _ = setup()
    rs = cluster.client.seed(replicaset())
    cluster.client.seed(pod("a", refs=[ref_to(rs, block=False)], node="n1"))
    await cluster.client.delete(ReplicaSet, "web", NS, propagation="Foreground")
    cluster.client.deliver()
    await gc.sync(rs_key())
    assert cluster.client.stored(ReplicaSet, "web", NS) is None
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["a"]


async def test_orphan_removes_owner_references_then_the_finalizer() -> None:
    cluster, gc, _ = setup()
    rs = cluster.client.seed(replicaset())
    for name in ("a", "b"):
        cluster.client.seed(pod(name, owner=rs, node="n1"))
    await cluster.client.delete(ReplicaSet, "web", NS, propagation="Orphan")
    cluster.client.deliver()
    await gc.sync(rs_key())
    assert cluster.client.calls("delete", "pods") == []
    for name in ("a", "b"):
        assert not cluster.client.stored(Pod, name, NS).metadata.owner_references  # type: ignore[union-attr]
    assert cluster.client.stored(ReplicaSet, "web", NS) is None  # finalizer removed: the server let it go


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("pods/default/missing", id="object-gone"),
        pytest.param("widgets.example.com/default/x", id="unknown-kind"),
    ],
)
async def test_nothing_to_do(key: str) -> None:
    cluster, gc, _ = setup()
    await gc.sync(key)
    assert cluster.client.actions == []


async def test_owner_of_an_unserved_kind_never_causes_deletion() -> None:
    cluster, gc, _ = setup()
    refs = [{"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "w1", "controller": True}]
    cluster.client.seed(pod("a", refs=refs))
    await gc.sync(pod_key("a"))
    assert cluster.client.calls("delete") == []


async def test_a_deleted_node_takes_its_lease_along() -> None:
    cluster, gc, queue = setup()
    n1 = cluster.client.seed(node("n1"))
    lease = Lease.model_validate({"metadata": {"name": "n1", "namespace": "kube-node-lease",
                                               "ownerReferences": [ref_to(n1, controller=False)]},
                                  "spec": {"holderIdentity": "n1"}})
    cluster.client.seed(lease)
    await gc.sync("leases.coordination.k8s.io/kube-node-lease/n1")
    assert cluster.client.calls("delete") == []
    queue.clear()
    await cluster.client.delete(Node, "n1")
    cluster.client.deliver()
    assert queue.added == ["leases.coordination.k8s.io/kube-node-lease/n1"]
    await gc.sync(queue.added[0])
    assert cluster.client.stored(Lease, "n1", "kube-node-lease") is None
