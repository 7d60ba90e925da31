"""Translate a Pod into runtime ``ContainerSpec`` values: the sandbox and each container.

The sandbox owns the pod's network identity (node network, hostname, published host ports);
the pod's containers join its network namespace and carry the process-level settings
(command, env, mounts, limits, the pod's resolv.conf). Everything here is pure, so the
translation is unit-tested without a runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from apimachinery.models.core import Container, Pod
from apimachinery.quantity import cpu_millis, memory_bytes
from kubelet import naming, security
from kubelet.dns import CLUSTER_DOMAIN
from kubelet.environment import EnvObjects, container_env, expand
from kubelet.naming import PodRef
from kubelet.pause import PAUSE_COMMAND, PAUSE_IMAGE, VOLUME_SLOTS, volume_slot
from kubelet.runtime.base import CONTAINER_NETWORK_PREFIX, HOST_NETWORK, ContainerSpec, Mount, PortBinding

DEFAULT_GRACE_PERIOD = 30
RESOLV_CONF_PATH = "/etc/resolv.conf"
# The pause process ignores SIGTERM (PID 1 without a handler) and holds no state: a daemon that
# stops the sandbox itself kills it at once instead of waiting out its default 10 s.
SANDBOX_STOP_SIGNAL = "SIGKILL"


class PodSpecError(ValueError):
    """The pod asks for something this kubelet cannot run (the message goes to the pod's status)."""


def pod_ref(pod: Pod) -> PodRef:
    meta = pod.metadata
    return PodRef(namespace=meta.namespace or "default", name=meta.name or "", uid=meta.uid or "")


def sandbox_spec(
    pod: Pod, *, node: str, attempt: int, network: str = "", extra_hosts: Mapping[str, str] | None = None,
    zone: str = CLUSTER_DOMAIN,
) -> ContainerSpec:
    """The pod's sandbox: joins the node network, publishes its host ports, and mounts its
    emptyDir volumes first, so they start with the mode of the pause image's volume slots (0777,
    see :mod:`kubelet.pause`).

    It has no network aliases: other pods find it through the cluster DNS (:mod:`kubelet.dns`),
    never through Docker's. Its ``/etc/hosts``, which the pod's containers share, names the pod's
    hostname, and with a ``subdomain`` also ``<hostname>.<subdomain>.<ns>.svc.<zone>``, as the
    kubelet-managed hosts file of Kubernetes does."""
    ref = pod_ref(pod)
    hostname = pod.spec.hostname or ref.name
    domain = f"{pod.spec.subdomain}.{ref.namespace}.svc.{zone}" if pod.spec.subdomain else None
    spec = ContainerSpec(
        name=naming.container_name(ref, naming.SANDBOX_NAME, attempt),
        image=PAUSE_IMAGE,
        labels=naming.container_labels(node=node, pod=ref, container=naming.SANDBOX_NAME, attempt=attempt, init=False),
        command=list(PAUSE_COMMAND),
        network=network or naming.network_name(node),
        hostname=hostname[:63],
        domainname=domain,
        ports=tuple(host_ports(pod)),
        extra_hosts=dict(extra_hosts or {}),  # the pod's containers share the sandbox's /etc/hosts
        stop_signal=SANDBOX_STOP_SIGNAL,
        security=security.sandbox_security(pod),
        mounts=tuple(
            Mount(source=name, target=volume_slot(index), kind="volume")
            for index, name in enumerate(empty_dir_volumes(pod)[:VOLUME_SLOTS])
        ),
    )
    if pod.spec.host_network is True:
        # The node's own network namespace: its name, addresses and ports are the node's.
        return replace(spec, network=HOST_NETWORK, hostname=None, domainname=None, ports=())
    return spec


def resolv_mount(path: str | None) -> tuple[Mount, ...]:
    if path is None:
        return ()
    return (Mount(source=path, target=RESOLV_CONF_PATH, read_only=True, kind="bind"),)


def host_ports(pod: Pod) -> list[PortBinding]:
    """Every ``hostPort`` of the pod's containers, published on the sandbox."""
    bindings = []
    for container in [*(pod.spec.init_containers or []), *pod.spec.containers]:
        for port in container.ports or []:
            if port.host_port:
                bindings.append(
                    PortBinding(
                        container_port=port.container_port,
                        host_port=port.host_port,
                        protocol=(port.protocol or "TCP").upper(),
                        host_ip=port.host_ip or "",
                    )
                )
    return bindings


def container_spec(
    pod: Pod,
    container: Container,
    *,
    node: str,
    attempt: int,
    init: bool,
    sandbox: str,
    field_values: dict[str, str],
    image_user: str = "",
    projected_dirs: Mapping[str, str] | None = None,
    service_env: Mapping[str, str] | None = None,
    share_pid_with: str | None = None,
    env_objects: EnvObjects | None = None,
    allocatable: Mapping[str, str] | None = None,
    resolv_conf: str | None = None,
    sub_paths: Mapping[int, str] | None = None,
) -> ContainerSpec:
    """One container of the pod, joined to the sandbox's network namespace.

    ``resolv_conf`` is the host path of the pod's resolver configuration, mounted read-only at
    ``/etc/resolv.conf`` (:mod:`kubelet.dns`); None keeps the runtime's.

    ``share_pid_with`` is the runtime id of the container whose PID namespace it joins (an
    ephemeral container's ``targetContainerName``).

    ``image_user`` is the image's USER (see :func:`kubelet.security.needs_image_user`).
    ``service_env`` (the Services' variables, :mod:`kubelet.serviceenv`) yields to the container's own
    ``envFrom`` and ``env``, as in Kubernetes; ``env_objects`` are the ConfigMaps and Secrets they
    read and ``allocatable`` the node's, for limits a container leaves unset
    (:mod:`kubelet.environment`). ``projected_dirs`` are the host directories the
    kubelet wrote the pod's volumes of API data to (:mod:`kubelet.volumes`); ``sub_paths`` the host
    paths of its ``subPath`` mounts by mount index (:mod:`kubelet.subpath`)."""
    ref = pod_ref(pod)
    security.verify_run_as_non_root(pod, container, image_user=image_user)
    env = container_env(pod, container, objects=env_objects or EnvObjects(), field_values=field_values,
                        allocatable=allocatable, service_env=service_env)
    limits = (container.resources.limits if container.resources else None) or {}
    return ContainerSpec(
        name=naming.container_name(ref, container.name, attempt),
        image=container.image or "",
        labels=naming.container_labels(node=node, pod=ref, container=container.name, attempt=attempt, init=init),
        command=expand_all(container.command, env),
        args=expand_all(container.args, env),
        env=env,
        working_dir=container.working_dir or None,
        mounts=(*mounts(pod, container, projected_dirs=projected_dirs, sub_paths=sub_paths),
                *resolv_mount(resolv_conf)),
        network=f"{CONTAINER_NETWORK_PREFIX}{sandbox}",
        nano_cpus=cpu_millis(limits["cpu"]) * 1_000_000 if limits.get("cpu") else None,
        memory_bytes=memory_bytes(limits["memory"]) if limits.get("memory") else None,
        stop_timeout=grace_period(pod),
        security=replace(security.container_security(pod, container, image_user=image_user),
                         pid_namespace_of=share_pid_with),
        stdin=bool(container.stdin),
        stdin_once=bool(container.stdin_once),
        tty=bool(container.tty),
    )


def grace_period(pod: Pod) -> int:
    """``terminationGracePeriodSeconds``, Kubernetes' default 30 when unset: also the grace the
    runtime gives the container when it stops it by itself (a daemon shutting down)."""
    seconds = pod.spec.termination_grace_period_seconds
    return DEFAULT_GRACE_PERIOD if seconds is None else max(int(seconds), 0)


def field_values(pod: Pod, *, node: str, pod_ip: str, host_ip: str) -> dict[str, str]:
    """The downward-API fields an env ``fieldRef`` may name."""
    meta = pod.metadata
    values = {
        "metadata.name": meta.name or "",
        "metadata.namespace": meta.namespace or "default",
        "metadata.uid": meta.uid or "",
        "spec.nodeName": pod.spec.node_name or node,
        "spec.serviceAccountName": pod.spec.service_account_name or "",
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    for key, value in (meta.labels or {}).items():
        values[f"metadata.labels['{key}']"] = value
    for key, value in (meta.annotations or {}).items():
        values[f"metadata.annotations['{key}']"] = value
    return values


def expand_all(items: list[str] | None, env: dict[str, str]) -> list[str] | None:
    return [expand(item, env) for item in items] if items else None


def mounts(pod: Pod, container: Container, *, projected_dirs: Mapping[str, str] | None = None,
           sub_paths: Mapping[int, str] | None = None) -> list[Mount]:
    """emptyDir -> the pod's named volume; hostPath and persistentVolumeClaim -> a bind mount (of
    the claim's volume's directory, found by :mod:`kubelet.claims`); configMap, secret, downwardAPI
    and projected -> a read-only bind mount of the directory the kubelet wrote it to. A ``subPath``
    mount binds the host path resolved for it (``sub_paths``, by mount index). ``projected_dirs``
    None: a hollow node, which runs no processes and writes no files, mounts none of those."""
    volumes = {v.name: v for v in pod.spec.volumes or []}
    ref = pod_ref(pod)
    out = []
    for index, mount in enumerate(container.volume_mounts or []):
        volume = volumes.get(mount.name)
        if volume is None:
            raise PodSpecError(f"container {container.name}: volume {mount.name!r} is not defined in the pod")
        claim = volume.persistent_volume_claim
        read_only = bool(mount.read_only) or bool(claim is not None and claim.get("readOnly"))
        api_data = any(source is not None for source in (volume.projected, volume.config_map, volume.secret,
                                                          volume.downward_api))
        if mount.sub_path or mount.sub_path_expr:
            if projected_dirs is None:
                continue
            if sub_paths is None or index not in sub_paths:
                raise PodSpecError(f"container {container.name}: subPath of volume {mount.name!r} is not resolved")
            out.append(Mount(source=sub_paths[index], target=mount.mount_path, read_only=read_only or api_data,
                             kind="bind"))
        elif volume.host_path is not None:
            out.append(Mount(source=volume.host_path.path, target=mount.mount_path, read_only=read_only, kind="bind"))
        elif claim is not None:
            if projected_dirs is None:
                continue
            if volume.name not in projected_dirs:
                raise PodSpecError(f"volume {volume.name!r}: its claim has not been mounted yet")
            out.append(Mount(source=projected_dirs[volume.name], target=mount.mount_path, read_only=read_only,
                             kind="bind"))
        elif api_data:
            if projected_dirs is None:
                continue
            if volume.name not in projected_dirs:
                raise PodSpecError(f"volume {volume.name!r} has not been written yet")
            out.append(Mount(source=projected_dirs[volume.name], target=mount.mount_path, read_only=True, kind="bind"))
        elif volume.empty_dir is not None or is_empty_dir(volume.model_dump(exclude_none=True)):
            out.append(
                Mount(source=naming.volume_name(ref, volume.name), target=mount.mount_path,
                      read_only=read_only, kind="volume")
            )
        else:
            raise PodSpecError(f"volume {volume.name!r}: only emptyDir, hostPath, persistentVolumeClaim, configMap, "
                               "secret, downwardAPI and projected volumes are supported")
    return out


def empty_dir_volumes(pod: Pod) -> list[str]:
    """Runtime volume names of the pod's emptyDir volumes."""
    ref = pod_ref(pod)
    return [
        naming.volume_name(ref, v.name)
        for v in pod.spec.volumes or []
        if v.empty_dir is not None or is_empty_dir(v.model_dump(exclude_none=True))
    ]


def is_empty_dir(volume: dict[str, object]) -> bool:
    """A volume with no source at all is an emptyDir, as Kubernetes defaults it."""
    return set(volume) <= {"name"}


def needs_pod_ip(pod: Pod) -> bool:
    """Whether some container's env reads the pod IP (it must wait for the sandbox's address)."""
    for container in [*(pod.spec.init_containers or []), *pod.spec.containers]:
        for var in container.env or []:
            ref = var.value_from.field_ref if var.value_from else None
            if ref is not None and ref.field_path in ("status.podIP", "status.podIPs"):
                return True
    return False
