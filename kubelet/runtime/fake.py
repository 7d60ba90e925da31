"""An in-memory ``ContainerRuntime`` for unit tests and hollow-node simulations.

Containers "run" instantly and keep running until a test says otherwise
(``exit``, ``on_start``), so kubelet logic can be tested without Docker and
thousands of simulated nodes can share one process. It follows Docker's
semantics wherever the kubelet can observe them, and passes the same contract
tests as ``DockerRuntime``:

* create is idempotent by name; a missing image fails create with ImageNotFound;
  named volumes are created on demand; an unknown network fails start, not create;
* ``list_containers`` returns ``detailed=False`` infos without timestamps, as
  Docker's list endpoint does, so callers that forget to inspect fail here too;
* a stopped container has no IP; stop exits with 143 (SIGTERM honoured), kill
  with 128 + the signal number; removing a running container kills it first;
* events go to per-subscriber queues, registered when ``events`` is called.

Test hooks: ``add_image``, ``pullable``, ``exit``, ``write_log``,
``exec_handler``, ``on_start`` and ``calls`` (the operations performed, in order).
"""

from __future__ import annotations

import hashlib
import itertools
import queue
import signal as signals
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from kubelet.runtime.base import (
    CONTAINER_NETWORK_PREFIX,
    HOST_NETWORK,
    ContainerInfo,
    ContainerNotFound,
    ContainerRuntimeError,
    ContainerSpec,
    ContainerState,
    ContainerStats,
    ImageNotFound,
    RuntimeEvent,
)
from kubelet.runtime.streams import EchoStream, StreamSession

STOP_EXIT_CODE = 128 + signals.SIGTERM
_ACTIVE = frozenset({ContainerState.RUNNING, ContainerState.PAUSED})

ExecHandler = Callable[[str, list[str]], tuple[int, bytes]]
StartHook = Callable[[ContainerSpec], int | None]


@dataclass
class _Container:
    id: str
    spec: ContainerSpec
    image_id: str
    created_at: datetime
    state: ContainerState = ContainerState.CREATED
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    oom_killed: bool = False
    ip: str | None = None
    log: list[tuple[datetime, bytes]] = field(default_factory=list)

    def info(self) -> ContainerInfo:
        return ContainerInfo(
            id=self.id,
            name=self.spec.name,
            image=self.spec.image,
            image_id=self.image_id,
            labels=dict(self.spec.labels),
            state=self.state,
            exit_code=self.exit_code,
            started_at=self.started_at,
            finished_at=self.finished_at,
            ip=self.ip,
            oom_killed=self.oom_killed,
            created_at=self.created_at,
        )


class FakeRuntime:
    """``ContainerRuntime`` in memory. Thread-safe; every method is fast and never blocks."""

    def __init__(
        self,
        *,
        images: Iterable[str] = (),
        pullable: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
        on_start: StartHook | None = None,
    ) -> None:
        self._cond = threading.Condition()
        self._clock = clock
        self._containers: dict[str, _Container] = {}
        self._names: dict[str, str] = {}  # container name -> id
        self._images: dict[str, str] = {}
        self._image_users: dict[str, str] = {}
        self._networks: dict[str, dict[str, str]] = {}
        self._volumes: dict[str, dict[str, str]] = {}
        self._volume_dirs: dict[str, str] = {}
        self._subscribers: list[tuple[dict[str, str], queue.SimpleQueue[RuntimeEvent]]] = []
        self._ids = itertools.count(1)
        self._ips = itertools.count(2)
        self.pullable: set[str] = {_normalize(image) for image in pullable}
        self.exec_handler: ExecHandler | None = None
        self.on_start = on_start
        self.calls: list[tuple[str, str]] = []
        self._usage: dict[str, tuple[int, int]] = {}  # container id -> (millicores, working set bytes)
        for image in images:
            self.add_image(image)

    # -- test hooks ---------------------------------------------------------------

    def add_image(self, image: str, *, user: str | None = None) -> str:
        """Make ``image`` present locally (running as ``user``, "" = root); returns its id."""
        name = _normalize(image)
        with self._cond:
            if user is not None:
                self._image_users[name] = user
            return self._images.setdefault(name, "sha256:" + _digest(name))

    def spec(self, container_id: str) -> ContainerSpec:
        """The spec a container was created from (what Docker would have been asked for)."""
        with self._cond:
            return self._require(container_id).spec

    def exit(self, container_id: str, code: int, *, oom_killed: bool = False) -> None:
        """Make a running container exit with ``code`` (as if its process ended)."""
        with self._cond:
            container = self._require(container_id)
            if container.state in _ACTIVE:
                self._terminate(container, code, oom_killed=oom_killed)

    def write_log(self, container_id: str, data: bytes) -> None:
        """Append output to the container's log, one record per line."""
        with self._cond:
            container = self._require(container_id)
            now = self._now()
            container.log.extend((now, line) for line in data.splitlines(keepends=True))
            self._cond.notify_all()

    # -- images ---------------------------------------------------------------------

    def version(self) -> str:
        return "fake://0.1.0"

    def image_id(self, image: str) -> str | None:
        with self._cond:
            return self._images.get(_normalize(image))

    def image_user(self, image: str) -> str | None:
        with self._cond:
            name = _normalize(image)
            return self._image_users.get(name, "") if name in self._images else None

    def pull_image(self, image: str) -> str:
        """Succeeds for images in ``pullable`` only: like Docker, a pull asks the registry even
        when the image is present locally."""
        self._record("pull_image", image)
        if _normalize(image) not in self.pullable:
            raise ImageNotFound(
                f"image {image!r} is not present on this node and pulling it failed: not found"
            )
        return self.add_image(image)

    def import_image(self, name: str, rootfs_tar: bytes, *, command: list[str]) -> str:
        self._record("import_image", name)
        return self.add_image(name)

    # -- containers -------------------------------------------------------------------

    def create_container(self, spec: ContainerSpec) -> str:
        with self._cond:
            self._record("create_container", spec.name)
            if spec.name in self._names:
                return self._names[spec.name]
            image_id = self._images.get(_normalize(spec.image))
            if image_id is None:
                raise ImageNotFound(f"image {spec.image!r} is not present on this node")
            for mount in spec.mounts:
                if mount.kind == "volume":
                    self._volumes.setdefault(mount.source, {})
            container_id = _digest(f"{spec.name}/{next(self._ids)}")
            self._containers[container_id] = _Container(
                id=container_id,
                spec=replace(spec, labels=dict(spec.labels)),
                image_id=image_id,
                created_at=self._now(),
            )
            self._names[spec.name] = container_id
            self._emit(self._containers[container_id], "create")
            return container_id

    def start_container(self, container_id: str) -> None:
        with self._cond:
            self._record("start_container", container_id)
            container = self._require(container_id)
            if container.state in _ACTIVE:
                return
            if container.state not in (ContainerState.CREATED, ContainerState.EXITED):
                raise ContainerRuntimeError(f"cannot start container {container_id}: it is {container.state}")
            ip = self._network_ip(container)
            self._check_ports(container)
            container.state = ContainerState.RUNNING
            container.exit_code = None
            container.oom_killed = False
            container.started_at = self._now()
            container.ip = ip
            self._emit(container, "start")
            exit_code = self.on_start(container.spec) if self.on_start else None
            if exit_code is not None:
                self._terminate(container, exit_code)

    def stop_container(self, container_id: str, timeout: float) -> None:
        with self._cond:
            self._record("stop_container", container_id)
            container = self._find(container_id)
            if container is not None and container.state in _ACTIVE:
                self._terminate(container, STOP_EXIT_CODE)
                self._emit(container, "stop")

    def kill_container(self, container_id: str, signal: str = "SIGKILL") -> None:
        number = _signal_number(signal)
        with self._cond:
            self._record("kill_container", container_id)
            container = self._find(container_id)
            if container is not None and container.state in _ACTIVE:
                self._emit(container, "kill")
                self._terminate(container, 128 + number)

    def remove_container(self, container_id: str) -> None:
        with self._cond:
            self._record("remove_container", container_id)
            container = self._find(container_id)
            if container is None:
                return
            if container.state in _ACTIVE:
                self._terminate(container, 128 + signals.SIGKILL)
            del self._containers[container.id]
            del self._names[container.spec.name]
            self._emit(container, "destroy")

    def inspect_container(self, container_id: str) -> ContainerInfo | None:
        with self._cond:
            container = self._find(container_id)
            return container.info() if container is not None else None

    def list_containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        with self._cond:
            matching = [c for c in self._containers.values() if _matches(c.spec.labels, labels)]
            # Like Docker's list endpoint: no timestamps, no OOM flag.
            return [
                replace(c.info(), started_at=None, finished_at=None, oom_killed=False, detailed=False)
                for c in matching
            ]

    # -- networks and volumes ----------------------------------------------------------

    def ensure_network(self, name: str, labels: dict[str, str]) -> None:
        with self._cond:
            self._networks.setdefault(name, dict(labels))

    def network_gateway(self, name: str) -> str:
        return ""  # the in-memory runtime has no host side to reach

    def network_bridge(self, name: str) -> str:
        return ""  # nor a bridge interface: no service proxy on a fake node

    def remove_network(self, name: str) -> None:
        with self._cond:
            users = [c for c in self._containers.values() if c.spec.network == name and c.state in _ACTIVE]
            if users:
                raise ContainerRuntimeError(f"cannot remove network {name}: it has active endpoints")
            self._networks.pop(name, None)

    def ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        with self._cond:
            self._volumes.setdefault(name, dict(labels))

    def volume_path(self, name: str) -> str:
        """A temporary directory per volume, made on first use (the fake keeps no files itself)."""
        with self._cond:
            if name not in self._volumes:
                raise ContainerRuntimeError(f"no such volume: {name}")
            if name not in self._volume_dirs:
                self._volume_dirs[name] = tempfile.mkdtemp(prefix="fake-volume-")
            return self._volume_dirs[name]

    def remove_volume(self, name: str) -> None:
        with self._cond:
            users = [
                c.id
                for c in self._containers.values()
                if any(m.kind == "volume" and m.source == name for m in c.spec.mounts)
            ]
            if users:
                raise ContainerRuntimeError(f"cannot remove volume {name}: volume is in use by {users}")
            self._volumes.pop(name, None)

    def networks(self) -> dict[str, dict[str, str]]:
        """Existing networks and their labels (a test helper; not part of the runtime interface)."""
        with self._cond:
            return {name: dict(labels) for name, labels in self._networks.items()}

    def spec_of(self, container_id: str) -> ContainerSpec:
        """The spec a container was created from (a test helper; not part of the runtime interface)."""
        with self._cond:
            return self._containers[container_id].spec

    def volumes(self) -> dict[str, dict[str, str]]:
        """Existing volumes and their labels (a test helper; not part of the runtime interface)."""
        with self._cond:
            return {name: dict(labels) for name, labels in self._volumes.items()}

    # -- exec, logs, events --------------------------------------------------------------

    def exec(self, container_id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        """Answer with ``exec_handler(container_id, command)``, or (0, b"") without a handler."""
        with self._cond:
            self._record("exec", container_id)
            container = self._require(container_id)
            if container.state is not ContainerState.RUNNING:
                raise ContainerRuntimeError(f"cannot exec in container {container_id}: it is not running")
        handler = self.exec_handler
        return handler(container_id, list(command)) if handler else (0, b"")

    def open_exec(self, container_id: str, command: list[str], *, stdin: bool, tty: bool) -> StreamSession:
        """A session that echoes stdin (``cat``); without stdin, the exec handler's output."""
        with self._cond:
            self._record("exec", container_id)
            if self._require(container_id).state is not ContainerState.RUNNING:
                raise ContainerRuntimeError(f"cannot exec in container {container_id}: it is not running")
        if stdin:
            return EchoStream()
        handler = self.exec_handler
        stream = EchoStream(output=handler(container_id, list(command))[1] if handler else b"")
        stream.close_stdin()
        return stream

    def open_attach(self, container_id: str, *, stdin: bool) -> StreamSession:
        with self._cond:
            if self._require(container_id).state is not ContainerState.RUNNING:
                raise ContainerRuntimeError(f"cannot attach to container {container_id}: it is not running")
        return EchoStream()

    def container_stats(self, container_id: str) -> ContainerStats | None:
        """Synthetic usage: a steady CPU rate and a flat working set per container (``set_usage``)."""
        with self._cond:
            container = self._containers.get(container_id) or self._containers.get(self._names.get(container_id, ""))
            if container is None or container.state is not ContainerState.RUNNING or container.started_at is None:
                return None
            now = self._clock()
            millicores, memory = self._usage.get(container.id) or _synthetic_usage(container.id)
            elapsed = max(now - container.started_at.timestamp(), 0.0)
            return ContainerStats(timestamp=now, cpu_usage_ns=int(elapsed * millicores * 1_000_000),
                                  memory_usage_bytes=memory + memory // 4, memory_working_set_bytes=memory,
                                  memory_rss_bytes=memory * 3 // 4)

    def set_usage(self, container_id: str, *, millicores: int, memory_bytes: int) -> None:
        """Make a container use ``millicores`` of CPU from its start and ``memory_bytes`` of memory."""
        with self._cond:
            self._usage[self._require(container_id).id] = (millicores, memory_bytes)

    def logs(
        self,
        container_id: str,
        *,
        tail: int | None = None,
        since: datetime | None = None,
        timestamps: bool = False,
        follow: bool = False,
    ) -> Iterator[bytes]:
        with self._cond:
            container = self._require(container_id)
            start = 0 if tail is None else max(len(container.log) - max(tail, 0), 0)
        return self._log_stream(container, start=start, since=since, timestamps=timestamps, follow=follow)

    def _log_stream(
        self, container: _Container, *, start: int, since: datetime | None, timestamps: bool, follow: bool
    ) -> Iterator[bytes]:
        index, done = start, False
        while not done:
            batch, index, done = self._next_log_batch(container, index, follow=follow)
            for at, line in batch:
                if since is None or at >= since:
                    yield (_rfc3339_nano(at).encode() + b" " + line) if timestamps else line

    def _next_log_batch(
        self, container: _Container, index: int, *, follow: bool
    ) -> tuple[list[tuple[datetime, bytes]], int, bool]:
        """Log records from ``index`` on (waiting for some when following) and whether the stream ends."""
        with self._cond:
            if follow:
                self._cond.wait_for(
                    lambda: index < len(container.log) or container.state not in _ACTIVE, timeout=0.5
                )
            batch = container.log[index:]
            done = not follow or container.state not in _ACTIVE
            return batch, len(container.log), done

    def events(self, labels: dict[str, str], stop: threading.Event) -> Iterator[RuntimeEvent]:
        """Subscribe now (before returning), like DockerRuntime.events."""
        inbox: queue.SimpleQueue[RuntimeEvent] = queue.SimpleQueue()
        subscriber = (dict(labels), inbox)
        with self._cond:
            self._subscribers.append(subscriber)
        return self._event_stream(subscriber, stop)

    def _event_stream(
        self, subscriber: tuple[dict[str, str], queue.SimpleQueue[RuntimeEvent]], stop: threading.Event
    ) -> Iterator[RuntimeEvent]:
        try:
            while not stop.is_set():
                try:
                    yield subscriber[1].get(timeout=0.05)
                except queue.Empty:
                    continue
        finally:
            with self._cond:
                self._subscribers.remove(subscriber)

    # -- internals (called with the lock held) ----------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _record(self, operation: str, target: str) -> None:
        with self._cond:
            self.calls.append((operation, target))

    def _find(self, ref: str) -> _Container | None:
        """By id, then by name, then by unique id prefix, as Docker resolves references."""
        if ref in self._containers:
            return self._containers[ref]
        if ref.lstrip("/") in self._names:
            return self._containers[self._names[ref.lstrip("/")]]
        prefixed = [c for c in self._containers.values() if c.id.startswith(ref)] if ref else []
        return prefixed[0] if len(prefixed) == 1 else None

    def _require(self, ref: str) -> _Container:
        container = self._find(ref)
        if container is None:
            raise ContainerNotFound(f"No such container: {ref}")
        return container

    def _terminate(self, container: _Container, code: int, *, oom_killed: bool = False) -> None:
        container.state = ContainerState.EXITED
        container.exit_code = code
        container.oom_killed = oom_killed
        container.finished_at = self._now()
        container.ip = None
        if oom_killed:
            self._emit(container, "oom")
        self._emit(container, "die", exit_code=code)

    def _check_ports(self, container: _Container) -> None:
        wanted = {(p.host_port, p.protocol.upper()) for p in container.spec.ports if p.host_port}
        if not wanted:
            return
        for other in self._containers.values():
            taken = {(p.host_port, p.protocol.upper()) for p in other.spec.ports}
            if other.state in _ACTIVE and wanted & taken:
                raise ContainerRuntimeError(
                    f"cannot start container {container.id}: port {sorted(wanted & taken)} is already allocated"
                )

    def _network_ip(self, container: _Container) -> str:
        """The IP a starting container gets: its own, or that of the running container it joins."""
        network = container.spec.network
        if network and network.startswith(CONTAINER_NETWORK_PREFIX):
            owner = self._find(network.removeprefix(CONTAINER_NETWORK_PREFIX))
            if owner is None or owner.state is not ContainerState.RUNNING or owner.ip is None:
                raise ContainerRuntimeError(
                    f"cannot start container {container.id}: joined container {network} is not running"
                )
            return owner.ip
        if network == HOST_NETWORK:
            return ""  # the node's own addresses, as Docker reports a host-network container
        if network and network not in self._networks:
            raise ContainerRuntimeError(f"cannot start container {container.id}: network {network} not found")
        return self._allocate_ip(network)

    def _allocate_ip(self, network: str | None) -> str:
        subnet = 17 if network is None else 18 + int(_digest(network)[:4], 16) % 200
        host = next(self._ips)
        return f"172.{subnet}.{host // 250}.{host % 250 + 2}"

    def _emit(self, container: _Container, action: str, *, exit_code: int | None = None) -> None:
        event = RuntimeEvent(
            container_id=container.id,
            action=action,
            labels=dict(container.spec.labels),
            name=container.spec.name,
            exit_code=exit_code,
        )
        for wanted, inbox in self._subscribers:
            if _matches(event.labels, wanted):
                inbox.put(event)
        self._cond.notify_all()


def _normalize(image: str) -> str:
    """Docker's short form: "busybox" means "busybox:latest"."""
    last = image.rsplit("/", 1)[-1]
    return image if "@" in image or ":" in last else f"{image}:latest"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _matches(labels: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in wanted.items())


def _signal_number(name: str) -> int:
    if name.isdigit():
        return int(name)
    try:
        return int(signals.Signals[name.upper() if name.upper().startswith("SIG") else f"SIG{name.upper()}"])
    except KeyError:
        raise ContainerRuntimeError(f"invalid signal {name!r}") from None


def _rfc3339_nano(at: datetime) -> str:
    """Docker's and the kubelet's log timestamp: fixed nine fractional digits, UTC."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond:06d}000Z"


def _synthetic_usage(container_id: str) -> tuple[int, int]:
    """A plausible, stable (millicores, working set) for a container nobody set usage for."""
    seed = int(hashlib.sha256(container_id.encode()).hexdigest()[:8], 16)
    return 1 + seed % 20, (4 + seed % 28) * 1024 * 1024
