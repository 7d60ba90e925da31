"""What every service port of the cluster sends where: Services + EndpointSlices -> port plans.

Pure, and the one place that carries Kubernetes' endpoint rules over:

* a Service is proxied when it has a ClusterIP (not ``None``: headless; not ExternalName);
* a port's backends come from the slices labelled ``kubernetes.io/service-name``, matched by
  port name (and protocol); the target port is the slice port's number, which differs per
  slice when a named ``targetPort`` resolves differently on different pods;
* ``ready`` endpoints take traffic (a missing condition counts as true); only when none is
  ready do ``serving`` and ``terminating`` ones take it (kube-proxy's terminating fallback,
  so a rolling restart drains instead of refusing connections);
* the ``default/kubernetes`` Service has no pods: its HTTPS port goes to this node's relay
  to the API server (:mod:`kubelet.apirelay`), so in-cluster clients may use its ClusterIP;
* ``sessionAffinity: ClientIP`` keeps a client on one endpoint for ``timeoutSeconds``
  (default 10800, three hours).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from apimachinery.models.core import Service
from apimachinery.models.discovery import SERVICE_NAME_LABEL, EndpointSlice

DEFAULT_AFFINITY_TIMEOUT = 10800  # Kubernetes' sessionAffinityConfig.clientIP.timeoutSeconds default
API_SERVICE = ("default", "kubernetes")
_PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True, order=True)
class Backend:
    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class PortPlan:
    """One ``clusterIP:port/protocol`` of a Service and the endpoints its traffic goes to."""

    namespace: str
    service: str
    port_name: str
    protocol: str  # tcp, udp or sctp (nftables' spelling)
    cluster_ip: str
    port: int
    endpoints: tuple[Backend, ...] = ()
    node_port: int | None = None
    affinity_timeout: int | None = None  # seconds, with sessionAffinity ClientIP

    @property
    def name(self) -> str:
        """``namespace/service/protocol/port-name``: kube-proxy's ServicePortName with the protocol."""
        return f"{self.namespace}/{self.service}/{self.protocol}/{self.port_name}"


def plan(services: Iterable[Service], slices: Iterable[EndpointSlice], *,
         api: tuple[str, int] | None = None) -> list[PortPlan]:
    """Every proxied service port, sorted by name; ``api`` is the node's API relay (address, port)."""
    by_service: dict[tuple[str, str], list[EndpointSlice]] = {}
    for eps in slices:
        owner = (eps.metadata.labels or {}).get(SERVICE_NAME_LABEL)
        if owner and eps.address_type == "IPv4":
            by_service.setdefault((eps.metadata.namespace or "default", owner), []).append(eps)
    plans: list[PortPlan] = []
    for svc in services:
        ns, name = svc.metadata.namespace or "default", str(svc.metadata.name)
        if not proxied(svc):
            continue
        for port in svc.spec.ports or []:
            protocol = (port.protocol or "TCP").lower()
            if protocol not in _PROTOCOLS or not 0 < port.port < 65536:
                continue
            port_name = port.name or ""
            endpoints: tuple[Backend, ...]
            if (ns, name) == API_SERVICE and protocol == "tcp":
                endpoints = (Backend(*api),) if api is not None else ()
            else:
                endpoints = _endpoints(by_service.get((ns, name), []), port_name, protocol)
            plans.append(PortPlan(namespace=ns, service=name, port_name=port_name, protocol=protocol,
                                  cluster_ip=str(svc.spec.cluster_ip), port=port.port, endpoints=endpoints,
                                  node_port=port.node_port if _has_node_ports(svc) else None,
                                  affinity_timeout=affinity_timeout(svc)))
    return sorted(plans, key=lambda p: p.name)


def proxied(svc: Service) -> bool:
    """A Service with an IPv4 ClusterIP; headless and ExternalName Services have nothing to proxy."""
    return svc.spec.type != "ExternalName" and is_ipv4(svc.spec.cluster_ip)


def is_ipv4(text: str | None) -> bool:
    """Only what parses as an address reaches an nft script: the API validates it, the node checks."""
    try:
        ipaddress.IPv4Address(str(text))
    except ValueError:
        return False
    return True


def affinity_timeout(svc: Service) -> int | None:
    if svc.spec.session_affinity != "ClientIP":
        return None
    config = (svc.spec.session_affinity_config or {}).get("clientIP") or {}
    timeout = config.get("timeoutSeconds") if isinstance(config, dict) else None
    return int(timeout) if isinstance(timeout, int) and timeout > 0 else DEFAULT_AFFINITY_TIMEOUT


def _has_node_ports(svc: Service) -> bool:
    return svc.spec.type in ("NodePort", "LoadBalancer")


def _endpoints(slices: list[EndpointSlice], port_name: str, protocol: str) -> tuple[Backend, ...]:
    """Ready backends, or the serving terminating ones when none is ready; deduplicated, sorted."""
    ready: set[Backend] = set()
    fallback: set[Backend] = set()
    for eps in slices:
        number = next((p.port for p in eps.ports or []
                       if (p.name or "") == port_name and (p.protocol or "TCP").lower() == protocol), None)
        if number is None or not 0 < number < 65536:
            continue
        for ep in eps.endpoints:
            if not ep.addresses or not is_ipv4(ep.addresses[0]):
                continue
            backend = Backend(ep.addresses[0], number)
            cond = ep.conditions
            is_ready = cond is None or cond.ready is not False  # a missing condition reads as true
            serving = cond is None or cond.serving is not False
            terminating = cond is not None and cond.terminating is True
            if is_ready:
                ready.add(backend)
            elif serving and terminating:
                fallback.add(backend)
    return tuple(sorted(ready or fallback))
