"""Pod -> ContainerSpec translation: names, labels, env, mounts, ports, limits."""

from __future__ import annotations

import pytest

from kubelet import naming, podspec
from kubelet.runtime.base import Mount, PortBinding
from tests.kubelet.harness import IMAGE, NODE, make_pod


def test_container_spec_carries_labels_env_mounts_and_limits() -> None:
    pod = make_pod(
        containers=[{
            "name": "app", "image": IMAGE, "command": ["sh", "-c", "echo $(GREETING)"], "args": ["$(MISSING)"],
            "workingDir": "/w",
            "env": [{"name": "GREETING", "value": "hi"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
            "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "host", "mountPath": "/h", "readOnly": True}],
        }],
        volumes=[{"name": "data", "emptyDir": {}}, {"name": "host", "hostPath": {"path": "/tmp"}}],
    )
    values = podspec.field_values(pod, node=NODE, pod_ip="172.18.0.2", host_ip="127.0.0.1")
    spec = podspec.container_spec(pod, pod.spec.containers[0], node=NODE, attempt=3, init=False,
                                  sandbox="sb", field_values=values)
    assert spec.name == "pv_web_default_11111111_app_3"
    assert spec.labels[naming.ATTEMPT] == "3" and spec.labels[naming.POD_UID] == pod.metadata.uid
    assert spec.command == ["sh", "-c", "echo hi"] and spec.args == ["$(MISSING)"]
    assert spec.env == {"GREETING": "hi", "POD": "web", "NODE": NODE, "IP": "172.18.0.2"}
    assert spec.working_dir == "/w" and spec.network == "container:sb"
    assert spec.nano_cpus == 500_000_000 and spec.memory_bytes == 64 * 1024 * 1024
    assert spec.mounts == (Mount(source="pv-11111111-data", target="/data", kind="volume"),
                           Mount(source="/tmp", target="/h", read_only=True, kind="bind"))
    assert not spec.ports and spec.hostname is None
    assert spec.stop_timeout == 5  # the pod's grace period, also when the daemon stops it


@pytest.mark.parametrize(("grace", "expected"), [(None, 30), (0, 0), (1, 1), (120, 120)],
                         ids=["default", "zero", "one", "long"])
def test_the_runtime_stops_a_container_with_the_pods_grace_period(grace: int | None, expected: int) -> None:
    pod = make_pod(containers=[{"name": "app", "image": IMAGE}])
    pod.spec.termination_grace_period_seconds = grace
    spec = podspec.container_spec(pod, pod.spec.containers[0], node=NODE, attempt=0, init=False, sandbox="sb",
                                  field_values={})
    assert spec.stop_timeout == expected


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, (False, False, False)),
    ({"stdin": True}, (True, False, False)),
    ({"stdin": True, "stdinOnce": True, "tty": True}, (True, True, True)),
], ids=["unset", "stdin", "stdin-once-tty"])
def test_stdin_and_tty_come_from_the_container(fields: dict[str, bool], expected: tuple[bool, bool, bool]) -> None:
    pod = make_pod(containers=[{"name": "app", "image": IMAGE, **fields}])
    spec = podspec.container_spec(pod, pod.spec.containers[0], node=NODE, attempt=0, init=False, sandbox="sb",
                                  field_values={})
    assert (spec.stdin, spec.stdin_once, spec.tty) == expected


def test_sandbox_owns_hostname_and_host_ports_and_has_no_dns_alias() -> None:
    pod = make_pod(containers=[{"name": "app", "image": IMAGE,
                                "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}]}])
    spec = podspec.sandbox_spec(pod, node=NODE, attempt=0)
    assert spec.network == f"podvisor-{NODE}" and spec.network_aliases == () and spec.hostname == "web"
    assert spec.domainname is None
    assert spec.ports == (PortBinding(container_port=80, host_port=8080, protocol="TCP"),)
    assert spec.labels[naming.SANDBOX] == "true" and spec.labels[naming.CONTAINER] == naming.SANDBOX_NAME
    assert spec.stop_signal == "SIGKILL"  # pause ignores SIGTERM: a daemon shutdown must not wait on it


def test_a_subdomain_gives_the_sandbox_its_service_domain() -> None:
    pod = make_pod(containers=[{"name": "app", "image": IMAGE}])
    pod.spec.hostname, pod.spec.subdomain = "db-0", "db"
    spec = podspec.sandbox_spec(pod, node=NODE, attempt=0)
    assert (spec.hostname, spec.domainname) == ("db-0", f"db.{pod.metadata.namespace or 'default'}.svc.cluster.local")


def test_every_container_mounts_the_pods_resolv_conf_read_only() -> None:
    pod = make_pod(containers=[{"name": "app", "image": IMAGE}])
    spec = podspec.container_spec(pod, pod.spec.containers[0], node=NODE, attempt=0, init=False, sandbox="sb",
                                  field_values={}, resolv_conf="/var/lib/k/pods/u/etc-resolv.conf")
    assert Mount(source="/var/lib/k/pods/u/etc-resolv.conf", target="/etc/resolv.conf", read_only=True,
                 kind="bind") in spec.mounts
    bare = podspec.container_spec(pod, pod.spec.containers[0], node=NODE, attempt=0, init=False, sandbox="sb",
                                  field_values={})
    assert all(m.target != "/etc/resolv.conf" for m in bare.mounts)


@pytest.mark.parametrize(("text", "expected"), [("$(A)-$(B)", "1-$(B)"), ("$$(A)", "$(A)"), ("plain", "plain")])
def test_variable_expansion(text: str, expected: str) -> None:
    assert podspec.expand(text, {"A": "1"}) == expected


def test_undefined_volume_is_a_pod_spec_error() -> None:
    pod = make_pod(containers=[{"name": "app", "image": IMAGE, "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}])
    with pytest.raises(podspec.PodSpecError):
        podspec.mounts(pod, pod.spec.containers[0])
