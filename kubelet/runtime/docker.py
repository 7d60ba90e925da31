"""The Docker Engine implementation of ``ContainerRuntime``.

This is the only module of podvisor that imports the ``docker`` SDK. It uses
the low-level ``docker.APIClient`` so that every method maps to a known number
of Engine API round-trips; pod start latency is benchmarked against
``docker create`` + ``docker start`` and must stay close to it:

* ``create_container`` is one POST (a name conflict costs one more GET, only
  on the idempotent retry path); ``start_container`` is one POST.
* ``list_containers`` is one GET of ``/containers/json`` with a label filter.
  That endpoint has state, labels, image and IPs, and its human "Status"
  string carries the exit code ("Exited (3) 2 seconds ago"), but it has no
  start/finish timestamps and no OOM flag. Inspecting every container on
  every relist would cost one round-trip per container, so the infos are
  returned with ``detailed=False`` and callers inspect only the containers
  whose state changed (to fill terminated/running timestamps in pod status).
* ``events`` is one long-lived GET filtered server-side by label and by
  lifecycle action, so exec probes do not wake the kubelet.

Docker errors are mapped to ``ContainerRuntimeError`` and its subclasses with
the daemon's own explanation in the message, since that text ends up in pod
status and events where users read it.
"""

from __future__ import annotations

import contextlib
import math
import re
import select
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import docker
import docker.errors
import docker.types
import docker.utils
import requests

from kubelet.runtime.base import (
    LIFECYCLE_ACTIONS,
    ContainerInfo,
    ContainerNotFound,
    ContainerRuntimeError,
    ContainerSpec,
    ContainerState,
    ImageNotFound,
    Mount,
    PortBinding,
    RuntimeEvent,
)

# Event attributes Docker adds next to the container's labels.
_EVENT_ATTRIBUTES = frozenset({"image", "name", "exitCode", "signal", "execDuration"})
_STOPPED = frozenset({ContainerState.EXITED, ContainerState.DEAD, ContainerState.REMOVING})
_STATUS_EXIT_CODE = re.compile(r"^(?:Exited|Restarting) \((-?\d+)\)")
_ZERO_TIME_PREFIX = "0001-01-01"
_MAX_POOL_SIZE = 64  # concurrent pod workers, log followers and the event stream


class DockerRuntime:
    """``ContainerRuntime`` over the Docker Engine API (``DOCKER_HOST`` or the local socket)."""

    def __init__(self, base_url: str | None = None) -> None:
        with _errors("connect to the Docker daemon"):
            kwargs: dict[str, Any] = docker.utils.kwargs_from_env()
            if base_url:
                kwargs["base_url"] = base_url
            self._api = docker.APIClient(version="auto", max_pool_size=_MAX_POOL_SIZE, **kwargs)
        self._version: str | None = None

    def close(self) -> None:
        self._api.close()

    # -- images ---------------------------------------------------------------

    def version(self) -> str:
        if self._version is None:
            with _errors("query the Docker version"):
                self._version = f"docker://{self._api.version()['Version']}"
        return self._version

    def image_id(self, image: str) -> str | None:
        with _errors(f"inspect image {image}"):
            try:
                return str(self._api.inspect_image(image)["Id"])
            except docker.errors.NotFound:
                return None

    def pull_image(self, image: str) -> str:
        repository, tag = docker.utils.parse_repository_tag(image)
        with _errors(f"pull image {image}"):
            try:
                # Pull errors after the HTTP 200 arrive inside the progress stream.
                for message in self._api.pull(repository, tag=tag or "latest", stream=True, decode=True):
                    if "error" in message:
                        raise ImageNotFound(_pull_failed(image, str(message["error"])))
            except docker.errors.APIError as err:
                raise ImageNotFound(_pull_failed(image, _explain(err))) from err
            found = self.image_id(image)
        if found is None:
            raise ImageNotFound(_pull_failed(image, "the daemon reported success but has no such image"))
        return found

    # -- containers -----------------------------------------------------------

    def create_container(self, spec: ContainerSpec) -> str:
        with _errors(f"create container {spec.name}"):
            try:
                created = self._api.create_container(**self._create_args(spec))
            except docker.errors.ImageNotFound as err:
                raise ImageNotFound(f"image {spec.image!r} is not present on this node") from err
            except docker.errors.APIError as err:
                if err.status_code != 409:
                    raise
                # The name is taken: a previous attempt created it. Never create a second one.
                return str(self._api.inspect_container(spec.name)["Id"])
            return str(created["Id"])

    def _create_args(self, spec: ContainerSpec) -> dict[str, Any]:
        api = self._api
        host_config = api.create_host_config(
            mounts=[_docker_mount(m) for m in spec.mounts] or None,
            port_bindings=_port_bindings(spec.ports) or None,
            nano_cpus=spec.nano_cpus,
            mem_limit=spec.memory_bytes,
            # No swap beyond the limit, as the kubelet configures containers.
            memswap_limit=spec.memory_bytes,
            extra_hosts=dict(spec.extra_hosts) or None,
            network_mode=spec.network,
        )
        networking_config = None
        if spec.network:
            endpoint = api.create_endpoint_config(aliases=list(spec.network_aliases) or None)
            networking_config = api.create_networking_config({spec.network: endpoint})
        return {
            "image": spec.image,
            "name": spec.name,
            "labels": dict(spec.labels),
            # An empty list means "unset" in Kubernetes; Docker would read it as "empty".
            "entrypoint": list(spec.command) if spec.command else None,
            "command": list(spec.args) if spec.args else None,
            "environment": dict(spec.env) or None,
            "working_dir": spec.working_dir or None,
            "hostname": spec.hostname or None,
            "ports": [(p.container_port, p.protocol.lower()) for p in spec.ports] or None,
            "host_config": host_config,
            "networking_config": networking_config,
        }

    def start_container(self, container_id: str) -> None:
        with _errors(f"start container {container_id}"):
            self._api.start(container_id)

    def stop_container(self, container_id: str, timeout: float) -> None:
        # The Engine API takes whole seconds; round up so the grace period is never cut short.
        seconds = max(0, math.ceil(timeout))
        with _errors(f"stop container {container_id}"), _ignore_status(404):
            self._api.stop(container_id, timeout=seconds)

    def kill_container(self, container_id: str, signal: str = "SIGKILL") -> None:
        # 409: not running; 404: gone. Either way there is nothing left to signal.
        with _errors(f"kill container {container_id}"), _ignore_status(404, 409):
            self._api.kill(container_id, signal=signal)

    def remove_container(self, container_id: str) -> None:
        # 409: a removal is already in progress.
        with _errors(f"remove container {container_id}"), _ignore_status(404, 409):
            self._api.remove_container(container_id, force=True, v=True)

    def inspect_container(self, container_id: str) -> ContainerInfo | None:
        with _errors(f"inspect container {container_id}"):
            try:
                return _info_from_inspect(self._api.inspect_container(container_id))
            except docker.errors.NotFound:
                return None

    def list_containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        with _errors("list containers"):
            items = self._api.containers(all=True, filters={"label": _label_filter(labels)})
        return [_info_from_list(item) for item in items]

    # -- networks and volumes ---------------------------------------------------

    def ensure_network(self, name: str, labels: dict[str, str]) -> None:
        with _errors(f"create network {name}"):
            with contextlib.suppress(docker.errors.NotFound):
                self._api.inspect_network(name)
                return
            # A user-defined bridge network gets Docker's embedded DNS (container names, aliases).
            with _ignore_status(409):
                self._api.create_network(name, driver="bridge", labels=dict(labels), check_duplicate=True)

    def remove_network(self, name: str) -> None:
        with _errors(f"remove network {name}"), _ignore_status(404):
            self._api.remove_network(name)

    def ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        # Creating an existing local volume returns it: idempotent in one round-trip.
        with _errors(f"create volume {name}"):
            self._api.create_volume(name=name, driver="local", labels=dict(labels))

    def remove_volume(self, name: str) -> None:
        with _errors(f"remove volume {name}"), _ignore_status(404):
            self._api.remove_volume(name)

    # -- exec, logs, events -----------------------------------------------------

    def exec(self, container_id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        """Run a command; on timeout the command keeps running (Docker cannot kill an exec)."""
        deadline = time.monotonic() + timeout
        with _errors(f"exec in container {container_id}"):
            exec_id = self._api.exec_create(container_id, command, stdout=True, stderr=True)["Id"]
            sock = self._api.exec_start(exec_id, socket=True)
            try:
                output = _read_frames(sock, deadline)
            finally:
                sock.close()
            while True:
                result = self._api.exec_inspect(exec_id)
                if not result.get("Running") and result.get("ExitCode") is not None:
                    return int(result["ExitCode"]), output
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"exec {command!r} did not finish within {timeout}s")
                time.sleep(0.005)

    def logs(
        self,
        container_id: str,
        *,
        tail: int | None = None,
        since: datetime | None = None,
        timestamps: bool = False,
        follow: bool = False,
    ) -> Iterator[bytes]:
        """One log record (a line with its newline) per item; Docker's timestamps are RFC 3339 with nanoseconds."""
        since_ts = since.timestamp() if since is not None and since.timestamp() > 0 else None
        with _errors(f"read logs of container {container_id}"):
            stream = self._api.logs(
                container_id,
                stream=True,
                follow=follow,
                timestamps=timestamps,
                tail="all" if tail is None else max(tail, 0),
                since=since_ts,
            )
        return _closing(stream)

    def events(self, labels: dict[str, str], stop: threading.Event) -> Iterator[RuntimeEvent]:
        """Subscribe now (before returning), so a caller can subscribe, then list, and miss nothing.

        The iterator also ends if the daemon closes the stream (e.g. it restarted); callers
        resubscribe and relist.
        """
        filters = {
            "type": ["container"],
            "label": _label_filter(labels),
            "event": sorted(LIFECYCLE_ACTIONS),
        }
        with _errors("watch container events"):
            stream = self._api.events(filters=filters, decode=True)
        return self._event_stream(stream, stop)

    def _event_stream(self, stream: Any, stop: threading.Event) -> Iterator[RuntimeEvent]:
        done = threading.Event()
        threading.Thread(
            target=_close_on_stop, args=(stream, stop, done), name="docker-events-stop", daemon=True
        ).start()
        try:
            for raw in stream:
                if stop.is_set():
                    return
                if raw.get("Type") == "container":
                    yield _event(raw)
        except Exception as err:  # a closed socket surfaces as any of several errors
            if stop.is_set():
                return
            raise ContainerRuntimeError(f"container event stream failed: {err}") from err
        finally:
            done.set()
            with contextlib.suppress(Exception):
                stream.close()


# -- error mapping ---------------------------------------------------------------


@contextlib.contextmanager
def _errors(what: str) -> Iterator[None]:
    """Translate docker SDK and transport errors into the runtime's exceptions."""
    try:
        yield
    except ContainerRuntimeError:
        raise
    except docker.errors.ImageNotFound as err:
        raise ImageNotFound(f"cannot {what}: {_explain(err)}") from err
    except docker.errors.NotFound as err:
        # A 404 may name a missing network or volume rather than the container itself.
        gone = "no such container" in _explain(err).lower()
        raise (ContainerNotFound if gone else ContainerRuntimeError)(
            f"cannot {what}: {_explain(err)}"
        ) from err
    except docker.errors.APIError as err:
        raise ContainerRuntimeError(f"cannot {what}: {_explain(err)}") from err
    except (docker.errors.DockerException, requests.RequestException) as err:
        raise ContainerRuntimeError(f"cannot {what}: Docker daemon unreachable: {err}") from err


@contextlib.contextmanager
def _ignore_status(*codes: int) -> Iterator[None]:
    try:
        yield
    except docker.errors.APIError as err:
        if err.status_code not in codes:
            raise


def _explain(err: docker.errors.APIError) -> str:
    return str(err.explanation or err)


def _pull_failed(image: str, reason: str) -> str:
    return f"image {image!r} is not present on this node and pulling it failed: {reason}"


# -- request building --------------------------------------------------------------


def _label_filter(labels: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in sorted(labels.items())]


def _docker_mount(mount: Mount) -> docker.types.Mount:
    if mount.kind not in ("bind", "volume"):
        raise ContainerRuntimeError(f"unsupported mount kind {mount.kind!r} for {mount.target}")
    return docker.types.Mount(
        target=mount.target, source=mount.source, type=mount.kind, read_only=mount.read_only
    )


def _port_bindings(ports: Iterable[PortBinding]) -> dict[str, list[tuple[str, int]]]:
    bindings: dict[str, list[tuple[str, int]]] = {}
    for port in ports:
        key = f"{port.container_port}/{port.protocol.lower()}"
        bindings.setdefault(key, []).append((port.host_ip, port.host_port))
    return bindings


# -- response parsing --------------------------------------------------------------


def _parse_time(value: str | None) -> datetime | None:
    """Docker's RFC 3339 nanosecond timestamps; its zero time means "never"."""
    if not value or value.startswith(_ZERO_TIME_PREFIX):
        return None
    return datetime.fromisoformat(value).astimezone(UTC)


def _network_ip(networks: dict[str, Any] | None, preferred: str | None) -> str | None:
    networks = networks or {}
    ordered = [networks[preferred]] if preferred in networks else []
    for endpoint in [*ordered, *networks.values()]:
        if endpoint and endpoint.get("IPAddress"):
            return str(endpoint["IPAddress"])
    return None


def _info_from_inspect(data: dict[str, Any]) -> ContainerInfo:
    state_data = data.get("State") or {}
    state = ContainerState.parse(state_data.get("Status"))
    settings = data.get("NetworkSettings") or {}
    return ContainerInfo(
        id=data["Id"],
        name=str(data.get("Name", "")).lstrip("/"),
        image=(data.get("Config") or {}).get("Image", ""),
        image_id=data.get("Image", ""),
        labels=(data.get("Config") or {}).get("Labels") or {},
        state=state,
        exit_code=int(state_data.get("ExitCode", 0)) if state in _STOPPED else None,
        started_at=_parse_time(state_data.get("StartedAt")),
        finished_at=_parse_time(state_data.get("FinishedAt")),
        ip=_network_ip(settings.get("Networks"), (data.get("HostConfig") or {}).get("NetworkMode")),
        oom_killed=bool(state_data.get("OOMKilled")),
        error=state_data.get("Error") or "",
        created_at=_parse_time(data.get("Created")),
    )


def _info_from_list(item: dict[str, Any]) -> ContainerInfo:
    state = ContainerState.parse(item.get("State"))
    exit_match = _STATUS_EXIT_CODE.match(item.get("Status") or "")
    names = [name.lstrip("/") for name in item.get("Names") or []]
    created = item.get("Created")
    return ContainerInfo(
        id=item["Id"],
        # Legacy links add names like "other/alias"; the container's own name has no slash.
        name=next((name for name in names if "/" not in name), names[0] if names else ""),
        image=item.get("Image", ""),
        image_id=item.get("ImageID", ""),
        labels=item.get("Labels") or {},
        state=state,
        exit_code=int(exit_match.group(1)) if exit_match and state in _STOPPED else None,
        started_at=None,
        finished_at=None,
        ip=_network_ip((item.get("NetworkSettings") or {}).get("Networks"), None),
        created_at=datetime.fromtimestamp(created, UTC) if created else None,
        detailed=False,
    )


def _event(raw: dict[str, Any]) -> RuntimeEvent:
    actor = raw.get("Actor") or {}
    attributes: dict[str, str] = actor.get("Attributes") or {}
    exit_code = attributes.get("exitCode")
    return RuntimeEvent(
        container_id=str(actor.get("ID") or raw.get("id", "")),
        # Some actions carry details after a colon, e.g. "health_status: healthy".
        action=str(raw.get("Action") or raw.get("status", "")).split(":", 1)[0],
        labels={k: v for k, v in attributes.items() if k not in _EVENT_ATTRIBUTES},
        name=attributes.get("name", ""),
        exit_code=int(exit_code) if exit_code is not None else None,
    )


# -- streams -------------------------------------------------------------------------


def _closing(stream: Any) -> Iterator[bytes]:
    try:
        yield from stream
    finally:
        with contextlib.suppress(Exception):
            stream.close()


def _close_on_stop(stream: Any, stop: threading.Event, done: threading.Event) -> None:
    """Close the event stream when ``stop`` is set; closing the socket unblocks the reader."""
    while not done.is_set():
        if stop.wait(0.25):
            with contextlib.suppress(Exception):
                stream.close()
            return


def _recv(sock: Any, size: int, deadline: float) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
        raise TimeoutError("exec did not finish in time")
    data = sock.recv(size) if hasattr(sock, "recv") else sock.read(size)
    return bytes(data or b"")


def _recv_exactly(sock: Any, size: int, deadline: float) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = _recv(sock, size - len(data), deadline)
        if not chunk:
            return None
        data += chunk
    return data


def _read_frames(sock: Any, deadline: float) -> bytes:
    """Read Docker's multiplexed stdout/stderr frames (8-byte header + payload) until EOF."""
    output = bytearray()
    while (header := _recv_exactly(sock, 8, deadline)) is not None:
        _, size = struct.unpack(">BxxxL", header)
        payload = _recv_exactly(sock, size, deadline) if size else b""
        if payload is None:
            break
        output += payload
    return bytes(output)
