"""The pod sandbox (network identity, emptyDir volumes) and tearing a pod down.

A pod's sandbox container owns its network namespace: the pod IP, the hostname (in the
``/etc/hosts`` its containers share) and the published host ports. The pod's
containers join it, so they reach each other on localhost and keep the pod IP across their
restarts. If the sandbox dies, the containers lost their network: they are stopped and the
sandbox is re-created (event SandboxChanged), and the restart policy brings them back.

Teardown is shared by graceful deletion and orphan cleanup: stop with SIGTERM and the grace
period, then remove the containers (the sandbox last) and the pod's emptyDir volumes. The
sandbox's labels list the volumes, so a kubelet that restarted after the pod object vanished
still knows what to remove.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from apimachinery.models.core import Pod
from kubelet import naming, podspec
from kubelet.context import NodeContext
from kubelet.pause import PAUSE_COMMAND, PAUSE_IMAGE, pause_rootfs_tar
from kubelet.runtime.base import ContainerInfo, ContainerRuntimeError, ContainerState, ImageNotFound

log = logging.getLogger(__name__)
VOLUMES_LABEL = "io.podvisor.volumes"
_SANDBOX_RETRY = 2.0


@dataclass(frozen=True)
class SandboxHandle:
    """The sandbox a pod's containers join: its name is known before it runs.

    Docker resolves ``container:<name>`` when the joining container starts, not when it is
    created, so a new pod's containers are created while its sandbox is still starting and
    only their start waits for ``ready`` (None if the sandbox could not be started).
    """

    name: str
    ready: asyncio.Future[ContainerInfo | None]

    async def wait(self) -> ContainerInfo | None:
        return await asyncio.shield(self.ready)


def sandbox_name(pod: Pod, groups: dict[str, list[ContainerInfo]]) -> str:
    """The name of the sandbox :func:`ensure_sandbox` keeps or creates."""
    attempts = groups.get(naming.SANDBOX_NAME, [])
    latest = attempts[0] if attempts else None
    if latest is not None and latest.state in (ContainerState.RUNNING, ContainerState.CREATED):
        return latest.name
    attempt = naming.attempt_of(latest) + 1 if latest is not None else 0
    return naming.container_name(podspec.pod_ref(pod), naming.SANDBOX_NAME, attempt)


async def ensure_sandbox(
    ctx: NodeContext, pod: Pod, groups: dict[str, list[ContainerInfo]], *, retry_in: Callable[[float], None]
) -> ContainerInfo | None:
    """The running sandbox of the pod, creating or re-creating it if needed; None on failure
    (``retry_in`` is told when to try again)."""
    attempts = groups.get(naming.SANDBOX_NAME, [])
    latest = attempts[0] if attempts else None
    if latest is not None and latest.state is ContainerState.RUNNING:
        return latest
    try:
        if latest is not None and latest.state is ContainerState.CREATED:
            return await _start(ctx, latest.id)
        if latest is not None:
            await _replace_dead_sandbox(ctx, pod, groups)
        attempt = naming.attempt_of(latest) + 1 if latest is not None else 0
        return await _create(ctx, pod, attempt)
    except ContainerRuntimeError as err:
        ctx.api.event(pod, "Warning", "FailedCreatePodSandBox", f"Failed to create pod sandbox: {err}")
        retry_in(_SANDBOX_RETRY)
        await _repair(ctx, err)
        return None


async def _create(ctx: NodeContext, pod: Pod, attempt: int) -> ContainerInfo:
    ref = podspec.pod_ref(pod)
    volumes = podspec.empty_dir_volumes(pod)
    labels = {**naming.node_labels(ctx.node), naming.POD_UID: ref.uid, naming.POD_NAMESPACE: ref.namespace,
              naming.POD_NAME: ref.name}
    await asyncio.gather(*(ctx.run(ctx.runtime.ensure_volume, name, labels) for name in volumes))
    hosts = ctx.in_cluster.extra_hosts() if ctx.in_cluster is not None else None
    spec = podspec.sandbox_spec(pod, node=ctx.node, attempt=attempt, network=ctx.network, extra_hosts=hosts)
    spec.labels[VOLUMES_LABEL] = ",".join(volumes)
    container_id = await ctx.run(ctx.runtime.create_container, spec)
    return await _start(ctx, container_id)


async def _start(ctx: NodeContext, container_id: str) -> ContainerInfo:
    await ctx.run(ctx.runtime.start_container, container_id)
    info = await ctx.run(ctx.runtime.inspect_container, container_id)
    if info is None or info.state is not ContainerState.RUNNING:
        raise ContainerRuntimeError(f"sandbox {container_id} did not keep running")
    return info


async def _replace_dead_sandbox(ctx: NodeContext, pod: Pod, groups: dict[str, list[ContainerInfo]]) -> None:
    ctx.api.event(pod, "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
    running = [
        info for name, attempts in groups.items() if name != naming.SANDBOX_NAME
        for info in attempts if info.state is ContainerState.RUNNING
    ]
    await asyncio.gather(*(ctx.run(ctx.runtime.kill_container, info.id, "SIGKILL") for info in running))


async def _repair(ctx: NodeContext, err: ContainerRuntimeError) -> None:
    """Re-create what a sandbox needs from the node (its image, the network) if it went missing."""
    try:
        if isinstance(err, ImageNotFound) or not await ctx.run(ctx.runtime.image_id, PAUSE_IMAGE):
            await ensure_pause_image(ctx)
        await ctx.run(ctx.runtime.ensure_network, ctx.network, naming.node_labels(ctx.node))
    except ContainerRuntimeError as again:
        log.warning("cannot repair the node's sandbox prerequisites: %s", again)


async def ensure_pause_image(ctx: NodeContext) -> None:
    if not await ctx.run(ctx.runtime.image_id, PAUSE_IMAGE):
        await ctx.run(ctx.runtime.import_image, PAUSE_IMAGE, pause_rootfs_tar(), command=list(PAUSE_COMMAND))


async def stop_containers(ctx: NodeContext, pod: Pod | None, infos: list[ContainerInfo], *, grace: float) -> None:
    """SIGTERM the pod's running containers, SIGKILL after ``grace`` seconds: the app containers
    at once, then the sidecars (init containers) in reverse order, as Kubernetes does."""
    running = [i for i in infos if i.state is ContainerState.RUNNING and not naming.is_sandbox(i)]
    if pod is not None:
        for info in running:
            ctx.api.event(pod, "Normal", "Killing", f"Stopping container {naming.container_of(info)}")
    sidecars = [i for i in running if i.labels.get(naming.INIT) == "true"]
    apps = [i for i in running if i not in sidecars]
    await asyncio.gather(*(ctx.run(ctx.runtime.stop_container, i.id, grace) for i in apps))
    order = [c.name for c in (pod.spec.init_containers or [])] if pod is not None else []
    sidecars.sort(key=lambda i: order.index(naming.container_of(i)) if naming.container_of(i) in order else -1)
    for info in reversed(sidecars):
        await ctx.run(ctx.runtime.stop_container, info.id, grace)


async def remove_pod_resources(ctx: NodeContext, pod: Pod | None, infos: list[ContainerInfo]) -> None:
    """Remove the containers (sandbox last) and the emptyDir volumes of one pod."""
    volumes = set(podspec.empty_dir_volumes(pod)) if pod is not None else set()
    for info in infos:
        if naming.is_sandbox(info):
            volumes.update(v for v in info.labels.get(VOLUMES_LABEL, "").split(",") if v)
    apps = [i for i in infos if not naming.is_sandbox(i)]
    await asyncio.gather(*(ctx.run(ctx.runtime.remove_container, i.id) for i in apps))
    await asyncio.gather(*(ctx.run(ctx.runtime.remove_container, i.id) for i in infos if naming.is_sandbox(i)))
    for volume in sorted(volumes):
        try:
            await ctx.run(ctx.runtime.remove_volume, volume)
        except ContainerRuntimeError as err:
            log.warning("cannot remove volume %s: %s", volume, err)
    if ctx.projected is not None:
        uids = {pod.metadata.uid} if pod is not None else set()
        uids.update(i.labels.get(naming.POD_UID) for i in infos)
        for uid in uids - {None, ""}:
            await ctx.run(ctx.projected.remove, str(uid))
