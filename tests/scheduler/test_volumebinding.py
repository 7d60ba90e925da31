"""Pods with claims: the selected node of a WaitForFirstConsumer claim, volume node affinity, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.core import Volume
from apimachinery.models.storage import PersistentVolume, PersistentVolumeClaim, StorageClass
from scheduler.handlers import Handlers
from scheduler.volumebinding import REASON_RWOP, InformerVolumes
from tests.scheduler.harness import Harness
from tests.scheduler.objects import make_node, make_pod

SELECTED = "volume.kubernetes.io/selected-node"


class VolumeHarness(Harness):
    def __init__(self) -> None:
        super().__init__()
        self.claims, self.volumes = self.api.informer(PersistentVolumeClaim), self.api.informer(PersistentVolume)
        self.classes = self.api.informer(StorageClass)
        self.scheduler.volumes = InformerVolumes(claims=self.claims, volumes=self.volumes, classes=self.classes)
        Handlers(self.scheduler).connect_volumes(claims=self.claims, volumes=self.volumes, classes=self.classes)
        self.api.seed(StorageClass.model_validate({"metadata": {"name": "local-path"},
                                                   "provisioner": "podvisor.io/local-path",
                                                   "volumeBindingMode": "WaitForFirstConsumer"}))
        self.api.seed(StorageClass.model_validate({"metadata": {"name": "now"}, "provisioner": "x",
                                                   "volumeBindingMode": "Immediate"}))
        for name in ("n1", "n2", "n3"):
            self.add_node(make_node(name))

    def claim(self, name: str = "data", *, sc: str = "local-path", volume: str | None = None,
              modes: tuple[str, ...] = ("ReadWriteOnce",), annotations: dict[str, str] | None = None) -> None:
        spec: dict[str, Any] = {"accessModes": list(modes), "storageClassName": sc,
                                "resources": {"requests": {"storage": "1Gi"}}}
        if volume:
            spec["volumeName"] = volume
        self.api.seed(PersistentVolumeClaim.model_validate(
            {"metadata": {"name": name, "namespace": "default", "annotations": annotations or {}}, "spec": spec}))

    def volume(self, name: str, node: str) -> None:
        self.api.seed(PersistentVolume.model_validate({"metadata": {"name": name}, "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "local": {"path": "/x"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}}}))

    def pod_with_claim(self, name: str, claim: str = "data") -> None:
        pod = make_pod(name)
        pod.spec.volumes = [Volume(name="v", persistent_volume_claim={"claimName": claim})]
        self.create_pod(pod)

    def selected(self, claim: str = "data") -> str | None:
        found = self.api.stored(PersistentVolumeClaim, claim, "default")
        assert found is not None
        return (found.metadata.annotations or {}).get(SELECTED)

    def failure(self, key: str) -> str:
        messages = self.recorder.messages(key, "FailedScheduling")
        assert messages, f"{key} was not refused"
        return messages[-1]


@pytest.fixture
def vh() -> VolumeHarness:
    return VolumeHarness()


async def test_an_unbound_wait_for_first_consumer_claim_gets_the_chosen_node(vh: VolumeHarness) -> None:
    vh.claim()
    vh.pod_with_claim("web")
    await vh.drain()
    node = vh.placement()["default/web"]
    assert node is not None and vh.selected() == node
    patches = vh.api.calls("patch", "persistentvolumeclaims")
    assert len(patches) == 1


async def test_a_claim_with_a_selected_node_holds_later_pods_there(vh: VolumeHarness) -> None:
    vh.claim(annotations={SELECTED: "n2"})
    for i in range(3):
        vh.pod_with_claim(f"web-{i}")
    await vh.drain()
    assert set(vh.placement().values()) == {"n2"}
    assert vh.api.calls("patch", "persistentvolumeclaims") == []


async def test_a_bound_claim_takes_the_pod_to_its_volumes_node(vh: VolumeHarness) -> None:
    vh.volume("pv-1", "n3")
    vh.claim(volume="pv-1")
    for i in range(4):
        vh.pod_with_claim(f"web-{i}")
    await vh.drain()
    assert set(vh.placement().values()) == {"n3"}


async def test_a_volume_on_a_node_that_cannot_take_the_pod_leaves_it_pending(vh: VolumeHarness) -> None:
    vh.update_node("n3", lambda node: setattr(node.spec, "unschedulable", True))
    vh.volume("pv-1", "n3")
    vh.claim(volume="pv-1")
    vh.pod_with_claim("web")
    await vh.drain()
    assert vh.placement()["default/web"] is None
    message = vh.failure("default/web")
    assert "2 node(s) had volume node affinity conflict" in message and "1 node(s) were unschedulable" in message


REFUSED = [
    pytest.param(None, 'persistentvolumeclaim "data" not found', id="missing-claim"),
    pytest.param("now", "pod has unbound immediate PersistentVolumeClaims", id="unbound-immediate"),
    pytest.param("gone", 'storageclass.storage.k8s.io "gone" not found', id="missing-class"),
]


@pytest.mark.parametrize(("sc", "message"), REFUSED)
async def test_claims_that_cannot_be_used_yet_leave_the_pod_pending(vh: VolumeHarness, sc: str | None,
                                                                     message: str) -> None:
    if sc is not None:
        vh.claim(sc=sc)
    vh.pod_with_claim("web")
    await vh.drain()
    assert vh.placement()["default/web"] is None
    assert vh.failure("default/web") == f"0/3 nodes are available: {message}."


async def test_a_pod_waiting_for_its_claim_is_scheduled_once_the_claim_exists(vh: VolumeHarness) -> None:
    vh.pod_with_claim("web")
    await vh.drain()
    assert vh.placement()["default/web"] is None
    vh.claim()
    vh.advance(60)  # past any back-off
    await vh.drain()
    assert vh.placement()["default/web"] is not None


async def test_read_write_once_pod_admits_one_pod(vh: VolumeHarness) -> None:
    vh.claim(modes=("ReadWriteOncePod",))
    vh.pod_with_claim("first")
    await vh.drain()
    vh.pod_with_claim("second")
    await vh.drain()
    placement = vh.placement()
    assert placement["default/first"] is not None and placement["default/second"] is None
    assert vh.failure("default/second") == f"0/3 nodes are available: {REASON_RWOP}."


async def test_a_pod_without_claims_is_not_affected(vh: VolumeHarness) -> None:
    vh.create_pod(make_pod("plain"))
    await vh.drain()
    assert vh.placement()["default/plain"] is not None
    assert vh.api.calls("patch", "persistentvolumeclaims") == []
