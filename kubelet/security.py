"""A pod's securityContext as runtime settings, and the kubelet's own refusals.

The pod-level ``securityContext`` gives defaults that a container's own overrides
(``runAsUser``, ``runAsGroup``, ``runAsNonRoot``, ``seccompProfile``, ``appArmorProfile``);
``supplementalGroups``, ``fsGroup`` and ``sysctls`` exist only on the pod. What each field
becomes in Docker, and what the API server refuses because no node could apply it, is the
table in :mod:`apiserver.admissionplugins.kubeletsupport` (the README's limits repeat it). The
kubelet checks the refused fields again, so a pod that reached it by another road (an older
server) fails visibly with ``CreateContainerConfigError`` instead of running with less
isolation than it asked for.

A hostNetwork pod's network-namespace sysctls (``net.*``) cannot be set (the namespace is the
node's); others go where their namespace lives: ``net.*`` on the sandbox that owns the pod's
network namespace, the IPC ones (``kernel.shm*``, ``kernel.msg*``, ``kernel.sem``,
``fs.mqueue.*``) on every container, each of which has its own IPC namespace.

Everything here is pure.
"""

from __future__ import annotations

from typing import Any

from apimachinery.models.core import Container, Pod
from kubelet.runtime.base import Security

NET_SYSCTL_PREFIX = "net."
IPC_SYSCTL_PREFIXES = ("kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue.")
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


class SecurityContextError(ValueError):
    """The container cannot run as asked; the message is Kubernetes' (CreateContainerConfigError)."""


def pod_context(pod: Pod) -> dict[str, Any]:
    return dict(pod.spec.security_context or {})


def container_context(container: Container) -> dict[str, Any]:
    return dict(container.security_context or {})


def effective(pod: Pod, container: Container, key: str) -> Any:
    """A setting both levels have: the container's if it sets it, else the pod's."""
    own = container_context(container).get(key)
    return own if own is not None else pod_context(pod).get(key)


def container_security(pod: Pod, container: Container, *, image_user: str = "") -> Security:
    """The runtime settings of one application (or init) container of ``pod``."""
    refuse_unsupported(pod, container)
    context = container_context(container)
    caps = context.get("capabilities") or {}
    groups = [*(pod_context(pod).get("supplementalGroups") or [])]
    if pod_context(pod).get("fsGroup") is not None:
        groups.append(pod_context(pod)["fsGroup"])
    seccomp = (effective(pod, container, "seccompProfile") or {}).get("type")
    apparmor = (effective(pod, container, "appArmorProfile") or {}).get("type")
    if (pod.metadata.annotations or {}).get(APPARMOR_ANNOTATION_PREFIX + container.name) == "unconfined":
        apparmor = "Unconfined"
    return Security(
        privileged=context.get("privileged") is True,
        cap_add=tuple(str(c) for c in caps.get("add") or []),
        cap_drop=tuple(str(c) for c in caps.get("drop") or []),
        read_only_rootfs=context.get("readOnlyRootFilesystem") is True,
        user=docker_user(pod, container, image_user=image_user),
        group_add=tuple(dict.fromkeys(str(g) for g in groups)),
        no_new_privileges=context.get("allowPrivilegeEscalation") is False,
        seccomp_unconfined=seccomp == "Unconfined",
        apparmor_unconfined=apparmor == "Unconfined",
        unmasked_paths=context.get("procMount") == "Unmasked",
        host_pid=pod.spec.host_pid is True,
        host_ipc=pod.spec.host_ipc is True,
        sysctls=tuple(s for s in sysctls(pod) if s[0].startswith(IPC_SYSCTL_PREFIXES)),
    )


def sandbox_security(pod: Pod) -> Security:
    """The sandbox owns the pod's network namespace: its ``net.*`` sysctls are set there."""
    if pod.spec.host_network is True:
        return Security()
    return Security(sysctls=tuple(s for s in sysctls(pod) if s[0].startswith(NET_SYSCTL_PREFIX)))


def sysctls(pod: Pod) -> list[tuple[str, str]]:
    return [(str(s.get("name")), str(s.get("value", ""))) for s in pod_context(pod).get("sysctls") or []
            if isinstance(s, dict)]


def needs_image_user(pod: Pod, container: Container) -> bool:
    """Whether the image's USER matters: to verify runAsNonRoot, or to pair it with runAsGroup."""
    if effective(pod, container, "runAsUser") is not None:
        return False
    return effective(pod, container, "runAsNonRoot") is True or effective(pod, container, "runAsGroup") is not None


def docker_user(pod: Pod, container: Container, *, image_user: str) -> str | None:
    """``runAsUser[:runAsGroup]``; a group alone keeps the image's user."""
    uid = effective(pod, container, "runAsUser")
    gid = effective(pod, container, "runAsGroup")
    if uid is None and gid is None:
        return None
    user = str(uid) if uid is not None else (image_user.split(":")[0] or "0")
    return f"{user}:{gid}" if gid is not None else user


def verify_run_as_non_root(pod: Pod, container: Container, *, image_user: str) -> None:
    """Kubernetes' check before creating a container: with ``runAsNonRoot`` its user must be
    known not to be root (a numeric, non-zero uid from the pod or the image)."""
    if effective(pod, container, "runAsNonRoot") is not True:
        return
    where = f'(pod: "{_pod_name(pod)}", container: {container.name})'
    uid = effective(pod, container, "runAsUser")
    if uid is not None:
        if int(uid) == 0:
            raise SecurityContextError(f"container's runAsUser breaks non-root policy {where}")
        return
    user = image_user.split(":")[0]
    if user and not user.isdigit():
        raise SecurityContextError(
            f"container has runAsNonRoot and image has non-numeric user ({user}), cannot verify user is non-root "
            f"{where}"
        )
    if not user or int(user) == 0:
        raise SecurityContextError(f"container has runAsNonRoot and image will run as root {where}")


def refuse_unsupported(pod: Pod, container: Container) -> None:
    """What the API server refuses (see its KubeletSupport plugin), refused here again."""
    for owner, context in (("pod", pod_context(pod)), (f"container {container.name}", container_context(container))):
        for key in ("seLinuxOptions", "windowsOptions"):
            if context.get(key) is not None:
                raise SecurityContextError(f"{owner}: securityContext.{key} is not supported on this node")
        for key in ("seccompProfile", "appArmorProfile"):
            if (context.get(key) or {}).get("type") == "Localhost":
                raise SecurityContextError(f"{owner}: Localhost {key} profiles are not supported on this node")
    if pod.spec.host_users is False:
        raise SecurityContextError("hostUsers: false (user namespaces) is not supported on this node")
    for name, _ in sysctls(pod):
        if not name.startswith((NET_SYSCTL_PREFIX, *IPC_SYSCTL_PREFIXES)):
            raise SecurityContextError(f"sysctl {name!r} is not namespaced and is not allowed on this node")
        if name.startswith(NET_SYSCTL_PREFIX) and pod.spec.host_network is True:
            raise SecurityContextError(f"sysctl {name!r} is not allowed with hostNetwork")


def _pod_name(pod: Pod) -> str:
    """Kubernetes' ``format.Pod``: name_namespace(uid)."""
    meta = pod.metadata
    return f"{meta.name}_{meta.namespace or 'default'}({meta.uid or ''})"
