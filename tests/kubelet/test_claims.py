"""Claim volumes on the node: the bound volume's directory, local-path directories made and removed."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from apimachinery.models.core import Container, Pod, PodSpec, Volume, VolumeMount
from apimachinery.models.meta import ObjectMeta
from apimachinery.models.storage import PersistentVolume, PersistentVolumeClaim
from apimachinery.testing import FakeApi
from kubelet import naming, podspec
from kubelet.claims import ClaimVolumes
from kubelet.projection import VolumeError
from kubelet.tokens import TokenManager
from kubelet.volumes import ProjectedVolumes
from kubelet.worker import PodWorker
from tests.kubelet.harness import IMAGE, make_context, make_pod
from tests.kubelet.test_tokens import FakeConfigMaps, FakeRequester

FINALIZER = "podvisor.io/local-path-cleanup"


class Node:
    def __init__(self, tmp_path: Path, name: str = "n1") -> None:
        self.api = FakeApi()
        self.root = tmp_path / "kubelet"
        self.claims = ClaimVolumes(client=self.api, root=self.root, node=name)

    def bound(self, *, claim: str = "data", volume: str = "pvc-1", source: dict[str, Any] | None = None,
              node: str = "n1", policy: str = "Delete", bound: bool = True) -> str:
        """A claim and its volume, bound both ways; the volume's local path."""
        path = str(self.claims.storage / f"{volume}_default_{claim}")
        spec: dict[str, Any] = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                "persistentVolumeReclaimPolicy": policy, **(source or {"local": {"path": path}}),
                                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}}
        pvc = self.api.seed(PersistentVolumeClaim.model_validate({
            "metadata": {"name": claim, "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                     "volumeName": volume if bound else None},
            "status": {"phase": "Bound" if bound else "Pending"}}))
        spec["claimRef"] = {"namespace": "default", "name": claim, "uid": pvc.metadata.uid}
        self.api.seed(PersistentVolume.model_validate({"metadata": {"name": volume}, "spec": spec}))
        return path

    def volume(self, name: str = "pvc-1") -> PersistentVolume | None:
        return self.api.stored(PersistentVolume, name)


def claim_pod(claim: str = "data", *, read_only: bool = False) -> Pod:
    return Pod(metadata=ObjectMeta(name="web", namespace="default", uid="u1"), spec=PodSpec(
        containers=[Container(name="c", image="busybox", volume_mounts=[VolumeMount(name="v", mount_path="/data")])],
        volumes=[Volume(name="v", persistent_volume_claim={"claimName": claim, "readOnly": read_only})]))


async def test_a_local_path_volume_gets_its_directory_and_the_cleanup_finalizer(tmp_path: Path) -> None:
    node = Node(tmp_path)
    path = node.bound()
    assert await node.claims.resolve(claim_pod()) == {"v": path}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o777
    assert stat.S_IMODE(os.stat(node.claims.storage).st_mode) == 0o700
    assert (node.volume() or PersistentVolume()).metadata.finalizers == [FINALIZER]
    Path(path, "file").write_text("kept")
    assert await node.claims.resolve(claim_pod()) == {"v": path}  # again: nothing made twice
    assert Path(path, "file").read_text() == "kept"
    assert len(node.api.calls("update", "persistentvolumes")) == 1


async def test_a_host_path_volume_is_used_as_it_is(tmp_path: Path) -> None:
    node = Node(tmp_path)
    node.bound(source={"hostPath": {"path": str(tmp_path / "srv")}})
    assert await node.claims.resolve(claim_pod()) == {"v": str(tmp_path / "srv")}
    assert node.api.calls("update", "persistentvolumes") == []


REFUSED = [
    pytest.param({"claim": "other"}, 'persistentvolumeclaim "data" not found', id="missing"),
    pytest.param({"bound": False}, 'persistentvolumeclaim "data" is not bound', id="unbound"),
    pytest.param({"node": "n2"}, 'is on node "n2", not "n1"', id="other-node"),
    pytest.param({"source": {"local": {"path": "/nonexistent/disk"}}}, 'path "/nonexistent/disk" does not exist',
                 id="missing-local-path"),
]


@pytest.mark.parametrize(("setup", "message"), REFUSED)
async def test_a_claim_that_cannot_be_mounted_fails_the_mount(tmp_path: Path, setup: dict[str, Any],
                                                               message: str) -> None:
    node = Node(tmp_path)
    node.bound(**setup)
    with pytest.raises(VolumeError) as err:
        await node.claims.resolve(claim_pod())
    assert str(err.value).startswith('MountVolume.SetUp failed for volume "v" : ')
    assert message in str(err.value)


async def test_a_volume_bound_to_another_claim_is_refused(tmp_path: Path) -> None:
    node = Node(tmp_path)
    node.bound()
    stolen = node.volume()
    assert stolen is not None and stolen.spec.claim_ref is not None
    stolen.spec.claim_ref.uid = "someone-else"
    node.api.seed(stolen)
    with pytest.raises(VolumeError, match='is not bound to claim "data"'):
        await node.claims.resolve(claim_pod())


@pytest.mark.parametrize("read_only", [False, True])
def test_the_claim_volume_is_bind_mounted_read_only_when_asked(read_only: bool) -> None:
    target = claim_pod(read_only=read_only)
    [mount] = podspec.mounts(target, target.spec.containers[0], projected_dirs={"v": "/srv/pvc-1"})
    assert (mount.source, mount.target, mount.kind, mount.read_only) == ("/srv/pvc-1", "/data", "bind", read_only)


# --- cleaning up ---------------------------------------------------------------------------------


async def mounted_then_deleted(node: Node, *, policy: str = "Delete") -> Path:
    path = Path(node.bound(policy=policy))
    await node.claims.resolve(claim_pod())
    (path / "file").write_text("data")
    await node.api.delete(PersistentVolume, "pvc-1")  # held by the finalizer
    assert (node.volume() or PersistentVolume()).metadata.deletion_timestamp is not None
    return path


async def test_a_deleted_volume_loses_its_directory_then_its_finalizer(tmp_path: Path) -> None:
    node = Node(tmp_path)
    path = await mounted_then_deleted(node)
    assert await node.claims.clean_up() == [path.name]
    assert not path.exists()
    assert node.volume() is None  # the finalizer was the last: the volume is gone


async def test_a_deleted_retain_volume_keeps_its_data(tmp_path: Path) -> None:
    node = Node(tmp_path)
    path = await mounted_then_deleted(node, policy="Retain")
    assert await node.claims.clean_up() == []
    assert (path / "file").read_text() == "data"
    assert node.volume() is None


async def test_a_volume_in_use_and_strangers_are_left_alone(tmp_path: Path) -> None:
    node = Node(tmp_path)
    path = Path(node.bound())
    await node.claims.resolve(claim_pod())
    unknown = node.claims.storage / "pvc-unknown_default_x"  # no such volume: not known to be ours to remove
    unknown.mkdir()
    other = tmp_path / "elsewhere"
    other.mkdir()
    (node.claims.storage / "pvc-link").symlink_to(other)
    assert await node.claims.clean_up() == []
    assert path.is_dir() and unknown.is_dir() and other.is_dir()


async def test_a_deleted_volume_naming_another_directory_removes_nothing(tmp_path: Path) -> None:
    node = Node(tmp_path)
    path = await mounted_then_deleted(node)
    decoy = node.claims.storage / "pvc-1_default_decoy"
    decoy.mkdir()
    assert await node.claims.clean_up() == [path.name]
    assert decoy.is_dir()


# --- the pod worker: ContainerCreating while the claim is unbound, then the bind mount -------------


def state(api: Any) -> Any:
    return api.pod().status.container_statuses[0].state


async def test_a_pod_waits_for_its_claim_then_mounts_the_volume(tmp_path: Path) -> None:
    ctx, runtime, api, clock = make_context()
    node = Node(tmp_path, name=ctx.node)
    ctx.projected = ProjectedVolumes(root=node.root, tokens=TokenManager(FakeRequester(clock), clock=clock),
                                     config_maps=FakeConfigMaps(), claims=node.claims)
    pod = api.put(make_pod(
        containers=[{"name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                     "volumeMounts": [{"name": "v", "mountPath": "/data"}]}],
        volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}]))
    node.bound(bound=False, node=ctx.node)
    worker = PodWorker(ctx, key="default/web", uid=pod.metadata.uid or "")
    await worker.sync()
    assert state(api).waiting.reason == "ContainerCreating"
    assert api.recorder.messages(reason="FailedMount") == [
        'MountVolume.SetUp failed for volume "v" : persistentvolumeclaim "data" is not bound']
    path = node.bound(node=ctx.node)  # the binder's writes
    clock.advance(10)
    await worker.sync()
    assert state(api).running is not None
    [info] = runtime.list_containers({naming.CONTAINER: "app"})
    [mount] = runtime.spec_of(info.id).mounts
    assert (mount.source, mount.target, mount.kind, mount.read_only) == (path, "/data", "bind", False)
