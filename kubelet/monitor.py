"""Watching a pod's running containers: probes, liveness and startup kills, old attempts, stops.

Per running container the worker starts one prober task per probe bound to that container's
id; a verdict change wakes the worker (through the ``wake`` callback: this module knows
nothing of the worker). A startup probe runs first and alone: liveness and readiness begin
once it succeeded, and its failure kills the container as a failed liveness probe does:
event Killing, then a graceful stop in the background (the stop may take the whole grace
period and must not block the worker); the exit that follows goes through the pod's
supervisor like any other. Stops the supervisor asks for (a group restart, the pod's end) run
here too, one after another in the order given. Old attempts are garbage: only the latest and
the one before it (for ``kubectl logs --previous``) are kept per container.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping

from apimachinery.models.core import Container, Pod
from kubelet import naming
from kubelet.context import NodeContext
from kubelet.lifecycle import ContainerRecord, field_path
from kubelet.metrics import PROBE_FAILED, PROBE_SUCCESSFUL
from kubelet.probes import ProbeKind, Prober, ProbeTarget, run_probe
from kubelet.runtime.base import ContainerInfo, ContainerRuntimeError, ContainerState

log = logging.getLogger(__name__)
KEEP_ATTEMPTS = 2  # the current container and the previous one


class Monitor:
    def __init__(self, ctx: NodeContext, *, records: Mapping[str, ContainerRecord], wake: Callable[[], None]) -> None:
        self.ctx = ctx
        self.records = records
        self.wake = wake
        self.killing: dict[str, asyncio.Task[None]] = {}
        self.stopping: asyncio.Task[None] | None = None
        self.stopping_ids: set[str] = set()

    def supervise(
        self, pod: Pod, container: Container, rec: ContainerRecord, info: ContainerInfo, sandbox: ContainerInfo
    ) -> None:
        """A running container: keep its probers (startup first), act on a failed liveness or startup probe."""
        rec.waiting = None
        rec.retry_at = None
        if rec.probe_id != info.id or (rec.started == info.id and rec.probing_startup):
            self._start_probers(pod, container, rec, info, sandbox)
        if rec.liveness_failed == info.id and info.id not in self.killing and info.id not in self.stopping_ids:
            kind = "startup" if rec.probing_startup else "liveness"
            message = f"Container {container.name} failed {kind} probe, will be restarted"
            self.ctx.api.event(pod, "Normal", "Killing", message, field_path=field_path(pod, container))
            grace = _grace(pod, container)
            self.killing[info.id] = asyncio.get_running_loop().create_task(self._stop(info.id, grace))

    def _start_probers(
        self, pod: Pod, container: Container, rec: ContainerRecord, info: ContainerInfo, sandbox: ContainerInfo
    ) -> None:
        rec.stop_probers()
        rec.probe_id = info.id
        rec.ready = container.readiness_probe is None
        named = {p.name: p.container_port for p in container.ports or [] if p.name}
        ip = sandbox.ip or (self.ctx.host_ip if pod.spec.host_network else sandbox.ip)  # hostNetwork: the node's
        target = ProbeTarget(container_id=info.id, ip=ip, named_ports=named)
        rec.probing_startup = container.startup_probe is not None and rec.started != info.id
        if not rec.probing_startup:
            rec.started = info.id
        probes = (
            [(ProbeKind.STARTUP, container.startup_probe)] if rec.probing_startup
            else [(ProbeKind.LIVENESS, container.liveness_probe), (ProbeKind.READINESS, container.readiness_probe)]
        )
        for kind, probe in probes:
            if probe is None:
                continue

            async def check(probe=probe, kind=kind):  # type: ignore[no-untyped-def]
                ok, detail = await run_probe(probe, target, runtime=self.ctx.runtime, run=self.ctx.run)
                self._count_probe(pod, container, kind, ok)
                return ok, detail

            def changed(kind: ProbeKind, healthy: bool, cid: str = info.id) -> None:
                rec.on_probe(kind, healthy, cid)
                self.wake()

            def failed(kind: ProbeKind, detail: str) -> None:
                self.ctx.api.event(pod, "Warning", "Unhealthy", f"{kind.value} probe failed: {detail}",
                                   field_path=field_path(pod, container))

            prober = Prober(kind=kind, probe=probe, check=check, on_change=changed, on_failure=failed)
            rec.probers.append(asyncio.get_running_loop().create_task(prober.run()))

    def _count_probe(self, pod: Pod, container: Container, kind: ProbeKind, ok: bool) -> None:
        """``prober_probe_total``: every single result, as Kubernetes counts them."""
        if self.ctx.metrics is not None:
            self.ctx.metrics.probe_result(probe_type=kind.value, result=PROBE_SUCCESSFUL if ok else PROBE_FAILED,
                                          container=container.name, pod=pod.metadata.name or "",
                                          namespace=pod.metadata.namespace or "", pod_uid=pod.metadata.uid or "")

    async def _stop(self, container_id: str, grace: float) -> None:
        try:
            await self.ctx.run(self.ctx.runtime.stop_container, container_id, grace)
        except ContainerRuntimeError as err:
            log.warning("cannot stop container %s: %s", container_id, err)
        finally:
            self.killing.pop(container_id, None)
            self.wake()

    def stop_in_order(self, pod: Pod, infos: Iterable[ContainerInfo], *, grace: float) -> None:
        """Stop these running containers one after another in the background (OTP stops children in
        reverse start order, each given its shutdown time); the worker is woken when all are down."""
        todo = [i for i in infos if i.state is ContainerState.RUNNING and i.id not in self.stopping_ids]
        if not todo:
            return
        self.stopping_ids.update(i.id for i in todo)
        previous = self.stopping

        async def run() -> None:
            if previous is not None:
                await asyncio.shield(previous)
            for info in todo:
                name = naming.container_of(info)
                self.ctx.api.event(pod, "Normal", "Killing", f"Stopping container {name}")
                await self._stop(info.id, grace)
            self.stopping_ids.difference_update(i.id for i in todo)

        self.stopping = asyncio.get_running_loop().create_task(run())

    @property
    def busy(self) -> bool:
        """Whether a stop the supervisor asked for is still running."""
        return bool(self.stopping_ids)

    async def collect_garbage(self, infos: list[ContainerInfo]) -> None:
        """Remove exited attempts older than the previous one, per container (and old sandboxes)."""
        by_name: dict[str, list[ContainerInfo]] = {}
        for info in infos:
            by_name.setdefault(naming.container_of(info), []).append(info)
        doomed = []
        for name, attempts in by_name.items():
            attempts.sort(key=naming.attempt_of, reverse=True)
            keep = 1 if name == naming.SANDBOX_NAME else KEEP_ATTEMPTS
            doomed += [i for i in attempts[keep:] if i.state is not ContainerState.RUNNING]
        if doomed:
            await asyncio.gather(*(self.ctx.run(self.ctx.runtime.remove_container, i.id) for i in doomed))
            infos[:] = [i for i in infos if i not in doomed]

    async def stop_sandbox(self, groups: dict[str, list[ContainerInfo]]) -> None:
        """A finished pod keeps its exited containers (logs) but not its sandbox."""
        for info in groups.get(naming.SANDBOX_NAME, []):
            if info.state is ContainerState.RUNNING:
                await self.ctx.run(self.ctx.runtime.kill_container, info.id, "SIGKILL")

    def stop(self) -> None:
        """The worker ends (or tears the pod down itself): no more probes, no more planned stops."""
        for rec in self.records.values():
            rec.stop_probers()
        if self.stopping is not None:
            self.stopping.cancel()
            self.stopping = None
        self.stopping_ids.clear()


def _grace(pod: Pod, container: Container) -> float:
    probe = container.liveness_probe
    if probe is not None and probe.termination_grace_period_seconds is not None:
        return float(probe.termination_grace_period_seconds)
    if pod.spec.termination_grace_period_seconds is not None:
        return float(pod.spec.termination_grace_period_seconds)
    return 30.0
