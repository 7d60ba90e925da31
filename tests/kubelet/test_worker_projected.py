"""A pod worker with projected ServiceAccount volumes: mounted when written, FailedMount until then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubelet import naming
from kubelet.apirelay import InClusterApi
from kubelet.tokens import TokenManager
from kubelet.volumes import ProjectedVolumes
from kubelet.worker import PodWorker
from tests.kubelet.harness import IMAGE, make_context, make_pod
from tests.kubelet.test_tokens import CA, NAMESPACE, TOKEN, FakeConfigMaps, FakeRequester

MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def projected_pod() -> Any:
    return make_pod(
        containers=[{"name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                     "volumeMounts": [{"name": "kube-api-access-abcde", "mountPath": MOUNT, "readOnly": True}]}],
        volumes=[{"name": "kube-api-access-abcde", "projected": {"sources": [TOKEN, CA, NAMESPACE]}}],
    )


def setup(tmp_path: Path) -> tuple[Any, Any, Any, FakeConfigMaps]:
    ctx, runtime, api, clock = make_context()
    maps = FakeConfigMaps()
    maps.data[("default", "kube-root-ca.crt")] = {"ca.crt": "PEM"}
    ctx.projected = ProjectedVolumes(root=tmp_path / "kubelet", tokens=TokenManager(FakeRequester(clock), clock=clock),
                                     config_maps=maps)
    ctx.in_cluster = InClusterApi(address="172.18.0.1", port=443)
    return ctx, runtime, api, maps


def spec_of(runtime: Any, container: str) -> Any:
    [info] = runtime.list_containers({naming.CONTAINER: container})
    return runtime.spec_of(info.id)


async def test_the_container_mounts_the_written_volume_and_knows_the_api(tmp_path: Path) -> None:
    ctx, runtime, api, _ = setup(tmp_path)
    pod = api.put(projected_pod())
    await PodWorker(ctx, key="default/web", uid=pod.metadata.uid).sync()
    spec = spec_of(runtime, "app")
    [mount] = spec.mounts
    assert mount.target == MOUNT and mount.read_only and mount.kind == "bind"
    assert (Path(mount.source) / "ca.crt").read_text() == "PEM"
    assert spec.env["KUBERNETES_SERVICE_HOST"] == "kubernetes.default.svc"
    sandbox = spec_of(runtime, naming.SANDBOX_NAME)
    assert sandbox.extra_hosts["kubernetes.default.svc"] == "172.18.0.1"


async def test_a_missing_config_map_is_a_failed_mount_then_retried(tmp_path: Path) -> None:
    ctx, runtime, api, maps = setup(tmp_path)
    maps.data.clear()
    pod = api.put(projected_pod())
    worker = PodWorker(ctx, key="default/web", uid=pod.metadata.uid)
    await worker.sync()
    assert "FailedMount" in api.reasons()
    status = api.pod().status.container_statuses[0]
    assert status.state.waiting.reason == "ContainerCreating"  # as Kubernetes: the mount, not the container, fails
    [message] = api.recorder.messages(reason="FailedMount")
    assert message == ('MountVolume.SetUp failed for volume "kube-api-access-abcde" : '
                       'configmap "kube-root-ca.crt" not found')
    maps.data[("default", "kube-root-ca.crt")] = {"ca.crt": "PEM"}
    ctx.clock.advance(3)
    await worker.sync()
    assert api.pod().status.container_statuses[0].state.running is not None


async def test_removing_the_pod_removes_its_files(tmp_path: Path) -> None:
    ctx, runtime, api, _ = setup(tmp_path)
    pod = api.put(projected_pod())
    worker = PodWorker(ctx, key="default/web", uid=pod.metadata.uid)
    await worker.sync()
    assert (tmp_path / "kubelet/pods" / pod.metadata.uid).is_dir()
    api.remove()
    await worker.sync()
    assert not (tmp_path / "kubelet/pods" / pod.metadata.uid).exists()


def config_pod(sub_path: str) -> Any:
    mounts = [{"name": "cfg", "mountPath": "/etc/cfg"}, {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": sub_path},
              {"name": "scratch", "mountPath": "/data", "subPath": "part"}]
    return make_pod(
        containers=[{"name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "volumeMounts": mounts}],
        volumes=[{"name": "cfg", "configMap": {"name": "app"}}, {"name": "scratch", "emptyDir": {}}],
    )


async def test_config_map_and_sub_path_mounts_bind_what_the_kubelet_wrote(tmp_path: Path) -> None:
    ctx, runtime, api, maps = setup(tmp_path)
    maps.data[("default", "app")] = {"app.conf": "v1"}
    pod = api.put(config_pod("app.conf"))
    await PodWorker(ctx, key="default/web", uid=pod.metadata.uid).sync()
    whole, single, part = spec_of(runtime, "app").mounts
    assert whole.read_only and (Path(whole.source) / "app.conf").read_text() == "v1"
    assert single.read_only and single.kind == "bind" and Path(single.source).read_text() == "v1"
    assert Path(single.source).parent.name.startswith("..")  # the version, not the ..data link
    assert not part.read_only and part.kind == "bind" and Path(part.source).is_dir()


async def test_a_sub_path_the_volume_lacks_is_a_config_error(tmp_path: Path) -> None:
    ctx, runtime, api, maps = setup(tmp_path)
    maps.data[("default", "app")] = {"app.conf": "v1"}
    pod = api.put(config_pod("missing.conf"))
    await PodWorker(ctx, key="default/web", uid=pod.metadata.uid).sync()
    waiting = api.pod().status.container_statuses[0].state.waiting
    assert waiting.reason == "CreateContainerConfigError"
    assert waiting.message == "subPath 'missing.conf' does not exist in volume 'cfg'"
