"""A pod's ``/etc/resolv.conf``, built as Kubernetes' kubelet builds it (``network/dns/dns.go``).

``dnsPolicy`` picks the base: ``ClusterFirst`` (the default) and ``ClusterFirstWithHostNet``
give the cluster DNS as the only nameserver, the search list ``<ns>.svc.<zone> svc.<zone>
<zone>`` followed by the host's search domains, and ``options ndots:5``; ``ClusterFirst`` on a
``hostNetwork`` pod, and ``Default``, give the host's own resolver configuration; ``None`` gives
nothing. ``dnsConfig`` is then appended (nameservers and searches without duplicates, options
merged by name, the pod's value winning), and the result cut to the resolver's limits (3
nameservers, 32 search domains, 2048 characters of search list), as the kubelet does (the API
server refuses pods over the limits, :mod:`apiserver.validation`).

The kubelet writes the file into the pod's directory and every container of the pod mounts it
read-only at ``/etc/resolv.conf`` (Docker would otherwise point a user-defined network's
containers at its own 127.0.0.11). Pods no longer get Docker network aliases: names are the
cluster DNS's job (:mod:`kubelet.clusterdns`), and the pod's own hostname is in the
``/etc/hosts`` of its sandbox.

One deviation, for a host whose resolver is a local stub (``127.0.0.53``): such an address
means nothing inside a pod's network namespace, so under ``Default`` a loopback nameserver is
replaced by the cluster DNS address, which forwards to the host's resolvers from the host
(``hostNetwork`` pods keep it: they share the host's loopback).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apimachinery.models.core import Pod

CLUSTER_DOMAIN = "cluster.local"
HOST_RESOLV_CONF = Path("/etc/resolv.conf")
MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
MAX_SEARCH_CHARS = 2048
CLUSTER_NDOTS = "ndots:5"
CLUSTER_FIRST, CLUSTER_FIRST_WITH_HOST_NET, DEFAULT, NONE = (
    "ClusterFirst",
    "ClusterFirstWithHostNet",
    "Default",
    "None",
)
RESOLV_CONF_FILE = "etc-resolv.conf"


@dataclass(frozen=True)
class ResolvConf:
    """The three things a resolver configuration says."""

    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def render(self) -> str:
        lines = [f"nameserver {n}" for n in self.nameservers]
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "".join(f"{line}\n" for line in lines)


def parse_resolv_conf(text: str) -> ResolvConf:
    """``nameserver``, ``search`` (the last one wins, as in the resolver) and ``options`` lines."""
    nameservers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) > 1:
            nameservers.append(fields[1])
        elif fields[0] in ("search", "domain"):
            searches = [s.rstrip(".") for s in fields[1:] if s.rstrip(".")]
        elif fields[0] == "options":
            options.extend(fields[1:])
    return ResolvConf(tuple(nameservers), tuple(searches), tuple(options))


def read_host_resolv_conf(path: Path = HOST_RESOLV_CONF) -> ResolvConf:
    try:
        return parse_resolv_conf(path.read_text(errors="replace"))
    except OSError:
        return ResolvConf()


def pod_resolv_conf(
    pod: Pod, *, cluster_dns: Sequence[str], host: ResolvConf, zone: str = CLUSTER_DOMAIN
) -> ResolvConf:
    """The pod's resolver configuration (see the module's docstring)."""
    policy = pod.spec.dns_policy or CLUSTER_FIRST
    cluster = policy == CLUSTER_FIRST_WITH_HOST_NET or (policy == CLUSTER_FIRST and not pod.spec.host_network)
    if policy == NONE:
        base = ResolvConf()
    elif cluster and cluster_dns:
        namespace = pod.metadata.namespace or "default"
        searches = (f"{namespace}.svc.{zone}", f"svc.{zone}", zone, *host.searches)
        base = ResolvConf(tuple(cluster_dns), _unique(searches), (CLUSTER_NDOTS,))
    elif pod.spec.host_network:
        base = host  # the host's own network namespace: its loopback stub is reachable
    else:
        base = _host_for_pod(host, cluster_dns)
    return _fit(_append(base, pod.spec.dns_config or {}))


def _host_for_pod(host: ResolvConf, cluster_dns: Sequence[str]) -> ResolvConf:
    servers = [n for n in host.nameservers if not _loopback(n)]
    if len(servers) < len(host.nameservers):
        servers = [*cluster_dns, *servers] if cluster_dns else servers
    return ResolvConf(_unique(servers), host.searches, host.options)


def _append(base: ResolvConf, config: Mapping[str, Any]) -> ResolvConf:
    options = {_option_name(o): o for o in base.options}
    for option in config.get("options") or []:
        name = str(option.get("name") or "")
        value = option.get("value")
        options[name] = f"{name}:{value}" if value not in (None, "") else name
    return ResolvConf(
        nameservers=_unique([*base.nameservers, *(str(n) for n in config.get("nameservers") or [])]),
        searches=_unique([*base.searches, *(str(s) for s in config.get("searches") or [])]),
        options=tuple(options.values()),
    )


def _fit(conf: ResolvConf) -> ResolvConf:
    """Cut to what the resolver reads: the first 3 nameservers, search domains up to 32 and 2048 chars."""
    searches: list[str] = []
    for domain in conf.searches[:MAX_SEARCHES]:
        if len(" ".join([*searches, domain])) > MAX_SEARCH_CHARS:
            break
        searches.append(domain)
    return ResolvConf(conf.nameservers[:MAX_NAMESERVERS], tuple(searches), conf.options)


def _option_name(option: str) -> str:
    return option.split(":", 1)[0]


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@dataclass
class PodDns:
    """Writes each pod's resolv.conf under the kubelet's root, where its containers mount it from.

    ``cluster_dns`` empty: this node serves no cluster DNS (it could not learn its gateway), and
    ClusterFirst pods fall back to the host's configuration, as the kubelet does without
    ``--cluster-dns``."""

    root: Path
    cluster_dns: list[str] = field(default_factory=list)
    host_resolv_conf: Path = HOST_RESOLV_CONF
    zone: str = CLUSTER_DOMAIN

    def path(self, pod_uid: str) -> Path:
        return self.root / "pods" / pod_uid / RESOLV_CONF_FILE

    def write(self, pod: Pod) -> str:
        """Write (atomically) the pod's resolv.conf and return its path."""
        conf = pod_resolv_conf(
            pod,
            cluster_dns=self.cluster_dns,
            host=read_host_resolv_conf(self.host_resolv_conf),
            zone=self.zone,
        )
        path = self.path(pod.metadata.uid or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(conf.render())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return str(path)
