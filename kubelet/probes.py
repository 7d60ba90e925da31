"""Startup, liveness and readiness probes: exec, httpGet, tcpSocket, with Kubernetes' thresholds.

``ProbeState`` is the pure part: it turns a sequence of single results into the probe's
verdict (``successThreshold`` consecutive successes flip it to success,
``failureThreshold`` consecutive failures to failure). A liveness probe starts as success, a
readiness probe as failure, as in Kubernetes. A startup probe starts as failure and ends at its
first verdict: success (the container has started; liveness and readiness take over) or
``failureThreshold`` consecutive failures (the container is killed and restarted). ``Prober`` is one asyncio task per running
container and probe: it probes every ``periodSeconds`` after ``initialDelaySeconds`` and
tells the pod worker when the verdict changes; the worker decides what to do (restart on
liveness failure, clear Ready on readiness failure).

HTTP and TCP probes connect to the pod's IP on the pod network (the node reaches container IPs
on its bridge), so no probe binary has to exist inside the image. They target only the pod:
a ``host`` other than empty or the pod's own IP (``127.0.0.1``, the node's addresses, another
pod, a name) is refused with a probe failure that says why, and nothing is dialled; otherwise
a probe would be a port scanner of the node and its network, run by whoever may create pods.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import httpx

from apimachinery.models.core import Probe
from kubelet.runtime.base import ContainerRuntime, ContainerRuntimeError
from kubelet.threads import Runner

DEFAULT_PERIOD, DEFAULT_TIMEOUT, DEFAULT_SUCCESS, DEFAULT_FAILURE = 10, 1, 1, 3
_OUTPUT_LIMIT = 512


class ProbeKind(StrEnum):
    LIVENESS = "Liveness"
    READINESS = "Readiness"
    STARTUP = "Startup"


@dataclass
class ProbeState:
    """The verdict of one probe from its consecutive results."""

    success_threshold: int = DEFAULT_SUCCESS
    failure_threshold: int = DEFAULT_FAILURE
    healthy: bool = True
    successes: int = 0
    failures: int = 0
    decides_once: bool = False  # a startup probe: its first verdict, either way, is final
    decided: bool = False

    @classmethod
    def for_probe(cls, probe: Probe, kind: ProbeKind) -> ProbeState:
        return cls(
            success_threshold=max(probe.success_threshold or DEFAULT_SUCCESS, 1),
            failure_threshold=max(probe.failure_threshold or DEFAULT_FAILURE, 1),
            healthy=kind is ProbeKind.LIVENESS,
            decides_once=kind is ProbeKind.STARTUP,
        )

    def record(self, ok: bool) -> bool:
        """Add one result; True when the verdict changed."""
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            flip = not self.healthy and self.successes >= self.success_threshold
        else:
            self.successes, self.failures = 0, self.failures + 1
            flip = self.healthy and self.failures >= self.failure_threshold
        if self.decides_once and not ok and self.failures >= self.failure_threshold:
            flip = True  # the startup probe failed: report it, although it never was healthy
            self.healthy = True
        if flip:
            self.healthy = not self.healthy
            self.decided = self.decides_once
        return flip


@dataclass(frozen=True)
class ProbeTarget:
    """Where a probe runs: the container (exec) and the pod's IP (http, tcp)."""

    container_id: str
    ip: str | None
    named_ports: dict[str, int]


async def run_probe(probe: Probe, target: ProbeTarget, *, runtime: ContainerRuntime, run: Runner) -> tuple[bool, str]:
    """One probe: (success, output or error). Never raises."""
    timeout = float(probe.timeout_seconds or DEFAULT_TIMEOUT)
    try:
        if probe.exec is not None:
            code, output = await run(runtime.exec, target.container_id, list(probe.exec.command or []), timeout)
            text = output.decode(errors="replace")[:_OUTPUT_LIMIT]
            return code == 0, text or f"command exited with {code}"
        if probe.http_get is not None:
            return await _http(probe, target, timeout)
        if probe.tcp_socket is not None:
            return await _tcp(probe, target, timeout)
    except TimeoutError:
        return False, f"probe timed out after {timeout:g}s"
    except (ContainerRuntimeError, OSError, httpx.HTTPError, ValueError) as err:
        return False, str(err) or type(err).__name__
    return False, "probe has no handler (exec, httpGet or tcpSocket)"


def probe_host(host: str | None, target: ProbeTarget) -> str:
    """The pod's IP when ``host`` is empty or that IP; ValueError saying why otherwise."""
    if not target.ip:
        raise ValueError("the pod has no IP")
    if not host or _same_ip(host, target.ip):
        return target.ip
    raise ValueError(f"probe host {host!r} is not the pod's IP {target.ip}: the kubelet probes only the pod "
                     "(leave host empty)")


def _same_ip(host: str, ip: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip().removeprefix("[").removesuffix("]")) == ipaddress.ip_address(ip)
    except ValueError:
        return False


def _port(value: int | str, target: ProbeTarget) -> int:
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    if value in target.named_ports:
        return target.named_ports[value]
    raise ValueError(f"unknown named port {value!r}")


async def _http(probe: Probe, target: ProbeTarget, timeout: float) -> tuple[bool, str]:
    action = probe.http_get
    assert action is not None
    host = probe_host(action.host, target)
    scheme = (action.scheme or "HTTP").lower()
    netloc = f"[{host}]" if ":" in host else host
    url = f"{scheme}://{netloc}:{_port(action.port, target)}{action.path or '/'}"
    headers = {h.name: h.value for h in action.http_headers or []}
    async with httpx.AsyncClient(timeout=timeout, verify=False, trust_env=False) as client:
        response = await client.get(url, headers={"User-Agent": "kube-probe/podvisor", **headers})
    ok = 200 <= response.status_code < 400
    return ok, f"HTTP probe failed with statuscode: {response.status_code}" if not ok else ""


async def _tcp(probe: Probe, target: ProbeTarget, timeout: float) -> tuple[bool, str]:
    action = probe.tcp_socket
    assert action is not None
    host = probe_host(action.host, target)
    port = _port(action.port, target)
    _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, ""


class Prober:
    """Probes one running container periodically; reports verdict changes and failures."""

    def __init__(
        self,
        *,
        kind: ProbeKind,
        probe: Probe,
        check: Callable[[], Awaitable[tuple[bool, str]]],
        on_change: Callable[[ProbeKind, bool], None],
        on_failure: Callable[[ProbeKind, str], None],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.kind = kind
        self.probe = probe
        self.state = ProbeState.for_probe(probe, kind)
        self._check = check
        self._on_change = on_change
        self._on_failure = on_failure
        self._sleep = sleep

    async def run(self) -> None:
        await self._sleep(float(self.probe.initial_delay_seconds or 0))
        period = float(self.probe.period_seconds or DEFAULT_PERIOD)
        while not self.state.decided:
            await self.probe_once()
            if self.state.decided:
                return
            await self._sleep(period)

    async def probe_once(self) -> None:
        ok, detail = await self._check()
        if not ok:
            self._on_failure(self.kind, detail)
        if self.state.record(ok):
            self._on_change(self.kind, self.state.healthy)
