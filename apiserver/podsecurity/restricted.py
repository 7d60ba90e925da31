"""The restricted level: what a hardened pod must also do (Kubernetes' current best practice).

Restricted adds to baseline: only ephemeral, configuration and claim volumes; no privilege
escalation; a non-root user; a seccomp profile; every capability dropped but
NET_BIND_SERVICE. Three of these replace a baseline check at this level (volume types cover
hostPath, the capability and seccomp checks cover their baseline forms). Pods declaring
``spec.os.name: windows`` are exempt from the Linux-only checks, as in Kubernetes 1.25+.
"""

from __future__ import annotations

from apiserver.podsecurity.results import (
    CheckResult,
    Obj,
    as_dict,
    containers,
    containers_phrase,
    join_quote,
    name_of,
    pluralize,
    security_context,
    setters,
)

ALLOWED_VOLUME_SOURCES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                          "projected", "secret")
#: The restricted volume types Kubernetes names in its message, in the order it tests them.
RESTRICTED_VOLUME_TYPES = (
    "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd", "flexVolume",
    "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos", "hostPath",
)


def _windows(spec: Obj) -> bool:
    return as_dict(spec.get("os")).get("name") == "windows"


def volume_types(meta: Obj, spec: Obj) -> CheckResult | None:
    names: list[str] = []
    kinds: set[str] = set()
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict) or any(volume.get(s) is not None for s in ALLOWED_VOLUME_SOURCES):
            continue
        if set(volume) <= {"name"}:
            continue  # no source at all: defaulted to an emptyDir
        names.append(str(volume.get("name") or ""))
        kinds.add(next((t for t in RESTRICTED_VOLUME_TYPES if volume.get(t) is not None), "unknown"))
    if not names:
        return None
    return CheckResult(
        "restricted volume types",
        f"{pluralize('volume', 'volumes', len(names))} {join_quote(names)} {pluralize('uses', 'use', len(names))} "
        f"{pluralize('restricted volume type', 'restricted volume types', len(kinds))} {join_quote(sorted(kinds))}",
    )


def privilege_escalation(meta: Obj, spec: Obj) -> CheckResult | None:
    if _windows(spec):
        return None
    names = [name_of(c) for c in containers(spec) if security_context(c).get("allowPrivilegeEscalation") is not False]
    if not names:
        return None
    return CheckResult(
        "allowPrivilegeEscalation != false",
        f"{containers_phrase(names)} must set securityContext.allowPrivilegeEscalation=false",
    )


def run_as_non_root(meta: Obj, spec: Obj) -> CheckResult | None:
    if spec.get("hostUsers") is False:
        return None  # root inside a user namespace is not root on the node
    pod_value = security_context(spec).get("runAsNonRoot")
    explicit, implicit = [], []
    for container in containers(spec):
        value = security_context(container).get("runAsNonRoot")
        if value is False:
            explicit.append(name_of(container))
        elif value is None and pod_value is not True:
            implicit.append(name_of(container))
    if pod_value is False or explicit:
        return CheckResult(
            "runAsNonRoot != true",
            f"{setters(pod_value is False, explicit)} must not set securityContext.runAsNonRoot=false",
        )
    if implicit:
        return CheckResult(
            "runAsNonRoot != true", f"pod or {containers_phrase(implicit)} must set securityContext.runAsNonRoot=true"
        )
    return None


def run_as_user(meta: Obj, spec: Obj) -> CheckResult | None:
    if spec.get("hostUsers") is False:
        return None

    def root(obj: Obj) -> bool:
        value = security_context(obj).get("runAsUser")
        return value == 0 and not isinstance(value, bool)

    pod = root(spec)
    names = [name_of(c) for c in containers(spec) if root(c)]
    if not pod and not names:
        return None
    return CheckResult("runAsUser=0", f"{setters(pod, names)} must not set runAsUser=0")


def seccomp(meta: Obj, spec: Obj) -> CheckResult | None:
    if _windows(spec):
        return None
    values: set[str] = set()

    def profile_type(obj: Obj) -> str | None:
        profile = security_context(obj).get("seccompProfile")
        return str(profile.get("type") or "") if isinstance(profile, dict) else None

    pod_type = profile_type(spec)
    pod_bad = pod_type is not None and pod_type not in ("RuntimeDefault", "Localhost")
    if pod_bad:
        values.add(str(pod_type))
    explicit, implicit = [], []
    for container in containers(spec):
        kind = profile_type(container)
        if kind is None:
            if pod_type is None or pod_bad:
                implicit.append(name_of(container))
        elif kind not in ("RuntimeDefault", "Localhost"):
            explicit.append(name_of(container))
            values.add(kind)
    if pod_bad or explicit:
        return CheckResult(
            "seccompProfile",
            f"{setters(pod_bad, explicit)} must not set securityContext.seccompProfile.type to {join_quote(sorted(values))}",
        )
    if implicit:
        return CheckResult(
            "seccompProfile",
            f'pod or {containers_phrase(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" '
            'or "Localhost"',
        )
    return None


def capabilities(meta: Obj, spec: Obj) -> CheckResult | None:
    if _windows(spec):
        return None
    missing_drop, adding = [], []
    added: set[str] = set()
    for container in containers(spec):
        caps = security_context(container).get("capabilities")
        if not isinstance(caps, dict):
            missing_drop.append(name_of(container))
            continue
        if "ALL" not in (caps.get("drop") or []):
            missing_drop.append(name_of(container))
        extra = {str(c) for c in caps.get("add") or [] if c != "NET_BIND_SERVICE"}
        if extra:
            adding.append(name_of(container))
            added |= extra
    details = []
    if missing_drop:
        details.append(f'{containers_phrase(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(
            f"{containers_phrase(adding)} must not include {join_quote(sorted(added))} in securityContext.capabilities.add"
        )
    return CheckResult("unrestricted capabilities", "; ".join(details)) if details else None
