"""Where the cluster DNS listens, and the catalog it answers from.

It listens on the pod network's gateway, port 53 (UDP and TCP): the host's address on the
network, which every pod reaches and nothing outside the host does; never on 0.0.0.0. Several
kubelets of one cluster may share one network on one host, and only one process can bind the
gateway's port 53. The others keep trying every ``retry_interval`` seconds and say so in their
log meanwhile: when the kubelet holding it stops, one of them takes over within a few seconds.
Every kubelet's informers see the whole cluster, so whichever serves gives the same answers.
UDP is bound without SO_REUSEADDR, so a second kubelet really is refused rather than sharing
the port and receiving half the queries.

``InformerCatalog`` reads the kubelet's informer caches: Services by key, EndpointSlices by an
index on their Service, namespaces by an index of the Services in them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from apimachinery.informer import InformerCache
from apimachinery.models.core import Service
from apimachinery.models.discovery import EndpointSlice
from kubelet.clusterdns.forward import Forwarder
from kubelet.clusterdns.records import CLUSTER_DOMAIN, slice_service
from kubelet.clusterdns.server import DnsHandler, TcpTransport, UdpTransport
from kubelet.dns import HOST_RESOLV_CONF, read_host_resolv_conf

log = logging.getLogger(__name__)

DNS_PORT = 53
RETRY_INTERVAL = 5.0
_BY_SERVICE = "clusterdns/service"  # own names: the service proxy may index the same informers
_BY_NAMESPACE = "clusterdns/namespace"


class InformerCatalog:
    def __init__(self, services: InformerCache[Service], slices: InformerCache[EndpointSlice]) -> None:
        self.services_cache = services
        self.slices_cache = slices
        services.add_indexer(_BY_NAMESPACE, lambda s: [s.metadata.namespace or "default"])
        slices.add_indexer(_BY_SERVICE, lambda s: [f"{s.metadata.namespace or 'default'}/{slice_service(s)}"])

    def service(self, namespace: str, name: str) -> Service | None:
        return self.services_cache.get(f"{namespace}/{name}")

    def endpoint_slices(self, namespace: str, service: str) -> list[EndpointSlice]:
        found = self.slices_cache.by_index(_BY_SERVICE, f"{namespace}/{service}")
        return sorted(found, key=lambda s: str(s.metadata.name))

    def has_namespace(self, namespace: str) -> bool:
        return bool(self.services_cache.by_index(_BY_NAMESPACE, namespace))

    def services(self) -> list[Service]:
        return self.services_cache.list()


def host_upstreams(*, exclude: str, path: str = str(HOST_RESOLV_CONF)) -> list[tuple[str, int]]:
    """The host's nameservers, but never ``exclude`` (this server: forwarding to itself loops)."""
    servers = read_host_resolv_conf(Path(path)).nameservers
    return [(s, DNS_PORT) for s in servers if s != exclude]


@dataclass
class ClusterDns:
    """Serve ``handler`` on ``address``:``port`` for as long as it runs, binding when it can."""

    handler: DnsHandler
    address: str
    port: int = DNS_PORT
    retry_interval: float = RETRY_INTERVAL
    serving: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        announced = False
        while True:
            try:
                udp, tcp = await self._bind()
            except OSError as err:
                if not announced:
                    log.warning(
                        "cluster DNS: cannot listen on %s:%d (%s); this kubelet serves no DNS "
                        "and tries again every %gs",
                        self.address,
                        self.port,
                        err,
                        self.retry_interval,
                    )
                    announced = True
                await asyncio.sleep(self.retry_interval)
                continue
            log.info("cluster DNS: serving on %s:%d (UDP and TCP)", self.address, self.port)
            self.serving.set()
            try:
                await asyncio.Event().wait()
            finally:
                self.serving.clear()
                udp.close()
                tcp.close()

    async def _bind(self) -> tuple[UdpTransport, asyncio.Server]:
        loop = asyncio.get_running_loop()
        _, udp = await loop.create_datagram_endpoint(
            lambda: UdpTransport(self.handler), local_addr=(self.address, self.port)
        )
        try:
            # SO_REUSEADDR (asyncio's default for TCP) still refuses a second listener on Linux,
            # and lets a restarted kubelet bind past its own connections in TIME_WAIT
            tcp = await asyncio.start_server(TcpTransport(self.handler).serve, self.address, self.port)
        except OSError:
            udp.close()
            raise
        return udp, tcp


def cluster_dns(
    services: InformerCache[Service],
    slices: InformerCache[EndpointSlice],
    *,
    address: str,
    port: int = DNS_PORT,
    zone: str = CLUSTER_DOMAIN,
    resolv_conf: str = str(HOST_RESOLV_CONF),
) -> ClusterDns:
    """The kubelet's cluster DNS over its informers, forwarding to the host's resolvers."""
    forwarder = Forwarder(host_upstreams(exclude=address, path=resolv_conf))
    return ClusterDns(DnsHandler(InformerCatalog(services, slices), forwarder, zone=zone), address, port)
