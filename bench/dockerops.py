"""Docker-side helpers of the benchmarks: the labelled baselines, the event log, Swarm, cleanup.

Every container, service and volume a benchmark makes carries ``podvisor.bench=1`` so that one
call (:func:`cleanup`) removes whatever a crashed or interrupted run left behind. Swarm is started
on loopback only and always left again (:func:`swarm`), also on errors and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import docker

log = logging.getLogger(__name__)

IMAGE = "podvisor/busybox:latest"
LABEL = "podvisor.bench"
LABELS = {LABEL: "1"}
SLEEP = ["sleep", "3600"]


def api(*, pool: int = 10) -> docker.APIClient:
    """The low-level SDK client: one HTTP call per operation, nothing hidden (``pool``: connections kept)."""
    return docker.APIClient(timeout=120, max_pool_size=pool)


def run(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The docker CLI (for what the CLI itself is being measured on, and for Swarm)."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def create_start(client: docker.APIClient, *, name: str | None = None, restart_always: bool = False,
                 extra_labels: dict[str, str] | None = None) -> str:
    """``docker create`` + ``docker start`` of the benchmark image; returns the container id."""
    host_config = client.create_host_config(restart_policy={"Name": "always"} if restart_always else None)
    created = client.create_container(IMAGE, command=SLEEP, name=name, labels={**LABELS, **(extra_labels or {})},
                                      host_config=host_config)
    client.start(created["Id"])
    return str(created["Id"])


def is_running(client: docker.APIClient, cid: str) -> bool:
    return bool(client.inspect_container(cid)["State"]["Running"])


def main_pid(client: docker.APIClient, cid: str) -> int:
    return int(client.inspect_container(cid)["State"]["Pid"])


def crash(pid: int) -> None:
    """SIGKILL the container's main process from the host: a crash, as the workload would die.

    Used for every restart baseline rather than ``docker kill``, because Docker records a
    ``docker kill`` as a manual stop and its own ``--restart=always`` policy then does not restart
    the container; a host-side SIGKILL is the same signal without that flag, for every contender.
    """
    os.kill(pid, signal.SIGKILL)


def remove(client: docker.APIClient, ids: list[str]) -> None:
    for cid in ids:
        with contextlib.suppress(docker.errors.APIError):
            client.remove_container(cid, force=True, v=True)


def cleanup(*, swarm_too: bool = True) -> None:
    """Remove every labelled service and container; leave Swarm if a benchmark joined it."""
    if swarm_too and swarm_active():
        services = run("service", "ls", "-q", "--filter", f"label={LABEL}", check=False).stdout.split()
        if services:
            run("service", "rm", *services, check=False)
    ids = run("ps", "-aq", "--filter", f"label={LABEL}", check=False).stdout.split()
    if ids:
        run("rm", "-f", "-v", *ids, check=False)
    if swarm_too and swarm_active():
        run("swarm", "leave", "--force", check=False)
        run("network", "rm", "docker_gwbridge", check=False)  # Swarm's bridge outlives the Swarm


# -- events ----------------------------------------------------------------------------------


class EventLog:
    """Docker events received in a background thread, each stamped with its receipt time.

    Receipt time on the benchmark's monotonic clock (not the daemon's ``timeNano``) so it can be
    subtracted from a start time taken just before the action under test.
    """

    def __init__(self, client: docker.APIClient, filters: dict[str, Any]) -> None:
        self._client = client
        self._stream = client.events(decode=True, filters=filters)
        self._events: list[tuple[float, dict[str, Any]]] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        with contextlib.suppress(Exception):
            for event in self._stream:
                with self._cond:
                    self._events.append((time.perf_counter(), event))
                    self._cond.notify_all()

    def mark(self) -> int:
        """A position: later waits only look at events received after it."""
        with self._cond:
            return len(self._events)

    def wait(self, match: Callable[[dict[str, Any]], bool], *, after: int, timeout: float,
             count: int = 1) -> tuple[float, dict[str, Any]]:
        """The ``count``-th matching event received after position ``after``: (receipt time, event)."""
        end = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for stamp, event in self._events[after:]:
                    seen += match(event)
                    if seen >= count:
                        return stamp, event
                after = len(self._events)
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no matching docker event")
                self._cond.wait(left)

    def since(self, after: int) -> list[tuple[float, dict[str, Any]]]:
        """Every event received after position ``after``."""
        with self._cond:
            return list(self._events[after:])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()


def started(event: dict[str, Any], labels: dict[str, str] | None = None) -> bool:
    """A container ``start`` event whose attributes carry all ``labels``."""
    if event.get("Type") != "container" or event.get("Action") != "start":
        return False
    attrs = (event.get("Actor") or {}).get("Attributes") or {}
    return all(attrs.get(k) == v for k, v in (labels or {}).items())


def start_of(labels: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    """A predicate for :meth:`EventLog.wait`: the start of a container carrying ``labels``."""
    return functools.partial(_started_with, labels)


def _started_with(labels: dict[str, str], event: dict[str, Any]) -> bool:
    return started(event, labels)


# -- swarm -----------------------------------------------------------------------------------


def swarm_active() -> bool:
    done = run("info", "--format", "{{.Swarm.LocalNodeState}}", check=False)
    return done.stdout.strip() == "active"


@contextlib.contextmanager
def swarm() -> Iterator[None]:
    """A single-node Swarm on loopback for the duration of the block, always left afterwards."""
    if not swarm_active():
        run("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377")
    try:
        yield
    finally:
        cleanup(swarm_too=True)


def service_create(name: str, *, replicas: int = 1, restart_delay: str | None = None, detach: bool = True,
                   tuned: bool = False, timeout: float = 300) -> None:
    """``docker service create`` of the benchmark image (local image: no registry resolution)."""
    args = ["service", "create", "--name", name, "--label", f"{LABEL}=1", "--container-label", f"{LABEL}=1",
            "--no-resolve-image", "--replicas", str(replicas)]
    if restart_delay is not None:
        args += ["--restart-delay", restart_delay]
    if tuned:
        args += ["--update-parallelism", "0"]
    args += ["--detach"] if detach else ["--quiet"]
    run(*args, IMAGE, *SLEEP, timeout=timeout)


def service_containers(client: docker.APIClient, service: str, *, running_only: bool = True) -> list[dict[str, Any]]:
    filters = {"label": f"com.docker.swarm.service.name={service}"}
    if running_only:
        filters["status"] = "running"
    return list(client.containers(all=not running_only, filters=filters))
