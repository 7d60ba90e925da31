"""The Node object and its heartbeat: registration, the node Lease, the Ready condition.

Two heartbeats, as in Kubernetes since 1.17: the Lease ``kube-node-lease/<node>`` is renewed
every ``lease_interval`` seconds (one small object, cheap to rewrite), while the Node's status
is written only when it changes or every ``node_status_interval`` seconds, so heartbeats do not
bloat the store's history. A Node deleted while the kubelet runs is registered again: noticed
by the node watch (real kubelets), a failed status write or a missing Lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from apimachinery.client import ApiClient
from apimachinery.conditions import FALSE, TRUE, get_condition, set_condition
from apimachinery.errors import ApiError
from apimachinery.models.apps import Lease, LeaseSpec
from apimachinery.models.core import Node, NodeAddress, NodeStatus, NodeSystemInfo
from apimachinery.models.meta import Condition, ObjectMeta, OwnerReference
from apimachinery.timeutil import Clock, format_rfc3339
from apimachinery.version import GIT_VERSION

log = logging.getLogger(__name__)
LEASE_NAMESPACE = "kube-node-lease"
KUBELET_VERSION = GIT_VERSION
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "amd64": "amd64"}


@dataclass(frozen=True)
class MachineInfo:
    """What the node reports about itself; read from the host once."""

    cpus: int
    memory_kib: int
    kernel: str
    os_image: str
    architecture: str
    machine_id: str = ""
    boot_id: str = ""
    hostname: str = ""
    extra_labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def detect(cls) -> MachineInfo:
        return cls(
            cpus=os.cpu_count() or 1,
            memory_kib=_meminfo_total_kib(),
            kernel=platform.release(),
            os_image=_os_image(),
            architecture=_ARCH.get(platform.machine().lower(), platform.machine().lower()),
            machine_id=_read("/etc/machine-id"),
            boot_id=_read("/proc/sys/kernel/random/boot_id"),
            hostname=platform.node(),
        )


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _meminfo_total_kib() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


def node_status(*, machine: MachineInfo, address: str, port: int, runtime_version: str, max_pods: int) -> NodeStatus:
    """The status this node reports, without condition times (see :func:`with_conditions`)."""
    resources = {"cpu": str(machine.cpus), "memory": f"{machine.memory_kib}Ki", "pods": str(max_pods)}
    return NodeStatus(
        capacity=dict(resources),
        allocatable=dict(resources),
        addresses=[NodeAddress(type="InternalIP", address=address),
                   NodeAddress(type="Hostname", address=machine.hostname or address)],
        daemon_endpoints={"kubeletEndpoint": {"Port": port}},
        node_info=NodeSystemInfo(
            machine_id=machine.machine_id, system_uuid=machine.machine_id, boot_id=machine.boot_id,
            kernel_version=machine.kernel, os_image=machine.os_image, container_runtime_version=runtime_version,
            kubelet_version=KUBELET_VERSION, kube_proxy_version="", operating_system="linux",
            architecture=machine.architecture,
        ),
    )


_CONDITIONS = (
    ("MemoryPressure", FALSE, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", FALSE, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", FALSE, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", TRUE, "KubeletReady", "kubelet is posting ready status"),
)


def with_conditions(status: NodeStatus, previous: list[Condition] | None, *, now: str) -> NodeStatus:
    """``status`` plus the kubelet's conditions, heartbeat ``now``, transition times kept."""
    conditions = list(previous or [])
    for kind, value, reason, message in _CONDITIONS:
        cond = Condition(type=kind, status=value, reason=reason, message=message, last_heartbeat_time=now)
        conditions = set_condition(conditions, cond, now=now)
    return status.model_copy(update={"conditions": conditions})


class NodeAgent:
    """Registers the node and keeps its Lease and status fresh."""

    def __init__(self, *, client: ApiClient, name: str, status: Callable[[], NodeStatus], clock: Clock,
                 lease_interval: float, lease_duration: int, status_interval: float, labels: dict[str, str],
                 observed: Callable[[], Node | None] = lambda: None,
                 annotations: dict[str, str] | None = None) -> None:
        self.client = client
        self.annotations = dict(annotations or {})  # set at registration, and on a Node that lacks them
        self.observed = observed  # the Node as the API has it now (an informer's cache), if known
        self.name = name
        self.status = status
        self.clock = clock
        self.lease_interval = lease_interval
        self.lease_duration = lease_duration
        self.status_interval = status_interval
        self.labels = labels
        self.node: Node | None = None
        self._lease: Lease | None = None
        self._reported: tuple[dict[str, object], float] | None = None  # (status without times, when)
        self._register = asyncio.Event()

    def node_deleted(self) -> None:
        """The node watch saw our Node go: register again at the next tick."""
        self.node = None
        self._register.set()

    async def register(self) -> Node:
        """Create the Node, or adopt the existing one, and write its full status."""
        meta = ObjectMeta(name=self.name, labels=dict(self.labels), annotations=dict(self.annotations) or None)
        try:
            self.node = await self.client.create(Node(metadata=meta, status=self._full_status(None)))
            log.info("registered node %s", self.name)
        except ApiError as err:
            if err.code != 409:
                raise
            self.node = await self.client.get(Node, self.name)
            current = self.node.metadata.annotations or {}
            if any(current.get(k) != v for k, v in self.annotations.items()):
                self.node = await self.client.patch(Node, self.name, {"metadata": {"annotations": self.annotations}})
        await self.update_status(force=True)
        return self.node

    def _full_status(self, previous: NodeStatus | None) -> NodeStatus:
        return with_conditions(self.status(), previous.conditions if previous else None, now=self._now())

    def _now(self) -> str:
        return format_rfc3339(datetime.fromtimestamp(self.clock.time(), UTC))

    async def update_status(self, *, force: bool = False) -> None:
        """Write the status if it changed or is due; re-register if the Node is gone."""
        if self.node is None:
            await self.register()
            return
        plain = self.status().to_dict()
        due = self._reported is None or self.clock.monotonic() - self._reported[1] >= self.status_interval
        if not force and not due and self._reported is not None and self._reported[0] == plain \
                and not self._overwritten():
            return
        for _ in range(3):
            assert self.node is not None
            body = self.node.model_copy(update={"status": self._full_status(self.node.status)})
            try:
                self.node = await self.client.replace_status(body)
                self._reported = (plain, self.clock.monotonic())
                return
            except ApiError as err:
                if err.code == 404:
                    self.node = None
                    await self.register()
                    return
                if err.code != 409:
                    raise
                self.node = await self.client.get(Node, self.name)

    def _overwritten(self) -> bool:
        """Whether the API shows other condition values than ours: the node lifecycle controller
        set Ready=Unknown while this kubelet was silent, and only a write of ours undoes that."""
        node = self.observed()
        if node is None or node.status is None:
            return False
        for kind, value, _, _ in _CONDITIONS:
            cond = get_condition(node.status.conditions, kind)
            if cond is None or cond.status != value:
                return True
        return False

    async def renew_lease(self) -> None:
        """One renewal; the Lease is created (owned by the Node) when missing."""
        now = datetime.fromtimestamp(self.clock.time(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if self._lease is None:
            self._lease = await self._get_or_create_lease(now)
        lease = self._lease.model_copy(deep=True)
        lease.spec.renew_time = now
        lease.spec.holder_identity = self.name
        lease.spec.lease_duration_seconds = self.lease_duration
        try:
            self._lease = await self.client.replace(lease)
        except ApiError as err:
            self._lease = None
            if err.code == 404 and self.node is not None:
                await self._check_node()
            elif err.code not in (404, 409):
                raise

    async def _get_or_create_lease(self, now: str) -> Lease:
        try:
            return await self.client.get(Lease, self.name, LEASE_NAMESPACE)
        except ApiError as err:
            if err.code != 404:
                raise
        owners = None
        if self.node is not None and self.node.metadata.uid:
            owners = [OwnerReference(api_version="v1", kind="Node", name=self.name, uid=self.node.metadata.uid)]
        lease = Lease(
            metadata=ObjectMeta(name=self.name, namespace=LEASE_NAMESPACE, owner_references=owners),
            spec=LeaseSpec(holder_identity=self.name, lease_duration_seconds=self.lease_duration, renew_time=now),
        )
        try:
            return await self.client.create(lease)
        except ApiError as err:
            if err.code != 409:
                raise
            return await self.client.get(Lease, self.name, LEASE_NAMESPACE)

    async def _check_node(self) -> None:
        try:
            await self.client.get(Node, self.name)
        except ApiError as err:
            if err.code == 404:
                self.node_deleted()

    async def run(self) -> None:
        """Heartbeat forever: Lease every ``lease_interval``, status on change or when due."""
        while True:
            try:
                if self._register.is_set() or self.node is None:
                    self._register.clear()
                    await self.register()
                await self.renew_lease()
                await self.update_status()
            except asyncio.CancelledError:
                raise
            except (ApiError, OSError) as err:
                log.warning("node %s heartbeat failed: %s", self.name, err)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._register.wait(), timeout=self.lease_interval)
