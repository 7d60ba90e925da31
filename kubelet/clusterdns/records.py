"""What the cluster DNS answers for a name: Kubernetes' DNS specification, as a pure function.

``resolve(name, type, catalog)`` returns the answer for a name under the cluster domain (or a
reverse name of a ClusterIP or endpoint), or None for a name that is not the cluster's, which
the server forwards. The records are those of the Kubernetes DNS-based service discovery
specification (schema 1.1.0), with CoreDNS's choices where the specification leaves one open:

* ``<svc>.<ns>.svc.<zone>``: A of the ClusterIP; for a headless Service (``clusterIP: None``)
  one A per *ready* endpoint address, all of them, and an empty answer (not NXDOMAIN) when none
  is ready. A Service whose ClusterIP is not allocated yet is answered as a headless one, from
  its ready endpoints: the only addresses there are. ExternalName: a CNAME to the external name,
  whatever type was asked.
* ``<hostname>.<svc>.<ns>.svc.<zone>``: a headless Service's endpoint by its ``hostname``, or
  by its address with dashes (``10-0-0-7``) when it has none, CoreDNS's identifier.
* ``_<port>._<proto>.<svc>.<ns>.svc.<zone>`` SRV for each named port: priority 0, the weight
  split evenly as CoreDNS does, the target the Service (ClusterIP) or each ready endpoint
  (headless), whose addresses go in the additional section.
* PTR of a ClusterIP and of a headless Service's ready endpoints; ``<a>-<b>-<c>-<d>.<ns>.pod``
  A (CoreDNS's ``pods insecure``, the kubeadm default); ``dns-version`` TXT.
* A name under the zone that does not exist: NXDOMAIN; an existing name (the zone, ``svc``, a
  namespace with Services, ``_tcp.<svc>``...) without records of the asked type: NOERROR and no
  answer (NODATA). Both carry the zone's SOA in the authority section, for negative caching.

Name comparisons are case-insensitive; answers carry the name as asked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import dns.exception
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.rrset

from apimachinery.models.core import Service, ServicePort
from apimachinery.models.discovery import SERVICE_NAME_LABEL, EndpointSlice

CLUSTER_DOMAIN = "cluster.local"
TTL = 5  # CoreDNS's kubernetes plugin default: answers follow endpoint changes within seconds
SCHEMA_VERSION = "1.1.0"
_REVERSE_V4 = dns.name.from_text("in-addr.arpa.")
_REVERSE_V6 = dns.name.from_text("ip6.arpa.")
A, AAAA, CNAME, NS, PTR, SOA, SRV, TXT, ANY = (
    dns.rdatatype.A,
    dns.rdatatype.AAAA,
    dns.rdatatype.CNAME,
    dns.rdatatype.NS,
    dns.rdatatype.PTR,
    dns.rdatatype.SOA,
    dns.rdatatype.SRV,
    dns.rdatatype.TXT,
    dns.rdatatype.ANY,
)


class Catalog(Protocol):
    """The cluster as the DNS sees it (the kubelet's informer caches, or a fixed list in tests)."""

    def service(self, namespace: str, name: str) -> Service | None: ...

    def endpoint_slices(self, namespace: str, service: str) -> list[EndpointSlice]: ...

    def has_namespace(self, namespace: str) -> bool:
        """Whether any Service lives in it (the DNS knows namespaces only through their Services)."""
        ...

    def services(self) -> list[Service]: ...


@dataclass
class StaticCatalog:
    """A catalog over fixed lists."""

    items: list[Service] = field(default_factory=list)
    slices: list[EndpointSlice] = field(default_factory=list)

    def service(self, namespace: str, name: str) -> Service | None:
        return next((s for s in self.items if _ns(s) == namespace and s.metadata.name == name), None)

    def endpoint_slices(self, namespace: str, service: str) -> list[EndpointSlice]:
        return [s for s in self.slices if _ns(s) == namespace and slice_service(s) == service]

    def has_namespace(self, namespace: str) -> bool:
        return any(_ns(s) == namespace for s in self.items)

    def services(self) -> list[Service]:
        return list(self.items)


@dataclass(frozen=True)
class Answer:
    """The sections of a response; ``authority`` holds the SOA of a negative answer."""

    rcode: dns.rcode.Rcode = dns.rcode.NOERROR
    answer: tuple[dns.rrset.RRset, ...] = ()
    additional: tuple[dns.rrset.RRset, ...] = ()
    authority: tuple[dns.rrset.RRset, ...] = ()


def slice_service(endpoint_slice: EndpointSlice) -> str:
    return (endpoint_slice.metadata.labels or {}).get(SERVICE_NAME_LABEL, "")


def resolve(
    qname: dns.name.Name, qtype: dns.rdatatype.RdataType, catalog: Catalog, *, zone: str = CLUSTER_DOMAIN
) -> Answer | None:
    """The answer to ``qname``/``qtype``, or None when the name is not the cluster's to answer."""
    origin = dns.name.from_text(zone)
    if qname.is_subdomain(_REVERSE_V4) or qname.is_subdomain(_REVERSE_V6):
        return _reverse(qname, qtype, catalog, origin)
    if not qname.is_subdomain(origin):
        return None
    labels = _labels(qname.relativize(origin))
    zone_answer = _Zone(origin, qname, qtype, catalog)
    return zone_answer.answer(labels) if labels is not None else zone_answer.nxdomain()


def _labels(relative: dns.name.Name) -> list[str] | None:
    """The labels below the zone, lower-cased; None when one is not ASCII (no such name exists)."""
    try:
        return [label.decode("ascii").lower() for label in relative.labels]
    except UnicodeDecodeError:
        return None


@dataclass
class _Zone:
    origin: dns.name.Name
    qname: dns.name.Name
    qtype: dns.rdatatype.RdataType
    catalog: Catalog

    def answer(self, labels: list[str]) -> Answer:
        match labels:
            case []:
                return self._apex()
            case ["svc"] | ["pod"]:
                return self.nodata()
            case ["dns-version"]:
                return self._records(TXT, [f'"{SCHEMA_VERSION}"'])
            case [namespace, "svc" | "pod"] if self.catalog.has_namespace(namespace):
                return self.nodata()
            case [dashed, namespace, "pod"]:
                address = _undash(dashed)
                return self._addresses([address]) if address is not None else self.nxdomain()
            case [name, namespace, "svc"]:
                return self._service(namespace, name)
            case [first, name, namespace, "svc"]:
                return self._below_service(namespace, name, first)
            case [port, proto, name, namespace, "svc"] if port.startswith("_") and proto.startswith("_"):
                return self._srv(namespace, name, port=port[1:], proto=proto[1:])
        return self.nxdomain()

    # -- the zone itself -------------------------------------------------------------------

    def _apex(self) -> Answer:
        if self.qtype in (SOA, ANY):
            return Answer(answer=(self._soa(),))
        if self.qtype == NS:
            return self._records(NS, [f"ns.dns.{self.origin}"])
        return self.nodata()

    def _soa(self) -> dns.rrset.RRset:
        # CoreDNS's shape: the zone's name server and hostmaster, the minimum a short negative TTL
        text = f"ns.dns.{self.origin} hostmaster.{self.origin} 1 7200 1800 86400 {TTL}"
        return dns.rrset.from_text_list(self.origin, TTL, dns.rdataclass.IN, SOA, [text])

    def nxdomain(self) -> Answer:
        return Answer(rcode=dns.rcode.NXDOMAIN, authority=(self._soa(),))

    def nodata(self) -> Answer:
        return Answer(authority=(self._soa(),))

    def _records(
        self,
        rdtype: dns.rdatatype.RdataType,
        texts: Iterable[str],
        *,
        owner: dns.name.Name | None = None,
        additional: tuple[dns.rrset.RRset, ...] = (),
    ) -> Answer:
        texts = list(dict.fromkeys(texts))
        if not texts:
            return self.nodata()
        rrset = dns.rrset.from_text_list(owner or self.qname, TTL, dns.rdataclass.IN, rdtype, texts)
        return Answer(answer=(rrset,), additional=additional)

    def _addresses(self, addresses: Iterable[str]) -> Answer:
        """A or AAAA records of the addresses of the asked family; NODATA for other types."""
        wanted = [a for a in addresses if _family(a) == self.qtype or (self.qtype == ANY and _family(a))]
        if self.qtype == ANY:
            answer = [
                rr for fam in (A, AAAA) if (rr := self._rrset(fam, [a for a in wanted if _family(a) == fam]))
            ]
            return Answer(answer=tuple(answer)) if answer else self.nodata()
        return self._records(self.qtype, wanted) if wanted else self.nodata()

    def _rrset(self, rdtype: dns.rdatatype.RdataType, texts: list[str]) -> dns.rrset.RRset | None:
        if not texts:
            return None
        return dns.rrset.from_text_list(
            self.qname, TTL, dns.rdataclass.IN, rdtype, list(dict.fromkeys(texts))
        )

    # -- Services --------------------------------------------------------------------------

    def _service(self, namespace: str, name: str) -> Answer:
        service = self.catalog.service(namespace, name)
        if service is None:
            return self.nxdomain()
        if (service.spec.type or "") == "ExternalName":
            return self._records(CNAME, [_absolute(service.spec.external_name or "")])
        if self.qtype == SRV:
            return self._srv_records(service, _named_ports(service))
        if _has_cluster_ip(service):
            return self._addresses([str(service.spec.cluster_ip)])
        return self._addresses(a for _, a in _ready_endpoints(self.catalog, service))

    def _below_service(self, namespace: str, name: str, first: str) -> Answer:
        """``<hostname>.<svc>`` of a headless Service, or the empty ``_<proto>.<svc>`` node."""
        service = self.catalog.service(namespace, name)
        if service is None or (service.spec.type or "") == "ExternalName":
            return self.nxdomain()
        if first.startswith("_"):
            protos = {(p.protocol or "TCP").lower() for p in _named_ports(service)}
            return self.nodata() if first[1:] in protos else self.nxdomain()
        if _has_cluster_ip(service):
            return self.nxdomain()
        addresses = [a for host, a in _ready_endpoints(self.catalog, service) if host == first]
        return self._addresses(addresses) if addresses else self.nxdomain()

    def _srv(self, namespace: str, name: str, *, port: str, proto: str) -> Answer:
        service = self.catalog.service(namespace, name)
        if service is None or (service.spec.type or "") == "ExternalName":
            return self.nxdomain()
        ports = [
            p for p in _named_ports(service) if p.name == port and (p.protocol or "TCP").lower() == proto
        ]
        if not ports:
            return self.nxdomain()
        return self._srv_records(service, ports) if self.qtype in (SRV, ANY) else self.nodata()

    def _srv_records(self, service: Service, ports: list[ServicePort]) -> Answer:
        base = f"{service.metadata.name}.{_ns(service)}.svc.{self.origin}"
        if _has_cluster_ip(service):
            targets = [(base, [str(service.spec.cluster_ip)])]
        else:
            by_host: dict[str, list[str]] = {}
            for host, address in _ready_endpoints(self.catalog, service):
                by_host.setdefault(f"{host}.{base}", []).append(address)
            targets = list(by_host.items())
        count = len(targets) * len(ports)
        if not count:
            return self.nodata()
        weight = max(100 // count, 1)
        texts = [f"0 {weight} {p.port} {target}" for p in ports for target, _ in targets]
        additional = tuple(
            dns.rrset.from_text_list(dns.name.from_text(target), TTL, dns.rdataclass.IN, fam, group)
            for target, addresses in targets
            for fam in (A, AAAA)
            if (group := [a for a in dict.fromkeys(addresses) if _family(a) == fam])
        )
        return self._records(SRV, texts, additional=additional)


def _reverse(
    qname: dns.name.Name, qtype: dns.rdatatype.RdataType, catalog: Catalog, origin: dns.name.Name
) -> Answer | None:
    """PTR of a ClusterIP or a headless Service's ready endpoint; other addresses are not ours."""
    try:
        address = dns.reversename.to_address(qname)
    except (dns.exception.SyntaxError, ValueError):
        return None
    targets = []
    for service in catalog.services():
        base = f"{service.metadata.name}.{_ns(service)}.svc.{origin}"
        if _has_cluster_ip(service) and service.spec.cluster_ip == address:
            targets.append(base)
        elif not _has_cluster_ip(service) and (service.spec.type or "") != "ExternalName":
            targets.extend(f"{host}.{base}" for host, a in _ready_endpoints(catalog, service) if a == address)
    if not targets:
        return None
    if qtype not in (PTR, ANY):
        return Answer()
    rrset = dns.rrset.from_text_list(qname, TTL, dns.rdataclass.IN, PTR, list(dict.fromkeys(targets)))
    return Answer(answer=(rrset,))


def _ready_endpoints(catalog: Catalog, service: Service) -> list[tuple[str, str]]:
    """(hostname, address) of every ready endpoint of the Service's slices, in slice order.

    ``ready`` unset counts as ready (the EndpointSlice API's rule); with
    ``publishNotReadyAddresses`` every endpoint counts, as its slices mark them."""
    publish_all = bool(service.spec.publish_not_ready_addresses)
    out: list[tuple[str, str]] = []
    for endpoint_slice in catalog.endpoint_slices(_ns(service), str(service.metadata.name)):
        if endpoint_slice.address_type not in ("IPv4", "IPv6"):
            continue
        for endpoint in endpoint_slice.endpoints:
            ready = endpoint.conditions.ready if endpoint.conditions is not None else None
            if ready is False and not publish_all:
                continue
            for address in endpoint.addresses:
                if _family(address):
                    out.append(((endpoint.hostname or _dash(address)).lower(), address))
    return out


def _has_cluster_ip(service: Service) -> bool:
    ip = service.spec.cluster_ip or ""
    return bool(ip) and ip != "None"


def _named_ports(service: Service) -> list[ServicePort]:
    return [p for p in service.spec.ports or [] if p.name]


def _family(address: str) -> dns.rdatatype.RdataType | None:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    return A if parsed.version == 4 else AAAA


def _dash(address: str) -> str:
    return address.replace(".", "-").replace(":", "-")


def _undash(label: str) -> str | None:
    candidate = label.replace("-", ".")
    return candidate if _family(candidate) == A else None


def _absolute(name: str) -> str:
    return name if name.endswith(".") else f"{name}."


def _ns(obj: Service | EndpointSlice) -> str:
    return obj.metadata.namespace or "default"
