"""Volumes of API data on the node: rendered as Kubernetes renders them, refreshed, kept in memory when secret."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from apimachinery.models.core import Pod
from apimachinery.timeutil import FakeClock
from kubelet import subpath
from kubelet.configobjects import ObjectFiles
from kubelet.runtime.fake import FakeRuntime
from kubelet.tmpfs import Tmpfs, mount_points
from kubelet.tokens import TokenManager
from kubelet.volumes import ProjectedVolumes, VolumeError
from tests.kubelet.test_tokens import FakeConfigMaps, FakeRequester


class Objects(FakeConfigMaps):
    """Counts reads; binary values for ConfigMaps."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.binary: dict[tuple[str, str], dict[str, bytes]] = {}

    async def files(self, kind: str, namespace: str, name: str) -> ObjectFiles | None:
        self.reads += 1
        found = await super().files(kind, namespace, name)
        if found is not None and kind == "configmap":
            found = ObjectFiles({**found.data, **self.binary.get((namespace, name), {})}, found.immutable)
        return found


def make_pod(*volumes: dict[str, Any], labels: dict[str, str] | None = None, uid: str = "u1") -> Pod:
    return Pod.model_validate({
        "metadata": {"name": "web", "namespace": "ns", "uid": uid, "labels": labels or {},
                     "annotations": {"note": 'say "hi"'}},
        "spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"memory": "64Mi"},
                                                                            "requests": {"cpu": "250m"}}}],
                 "volumes": list(volumes)},
    })


def setup(tmp_path: Path, memory: Tmpfs | None = None) -> tuple[ProjectedVolumes, Objects]:
    clock = FakeClock()
    objects = Objects()
    objects.data[("ns", "cfg")] = {"a": "1", "b": "2"}
    objects.secrets[("ns", "db")] = {"password": "s3cret"}
    return ProjectedVolumes(root=tmp_path / "kubelet", tokens=TokenManager(FakeRequester(clock), clock=clock),
                            config_maps=objects, memory=memory), objects


def listing(directory: str | Path) -> dict[str, tuple[str, int]]:
    """User-visible files: name -> (content, mode)."""
    out = {}
    for root, _dirs, names in os.walk(directory, followlinks=True):
        rel = Path(root).relative_to(directory)
        if rel.parts and rel.parts[0].startswith(".."):
            continue
        for name in names:
            if not name.startswith(".."):
                path = Path(root) / name
                out[str(rel / name) if rel.parts else name] = (path.read_text(), stat.S_IMODE(path.stat().st_mode))
    return out


CASES = [
    pytest.param({"configMap": {"name": "cfg"}}, {"a": ("1", 0o644), "b": ("2", 0o644), "bin": ("\x00\x01", 0o644)},
                 id="config-map-every-key"),
    pytest.param({"configMap": {"name": "cfg", "defaultMode": 0o440,
                                "items": [{"key": "a", "path": "conf/a.txt", "mode": 0o400}, {"key": "b", "path": "b"}]}},
                 {"conf/a.txt": ("1", 0o400), "b": ("2", 0o440)}, id="config-map-items-and-modes"),
    pytest.param({"secret": {"secretName": "db", "defaultMode": 0o400}}, {"password": ("s3cret", 0o400)}, id="secret"),
    pytest.param({"configMap": {"name": "absent", "optional": True}}, {}, id="optional-missing-is-empty"),
    pytest.param({"secret": {"secretName": "db", "optional": True, "items": [{"key": "gone", "path": "g"}]}}, {},
                 id="optional-missing-key-skipped"),
    pytest.param({"downwardAPI": {"items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "tier", "fieldRef": {"fieldPath": "metadata.labels['tier']"}},
        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}},
        {"path": "cpu", "resourceFieldRef": {"containerName": "c", "resource": "requests.cpu", "divisor": "1m"}},
    ]}}, {"labels": ('app="web"\ntier="front"', 0o644), "tier": ("front", 0o644),
          "annotations": ('note="say \\"hi\\""', 0o644), "mem": ("64", 0o644), "cpu": ("250", 0o644)},
                 id="downward-api"),
    pytest.param({"projected": {"defaultMode": 0o600, "sources": [
        {"configMap": {"name": "cfg", "items": [{"key": "a", "path": "a"}]}},
        {"secret": {"name": "db", "items": [{"key": "password", "path": "creds/pw", "mode": 0o640}]}},
        {"downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        {"serviceAccountToken": {"path": "token"}}]}},
                 {"a": ("1", 0o600), "creds/pw": ("s3cret", 0o640), "name": ("web", 0o600), "token": ("token-1", 0o600)},
                 id="projected"),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
async def test_each_volume_form_is_written_as_kubernetes_writes_it(tmp_path: Path, source: dict[str, Any],
                                                                   expected: dict[str, tuple[str, int]]) -> None:
    volumes, objects = setup(tmp_path)
    objects.binary[("ns", "cfg")] = {"bin": b"\x00\x01"}
    dirs = await volumes.ensure(make_pod({"name": "v", **source}, labels={"tier": "front", "app": "web"}))
    assert listing(dirs["v"]) == expected


@pytest.mark.parametrize(("source", "message"), [
    pytest.param({"configMap": {"name": "absent"}}, 'configmap "absent" not found', id="config-map"),
    pytest.param({"secret": {"secretName": "absent"}}, 'secret "absent" not found', id="secret"),
    pytest.param({"configMap": {"name": "cfg", "items": [{"key": "zz", "path": "z"}]}},
                 "configmap references non-existent config key: zz", id="config-key"),
    pytest.param({"projected": {"sources": [{"secret": {"name": "absent"}}]}}, 'secret "absent" not found',
                 id="projected-secret"),
])
async def test_a_missing_object_fails_the_mount_with_kubernetes_message(tmp_path: Path, source: dict[str, Any],
                                                                        message: str) -> None:
    volumes, _ = setup(tmp_path)
    with pytest.raises(VolumeError) as failed:
        await volumes.ensure(make_pod({"name": "v", **source}))
    assert str(failed.value) == f'MountVolume.SetUp failed for volume "v" : {message}'


async def test_refresh_follows_objects_and_labels_and_drops_removed_keys(tmp_path: Path) -> None:
    volumes, objects = setup(tmp_path)
    pod = make_pod({"name": "cm", "configMap": {"name": "cfg"}},
                   {"name": "meta", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                   labels={"v": "1"})
    dirs = await volumes.ensure(pod)
    assert await volumes.refresh() == 0
    objects.data[("ns", "cfg")] = {"a": "changed"}
    volumes.track(make_pod(*[v.model_dump(by_alias=True, exclude_none=True) for v in pod.spec.volumes or []],
                           labels={"v": "2"}))
    assert await volumes.refresh() == 2
    assert listing(dirs["cm"]) == {"a": ("changed", 0o644)}
    assert listing(dirs["meta"]) == {"labels": ('v="2"', 0o644)}


async def test_a_deleted_object_keeps_the_last_files(tmp_path: Path) -> None:
    volumes, objects = setup(tmp_path)
    dirs = await volumes.ensure(make_pod({"name": "cm", "configMap": {"name": "cfg"}}))
    del objects.data[("ns", "cfg")]
    assert await volumes.refresh() == 0
    assert listing(dirs["cm"]) == {"a": ("1", 0o644), "b": ("2", 0o644)}


async def test_an_immutable_object_is_not_read_again(tmp_path: Path) -> None:
    volumes, objects = setup(tmp_path)
    objects.immutable.add(("ns", "cfg"))
    dirs = await volumes.ensure(make_pod({"name": "cm", "configMap": {"name": "cfg"}}))
    reads = objects.reads
    objects.data[("ns", "cfg")] = {"a": "sneaked in"}
    assert await volumes.refresh() == 0 and objects.reads == reads
    assert listing(dirs["cm"])["a"] == ("1", 0o644)


async def test_an_unwritten_volume_is_left_to_the_pod_start(tmp_path: Path) -> None:
    volumes, objects = setup(tmp_path)
    volumes.track(make_pod({"name": "cm", "configMap": {"name": "cfg"}}))
    assert await volumes.refresh() == 0 and objects.reads == 0


async def test_orphaned_pod_directories_are_removed(tmp_path: Path) -> None:
    volumes, _ = setup(tmp_path)
    await volumes.ensure(make_pod({"name": "cm", "configMap": {"name": "cfg"}}, uid="keep"))
    await volumes.ensure(make_pod({"name": "cm", "configMap": {"name": "cfg"}}, uid="gone"))
    assert volumes.remove_orphans({"keep"}) == ["gone"]
    assert sorted(p.name for p in (tmp_path / "kubelet/pods").iterdir()) == ["keep"]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
async def test_secret_volumes_live_in_memory_and_are_unmounted_with_the_pod(tmp_path: Path) -> None:
    volumes, _ = setup(tmp_path, memory=Tmpfs())
    try:
        dirs = await volumes.ensure(make_pod({"name": "s", "secret": {"secretName": "db"}},
                                             {"name": "cm", "configMap": {"name": "cfg"}}))
        assert Path(dirs["s"]).resolve() in mount_points()
        assert Path(dirs["cm"]).resolve() not in mount_points()  # a ConfigMap is not a secret: on disk
        assert listing(dirs["s"]) == {"password": ("s3cret", 0o644)}
    finally:
        volumes.remove("u1")
    assert not any(tmp_path in p.parents for p in mount_points())
    assert not (tmp_path / "kubelet/pods/u1").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
async def test_a_restarted_kubelet_unmounts_what_an_earlier_one_mounted(tmp_path: Path) -> None:
    first, _ = setup(tmp_path, memory=Tmpfs())
    try:
        await first.ensure(make_pod({"name": "s", "secret": {"secretName": "db"}}))
        restarted, _ = setup(tmp_path, memory=Tmpfs())
        assert restarted.remove_orphans(set()) == ["u1"]
    finally:
        Tmpfs().unmount_under(tmp_path)
    assert not any(tmp_path in p.parents for p in mount_points())


async def test_sub_paths_resolve_to_a_file_of_the_version_or_a_made_directory(tmp_path: Path) -> None:
    volumes, _ = setup(tmp_path)
    pod = Pod.model_validate({
        "metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
        "spec": {"containers": [{"name": "c", "image": "i", "volumeMounts": [
            {"name": "cm", "mountPath": "/etc/a.conf", "subPath": "a"},
            {"name": "scratch", "mountPath": "/data", "subPathExpr": "$(POD)/data"},
            {"name": "cm", "mountPath": "/etc/all"}]}],
            "volumes": [{"name": "cm", "configMap": {"name": "cfg"}}, {"name": "scratch", "emptyDir": {}}]},
    })
    dirs = await volumes.ensure(pod)
    runtime = FakeRuntime()
    found = subpath.resolve_all(pod, pod.spec.containers[0], env={"POD": "web"}, data_dirs=dirs, runtime=runtime,
                                node="n1")
    assert sorted(found) == [0, 1]
    assert Path(found[0]).read_text() == "1" and ".." in Path(found[0]).parent.name  # inside the version dir
    assert found[1].endswith("/web/data") and stat.S_IMODE(Path(found[1]).stat().st_mode) == 0o777
    with pytest.raises(subpath.SubPathError, match="does not exist"):
        bad = pod.model_copy(deep=True)
        bad.spec.containers[0].volume_mounts[0].sub_path = "missing"  # type: ignore[index]
        subpath.resolve_all(bad, bad.spec.containers[0], env={"POD": "web"}, data_dirs=dirs, runtime=runtime,
                            node="n1")


def test_a_sub_path_a_container_pointed_outside_its_volume_is_refused(tmp_path: Path) -> None:
    """A container may plant a symlink in its emptyDir; a later subPath through it must not bind the host."""
    root = tmp_path / "empty-dir"
    root.mkdir()
    os.symlink("/", root / "host")
    with pytest.raises(subpath.SubPathError):
        subpath._directory(root, "host/etc", mode=0o777)
    with pytest.raises(subpath.SubPathError):
        subpath._directory(root, "../outside", mode=0o777)
    assert subpath._directory(root, "logs/app", mode=0o777) == str(root / "logs" / "app")
