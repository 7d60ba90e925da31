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
status and events where users read it. Request building and response parsing
are pure functions in ``dockerwire.py``; this module does the I/O.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.types
import docker.utils
import requests

from kubelet.runtime import dockerstats
from kubelet.runtime.base import (
    CONTAINER_NETWORK_PREFIX,
    HOST_NETWORK,
    LIFECYCLE_ACTIONS,
    ContainerInfo,
    ContainerNotFound,
    ContainerRuntimeError,
    ContainerSpec,
    ContainerStats,
    ImageNotFound,
    Mount,
    RuntimeEvent,
    Security,
)
from kubelet.runtime.dockerwire import (
    event_from_json,
    info_from_inspect,
    info_from_list,
    label_filter,
    port_bindings,
    read_frames,
)
from kubelet.runtime.streams import SocketStream, StreamSession

_EXEC_EXIT_WAIT = 5.0  # an exec whose output ended has exited, or is about to
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
        # Containers Docker reported an "oom" event for. Docker sets State.OOMKilled when it
        # handles that event, which may come after the exit is visible to inspect; the event
        # stream keeps the fact, so an OOM kill is never reported as a plain error.
        self._oom_killed: set[str] = set()

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

    def image_user(self, image: str) -> str | None:
        with _errors(f"inspect image {image}"):
            try:
                config = self._api.inspect_image(image).get("Config") or {}
            except docker.errors.NotFound:
                return None
        return str(config.get("User") or "")

    def import_image(self, name: str, rootfs_tar: bytes, *, command: list[str]) -> str:
        repository, tag = docker.utils.parse_repository_tag(name)
        cmd = "CMD [" + ", ".join(f'"{part}"' for part in command) + "]"
        with _errors(f"import image {name}"):
            self._api.import_image_from_data(rootfs_tar, repository=repository, tag=tag or "latest", changes=[cmd])
            found = self.image_id(name)
        if found is None:
            raise ContainerRuntimeError(f"cannot import image {name}: the daemon has no such image afterwards")
        return found

    # -- containers -----------------------------------------------------------

    def create_container(self, spec: ContainerSpec) -> str:
        with _errors(f"create container {spec.name}"):
            try:
                created = self._create(spec)
            except docker.errors.ImageNotFound as err:
                raise ImageNotFound(f"image {spec.image!r} is not present on this node") from err
            except docker.errors.APIError as err:
                if err.status_code != 409:
                    raise
                # The name is taken: a previous attempt created it. Never create a second one.
                return str(self._api.inspect_container(spec.name)["Id"])
            return str(created["Id"])

    def _create(self, spec: ContainerSpec) -> dict[str, Any]:
        """``create_container``; with stdin open, through the config it builds, to set
        ``StdinOnce`` (the SDK sets it whenever stdin is open, Kubernetes only when asked)."""
        args = self._create_args(spec)
        if not spec.stdin:
            return dict(self._api.create_container(**args))
        name = args.pop("name")
        config = self._api.create_container_config(**args)
        config["StdinOnce"] = spec.stdin_once
        return dict(self._api.create_container_from_config(config, name))

    def _create_args(self, spec: ContainerSpec) -> dict[str, Any]:
        api = self._api
        host_config = api.create_host_config(
            mounts=[_docker_mount(m) for m in spec.mounts] or None,
            port_bindings=port_bindings(spec.ports) or None,
            nano_cpus=spec.nano_cpus,
            mem_limit=spec.memory_bytes,
            # No swap beyond the limit, as the kubelet configures containers.
            memswap_limit=spec.memory_bytes,
            extra_hosts=dict(spec.extra_hosts) or None,
            network_mode=spec.network,
            **_security_host_config(spec.security),
        )
        networking_config = None
        if spec.network and spec.network != HOST_NETWORK and not spec.network.startswith(CONTAINER_NETWORK_PREFIX):
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
            "domainname": spec.domainname or None,
            "ports": [(p.container_port, p.protocol.lower()) for p in spec.ports] or None,
            "host_config": host_config,
            "networking_config": networking_config,
            "stop_signal": spec.stop_signal,
            "stop_timeout": spec.stop_timeout,
            "user": spec.security.user,
            "stdin_open": spec.stdin,
            "tty": spec.tty,
            # The SDK sets Docker's StdinOnce exactly when stdin is open and detach is False.
            "detach": spec.stdin and not spec.stdin_once,
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
                info = info_from_inspect(self._api.inspect_container(container_id))
            except docker.errors.NotFound:
                return None

        if info.id in self._oom_killed or container_id in self._oom_killed:
            info.oom_killed = True
        return info

    def list_containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        with _errors("list containers"):
            items = self._api.containers(all=True, filters={"label": label_filter(labels)})
        return [info_from_list(item) for item in items]

    # -- networks and volumes ---------------------------------------------------

    def ensure_network(self, name: str, labels: dict[str, str]) -> None:
        # Docker's duplicate-name check is racy: kubelets sharing a network on one machine would
        # create two networks of the same name at once. A lock file serialises them.
        with _errors(f"create network {name}"), _host_lock(f"network-{name}"):
            with contextlib.suppress(docker.errors.NotFound):
                self._api.inspect_network(name)
                return
            # A user-defined bridge network gets Docker's embedded DNS (container names, aliases).
            with _ignore_status(409):
                self._api.create_network(name, driver="bridge", labels=dict(labels), check_duplicate=True)

    def remove_network(self, name: str) -> None:
        with _errors(f"remove network {name}"), _ignore_status(404):
            self._api.remove_network(name)

    def network_gateway(self, name: str) -> str:
        with _errors(f"inspect network {name}"):
            try:
                info = self._api.inspect_network(name)
            except docker.errors.NotFound:
                return ""
        for config in (info.get("IPAM") or {}).get("Config") or []:
            gateway = str(config.get("Gateway") or "")
            if gateway and ":" not in gateway:
                return gateway.split("/")[0]
        return ""

    def network_bridge(self, name: str) -> str:
        # Docker names a user-defined bridge br-<first 12 characters of the network id> unless the
        # network was created with another name in its options.
        with _errors(f"inspect network {name}"):
            try:
                info = self._api.inspect_network(name)
            except docker.errors.NotFound:
                return ""
        if info.get("Driver") != "bridge":
            return ""
        custom = (info.get("Options") or {}).get("com.docker.network.bridge.name")
        if custom:
            return str(custom)
        return "docker0" if info.get("Name") == "bridge" else f"br-{str(info.get('Id', ''))[:12]}"

    def ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        # Creating an existing local volume returns it: idempotent in one round-trip.
        with _errors(f"create volume {name}"):
            self._api.create_volume(name=name, driver="local", labels=dict(labels))

    def remove_volume(self, name: str) -> None:
        with _errors(f"remove volume {name}"), _ignore_status(404):
            self._api.remove_volume(name)

    def volume_path(self, name: str) -> str:
        with _errors(f"inspect volume {name}"):
            return str(self._api.inspect_volume(name).get("Mountpoint") or "")

    # -- exec, logs, events -----------------------------------------------------

    def exec(self, container_id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        """Run a command; on timeout the command keeps running (Docker cannot kill an exec)."""
        deadline = time.monotonic() + timeout
        with _errors(f"exec in container {container_id}"):
            exec_id = self._api.exec_create(container_id, command, stdout=True, stderr=True)["Id"]
            sock = self._api.exec_start(exec_id, socket=True)
            try:
                output = read_frames(sock, deadline)
            finally:
                sock.close()
            while True:
                result = self._api.exec_inspect(exec_id)
                if not result.get("Running") and result.get("ExitCode") is not None:
                    return int(result["ExitCode"]), output
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"exec {command!r} did not finish within {timeout}s")
                time.sleep(0.005)

    def open_exec(self, container_id: str, command: list[str], *, stdin: bool, tty: bool) -> StreamSession:
        """Docker's exec API on a hijacked socket; the exit code from ``exec_inspect`` once it ends."""
        api = self._api
        with _errors(f"exec in container {container_id}"):
            exec_id = api.exec_create(container_id, list(command), stdin=stdin, stdout=True, stderr=True, tty=tty)["Id"]
            sock = api.exec_start(exec_id, tty=tty, socket=True)

        def exit_code() -> int | None:
            deadline = time.monotonic() + _EXEC_EXIT_WAIT
            while True:
                result = api.exec_inspect(exec_id)
                if not result.get("Running") and result.get("ExitCode") is not None:
                    return int(result["ExitCode"])
                if time.monotonic() >= deadline:
                    return None
                time.sleep(0.01)

        def resize(width: int, height: int) -> None:
            with contextlib.suppress(docker.errors.APIError):
                api.exec_resize(exec_id, height=height, width=width)

        return SocketStream(sock, tty=tty, resize=resize, exit_code=exit_code)

    def open_attach(self, container_id: str, *, stdin: bool) -> StreamSession:
        """``docker attach`` on a hijacked socket: new output only, the container's own terminal if it has one."""
        api = self._api
        with _errors(f"attach to container {container_id}"):
            config = api.inspect_container(container_id)["Config"]
            tty = bool(config.get("Tty"))
            sock = api.attach_socket(container_id, params={"stdin": int(stdin), "stdout": 1, "stderr": 1, "stream": 1})

        def resize(width: int, height: int) -> None:
            with contextlib.suppress(docker.errors.APIError):
                api.resize(container_id, height=height, width=width)

        # Docker ends an attach's output when its input ends, unless the container closes its stdin
        # then (StdinOnce): as on Kubernetes, the end of a client's input leaves a container that
        # keeps stdin open running, and its output still comes.
        return SocketStream(sock, tty=tty, resize=resize, exit_code=lambda: None,
                            closes_stdin=bool(config.get("StdinOnce")))

    def container_stats(self, container_id: str) -> ContainerStats | None:
        """From the cgroup files when they are on this host, else one-shot stats (see dockerstats)."""
        sample = dockerstats.read_cgroup_stats(container_id)
        if sample is not None:
            return sample
        with _errors(f"read the stats of container {container_id}"):
            try:
                if not (self._api.inspect_container(container_id).get("State") or {}).get("Running"):
                    return None
                return dockerstats.from_stats_api(self._api.stats(container_id, stream=False, one_shot=True))
            except docker.errors.NotFound:
                return None

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
            "label": label_filter(labels),
            "event": sorted(LIFECYCLE_ACTIONS),
        }
        with _errors("watch container events"):
            stream = self._api.events(filters=filters, decode=True)
        return self._event_stream(stream, stop)

    def _remember_oom(self, event: RuntimeEvent) -> None:
        if event.action == "oom":
            self._oom_killed.add(event.container_id)
        elif event.action == "destroy":
            self._oom_killed.discard(event.container_id)

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
                    event = event_from_json(raw)
                    self._remember_oom(event)
                    yield event
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
        raise ContainerRuntimeError(f"cannot {what}: request to the Docker daemon failed: {err}") from err


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


def _docker_mount(mount: Mount) -> docker.types.Mount:
    if mount.kind not in ("bind", "volume"):
        raise ContainerRuntimeError(f"unsupported mount kind {mount.kind!r} for {mount.target}")
    return docker.types.Mount(
        target=mount.target, source=mount.source, type=mount.kind, read_only=mount.read_only
    )


def _pid_mode(security: Security) -> str | None:
    if security.host_pid:
        return "host"
    return f"container:{security.pid_namespace_of}" if security.pid_namespace_of else None


def _security_host_config(security: Security) -> dict[str, Any]:
    """The HostConfig fields of a container's :class:`Security` (only those set, so Docker's
    defaults stay Docker's)."""
    options = [
        *(["no-new-privileges"] if security.no_new_privileges else []),
        *(["seccomp=unconfined"] if security.seccomp_unconfined else []),
        *(["apparmor=unconfined"] if security.apparmor_unconfined else []),
        *(["systempaths=unconfined"] if security.unmasked_paths else []),
    ]
    config: dict[str, Any] = {
        "privileged": security.privileged,
        "cap_add": list(security.cap_add) or None,
        "cap_drop": list(security.cap_drop) or None,
        "read_only": security.read_only_rootfs or None,
        "group_add": list(security.group_add) or None,
        "security_opt": options or None,
        "pid_mode": _pid_mode(security),
        "ipc_mode": "host" if security.host_ipc else None,
        "sysctls": dict(security.sysctls) or None,
    }
    return config


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


@contextlib.contextmanager
def _host_lock(name: str) -> Iterator[None]:
    """An exclusive lock shared by the processes of this machine (an flock'ed file)."""
    path = Path(tempfile.gettempdir()) / f"podvisor-{name}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
