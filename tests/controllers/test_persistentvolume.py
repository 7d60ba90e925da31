"""The PersistentVolume binder, the local-path provisioner and reclaiming, one ``sync(key)`` at a time."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.core import Node
from apimachinery.models.meta import LabelSelector, ObjectMeta
from apimachinery.models.storage import (
    LOCAL_PATH_PROVISIONER,
    LOCAL_PATH_ROOT_ANNOTATION,
    PROVISIONED_BY_ANNOTATION,
    SELECTED_NODE_ANNOTATION,
    PersistentVolume,
    PersistentVolumeClaim,
    StorageClass,
)
from controllers.persistentvolume import ClaimBinder, VolumeSyncer
from controllers.persistentvolume_util import find_volume, volume_matches
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context

ROOT = "/var/lib/podvisor/kubelet/node-a/local-path"


def claim(name: str = "data", *, size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",),
          sc: str | None = "", annotations: dict[str, str] | None = None, selector: dict[str, str] | None = None,
          volume_name: str | None = None) -> PersistentVolumeClaim:
    spec: dict[str, Any] = {"accessModes": list(modes), "resources": {"requests": {"storage": size}},
                            "storageClassName": sc}
    if selector:
        spec["selector"] = {"matchLabels": selector}
    if volume_name:
        spec["volumeName"] = volume_name
    return PersistentVolumeClaim.model_validate({
        "metadata": {"name": name, "namespace": "default", "annotations": annotations or {}}, "spec": spec,
        "status": {"phase": "Pending"}})


def volume(name: str = "pv1", *, size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",), sc: str = "",
           labels: dict[str, str] | None = None, node: str | None = None, policy: str = "Retain",
           phase: str = "Available", claim_ref: dict[str, str] | None = None,
           annotations: dict[str, str] | None = None) -> PersistentVolume:
    spec: dict[str, Any] = {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": sc,
                            "persistentVolumeReclaimPolicy": policy, "hostPath": {"path": f"/srv/{name}"}}
    if node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    if claim_ref:
        spec["claimRef"] = claim_ref
    return PersistentVolume.model_validate({
        "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}}, "spec": spec,
        "status": {"phase": phase}})


def local_path_class(mode: str = "WaitForFirstConsumer", policy: str = "Delete") -> StorageClass:
    return StorageClass(metadata=ObjectMeta(name="local-path"), provisioner=LOCAL_PATH_PROVISIONER,
                        reclaim_policy=policy, volume_binding_mode=mode)


class Storage:
    def __init__(self) -> None:
        self.cluster: FakeCluster = fake_context(auto_deliver=True)
        api = self.cluster.client
        self.claims, self.volumes = api.informer(PersistentVolumeClaim), api.informer(PersistentVolume)
        self.classes = api.informer(StorageClass)
        self.claim_queue, self.volume_queue = FakeQueue(), FakeQueue()
        self.binder = ClaimBinder(self.cluster.ctx, queue=self.claim_queue, claims=self.claims,
                                  volumes=self.volumes, classes=self.classes)
        self.syncer = VolumeSyncer(self.cluster.ctx, queue=self.volume_queue, claims=self.claims,
                                   volumes=self.volumes, classes=self.classes)

    def node(self, name: str = "node-a", *, root: str | None = ROOT) -> None:
        annotations = {LOCAL_PATH_ROOT_ANNOTATION: root} if root else {}
        self.cluster.client.seed(Node(metadata=ObjectMeta(name=name, annotations=annotations)))

    def claim(self, name: str = "data") -> PersistentVolumeClaim:
        found = self.cluster.client.stored(PersistentVolumeClaim, name, "default")
        assert found is not None
        return found

    def volume(self, name: str) -> PersistentVolume | None:
        return self.cluster.client.stored(PersistentVolume, name)

    def reasons(self) -> list[str]:
        return [e.reason for e in self.cluster.recorder.events]


# --- matching (pure) -----------------------------------------------------------------------------

MATCHES = [
    pytest.param(volume(), claim(), None, True, id="same-class-size-modes"),
    pytest.param(volume(size="10Gi"), claim(size="1G"), None, True, id="bigger-volume"),
    pytest.param(volume(size="500Mi"), claim(size="1Gi"), None, False, id="too-small"),
    pytest.param(volume(sc="fast"), claim(sc=""), None, False, id="other-class"),
    pytest.param(volume(modes=("ReadWriteOnce",)), claim(modes=("ReadWriteMany",)), None, False, id="mode-missing"),
    pytest.param(volume(modes=("ReadWriteOnce", "ReadOnlyMany")), claim(modes=("ReadOnlyMany",)), None, True,
                 id="mode-subset"),
    pytest.param(volume(labels={"tier": "db"}), claim(selector={"tier": "db"}), None, True, id="selector-matches"),
    pytest.param(volume(labels={"tier": "web"}), claim(selector={"tier": "db"}), None, False, id="selector-fails"),
    pytest.param(volume(node="node-a"), claim(), "node-a", True, id="usable-from-selected-node"),
    pytest.param(volume(node="node-b"), claim(), "node-a", False, id="other-node"),
]


@pytest.mark.parametrize(("pv", "pvc", "node", "expected"), MATCHES)
def test_volume_matches(pv: PersistentVolume, pvc: PersistentVolumeClaim, node: str | None, expected: bool) -> None:
    assert volume_matches(pv, pvc, node=node) is expected


def test_the_smallest_match_wins_and_a_prebound_volume_first() -> None:
    pvc = claim(size="1Gi")
    small, big = volume("small", size="2Gi"), volume("big", size="5Gi")
    assert find_volume([big, small], pvc, node=None) is small
    prebound = volume("mine", size="5Gi", claim_ref={"namespace": "default", "name": "data"})
    assert find_volume([small, prebound], pvc, node=None) is prebound
    taken = volume("taken", size="1Gi", claim_ref={"namespace": "default", "name": "other"})
    assert find_volume([taken], pvc, node=None) is None
    assert find_volume([volume(size="1Gi", phase="Released")], pvc, node=None) is None


def test_selector_model_is_honoured() -> None:
    pvc = claim()
    pvc.spec.selector = LabelSelector(match_labels={"disk": "ssd"})
    assert not volume_matches(volume(), pvc, node=None)


# --- binding -------------------------------------------------------------------------------------


async def test_a_claim_binds_to_an_available_volume_on_both_sides() -> None:
    s = Storage()
    s.cluster.client.seed(volume("pv1", size="2Gi"))
    created = s.cluster.client.seed(claim())
    await s.binder.sync("default/data")
    bound, pv = s.claim(), s.volume("pv1")
    assert pv is not None and pv.spec.claim_ref is not None
    assert (pv.spec.claim_ref.name, pv.spec.claim_ref.uid) == ("data", created.metadata.uid)
    assert pv.status is not None and pv.status.phase == "Bound"
    assert bound.spec.volume_name == "pv1"
    assert bound.status is not None and bound.status.phase == "Bound"
    assert bound.status.capacity == {"storage": "2Gi"} and bound.status.access_modes == ["ReadWriteOnce"]
    await s.binder.sync("default/data")  # idempotent: nothing more to write
    assert len(s.cluster.client.calls("update", "persistentvolumes")) == 1


async def test_a_claim_without_a_match_waits() -> None:
    s = Storage()
    s.cluster.client.seed(volume("pv1", size="100Mi"))
    s.cluster.client.seed(claim())
    await s.binder.sync("default/data")
    assert s.claim().spec.volume_name is None
    assert s.reasons() == ["FailedBinding"]


async def test_a_new_volume_wakes_waiting_claims() -> None:
    s = Storage()
    s.cluster.client.seed(claim())
    s.claim_queue.clear()
    s.cluster.client.seed(volume("pv1"))
    assert "default/data" in s.claim_queue.added


async def test_a_bound_claim_whose_volume_is_gone_is_lost() -> None:
    s = Storage()
    s.cluster.client.seed(claim(volume_name="gone", annotations={"pv.kubernetes.io/bind-completed": "yes"}))
    await s.binder.sync("default/data")
    status = s.claim().status
    assert status is not None and status.phase == "Lost"
    assert s.reasons() == ["ClaimLost"]


# --- WaitForFirstConsumer and the local-path provisioner -----------------------------------------


async def test_wait_for_first_consumer_binds_nothing_before_the_scheduler_chose() -> None:
    s = Storage()
    s.cluster.client.seed(local_path_class())
    s.cluster.client.seed(volume("pv1", sc="local-path"))
    s.cluster.client.seed(claim(sc="local-path"))
    await s.binder.sync("default/data")
    assert s.claim().spec.volume_name is None
    assert s.cluster.client.all(PersistentVolume)[0].spec.claim_ref is None
    assert s.reasons() == ["WaitForFirstConsumer"]


async def test_the_selected_node_gets_a_local_path_volume_then_the_claim_binds_to_it() -> None:
    s = Storage()
    s.node("node-a")
    s.cluster.client.seed(local_path_class())
    created = s.cluster.client.seed(claim(sc="local-path", annotations={SELECTED_NODE_ANNOTATION: "node-a"}))
    await s.binder.sync("default/data")
    name = f"pvc-{created.metadata.uid}"
    pv = s.volume(name)
    assert pv is not None
    assert pv.spec.local is not None and pv.spec.local.path == f"{ROOT}/{name}_default_data"
    assert pv.spec.node_affinity is not None and pv.spec.node_affinity.required == {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-a"]}]}]}
    assert pv.spec.persistent_volume_reclaim_policy == "Delete"
    assert pv.spec.storage_class_name == "local-path" and pv.spec.capacity == {"storage": "1Gi"}
    assert (pv.metadata.annotations or {})[PROVISIONED_BY_ANNOTATION] == LOCAL_PATH_PROVISIONER
    assert pv.spec.claim_ref is not None and pv.spec.claim_ref.uid == created.metadata.uid
    assert "default/data" in s.claim_queue.added  # the new volume's event brings the claim back
    await s.syncer.sync(name)
    await s.binder.sync("default/data")
    assert s.claim().spec.volume_name == name
    assert s.claim().status is not None and s.claim().status.phase == "Bound"  # type: ignore[union-attr]
    assert s.reasons() == ["Provisioning", "ProvisioningSucceeded"]


async def test_a_free_volume_on_the_selected_node_is_bound_instead_of_provisioning() -> None:
    s = Storage()
    s.node("node-a")
    s.cluster.client.seed(local_path_class())
    s.cluster.client.seed(volume("elsewhere", sc="local-path", node="node-b"))
    s.cluster.client.seed(volume("here", sc="local-path", node="node-a"))
    s.cluster.client.seed(claim(sc="local-path", annotations={SELECTED_NODE_ANNOTATION: "node-a"}))
    await s.binder.sync("default/data")
    assert s.claim().spec.volume_name == "here"
    assert len(s.cluster.client.all(PersistentVolume)) == 2


PROVISION_FAILURES = [
    pytest.param("WaitForFirstConsumer", "node-a", None, ("ReadWriteOnce",), "does not advertise", id="no-root"),
    pytest.param("WaitForFirstConsumer", "node-x", ROOT, ("ReadWriteOnce",), 'node "node-x" not found',
                 id="unknown-node"),
    pytest.param("WaitForFirstConsumer", "node-a", ROOT, ("ReadWriteMany",), "only supports ReadWriteOnce",
                 id="rwx"),
    pytest.param("Immediate", None, ROOT, ("ReadWriteOnce",), "no node was specified", id="immediate"),
]


@pytest.mark.parametrize(("mode", "selected", "root", "modes", "message"), PROVISION_FAILURES)
async def test_provisioning_failures_are_events(mode: str, selected: str | None, root: str | None,
                                               modes: tuple[str, ...], message: str) -> None:
    s = Storage()
    s.node("node-a", root=root)
    s.cluster.client.seed(local_path_class(mode))
    annotations = {SELECTED_NODE_ANNOTATION: selected} if selected else {}
    s.cluster.client.seed(claim(sc="local-path", modes=modes, annotations=annotations))
    await s.binder.sync("default/data")
    assert s.cluster.client.all(PersistentVolume) == []
    [event] = s.cluster.recorder.events
    assert event.reason == "ProvisioningFailed" and message in event.message
    assert s.claim_queue.after == [("default/data", 10.0)]  # tried again later


# --- the volume side: Available, Released, reclaimed ---------------------------------------------


async def test_a_new_volume_becomes_available() -> None:
    s = Storage()
    s.cluster.client.seed(volume("pv1", phase="Pending"))
    await s.syncer.sync("pv1")
    pv = s.volume("pv1")
    assert pv is not None and pv.status is not None and pv.status.phase == "Available"


async def bound_then_deleted(s: Storage, pv: PersistentVolume) -> str:
    s.node("node-a")
    s.cluster.client.seed(pv)
    s.cluster.client.seed(claim(sc=pv.spec.storage_class_name or ""))
    await s.binder.sync("default/data")
    name = pv.metadata.name or ""
    await s.syncer.sync(name)
    s.cluster.client.remove(PersistentVolumeClaim, "data", "default")
    assert name in s.volume_queue.added
    await s.syncer.sync(name)
    return name


async def test_retain_keeps_a_released_volume() -> None:
    s = Storage()
    name = await bound_then_deleted(s, volume("pv1", policy="Retain"))
    pv = s.volume(name)
    assert pv is not None and pv.status is not None and pv.status.phase == "Released"
    await s.syncer.sync(name)
    assert s.volume(name) is not None


async def test_delete_removes_a_provisioned_volume_once_released() -> None:
    s = Storage()
    provisioned = volume("pvc-1", policy="Delete", sc="local-path", node="node-a",
                         annotations={PROVISIONED_BY_ANNOTATION: LOCAL_PATH_PROVISIONER})
    name = await bound_then_deleted(s, provisioned)
    assert s.volume(name) is not None and s.volume(name).status.phase == "Released"  # type: ignore[union-attr]
    await s.syncer.sync(name)
    assert s.volume(name) is None


async def test_delete_fails_a_volume_podvisor_did_not_make() -> None:
    s = Storage()
    name = await bound_then_deleted(s, volume("pv1", policy="Delete"))
    await s.syncer.sync(name)
    pv = s.volume(name)
    assert pv is not None and pv.status is not None and pv.status.phase == "Failed"
    assert "no deletable volume plugin matched" in (pv.status.message or "")


async def test_a_claim_missing_only_from_the_cache_releases_nothing() -> None:
    s = Storage()
    s.cluster.client.seed(volume("pv1"))
    s.cluster.client.seed(claim())
    await s.binder.sync("default/data")
    s.cluster.client.auto_deliver = False
    s.claims.delete(s.claim())  # the cache alone forgets it
    await s.syncer.sync("pv1")
    pv = s.volume("pv1")
    assert pv is not None and pv.status is not None and pv.status.phase == "Bound"


# --- expansion -----------------------------------------------------------------------------------


@pytest.mark.parametrize("provisioned", [True, False], ids=["local-path", "pre-provisioned"])
async def test_a_grown_claim_grows_its_local_path_volume(provisioned: bool) -> None:
    s = Storage()
    annotations = {PROVISIONED_BY_ANNOTATION: LOCAL_PATH_PROVISIONER} if provisioned else {}
    s.cluster.client.seed(volume("pv1", sc="local-path", annotations=annotations))
    s.cluster.client.seed(local_path_class("Immediate"))
    s.cluster.client.seed(claim(sc="local-path"))
    await s.binder.sync("default/data")
    grown = s.claim()
    assert grown.spec.resources is not None and grown.spec.resources.requests is not None
    grown.spec.resources.requests["storage"] = "3Gi"
    await s.cluster.client.replace(grown)
    await s.binder.sync("default/data")
    pv, status = s.volume("pv1"), s.claim().status
    assert pv is not None and status is not None
    expected = "3Gi" if provisioned else "1Gi"
    assert (pv.spec.capacity, status.capacity) == ({"storage": expected}, {"storage": expected})
    assert ("VolumeResizeSuccessful" in s.reasons()) is provisioned
