"""A pod's securityContext -> the runtime's Security settings, and what the kubelet refuses."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.core import Pod
from kubelet import podspec, security
from kubelet.runtime.base import HOST_NETWORK, Security
from tests.kubelet.harness import IMAGE, NODE, make_pod


def pod_with(*, pod: dict[str, Any] | None = None, container: dict[str, Any] | None = None,
             annotations: dict[str, str] | None = None, **spec: Any) -> Pod:
    base = make_pod(containers=[{"name": "app", "image": IMAGE, "securityContext": container or {}}])
    data = base.model_dump(by_alias=True, exclude_none=True)
    data["spec"].update(spec)
    if pod is not None:
        data["spec"]["securityContext"] = pod
    if annotations:
        data["metadata"]["annotations"] = annotations
    return Pod.model_validate(data)


def settings(pod: Pod, *, image_user: str = "") -> Security:
    return podspec.container_spec(pod, pod.spec.containers[0], node=NODE, attempt=0, init=False, sandbox="sb",
                                  field_values={}, image_user=image_user).security


CASES = [
    ("nothing-set", pod_with(), Security()),
    ("privileged", pod_with(container={"privileged": True}), Security(privileged=True)),
    ("capabilities", pod_with(container={"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}}),
     Security(cap_add=("NET_ADMIN",), cap_drop=("ALL",))),
    ("read-only-root", pod_with(container={"readOnlyRootFilesystem": True}), Security(read_only_rootfs=True)),
    ("run-as-user", pod_with(pod={"runAsUser": 1000}), Security(user="1000")),
    ("user-and-group", pod_with(pod={"runAsUser": 1000, "runAsGroup": 3000}, container={"runAsUser": 2000}),
     Security(user="2000:3000")),
    ("groups", pod_with(pod={"supplementalGroups": [4000, 5000], "fsGroup": 2000}),
     Security(group_add=("4000", "5000", "2000"))),
    ("no-new-privileges", pod_with(container={"allowPrivilegeEscalation": False}), Security(no_new_privileges=True)),
    ("seccomp-unconfined", pod_with(pod={"seccompProfile": {"type": "Unconfined"}}), Security(seccomp_unconfined=True)),
    ("seccomp-container-wins", pod_with(pod={"seccompProfile": {"type": "Unconfined"}},
                                        container={"seccompProfile": {"type": "RuntimeDefault"}}), Security()),
    ("apparmor-unconfined", pod_with(container={"appArmorProfile": {"type": "Unconfined"}}),
     Security(apparmor_unconfined=True)),
    ("apparmor-annotation", pod_with(annotations={"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}),
     Security(apparmor_unconfined=True)),
    ("proc-mount", pod_with(container={"procMount": "Unmasked"}), Security(unmasked_paths=True)),
    ("host-pid-ipc", pod_with(hostPID=True, hostIPC=True), Security(host_pid=True, host_ipc=True)),
    ("ipc-sysctls", pod_with(pod={"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"},
                                              {"name": "net.ipv4.tcp_syncookies", "value": "1"}]}),
     Security(sysctls=(("kernel.shm_rmid_forced", "1"),))),
]


@pytest.mark.parametrize(("pod", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_container_settings(pod: Pod, expected: Security) -> None:
    assert settings(pod) == expected


def test_a_group_alone_keeps_the_images_user() -> None:
    assert settings(pod_with(pod={"runAsGroup": 3000}), image_user="nobody:nogroup").user == "nobody:3000"


def test_net_sysctls_go_on_the_sandbox() -> None:
    pod = pod_with(pod={"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"},
                                    {"name": "kernel.msgmax", "value": "9"}]})
    assert podspec.sandbox_spec(pod, node=NODE, attempt=0).security == Security(
        sysctls=(("net.ipv4.tcp_syncookies", "1"),))


def test_a_host_network_sandbox_is_on_the_nodes_network() -> None:
    pod = pod_with(hostNetwork=True)
    pod.spec.containers[0].ports = None
    spec = podspec.sandbox_spec(pod, node=NODE, attempt=0)
    assert spec.network == HOST_NETWORK
    assert spec.hostname is None and spec.network_aliases == () and spec.ports == ()


WHO = '(pod: "web_default(11111111-2222-3333-4444-555555555555)", container: app)'
NON_ROOT_CASES = [
    ("root-image", {"runAsNonRoot": True}, "", f"container has runAsNonRoot and image will run as root {WHO}"),
    ("uid-0-image", {"runAsNonRoot": True}, "0:0", f"container has runAsNonRoot and image will run as root {WHO}"),
    ("named-user", {"runAsNonRoot": True}, "nobody",
     f"container has runAsNonRoot and image has non-numeric user (nobody), cannot verify user is non-root {WHO}"),
    ("run-as-root", {"runAsNonRoot": True, "runAsUser": 0}, "1000",
     f"container's runAsUser breaks non-root policy {WHO}"),
    ("numeric-image-user", {"runAsNonRoot": True}, "1000:1000", None),
    ("run-as-user", {"runAsNonRoot": True, "runAsUser": 1000}, "", None),
    ("not-asked", {}, "", None),
]


@pytest.mark.parametrize(("context", "image_user", "error"), [c[1:] for c in NON_ROOT_CASES],
                         ids=[c[0] for c in NON_ROOT_CASES])
def test_run_as_non_root_is_verified_against_the_image(context: dict[str, Any], image_user: str,
                                                       error: str | None) -> None:
    pod = pod_with(pod=context)
    if error is None:
        settings(pod, image_user=image_user)
    else:
        with pytest.raises(security.SecurityContextError) as raised:
            settings(pod, image_user=image_user)
        assert str(raised.value) == error


@pytest.mark.parametrize("context", [{"runAsNonRoot": True}, {"runAsGroup": 1}], ids=["non-root", "group"])
def test_the_image_user_is_read_only_when_needed(context: dict[str, Any]) -> None:
    assert security.needs_image_user(pod_with(pod=context), pod_with(pod=context).spec.containers[0])
    assert not security.needs_image_user(pod_with(pod={**context, "runAsUser": 5}),
                                         pod_with().spec.containers[0])


REFUSED = [
    ("selinux", pod_with(pod={"seLinuxOptions": {"type": "container_t"}})),
    ("windows", pod_with(container={"windowsOptions": {"runAsUserName": "x"}})),
    ("seccomp-localhost", pod_with(container={"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}})),
    ("apparmor-localhost", pod_with(pod={"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}})),
    ("user-namespace", pod_with(hostUsers=False)),
    ("node-sysctl", pod_with(pod={"sysctls": [{"name": "vm.swappiness", "value": "1"}]})),
    ("net-sysctl-host-network", pod_with(hostNetwork=True, pod={"sysctls": [{"name": "net.ipv4.tcp_syncookies",
                                                                             "value": "1"}]})),
]


@pytest.mark.parametrize("pod", [c[1] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_what_no_node_can_apply_is_refused(pod: Pod) -> None:
    with pytest.raises(security.SecurityContextError):
        settings(pod)


# -- through the pod worker, on the fake runtime -------------------------------------------------


def worker_pod(context: dict[str, Any], **spec: Any) -> Pod:
    pod = make_pod()
    pod.spec.security_context = context
    for key, value in spec.items():
        setattr(pod.spec, key, value)
    return pod


async def test_run_as_non_root_with_a_root_image_is_a_config_error() -> None:
    from kubelet.worker import PodWorker
    from tests.kubelet.harness import make_context

    ctx, runtime, api, _ = make_context()
    pod: Any = api.put(worker_pod({"runAsNonRoot": True}))
    await PodWorker(ctx, key="default/web", uid=pod.metadata.uid).sync()
    status: Any = api.pod("default/web").status
    waiting = status.container_statuses[0].state.waiting
    assert waiting.reason == "CreateContainerConfigError"
    assert waiting.message == f"container has runAsNonRoot and image will run as root {WHO}"
    assert not [c for c in runtime.list_containers({}) if c.labels.get("io.podvisor.container") == "app"]


async def test_a_host_network_pod_reports_the_nodes_address_and_carries_its_settings() -> None:
    from kubelet.worker import PodWorker
    from tests.kubelet.harness import make_context

    ctx, runtime, api, _ = make_context()
    pod: Any = api.put(worker_pod({"runAsUser": 1000}, host_network=True, host_pid=True))
    await PodWorker(ctx, key="default/web", uid=pod.metadata.uid).sync()
    status: Any = api.pod("default/web").status
    assert status.phase == "Running" and status.pod_ip == status.host_ip == "127.0.0.1"
    app = next(c for c in runtime.list_containers({}) if c.labels.get("io.podvisor.container") == "app")
    assert runtime.spec(app.id).security == Security(user="1000", host_pid=True)


def test_the_sandbox_mounts_the_empty_dirs_on_world_writable_slots() -> None:
    pod = make_pod(volumes=[{"name": "cache", "emptyDir": {}}, {"name": "logs", "emptyDir": {}},
                            {"name": "host", "hostPath": {"path": "/tmp"}}])
    mounts = podspec.sandbox_spec(pod, node=NODE, attempt=0).mounts
    assert [(m.source, m.target, m.kind) for m in mounts] == [
        ("pv-11111111-cache", "/volumes/0", "volume"), ("pv-11111111-logs", "/volumes/1", "volume")]
