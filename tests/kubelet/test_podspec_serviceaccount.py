"""What a pod's containers get for its ServiceAccount: the projected mount, the API's address."""

from __future__ import annotations

import pytest

from apimachinery.models.core import Pod
from kubelet import podspec
from kubelet.apirelay import InClusterApi
from kubelet.runtime.base import Mount

MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
POD = Pod.from_dict({
    "metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
    "spec": {
        "containers": [{"name": "c", "image": "i", "env": [{"name": "KUBERNETES_SERVICE_PORT", "value": "mine"}],
                        "volumeMounts": [{"name": "kube-api-access-abcde", "mountPath": MOUNT, "readOnly": False}]}],
        "volumes": [{"name": "kube-api-access-abcde", "projected": {"sources": [
            {"serviceAccountToken": {"path": "token"}}]}}],
    },
})
API = InClusterApi(address="172.18.0.1", port=443)


def spec(**kwargs: object) -> object:
    return podspec.container_spec(POD, POD.spec.containers[0], node="n1", attempt=0, init=False, sandbox="sb",
                                  field_values={}, **kwargs)  # type: ignore[arg-type]


def test_projected_volume_is_a_read_only_bind_mount_of_its_directory() -> None:
    built = spec(projected_dirs={"kube-api-access-abcde": "/var/lib/podvisor/kubelet/n1/pods/u1/x"})
    assert built.mounts == (Mount(source="/var/lib/podvisor/kubelet/n1/pods/u1/x", target=MOUNT, read_only=True,
                                  kind="bind"),)


def test_a_projected_volume_not_yet_written_is_an_error() -> None:
    with pytest.raises(podspec.PodSpecError, match="has not been written yet"):
        spec(projected_dirs={})


def test_a_hollow_node_mounts_no_projected_volume() -> None:
    assert spec(projected_dirs=None).mounts == ()


def test_the_service_variables_come_first_and_the_pod_env_wins() -> None:
    env = spec(projected_dirs=None, service_env=API.env()).env
    assert env["KUBERNETES_SERVICE_HOST"] == "kubernetes.default.svc"
    assert env["KUBERNETES_SERVICE_PORT"] == "mine"


def test_the_sandbox_maps_the_service_names_to_the_relay() -> None:
    sandbox = podspec.sandbox_spec(POD, node="n1", attempt=0, extra_hosts=API.extra_hosts())
    assert sandbox.extra_hosts["kubernetes.default.svc"] == "172.18.0.1"
    assert podspec.sandbox_spec(POD, node="n1", attempt=0).extra_hosts == {}
