"""Starting one container of a pod, and the per-container memory of the kubelet.

``ContainerRecord`` is what the kubelet remembers about a spec container between syncs (the
supervisor's plan for it, the waiting reason it imposes, image pull back-off, probe verdicts);
it is rebuilt empty after a kubelet restart, and everything that must survive a restart lives
in the containers' labels instead. ``start_container`` is the create + start path with the
image pull policy, idempotent because container names are per attempt. Whether and when to
start is not decided here but by the pod's supervisor (:mod:`kubelet.supervisor`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from apimachinery.errors import ApiError
from apimachinery.models.core import Container, Pod
from kubelet import environment, podspec, security, subpath
from kubelet.context import NodeContext
from kubelet.probes import ProbeKind
from kubelet.restart import CREATE_CONTAINER_ERROR, IMAGE_PULL_BACK_OFF, RUN_CONTAINER_ERROR, Backoff
from kubelet.runtime.base import ContainerInfo, ContainerRuntimeError, ImageNotFound
from kubelet.sandbox import SandboxHandle
from kubelet.status import Waiting
from kubelet.volumes import VolumeError

CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
START_FAILED_EXIT_CODE = 128
CONFIG_RETRY = 10.0
#: The wall-clock times of the pod's recent restart events, written on each container it starts,
#: so the supervisor's intensity budget survives a kubelet restart.
RESTARTS_LABEL = "io.podvisor.supervisor.restarts"
MOUNT_RETRY = 2.0  # a ConfigMap published a moment after the pod was created
FAILED_MOUNT = "FailedMount"
#: A volume whose object is missing is retried sooner at first, then every 8 s (Kubernetes'
#: volume manager backs off too, to about 2 minutes; an object created late is seen quicker here).
MOUNT_BACKOFF = Backoff(initial=1.0, maximum=8.0)


@dataclass
class ContainerRecord:
    """The kubelet's in-memory knowledge of one spec container."""

    waiting: Waiting | None = None
    retry_at: float | None = None  # monotonic time of the next timed action (image or config back-off)
    restart_at: float | None = None  # the supervisor planned a new attempt at this monotonic time
    done: bool = False  # the supervisor left it exited: its restart policy is satisfied
    by_supervisor: bool = False  # the planned start restarts it along with a sibling
    started_id: str | None = None  # the container whose start the supervisor knows
    exit_seen: str | None = None  # the container whose exit the supervisor knows
    start_failed: str | None = None  # a created container whose start failed
    backoff_reported: str | None = None
    image_failures: int = 0
    mount_failures: int = 0
    image_id: str = ""
    probe_id: str | None = None  # the container the probers run against
    probers: list[asyncio.Task[None]] = field(default_factory=list)
    ready: bool = True
    liveness_failed: str | None = None  # a container whose liveness (or startup) probe failed
    started: str | None = None  # the container whose startup probe succeeded (or that has none)
    probing_startup: bool = False
    pulling: float = 0.0  # seconds spent pulling this container's image

    def stop_probers(self) -> None:
        for task in self.probers:
            task.cancel()
        self.probers = []
        self.probe_id = None

    def on_probe(self, kind: ProbeKind, healthy: bool, container_id: str) -> None:
        if self.probe_id != container_id:
            return
        if kind is ProbeKind.READINESS:
            self.ready = healthy
        elif kind is ProbeKind.STARTUP and healthy:
            self.started = container_id
        elif not healthy:
            self.liveness_failed = container_id

    def due(self, now: float) -> bool:
        """Whether a planned restart may happen now."""
        return self.restart_at is not None and self.restart_at <= now


async def start_container(
    ctx: NodeContext,
    pod: Pod,
    container: Container,
    rec: ContainerRecord,
    *,
    attempt: int,
    init: bool,
    sandbox: SandboxHandle,
    labels: dict[str, str] | None = None,
    share_pid_with: str | None = None,
) -> str | None:
    """Create and start attempt ``attempt`` (with extra ``labels``, in the PID namespace of the
    container ``share_pid_with`` if given); on failure set the record's waiting reason and retry time."""
    if rec.retry_at is not None and rec.retry_at > ctx.clock.monotonic():
        if rec.image_failures and (rec.waiting is None or rec.waiting.reason != IMAGE_PULL_BACK_OFF):
            message = f'Back-off pulling image "{container.image}"'
            rec.waiting = Waiting(IMAGE_PULL_BACK_OFF, message)
            ctx.api.event(pod, "Normal", "BackOff", message, field_path=field_path(pod, container))
            ctx.api.event(pod, "Warning", "Failed", f"Error: {IMAGE_PULL_BACK_OFF}", field_path=field_path(pod, container))
        return None  # still backing off (image pull or a create error): the worker wakes at retry_at
    if not await _ensure_image(ctx, pod, container, rec):
        return None
    pod_ip = ""
    if podspec.needs_pod_ip(pod):
        running = await sandbox.wait()
        if running is None:
            return None
        pod_ip = running.ip or ""
    written, projected = await _projected_dirs(ctx, pod, container, rec)
    if not written:
        return None
    objects = await _env_objects(ctx, pod, container, rec)
    if objects is None:
        return None
    try:
        resolv_conf = await ctx.run(ctx.pod_dns.write, pod) if ctx.pod_dns is not None else None
    except OSError as err:
        _fail(ctx, pod, container, rec, CREATE_CONTAINER_CONFIG_ERROR, f"cannot write resolv.conf: {err}",
              retry=MOUNT_RETRY)
        return None
    try:
        found: str | None = None
        if security.needs_image_user(pod, container):
            found = await ctx.run(ctx.runtime.image_user, container.image or "")
        image_user = found or ""
        values = podspec.field_values(pod, node=ctx.node, pod_ip=pod_ip, host_ip=ctx.host_ip)
        service_env = ctx.service_env(pod)
        sub_paths = None
        if projected is not None and subpath.wanted(container):
            env = environment.container_env(pod, container, objects=objects, field_values=values,
                                            allocatable=ctx.allocatable, service_env=service_env)
            sub_paths = await ctx.run(subpath.resolve_all, pod, container, env=env, data_dirs=projected,
                                      runtime=ctx.runtime, node=ctx.node)
        spec = podspec.container_spec(pod, container, node=ctx.node, attempt=attempt, init=init,
                                      sandbox=sandbox.name, field_values=values, image_user=image_user,
                                      projected_dirs=projected,
                                      service_env=service_env, resolv_conf=resolv_conf,
                                      share_pid_with=share_pid_with, env_objects=objects,
                                      allocatable=ctx.allocatable, sub_paths=sub_paths)
    except environment.EnvError as err:  # most often an object not created yet: look again soon
        _fail(ctx, pod, container, rec, CREATE_CONTAINER_CONFIG_ERROR, str(err), retry=MOUNT_RETRY)
        return None
    except (podspec.PodSpecError, ValueError, ContainerRuntimeError, OSError) as err:
        _fail(ctx, pod, container, rec, CREATE_CONTAINER_CONFIG_ERROR, str(err), retry=CONFIG_RETRY)
        return None
    for message in environment.skipped_keys(pod, container, objects=objects):
        ctx.api.event(pod, "Warning", environment.INVALID_NAMES_REASON, message, field_path=field_path(pod, container))
    spec.labels.update(labels or {})
    try:
        container_id = await ctx.run(ctx.runtime.create_container, spec)
    except (ImageNotFound, ContainerRuntimeError) as err:
        _fail(ctx, pod, container, rec, CREATE_CONTAINER_ERROR, str(err), retry=CONFIG_RETRY)
        return None
    ctx.api.event(pod, "Normal", "Created", f"Created container: {container.name}",
                  field_path=field_path(pod, container))
    if await sandbox.wait() is None:
        return None  # created; the next sync starts it once the sandbox runs
    return await _start(ctx, pod, container, rec, container_id)


async def _projected_dirs(ctx: NodeContext, pod: Pod, container: Container,
                          rec: ContainerRecord) -> tuple[bool, dict[str, str] | None]:
    """(written, the directories of the pod's volumes of API data); not written: a FailedMount
    event, and the container stays in ContainerCreating (no reason of its own, as in Kubernetes)
    until a retry soon finds the object. A hollow node (no ``ctx.projected``) writes nothing."""
    if ctx.projected is None:
        return True, None
    try:
        written = await ctx.projected.ensure(pod)
    except (VolumeError, ApiError, OSError) as err:
        message = str(err) if isinstance(err, VolumeError) else f"MountVolume.SetUp failed: {err}"
        ctx.api.event(pod, "Warning", FAILED_MOUNT, message)
        rec.waiting = None
        rec.retry_at = ctx.clock.monotonic() + MOUNT_BACKOFF.delay(rec.mount_failures)
        rec.mount_failures += 1
        return False, None
    rec.mount_failures = 0
    return True, written


async def _env_objects(ctx: NodeContext, pod: Pod, container: Container,
                       rec: ContainerRecord) -> environment.EnvObjects | None:
    """The ConfigMaps and Secrets the container's env reads; None (and a retry soon) when the API
    cannot be read. A missing object is not an error here: building the env decides."""
    if ctx.config_objects is None:
        return environment.EnvObjects()
    try:
        return await environment.fetch(ctx.config_objects, namespace=pod.metadata.namespace or "default",
                                       container=container)
    except ApiError as err:
        _fail(ctx, pod, container, rec, CREATE_CONTAINER_CONFIG_ERROR, str(err), retry=MOUNT_RETRY)
        return None


async def start_existing(
    ctx: NodeContext, pod: Pod, container: Container, rec: ContainerRecord, info: ContainerInfo, sandbox: SandboxHandle
) -> bool:
    """Start a container created by an earlier sync (or a kubelet that died before starting it)."""
    if await sandbox.wait() is None:
        return False
    return await _start(ctx, pod, container, rec, info.id) is not None


async def _start(ctx: NodeContext, pod: Pod, container: Container, rec: ContainerRecord, container_id: str) -> str | None:
    try:
        await ctx.run(ctx.runtime.start_container, container_id)
    except ContainerRuntimeError as err:
        rec.start_failed = container_id
        ctx.api.event(pod, "Warning", "Failed", f"Error: {err}", field_path=field_path(pod, container))
        rec.waiting = Waiting(RUN_CONTAINER_ERROR, str(err))
        return None
    rec.waiting = None
    rec.retry_at = None
    ctx.api.event(pod, "Normal", "Started", f"Started container {container.name}",
                  field_path=field_path(pod, container))
    return container_id


async def _ensure_image(ctx: NodeContext, pod: Pod, container: Container, rec: ContainerRecord) -> bool:
    check = await ctx.images.ensure(container.image or "", container.image_pull_policy)
    rec.pulling += check.pulled
    for type_, reason, message in check.events:
        ctx.api.event(pod, type_, reason, message, field_path=field_path(pod, container))
    if check.error is None:
        rec.image_failures = 0
        rec.image_id = check.image_id or ""
        return True
    backoff = ctx.cfg.image_backoff()
    rec.retry_at = ctx.clock.monotonic() + max(backoff.delay(rec.image_failures), 0.5)
    rec.image_failures += 1
    rec.waiting = check.error
    return False


def _fail(ctx: NodeContext, pod: Pod, container: Container, rec: ContainerRecord, reason: str, message: str,
          *, retry: float) -> None:
    ctx.api.event(pod, "Warning", "Failed", f"Error: {message}", field_path=field_path(pod, container))
    rec.waiting = Waiting(reason, message)
    rec.retry_at = ctx.clock.monotonic() + retry


def field_path(pod: Pod, container: Container) -> str:
    init_names = {c.name for c in pod.spec.init_containers or []}
    ephemeral_names = {c.name for c in pod.spec.ephemeral_containers or []}
    kind = "initContainers" if container.name in init_names else "containers"
    if container.name in ephemeral_names:
        kind = "ephemeralContainers"
    return f"spec.{kind}{{{container.name}}}"
