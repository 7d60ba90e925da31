"""The container runtime interface the kubelet is written against.

The kubelet never talks to Docker directly: it speaks this small, synchronous
Protocol, which has two implementations that pass the same contract tests
(``tests/kubelet/test_runtime_contract.py``): ``docker.DockerRuntime`` for real
nodes and ``fake.FakeRuntime`` for unit tests and hollow-node simulations.

Why it is shaped so:

* Synchronous methods: the Docker SDK is blocking, and one thread per call
  (``asyncio.to_thread``) keeps the runtime free of event-loop concerns.
* Plain frozen dataclasses, not the API models: the runtime knows containers,
  not pods. Translating a Pod into ``ContainerSpec`` values (names, labels,
  volumes, ports) is the pod worker's job, which keeps this layer testable
  against Docker alone.
* The container name is chosen by the caller and is the idempotency key:
  creating the same name twice returns the existing container, so a kubelet
  that crashes between "create" and "record" never creates a duplicate.
* Labels are the only durable record the kubelet keeps of its containers; a
  restarted kubelet re-adopts containers by listing them by label.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from kubelet.runtime.streams import StreamSession


@dataclass(frozen=True)
class Mount:
    """A host path (``kind="bind"``) or named volume (``kind="volume"``) mounted at ``target``."""

    source: str
    target: str
    read_only: bool = False
    kind: str = "bind"


@dataclass(frozen=True)
class PortBinding:
    """Publish ``container_port`` on the host's ``host_port`` (``host_ip`` "" = all addresses)."""

    container_port: int
    host_port: int
    protocol: str = "TCP"
    host_ip: str = ""


@dataclass(frozen=True)
class Security:
    """A container's isolation settings, as the pod's securityContext asked (see :mod:`kubelet.security`).

    The defaults are the runtime's own: its default seccomp and AppArmor profiles, its default
    capability set, a private PID and IPC namespace, the image's user.
    """

    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    read_only_rootfs: bool = False
    user: str | None = None  # "uid", "uid:gid" or "name:gid"; None: the image's user
    group_add: tuple[str, ...] = ()  # supplementary groups (gids)
    no_new_privileges: bool = False
    seccomp_unconfined: bool = False
    apparmor_unconfined: bool = False
    unmasked_paths: bool = False  # procMount: Unmasked (no masked or read-only /proc paths)
    host_pid: bool = False
    host_ipc: bool = False
    pid_namespace_of: str | None = None  # a container id: share its PID namespace (a debug container)
    sysctls: tuple[tuple[str, str], ...] = ()


#: ``ContainerSpec.network`` of a container on the node's own network (a hostNetwork pod's sandbox).
HOST_NETWORK = "host"


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to create one container.

    ``command`` and ``args`` follow Kubernetes: ``command`` replaces the image's
    ENTRYPOINT (and then the image's CMD is ignored too), ``args`` replaces CMD.
    An empty list means "not set", as in Kubernetes.

    ``network`` is a network name, or ``container:<id or name>`` to join another
    container's network namespace (a pod's sandbox); a joining container cannot
    set ``hostname``, ``ports`` or ``network_aliases``: those belong to the owner.

    ``stop_signal`` and ``stop_timeout`` are what the runtime itself uses when it stops
    the container without being asked, e.g. when the daemon shuts down: the pod's grace
    period rather than the runtime's default.
    """

    name: str
    image: str
    labels: dict[str, str]
    command: list[str] | None = None
    args: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    mounts: tuple[Mount, ...] = ()
    network: str | None = None
    network_aliases: tuple[str, ...] = ()
    hostname: str | None = None
    domainname: str | None = None  # with hostname: ``<ip> <hostname>.<domainname> <hostname>`` in /etc/hosts
    ports: tuple[PortBinding, ...] = ()
    nano_cpus: int | None = None
    memory_bytes: int | None = None
    extra_hosts: dict[str, str] = field(default_factory=dict)
    stop_signal: str | None = None
    stop_timeout: int | None = None
    security: Security = field(default_factory=Security)
    stdin: bool = False  # keep stdin open for attach (the container's ``stdin``)
    stdin_once: bool = False  # close it after the first attached client leaves
    tty: bool = False


class ContainerState(StrEnum):
    """Docker's container states; values are Docker's own lower-case strings."""

    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"
    PAUSED = "paused"
    RESTARTING = "restarting"
    REMOVING = "removing"
    DEAD = "dead"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: str | None) -> ContainerState:
        """Map a runtime's state string to a member; anything unrecognised is UNKNOWN."""
        try:
            return cls((value or "").lower())
        except ValueError:
            return cls.UNKNOWN


@dataclass
class ContainerInfo:
    """What the runtime knows about one container.

    ``inspect_container`` fills every field. ``list_containers`` returns what a
    single list call can (``detailed=False``): id, name, image, labels, state,
    exit code and IP, but no timestamps and no OOM flag; callers that need
    those inspect the container. Timestamps are timezone-aware UTC.
    """

    id: str
    name: str
    image: str
    image_id: str
    labels: dict[str, str]
    state: ContainerState
    exit_code: int | None
    started_at: datetime | None
    finished_at: datetime | None
    ip: str | None
    oom_killed: bool = False
    error: str = ""
    created_at: datetime | None = None
    detailed: bool = True
    pid: int | None = None  # the main process, in the host's PID namespace, while running (inspect only)


@dataclass(frozen=True)
class ContainerStats:
    """One sample of a running container's resource usage (cAdvisor's figures).

    ``cpu_usage_ns`` is cumulative since the container started: a rate needs two samples.
    ``memory_working_set_bytes`` is usage minus inactive file pages, what the kubelet evicts
    by and ``kubectl top`` shows. ``timestamp`` is when it was read (epoch seconds).
    """

    timestamp: float
    cpu_usage_ns: int
    memory_usage_bytes: int
    memory_working_set_bytes: int
    memory_rss_bytes: int


@dataclass(frozen=True)
class RuntimeEvent:
    """A container lifecycle event: ``action`` is "create", "start", "die", "oom", "destroy", ...

    ``exit_code`` is set for "die" events. ``labels`` are the container's labels.
    """

    container_id: str
    action: str
    labels: dict[str, str]
    name: str = ""
    exit_code: int | None = None


class ContainerRuntimeError(Exception):
    """A runtime operation failed; the message is meant for a pod's status or an event."""


class ImageNotFound(ContainerRuntimeError):
    """The image is not present on the node and could not be pulled."""


class ContainerNotFound(ContainerRuntimeError):
    """The container does not exist (any more)."""


#: ``ContainerSpec.network`` prefix that joins another container's network namespace.
CONTAINER_NETWORK_PREFIX = "container:"

#: Container event actions a runtime delivers from ``events``; exec and health
#: events are left out so that probes do not wake the sync loop.
LIFECYCLE_ACTIONS: frozenset[str] = frozenset(
    {"create", "start", "die", "oom", "destroy", "pause", "unpause", "kill", "stop"}
)


class ContainerRuntime(Protocol):
    """The operations the kubelet needs from a container engine. All calls block."""

    def version(self) -> str:
        """The runtime's name and version as a URL-ish string, e.g. "docker://28.2.2"."""
        ...

    def image_id(self, image: str) -> str | None:
        """The local image's id, or None if the image is not present."""
        ...

    def pull_image(self, image: str) -> str:
        """Pull ``image`` and return its id; ImageNotFound when that fails."""
        ...

    def image_user(self, image: str) -> str | None:
        """The user the local image runs as (its ``USER``, "" for root by default), None if absent."""
        ...

    def import_image(self, name: str, rootfs_tar: bytes, *, command: list[str]) -> str:
        """Create image ``name`` from a root file system tar with ``command`` as its CMD; returns its id."""
        ...

    def create_container(self, spec: ContainerSpec) -> str:
        """Create (not start) a container; if ``spec.name`` exists already, return its id."""
        ...

    def start_container(self, container_id: str) -> None:
        """Start a created or exited container; a running one is left alone."""
        ...

    def stop_container(self, container_id: str, timeout: float) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; no error if stopped or gone."""
        ...

    def kill_container(self, container_id: str, signal: str = "SIGKILL") -> None:
        """Send a signal; no error if the container is not running."""
        ...

    def remove_container(self, container_id: str) -> None:
        """Remove the container, killing it if running; no error if gone."""
        ...

    def inspect_container(self, container_id: str) -> ContainerInfo | None:
        """Full information about one container (by id or name), or None if it does not exist."""
        ...

    def list_containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        """Containers in any state carrying all ``labels`` (``detailed=False`` infos)."""
        ...

    def ensure_network(self, name: str, labels: dict[str, str]) -> None:
        """Create a bridge network with name resolution between its containers, if absent."""
        ...

    def remove_network(self, name: str) -> None:
        """Remove a network; no error if gone."""
        ...

    def network_gateway(self, name: str) -> str:
        """The host's address on a network (its IPv4 gateway), "" if it has none or is gone."""
        ...

    def network_bridge(self, name: str) -> str:
        """The host's interface of a bridge network (the service proxy scopes its rules to it), "" if none."""
        ...

    def ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        """Create a named volume, if absent."""
        ...

    def remove_volume(self, name: str) -> None:
        """Remove a named volume; no error if gone."""
        ...

    def volume_path(self, name: str) -> str:
        """Where a named volume's files are on the host ("" if unknown): a ``subPath`` of it is
        bind-mounted from there (Docker before 26 has no volume subpath option)."""
        ...

    def exec(self, container_id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        """Run ``command`` in a running container: (exit code, stdout+stderr); TimeoutError after ``timeout``."""
        ...

    def logs(
        self,
        container_id: str,
        *,
        tail: int | None = None,
        since: datetime | None = None,
        timestamps: bool = False,
        follow: bool = False,
    ) -> Iterator[bytes]:
        """The container's output, one line per item (with its newline).

        With ``timestamps`` each line starts with an RFC 3339 timestamp with
        nanoseconds and a space, the format ``kubectl logs --timestamps`` shows.
        With ``follow`` the iterator ends when the container stops.
        """
        ...

    def events(self, labels: dict[str, str], stop: threading.Event) -> Iterator[RuntimeEvent]:
        """Lifecycle events of containers carrying all ``labels``; ends within ~1 s of ``stop``."""
        ...

    def open_exec(self, container_id: str, command: list[str], *, stdin: bool, tty: bool) -> StreamSession:
        """Start ``command`` in a running container with its streams connected to a session."""
        ...

    def open_attach(self, container_id: str, *, stdin: bool) -> StreamSession:
        """Connect to a running container's own streams (its stdin only if it keeps one open)."""
        ...

    def container_stats(self, container_id: str) -> ContainerStats | None:
        """A usage sample of a running container; None if it is not running or gone."""
        ...
