"""The two ranges Services draw from: the service CIDR and the node port range.

They are kube-apiserver's ``--service-cluster-ip-range`` and ``--service-node-port-range``.
Both are seen as offsets ``0 .. size-1`` so one allocator serves them (:mod:`.allocator`), and
both have Kubernetes' static band (KEP-3070 for IPs, KEP-3668 for ports): the lowest offsets
are where users pin well-known values (the DNS Service's ``10.96.0.10``), so random allocation
prefers the addresses above the band and only falls back into it when the rest is taken.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
DEFAULT_NODE_PORT_RANGE = "30000-32767"


def _band(size: int, *, divisor: int, floor: int, cap: int) -> int:
    """``min(max(floor, size/divisor), cap)``, the static band's width, never the whole range."""
    return min(max(floor, size // divisor), cap, max(size - 1, 0))


@dataclass(frozen=True)
class IPRange:
    """The usable addresses of an IPv4 CIDR: neither the network nor the broadcast address."""

    network: ipaddress.IPv4Network

    @classmethod
    def parse(cls, cidr: str) -> IPRange:
        """Raises ValueError with a sentence fit for a flag's error."""
        try:
            network = ipaddress.ip_network(cidr.strip(), strict=True)
        except ValueError as err:
            raise ValueError(f"{cidr!r} is not a CIDR: {err}") from None
        if not isinstance(network, ipaddress.IPv4Network):
            raise ValueError(f"{cidr}: only IPv4 service CIDRs are supported")
        if network.prefixlen > 30:
            raise ValueError(f"{cidr}: the service CIDR must hold at least two addresses (a prefix of /30 or shorter)")
        return cls(network)

    def __str__(self) -> str:
        return str(self.network)

    @property
    def size(self) -> int:
        return self.network.num_addresses - 2

    @property
    def band(self) -> int:
        return _band(self.size, divisor=16, floor=16, cap=256)

    @property
    def first(self) -> str:
        """The first usable address: the ``kubernetes`` Service's, as kube-apiserver reserves it."""
        return self.name(0)

    def name(self, offset: int) -> str:
        return str(self.network.network_address + 1 + offset)

    def offset(self, value: str) -> int | None:
        """The address's offset, or None when it is not a usable address of the range."""
        try:
            ip = ipaddress.IPv4Address(value)
        except ValueError:
            return None
        offset = int(ip) - int(self.network.network_address) - 1
        return offset if 0 <= offset < self.size else None


@dataclass(frozen=True)
class PortRange:
    """Node ports ``base .. base+size-1`` (``30000-32767``)."""

    base: int
    size: int

    @classmethod
    def parse(cls, text: str) -> PortRange:
        """``low-high`` (or ``low+count``, as Kubernetes' PortRange parses it); ValueError if bad."""
        low, sep, high = text.strip().partition("-")
        plus = False
        if not sep:
            low, sep, high = text.strip().partition("+")
            plus = bool(sep)
        try:
            base = int(low)
            last = base + int(high) if plus else int(high) if sep else base
        except ValueError:
            raise ValueError(f"{text!r} is not a port range (expected e.g. 30000-32767)") from None
        if not 1 <= base <= last <= 65535:
            raise ValueError(f"{text!r} is not a port range within 1-65535")
        return cls(base, last - base + 1)

    def __str__(self) -> str:
        return f"{self.base}-{self.base + self.size - 1}"

    @property
    def band(self) -> int:
        return _band(self.size, divisor=32, floor=16, cap=128)

    def name(self, offset: int) -> str:
        return str(self.base + offset)

    def offset(self, value: str) -> int | None:
        try:
            port = int(value)
        except ValueError:
            return None
        offset = port - self.base
        return offset if 0 <= offset < self.size else None


@dataclass(frozen=True)
class ServiceRanges:
    """What a cluster's Services draw from (``--service-cidr``, ``--service-node-port-range``)."""

    cidr: IPRange = IPRange.parse(DEFAULT_SERVICE_CIDR)
    node_ports: PortRange = PortRange.parse(DEFAULT_NODE_PORT_RANGE)

    @classmethod
    def parse(cls, cidr: str = DEFAULT_SERVICE_CIDR, node_ports: str = DEFAULT_NODE_PORT_RANGE) -> ServiceRanges:
        return cls(IPRange.parse(cidr), PortRange.parse(node_ports))
