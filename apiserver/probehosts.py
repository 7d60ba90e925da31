"""Probe and lifecycle-hook ``host``: refused when it can never be the pod.

Kubernetes deprecated ``host`` on httpGet/tcpSocket handlers because the kubelet connects to
it from the node: ``127.0.0.1`` reaches the node's own services, ``169.254.169.254`` a cloud's
metadata service (KEP-4940; Pod Security baseline allows only ``""``, ``127.0.0.1``, ``::1``).
podvisor's kubelet probes only the pod, so a host other than empty or the pod's own IP fails
at run time (the kubelet refuses it; :mod:`kubelet.probes`). The pod's IP is not known when
the pod is created, so the API refuses (422) what it can know is never the pod: loopback,
link-local (the metadata address among them), unspecified, multicast and broadcast
addresses (IPv4-mapped forms too), and the names ``localhost`` / ``*.localhost``. Any other
value is left to the kubelet.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from apimachinery.errors import cause

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HOOKS = ("postStart", "preStop")
HANDLERS = ("httpGet", "tcpSocket")
MESSAGE = "must be empty or the pod's own IP: the kubelet connects only to the pod, never to {what}"


def never_the_pod(host: str) -> str | None:
    """What ``host`` is if it can never be a pod's IP (e.g. "a loopback address"), else None."""
    text = host.strip().removeprefix("[").removesuffix("]").lower().rstrip(".")
    if text == "localhost" or text.endswith(".localhost"):
        return "the node's loopback"
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "the node's loopback"
    if ip.is_link_local:
        return "a link-local address (such as the metadata service 169.254.169.254)"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast or ip == ipaddress.IPv4Address("255.255.255.255"):
        return "a multicast or broadcast address"
    return None


def probe_host_causes(spec: dict[str, Any], path: str) -> list[dict[str, str]]:
    """422 causes naming each ``...httpGet.host`` / ``...tcpSocket.host`` that is never the pod."""
    causes = []
    for list_name in ("containers", "initContainers"):
        for i, container in enumerate(_dicts(spec.get(list_name))):
            base = f"{path}.{list_name}[{i}]"
            handlers = [(f"{base}.{p}", container.get(p)) for p in PROBES]
            lifecycle = container.get("lifecycle")
            if isinstance(lifecycle, dict):
                handlers += [(f"{base}.lifecycle.{h}", lifecycle.get(h)) for h in HOOKS]
            for where, handler in handlers:
                causes += _handler_causes(where, handler)
    return causes


def _handler_causes(where: str, handler: Any) -> list[dict[str, str]]:
    found = []
    for kind in HANDLERS:
        action = handler.get(kind) if isinstance(handler, dict) else None
        host = action.get("host") if isinstance(action, dict) else None
        if isinstance(host, str) and host and (what := never_the_pod(host)) is not None:
            found.append(cause(f"{where}.{kind}.host", f'Invalid value: "{host}": ' + MESSAGE.format(what=what)))
    return found


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
