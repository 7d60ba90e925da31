"""The baseline level: what keeps a pod from taking over its node.

Each function is one of Kubernetes' ``policy/check_*.go`` checks at its latest version, reading
the pod's metadata and spec as wire dicts and phrasing its finding as Kubernetes does, so a
refusal reads exactly like kube-apiserver's (``host namespaces (hostNetwork=true)``).
"""

from __future__ import annotations

from apiserver.podsecurity.results import (
    CheckResult,
    Obj,
    as_dict,
    containers,
    containers_phrase,
    go_quote,
    join_quote,
    name_of,
    pluralize,
    security_context,
    setters,
)

#: Capabilities a baseline container may add (Docker's default set, minus NET_RAW).
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
#: Sysctls namespaced to the pod and isolated from other pods (the 1.32 set).
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HOOKS = ("postStart", "preStop")


def host_process(meta: Obj, spec: Obj) -> CheckResult | None:
    def sets(obj: Obj) -> bool:
        return as_dict(security_context(obj).get("windowsOptions")).get("hostProcess") is True

    names = [name_of(c) for c in containers(spec) if sets(c)]
    if not sets(spec) and not names:
        return None
    return CheckResult(
        "hostProcess", f"{setters(sets(spec), names)} must not set securityContext.windowsOptions.hostProcess=true"
    )


def host_namespaces(meta: Obj, spec: Obj) -> CheckResult | None:
    shared = sorted(f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key) is True)
    return CheckResult("host namespaces", ", ".join(shared)) if shared else None


def privileged(meta: Obj, spec: Obj) -> CheckResult | None:
    names = [name_of(c) for c in containers(spec) if security_context(c).get("privileged") is True]
    if not names:
        return None
    return CheckResult("privileged", f"{containers_phrase(names)} must not set securityContext.privileged=true")


def capabilities(meta: Obj, spec: Obj) -> CheckResult | None:
    names: list[str] = []
    added: set[str] = set()
    for container in containers(spec):
        extra = {str(c) for c in as_dict(security_context(container).get("capabilities")).get("add") or []}
        extra -= BASELINE_CAPABILITIES
        if extra:
            names.append(name_of(container))
            added |= extra
    if not names:
        return None
    return CheckResult(
        "non-default capabilities",
        f"{containers_phrase(names)} must not include {join_quote(sorted(added))} in securityContext.capabilities.add",
    )


def host_path_volumes(meta: Obj, spec: Obj) -> CheckResult | None:
    names = [str(v.get("name") or "") for v in spec.get("volumes") or [] if isinstance(v, dict) and "hostPath" in v
             and v["hostPath"] is not None]
    if not names:
        return None
    return CheckResult("hostPath volumes", f"{pluralize('volume', 'volumes', len(names))} {join_quote(names)}")


def host_ports(meta: Obj, spec: Obj) -> CheckResult | None:
    names: list[str] = []
    ports: set[str] = set()
    for container in containers(spec):
        used = {str(p.get("hostPort")) for p in container.get("ports") or [] if isinstance(p, dict) and p.get("hostPort")}
        if used:
            names.append(name_of(container))
            ports |= used
    if not names:
        return None
    return CheckResult(
        "hostPort",
        f"{containers_phrase(names)} {pluralize('uses', 'use', len(names))} "
        f"{pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}",
    )


def probe_hosts(meta: Obj, spec: Obj) -> CheckResult | None:
    """Probes and lifecycle handlers may reach only the pod itself (``host`` unset)."""
    names: set[str] = set()
    hosts: set[str] = set()
    for container in containers(spec):
        handlers = [as_dict(container.get(p)) for p in _PROBES]
        handlers += [as_dict(as_dict(container.get("lifecycle")).get(h)) for h in _HOOKS]
        found = {str(as_dict(h.get(a)).get("host")) for h in handlers for a in ("httpGet", "tcpSocket")
                 if as_dict(h.get(a)).get("host")}
        if found:
            names.add(name_of(container))
            hosts |= found
    if not names:
        return None
    return CheckResult(
        "probe or lifecycle host",
        f"{containers_phrase(sorted(names))} {pluralize('uses', 'use', len(names))} "
        f"{pluralize('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} {join_quote(sorted(hosts))}",
    )


def app_armor(meta: Obj, spec: Obj) -> CheckResult | None:
    def bad_type(obj: Obj) -> str | None:
        profile = security_context(obj).get("appArmorProfile")
        if not isinstance(profile, dict):
            return None
        kind = str(profile.get("type") or "")
        return None if kind in APPARMOR_TYPES else kind

    values = {t for t in [bad_type(spec), *(bad_type(c) for c in containers(spec))] if t is not None}
    names = [name_of(c) for c in containers(spec) if bad_type(c) is not None]
    who = [setters(bad_type(spec) is not None, names)] if bad_type(spec) is not None or names else []
    annotations = sorted(
        f"{key}={go_quote(str(value))}" for key, value in as_dict(meta.get("annotations")).items()
        if key.startswith(APPARMOR_ANNOTATION_PREFIX) and not _allowed_apparmor_annotation(str(value))
    )
    if annotations:
        who.append(pluralize("annotation", "annotations", len(annotations)))
    if not who:
        return None
    bad = sorted(values) + annotations
    return CheckResult(
        pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(bad)),
        f"{' and '.join(who)} must not set AppArmor profile type to {join_quote(bad)}",
    )


def _allowed_apparmor_annotation(value: str) -> bool:
    return value in ("", "runtime/default") or value.startswith("localhost/")


def se_linux(meta: Obj, spec: Obj) -> CheckResult | None:
    types: set[str] = set()
    flags = {"user": False, "role": False}

    def bad(obj: Obj) -> bool:
        options = security_context(obj).get("seLinuxOptions")
        if not isinstance(options, dict):
            return False
        found = False
        if str(options.get("type") or "") not in SELINUX_TYPES:
            types.add(str(options.get("type")))
            found = True
        for key in ("user", "role"):
            if options.get(key):
                flags[key] = found = True
        return found

    pod = bad(spec)
    names = [name_of(c) for c in containers(spec) if bad(c)]
    if not pod and not names:
        return None
    data = [f"{pluralize('type', 'types', len(types))} {join_quote(sorted(types))}"] if types else []
    data += [f"{key} may not be set" for key in ("user", "role") if flags[key]]
    return CheckResult(
        "seLinuxOptions", f"{setters(pod, names)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}"
    )


def proc_mount(meta: Obj, spec: Obj) -> CheckResult | None:
    if spec.get("hostUsers") is False:
        return None  # a user-namespaced pod's unmasked /proc is its own
    names: list[str] = []
    kinds: set[str] = set()
    for container in containers(spec):
        mount = security_context(container).get("procMount")
        if mount is not None and mount != "Default":
            names.append(name_of(container))
            kinds.add(str(mount))
    if not names:
        return None
    return CheckResult(
        "procMount", f"{containers_phrase(names)} must not set securityContext.procMount to {join_quote(sorted(kinds))}"
    )


def seccomp(meta: Obj, spec: Obj) -> CheckResult | None:
    values: set[str] = set()

    def bad(obj: Obj) -> bool:
        profile = security_context(obj).get("seccompProfile")
        if isinstance(profile, dict) and str(profile.get("type") or "") not in SECCOMP_TYPES:
            values.add(str(profile.get("type") or ""))
            return True
        return False

    pod = bad(spec)
    names = [name_of(c) for c in containers(spec) if bad(c)]
    if not pod and not names:
        return None
    return CheckResult(
        "seccompProfile",
        f"{setters(pod, names)} must not set securityContext.seccompProfile.type to {join_quote(sorted(values))}",
    )


def sysctls(meta: Obj, spec: Obj) -> CheckResult | None:
    names = [str(s.get("name")) for s in security_context(spec).get("sysctls") or []
             if isinstance(s, dict) and s.get("name") not in SAFE_SYSCTLS]
    return CheckResult("forbidden sysctls", ", ".join(names)) if names else None
