"""KubeletSupport: refuse (422) the security settings a podvisor node cannot apply.

A setting the kubelet would silently drop is worse than a refusal: the pod would run with less
isolation (or other isolation) than its author asked for. So every security-relevant pod field
is either honoured by the kubelet (in the Docker container config) or refused here, naming the
field. The decision per field:

============================================  ==========  =============================================
field                                         decision    how
============================================  ==========  =============================================
``privileged``                                honoured    Docker ``Privileged``
``hostNetwork`` / ``hostPID`` / ``hostIPC``   honoured    sandbox on the host network; ``PidMode`` /
                                                          ``IpcMode`` ``host``
``capabilities.add`` / ``.drop``              honoured    ``CapAdd`` / ``CapDrop``
``readOnlyRootFilesystem``                    honoured    ``ReadonlyRootfs``
``runAsUser`` / ``runAsGroup``                honoured    ``User: uid:gid``
``supplementalGroups`` / ``fsGroup``          honoured    ``GroupAdd`` (fsGroup: the group only; volume
                                                          ownership is not changed, emptyDirs are 0777)
``runAsNonRoot``                              honoured    the kubelet refuses a root user:
                                                          ``CreateContainerConfigError``
``allowPrivilegeEscalation: false``           honoured    ``no-new-privileges``
``seccompProfile`` RuntimeDefault/Unconfined  honoured    Docker's default profile / ``seccomp=unconfined``
``seccompProfile`` Localhost                  refused     profiles are not distributed to nodes
``appArmorProfile`` RuntimeDefault/Unconfined honoured    Docker's default / ``apparmor=unconfined``
``appArmorProfile`` Localhost (and the        refused     profiles are not distributed to nodes
``localhost/`` annotation)
``procMount: Unmasked``                       honoured    ``systempaths=unconfined``
``sysctls`` (namespaced: ``kernel.shm*``,     honoured    Docker ``Sysctls`` (net.* on the sandbox)
``kernel.msg*``, ``kernel.sem``,
``fs.mqueue.*``, ``net.*``)
``sysctls`` (any other)                       refused     it would change the whole node
``seLinuxOptions``                            refused     nodes run without SELinux labelling
``windowsOptions``, ``os.name: windows``      refused     nodes run Linux containers
``hostUsers: false``                          refused     Docker has no per-container user namespace
``hostPort``                                  honoured    published on the sandbox
============================================  ==========  =============================================

As in Kubernetes, ``allowPrivilegeEscalation: false`` is also refused (422) together with
``privileged: true`` or an added ``CAP_SYS_ADMIN``: the two cannot both hold.

Pods are checked on create and on updates of their spec; Deployment and ReplicaSet templates
too, so a workload that could never start is refused when it is written, not when its pods are.
This plugin runs after PodSecurity, so a namespace's policy speaks first (403), as it would in
Kubernetes.
"""

from __future__ import annotations

from typing import Any

from apimachinery import resources as res
from apimachinery.errors import invalid
from apiserver.admissionplugins.base import CREATE, UPDATE, Attributes
from apiserver.validation import Cause, forbidden, invalid_value, not_supported

Obj = dict[str, Any]

NAMESPACED_SYSCTL_PREFIXES = ("kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue.", "net.")
IPC_SYSCTL_PREFIXES = ("kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue.")
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
_POD_SUBRESOURCES_WITHOUT_SPEC = frozenset({"status", "binding", "log", "exec", "eviction", "attach", "portforward",
                                            "proxy"})
_NO_PROFILES = "profiles are not distributed to podvisor nodes; use RuntimeDefault or Unconfined"


class KubeletSupport:
    """The validating plugin; see the module docstring for the table it enforces."""

    def admit(self, attrs: Attributes) -> list[str]:
        return []

    def validate(self, attrs: Attributes) -> list[str]:
        if attrs.operation not in (CREATE, UPDATE) or attrs.obj is None:
            return []
        if attrs.rt is res.PODS and attrs.subresource not in _POD_SUBRESOURCES_WITHOUT_SPEC:
            causes = unsupported(_as_dict(attrs.obj.get("metadata")), _as_dict(attrs.obj.get("spec")),
                                 meta_path="metadata", spec_path="spec")
        elif attrs.rt in (res.DEPLOYMENTS, res.REPLICASETS, res.JOBS) and not attrs.subresource:
            template = _as_dict(_as_dict(attrs.obj.get("spec")).get("template"))
            causes = unsupported(_as_dict(template.get("metadata")), _as_dict(template.get("spec")),
                                 meta_path="spec.template.metadata", spec_path="spec.template.spec")
        else:
            return []
        if causes:
            raise invalid(attrs.rt.kind, attrs.name, causes, group=attrs.rt.group)
        return []


def unsupported(meta: Obj, spec: Obj, *, meta_path: str, spec_path: str) -> list[Cause]:
    """One cause per field of a pod (metadata and spec as wire dicts) the kubelet cannot honour."""
    causes = _pod_level(spec, spec_path)
    causes += _security_context(_as_dict(spec.get("securityContext")), f"{spec_path}.securityContext")
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(spec.get(key) or []):
            context = _as_dict(_as_dict(container).get("securityContext"))
            causes += _security_context(context, f"{spec_path}.{key}[{index}].securityContext")
            causes += _escalation(context, f"{spec_path}.{key}[{index}].securityContext")
    for name, value in _as_dict(meta.get("annotations")).items():
        if name.startswith(APPARMOR_ANNOTATION_PREFIX) and str(value).startswith("localhost/"):
            causes.append(forbidden(f"{meta_path}.annotations[{name}]", f"Localhost AppArmor {_NO_PROFILES}"))
    return causes


def _pod_level(spec: Obj, path: str) -> list[Cause]:
    causes = []
    os_name = _as_dict(spec.get("os")).get("name")
    if os_name not in (None, "linux"):
        causes.append(not_supported(f"{path}.os.name", os_name, ["linux"]))
    if spec.get("hostUsers") is False:
        causes.append(forbidden(f"{path}.hostUsers", "user namespaces are not supported by podvisor's Docker runtime"))
    sysctls = _as_dict(spec.get("securityContext")).get("sysctls") or []
    for index, sysctl in enumerate(sysctls):
        name = str(_as_dict(sysctl).get("name") or "")
        field = f"{path}.securityContext.sysctls[{index}].name"
        if not name.startswith(NAMESPACED_SYSCTL_PREFIXES):
            causes.append(forbidden(field, f"sysctl {name!r} is not namespaced: it would change the whole node"))
        elif name.startswith("net.") and spec.get("hostNetwork") is True:
            causes.append(forbidden(field, f"sysctl {name!r} not allowed with hostNetwork enabled"))
        elif name.startswith(IPC_SYSCTL_PREFIXES) and spec.get("hostIPC") is True:
            causes.append(forbidden(field, f"sysctl {name!r} not allowed with hostIPC enabled"))
    return causes


def _security_context(context: Obj, path: str) -> list[Cause]:
    causes = []
    if context.get("seLinuxOptions") is not None:
        causes.append(forbidden(f"{path}.seLinuxOptions", "SELinux options cannot be applied: podvisor nodes run "
                                                          "without SELinux labelling"))
    if context.get("windowsOptions") is not None:
        causes.append(forbidden(f"{path}.windowsOptions", "podvisor nodes run Linux containers only"))
    if _as_dict(context.get("seccompProfile")).get("type") == "Localhost":
        causes.append(forbidden(f"{path}.seccompProfile.type", f"Localhost seccomp {_NO_PROFILES}"))
    if _as_dict(context.get("appArmorProfile")).get("type") == "Localhost":
        causes.append(forbidden(f"{path}.appArmorProfile.type", f"Localhost AppArmor {_NO_PROFILES}"))
    return causes


def _escalation(context: Obj, path: str) -> list[Cause]:
    """Kubernetes' own rule: no-new-privileges cannot hold for a privileged or CAP_SYS_ADMIN process."""
    if context.get("allowPrivilegeEscalation") is not False:
        return []
    causes = []
    if context.get("privileged") is True:
        causes.append(invalid_value(path, context, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
    if "CAP_SYS_ADMIN" in (_as_dict(context.get("capabilities")).get("add") or []):
        causes.append(invalid_value(
            path, context, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
    return causes


def _as_dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}
