"""Ephemeral containers: debugging containers added to a running pod, each run exactly once.

Kubernetes never restarts an ephemeral container and never counts it toward the pod's phase or
readiness, so they sit beside the pod's supervisor rather than under it: a container that exists
(running, exited, or created and failed to start) is never started again. Each joins the pod's
sandbox like the app containers (network namespace, volumes) and, with
``targetContainerName``, the PID namespace of that container's running attempt, so ``ps`` in
the debug container shows the target's processes. A target that is not running yet is waited
for: the worker syncs again when it starts.
"""

from __future__ import annotations

from collections.abc import Callable

from apimachinery.models.core import EphemeralContainer, Pod
from kubelet.context import NodeContext
from kubelet.lifecycle import ContainerRecord, start_container, start_existing
from kubelet.runtime.base import ContainerInfo, ContainerState
from kubelet.sandbox import SandboxHandle

Groups = dict[str, list[ContainerInfo]]


async def start_ephemeral_containers(
    ctx: NodeContext, pod: Pod, groups: Groups, *, record: Callable[[str], ContainerRecord], sandbox: SandboxHandle
) -> bool:
    """Start every ephemeral container that has not run yet; True if one was started."""
    started = False
    for container in pod.spec.ephemeral_containers or []:
        attempts = groups.get(container.name) or []
        latest = attempts[0] if attempts else None
        rec = record(container.name)
        if not _never_ran(latest, rec):
            continue
        target = _target(container, groups)
        if container.target_container_name and target is None:
            continue
        if latest is not None:
            started = await start_existing(ctx, pod, container, rec, latest, sandbox) or started
            continue
        container_id = await start_container(ctx, pod, container, rec, attempt=0, init=False, sandbox=sandbox,
                                             share_pid_with=target.id if target is not None else None)
        started = started or container_id is not None
    return started


def _never_ran(latest: ContainerInfo | None, rec: ContainerRecord) -> bool:
    """No container yet, or one created whose start was never tried (a kubelet died in between)."""
    if latest is None:
        return True
    return latest.state is ContainerState.CREATED and rec.start_failed != latest.id


def _target(container: EphemeralContainer, groups: Groups) -> ContainerInfo | None:
    """The running attempt of the container whose PID namespace this one joins."""
    if not container.target_container_name:
        return None
    attempts = groups.get(container.target_container_name) or []
    if attempts and attempts[0].state is ContainerState.RUNNING:
        return attempts[0]
    return None
