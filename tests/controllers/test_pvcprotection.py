"""Claim protection: a deleted claim keeps its finalizer while a scheduled, unfinished pod names it."""

from __future__ import annotations

import pytest

from apimachinery.models.core import Container, Pod, PodSpec, PodStatus, Volume
from apimachinery.models.meta import ObjectMeta, OwnerReference
from apimachinery.models.storage import PVC_PROTECTION_FINALIZER, PersistentVolumeClaim
from controllers.garbagecollector import GarbageCollector
from controllers.pvcprotection import ClaimProtection
from tests.controllers.harness import FakeQueue, fake_context


def claim_pod(name: str, *, node: str | None = "n1", phase: str = "Running", claim: str = "data") -> Pod:
    return Pod(metadata=ObjectMeta(name=name, namespace="default"),
               spec=PodSpec(node_name=node, containers=[Container(name="c", image="busybox")],
                            volumes=[Volume(name="v", persistent_volume_claim={"claimName": claim})]),
               status=PodStatus(phase=phase))


CASES = [
    pytest.param(None, False, id="no-pod"),
    pytest.param(claim_pod("web"), True, id="running-pod"),
    pytest.param(claim_pod("web", phase="Succeeded"), False, id="finished-pod"),
    pytest.param(claim_pod("web", node=None), False, id="unscheduled-pod"),
    pytest.param(claim_pod("web", claim="other"), False, id="pod-of-another-claim"),
]


@pytest.mark.parametrize(("pod", "kept"), CASES)
async def test_the_finalizer_stays_while_a_pod_uses_the_claim(pod: Pod | None, kept: bool) -> None:
    cluster = fake_context(auto_deliver=True)
    claims = cluster.client.informer(PersistentVolumeClaim)
    queue = FakeQueue()
    protection = ClaimProtection(cluster.ctx, claims=claims, queue=queue)
    if pod is not None:
        cluster.client.seed(pod)
    cluster.client.seed(PersistentVolumeClaim(metadata=ObjectMeta(
        name="data", namespace="default", finalizers=[PVC_PROTECTION_FINALIZER])))
    await cluster.client.delete(PersistentVolumeClaim, "data", "default")
    assert "default/data" in queue.added
    await protection.sync("default/data")
    stored = cluster.client.stored(PersistentVolumeClaim, "data", "default")
    assert (stored is not None) is kept


async def test_a_pod_that_goes_brings_the_claim_back() -> None:
    cluster = fake_context(auto_deliver=True)
    queue = FakeQueue()
    ClaimProtection(cluster.ctx, claims=cluster.client.informer(PersistentVolumeClaim), queue=queue)
    cluster.client.seed(claim_pod("web"))
    cluster.client.remove(Pod, "web", "default")
    assert queue.added == ["default/data"]


async def test_a_pod_missing_from_the_cache_still_counts() -> None:
    cluster = fake_context(auto_deliver=True)
    claims = cluster.client.informer(PersistentVolumeClaim)
    protection = ClaimProtection(cluster.ctx, claims=claims, queue=FakeQueue())
    cluster.client.seed(PersistentVolumeClaim(metadata=ObjectMeta(
        name="data", namespace="default", finalizers=[PVC_PROTECTION_FINALIZER])))
    await cluster.client.delete(PersistentVolumeClaim, "data", "default")
    cluster.client.auto_deliver = False
    await cluster.client.create(claim_pod("new"))  # stored, not yet seen by the pod cache
    await protection.sync("default/data")
    assert cluster.client.stored(PersistentVolumeClaim, "data", "default") is not None


async def test_the_garbage_collector_deletes_a_claim_whose_owner_pod_is_gone() -> None:
    """A StatefulSet's claim owned by its pod (retention ``whenScaled: Delete``) follows the pod."""
    cluster = fake_context()
    cluster.ctx.informers.persistentvolumeclaims = cluster.client.informer(PersistentVolumeClaim)
    queue = FakeQueue()
    gc = GarbageCollector(cluster.ctx, queue=queue)
    owner = cluster.client.seed(claim_pod("web-0"))
    ref = OwnerReference(api_version="v1", kind="Pod", name="web-0", uid=owner.metadata.uid or "")
    cluster.client.seed(PersistentVolumeClaim(metadata=ObjectMeta(name="data", namespace="default",
                                                                  owner_references=[ref])))
    cluster.client.remove(Pod, "web-0", "default")
    assert "persistentvolumeclaims/default/data" in queue.added
    await gc.sync("persistentvolumeclaims/default/data")
    assert [a.name for a in cluster.client.calls("delete", "persistentvolumeclaims")] == ["data"]
