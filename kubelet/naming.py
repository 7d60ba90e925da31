"""Container, volume and network names and labels: the kubelet's only durable record.

The kubelet keeps no state file. Everything it must know after a restart is written on the
containers themselves: labels say which node, pod (namespace, name, uid), container and
attempt a container belongs to; a restarted kubelet re-adopts its containers by listing
them by the node label. Names are deterministic per (pod uid, container, attempt), and
create is idempotent by name, so a kubelet that dies between "create" and "start" finds the
container it created instead of making a second one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubelet.runtime.base import ContainerInfo

MANAGED = "io.podvisor.managed"
NODE = "io.podvisor.node"
POD_NAMESPACE = "io.podvisor.pod.namespace"
POD_NAME = "io.podvisor.pod.name"
POD_UID = "io.podvisor.pod.uid"
CONTAINER = "io.podvisor.container"
ATTEMPT = "io.podvisor.attempt"
INIT = "io.podvisor.init"
SANDBOX = "io.podvisor.sandbox"

#: The container name used for a pod's sandbox (an upper-case name no pod container can have).
SANDBOX_NAME = "POD"

_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


@dataclass(frozen=True)
class PodRef:
    """The identity of a pod as the kubelet labels its containers."""

    namespace: str
    name: str
    uid: str

    @property
    def uid8(self) -> str:
        return self.uid.replace("-", "")[:8]

    @property
    def full_name(self) -> str:
        """``name_namespace(uid)``: how Kubernetes names a pod in kubelet messages."""
        return f"{self.name}_{self.namespace}({self.uid})"


def node_labels(node: str) -> dict[str, str]:
    """The labels every object of this node carries (the filter for listing and events)."""
    return {MANAGED: "true", NODE: node}


def container_labels(*, node: str, pod: PodRef, container: str, attempt: int, init: bool) -> dict[str, str]:
    return {
        **node_labels(node),
        POD_NAMESPACE: pod.namespace,
        POD_NAME: pod.name,
        POD_UID: pod.uid,
        CONTAINER: container,
        ATTEMPT: str(attempt),
        INIT: "true" if init else "false",
        SANDBOX: "true" if container == SANDBOX_NAME else "false",
    }


def container_name(pod: PodRef, container: str, attempt: int) -> str:
    """``pv_<pod>_<ns>_<uid8>_<container>_<attempt>``: unique per attempt, stable across crashes."""
    return _safe(f"pv_{pod.name}_{pod.namespace}_{pod.uid8}_{container}_{attempt}")


def volume_name(pod: PodRef, volume: str) -> str:
    """The named Docker volume behind an emptyDir: shared by the pod's containers, removed with it."""
    return _safe(f"pv-{pod.uid8}-{volume}")


def network_name(node: str, shared: str = "") -> str:
    """The user-defined bridge the node's pod sandboxes join (DNS by pod name): the node's own,
    or a network shared by several nodes of one Docker daemon (pods reach across nodes)."""
    return _safe(shared or f"podvisor-{node}")


def attempt_of(info: ContainerInfo) -> int:
    try:
        return int(info.labels.get(ATTEMPT, "0"))
    except ValueError:
        return 0


def pod_uid_of(info: ContainerInfo) -> str:
    return info.labels.get(POD_UID, "")


def container_of(info: ContainerInfo) -> str:
    return info.labels.get(CONTAINER, "")


def is_sandbox(info: ContainerInfo) -> bool:
    return info.labels.get(SANDBOX) == "true" or container_of(info) == SANDBOX_NAME


def _safe(name: str) -> str:
    return _UNSAFE.sub("-", name)
