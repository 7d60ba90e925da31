"""Port plans + node facts -> one nftables table: the data path of every Service (pure).

The layout is kube-proxy's nftables mode, carried over with one difference: every ClusterIP
rule matches ``iifname <bridge>`` (the pod network's bridge interface), because several
podvisor clusters may run on one host with the same service CIDR. Docker's ``ip nat`` and
``ip filter`` tables are never touched; ours is ``ip podvisor.<bridge>.<node>``.

Base chains (each only jumps to a regular chain)::

    nat-prerouting   (dstnat)   iifname <bridge> jump services; jump nodeports
    nat-output       (dstnat)   jump nodeports            # the host itself reaching a NodePort
    nat-postrouting  (srcnat)   jump masquerading
    filter-input / filter-forward / filter-output (dstnat - 10)
                                ct state new jump endpoints-check

Dispatch is one lookup per packet in verdict maps: ``service-ips`` (clusterIP . protocol .
port -> goto service-...), ``service-nodeports`` (protocol . nodePort -> goto external-...),
and for ports with no usable endpoint ``no-endpoint-services`` / ``no-endpoint-nodeports``
(-> reject: a TCP reset, an ICMP port-unreachable otherwise, as a Service with no endpoints
refuses connections in Kubernetes).

Per service port: ``service-<hash>-<ns/name/proto/port>`` picks an endpoint (first the
ClientIP affinity sets, then ``numgen random mod N``), ``external-...`` marks NodePort traffic
for masquerading and goes there, and ``endpoint-...__<ip>/<port>`` DNATs (marking a pod that
reaches itself, the hairpin case, so the reply comes back through conntrack). Pod-to-Service
traffic otherwise keeps the client's address: the reply is bridged straight back and
``br_netfilter`` hands it to conntrack to undo the DNAT.

Affinity sets (``affinity-...``, one per endpoint) hold source addresses with a timeout; they
are never flushed by a sync, and their name covers the timeout so a changed timeout is a new
set rather than a definition the kernel would refuse to change.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from kubelet.proxy.plan import Backend, PortPlan

TABLE_PREFIX = "podvisor"
MASQUERADE_MARK = "0x4000"  # kube-proxy's default masquerade bit (14)
_NAME_MAX = 240  # of a chain or set name (nftables allows 256)

# chains every table has
SERVICES = "services"
NODEPORTS = "nodeports"
ENDPOINTS_CHECK = "endpoints-check"
REJECT = "reject-chain"
MARK_MASQ = "mark-for-masquerade"
MASQUERADING = "masquerading"
# maps and sets
SERVICE_IPS = "service-ips"
SERVICE_NODEPORTS = "service-nodeports"
NO_ENDPOINT_SERVICES = "no-endpoint-services"
NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports"
NODEPORT_IPS = "nodeport-ips"
ALIVE = "alive"
# prefixes of the per service port chains and sets
SERVICE_PREFIX = "service-"
EXTERNAL_PREFIX = "external-"
ENDPOINT_PREFIX = "endpoint-"
AFFINITY_PREFIX = "affinity-"

_SERVICE_KEY = "ipv4_addr . inet_proto . inet_service : verdict"
_NODEPORT_KEY = "inet_proto . inet_service : verdict"


@dataclass(frozen=True)
class NodeFacts:
    """What the rules need to know about this node."""

    node: str
    bridge: str  # the pod network's bridge interface (``br-<network id[:12]>`` for Docker)
    nodeport_addresses: tuple[str, ...] = ()  # () = every local address but loopback (kube-proxy's default)
    service_cidrs: tuple[str, ...] = ()  # new connections from pods to these not DNATed are refused
    alive_for: int = 0  # seconds the rules act unless refreshed (a network shared by several nodes); 0 = always


@dataclass(frozen=True)
class Chain:
    name: str
    rules: tuple[str, ...] = ()
    base: str = ""  # "type nat hook prerouting priority -100; policy accept;" for a base chain


@dataclass(frozen=True)
class Map:
    name: str
    type: str
    elements: tuple[str, ...] = ()


@dataclass(frozen=True)
class Set:
    name: str
    spec: str  # "type ipv4_addr; flags dynamic,timeout; timeout 60s;"
    elements: tuple[str, ...] = ()
    keep: bool = False  # contents written by the data path (affinity): never flushed


@dataclass(frozen=True)
class Ruleset:
    """The whole table as it should be."""

    table: str
    comment: str
    chains: tuple[Chain, ...] = ()
    maps: tuple[Map, ...] = ()
    sets: tuple[Set, ...] = ()

    @property
    def digest(self) -> str:
        """Identifies the desired content: equal digests, nothing to write."""
        return hashlib.sha256(self.script().encode()).hexdigest()[:16]

    def heartbeat(self) -> str | None:
        """The transaction that keeps a gated table acting for another ``alive_for`` (None: not gated)."""
        alive = next((s for s in self.sets if s.name == ALIVE), None)
        if alive is None:
            return None
        t = f"ip {self.table}"
        return f"flush set {t} {ALIVE}\nadd element {t} {ALIVE} {{ {', '.join(alive.elements)} }}\n"

    def chain_names(self) -> set[str]:
        return {c.name for c in self.chains}

    def set_names(self) -> set[str]:
        return {s.name for s in self.sets}

    def script(self, *, existing_chains: Collection[str] = (), existing_sets: Collection[str] = (),
               delete_chains: Collection[str] = (), recreate: bool = False) -> str:
        """One ``nft -f`` transaction that turns the table, whatever it holds, into this ruleset.

        Everything is added (a no-op when present) and flushed, then defined again, so the
        kernel swaps old for new at commit and no packet sees half of either. ``existing_*``
        name what the table holds now: chains no longer wanted are flushed (``delete_chains``
        of them, stale since an earlier sync, deleted: kernels before 6.2 refuse to delete a
        chain in the transaction that drops the last map element pointing at it), sets no
        longer wanted deleted; affinity sets in use keep their contents. ``recreate`` deletes
        the table first, in the same transaction: the way out when the table holds something
        the kernel would not redefine in place (a base chain of another priority); affinity is
        lost then.
        """
        t = f"ip {self.table}"
        lines = [f"add table {t}", f"delete table {t}"] if recreate else []
        lines.append(f'add table {t} {{ comment "{self.comment}"; }}')
        if recreate:
            existing_chains = existing_sets = ()
        for chain in self.chains:
            lines.append(f"add chain {t} {chain.name}" + (f" {{ {chain.base} }}" if chain.base else ""))
            lines.append(f"flush chain {t} {chain.name}")
        for s in self.sets:
            lines.append(f"add set {t} {s.name} {{ {s.spec} }}")
            if not s.keep:
                lines.append(f"flush set {t} {s.name}")
            if s.elements:
                lines.append(f"add element {t} {s.name} {{ {', '.join(s.elements)} }}")
        for m in self.maps:
            lines.append(f"add map {t} {m.name} {{ type {m.type}; }}")
            lines.append(f"flush map {t} {m.name}")
            if m.elements:
                lines.append(f"add element {t} {m.name} {{ {', '.join(m.elements)} }}")
        for chain in self.chains:
            lines.extend(f"add rule {t} {chain.name} {rule}" for rule in chain.rules)
        wanted_chains, wanted_sets = self.chain_names(), self.set_names() | {m.name for m in self.maps}
        stale = sorted(set(existing_chains) - wanted_chains)
        lines.extend(f"flush chain {t} {name}" for name in stale)
        lines.extend(f"delete set {t} {name}" for name in sorted(set(existing_sets) - wanted_sets))
        lines.extend(f"delete chain {t} {name}" for name in stale if name in delete_chains)
        return "\n".join(lines) + "\n"


def table_name(node: str, bridge: str) -> str:
    """``podvisor.<bridge>.<node>``: one table per node and pod network on a host."""
    name = f"{TABLE_PREFIX}.{bridge}.{node}"
    return name if len(name) <= _NAME_MAX else _hashed(name)[:_NAME_MAX]


def render(plans: Iterable[PortPlan], node: NodeFacts) -> Ruleset:
    """The table carrying ``plans`` on ``node`` (see the module docstring for the layout)."""
    b = _Builder(node)
    for p in plans:
        b.port(p)
    return b.ruleset()


@dataclass
class _Builder:
    node: NodeFacts
    chains: list[Chain] = field(default_factory=list)
    sets: list[Set] = field(default_factory=list)
    service_ips: list[str] = field(default_factory=list)
    service_nodeports: list[str] = field(default_factory=list)
    no_endpoint_services: list[str] = field(default_factory=list)
    no_endpoint_nodeports: list[str] = field(default_factory=list)

    def port(self, p: PortPlan) -> None:
        key = f"{p.cluster_ip} . {p.protocol} . {p.port}"
        nodeport = f"{p.protocol} . {p.node_port}" if p.node_port else ""
        if not p.endpoints:
            self.no_endpoint_services.append(f"{key} : goto {REJECT}")
            if nodeport:
                self.no_endpoint_nodeports.append(f"{nodeport} : goto {REJECT}")
            return
        service = SERVICE_PREFIX + _hashed(p.name)
        self.service_ips.append(f"{key} : goto {service}")
        if nodeport:
            external = EXTERNAL_PREFIX + _hashed(p.name)
            self.chains.append(Chain(external, (f"jump {MARK_MASQ}", f"goto {service}")))
            self.service_nodeports.append(f"{nodeport} : goto {external}")
        picks: list[str] = []
        affinity: list[str] = []
        for i, ep in enumerate(p.endpoints):
            chain = ENDPOINT_PREFIX + _hashed(f"{p.name}__{ep.ip}/{ep.port}")
            picks.append(f"{i} : goto {chain}")
            rules = [f"ip saddr {ep.ip} jump {MARK_MASQ}"]
            if p.affinity_timeout is not None:
                sticky = AFFINITY_PREFIX + _hashed(f"{p.name}__{ep.ip}/{ep.port}/{p.affinity_timeout}s")
                self.sets.append(Set(sticky, f"type ipv4_addr; flags dynamic,timeout; timeout {p.affinity_timeout}s;",
                                     keep=True))
                affinity.append(f"ip saddr @{sticky} goto {chain}")
                rules.append(f"update @{sticky} {{ ip saddr }}")
            rules.append(f"meta l4proto {p.protocol} dnat to {_target(ep)}")
            self.chains.append(Chain(chain, tuple(rules)))
        pick = f"numgen random mod {len(picks)} vmap {{ {', '.join(picks)} }}"
        self.chains.append(Chain(service, (*affinity, pick)))

    def ruleset(self) -> Ruleset:
        node = self.node
        iif = f'iifname "{node.bridge}"'
        if node.nodeport_addresses:
            local = f"ip daddr @{NODEPORT_IPS}"
            sets = [Set(NODEPORT_IPS, "type ipv4_addr;", tuple(sorted(node.nodeport_addresses)))]
        else:
            local, sets = "fib daddr type local ip daddr != 127.0.0.0/8", []
        # A ClusterIP no Service has, or a port its Service does not expose, was not DNATed: refuse it
        # here rather than let it leave by the host's default route (kube-proxy rejects both too).
        unallocated = [f"{iif} ip daddr {{ {', '.join(node.service_cidrs)} }} goto {REJECT}"] if node.service_cidrs else []
        # On a network shared by several nodes every node's table sees every pod's traffic, and the first
        # to DNAT wins: a node whose kubelet stopped refreshing its table must stop answering, or it
        # would keep sending to endpoints removed since. Its hooks then match nothing (the element of
        # "alive" expired) and the live nodes' tables carry the traffic.
        gate = f"meta protocol @{ALIVE} " if node.alive_for else ""
        if node.alive_for:
            sets.append(Set(ALIVE, "type ether_type; flags timeout;", (f"ip timeout {node.alive_for}s",)))
        hook = "type {} hook {} priority {}; policy accept;".format
        chains = [
            Chain("nat-prerouting", (f"{gate}{iif} jump {SERVICES}", f"{gate}jump {NODEPORTS}"),
                  hook("nat", "prerouting", -100)),
            Chain("nat-output", (f"{gate}jump {NODEPORTS}",), hook("nat", "output", -100)),
            Chain("nat-postrouting", (f"jump {MASQUERADING}",), hook("nat", "postrouting", 100)),
            *(Chain(f"filter-{h}", (f"{gate}ct state new jump {ENDPOINTS_CHECK}",), hook("filter", h, -110))
              for h in ("input", "forward", "output")),
            Chain(SERVICES, (f"ip daddr . meta l4proto . th dport vmap @{SERVICE_IPS}",)),
            Chain(NODEPORTS, (f"{local} meta l4proto . th dport vmap @{SERVICE_NODEPORTS}",)),
            Chain(ENDPOINTS_CHECK, (f"{iif} ip daddr . meta l4proto . th dport vmap @{NO_ENDPOINT_SERVICES}",
                                    f"{local} meta l4proto . th dport vmap @{NO_ENDPOINT_NODEPORTS}",
                                    *unallocated)),
            Chain(REJECT, ("meta l4proto tcp reject with tcp reset", "reject")),
            Chain(MARK_MASQ, (f"meta mark set meta mark | {MASQUERADE_MARK}",)),
            Chain(MASQUERADING, (f"meta mark & {MASQUERADE_MARK} == 0 return",
                                 f"meta mark set meta mark ^ {MASQUERADE_MARK}", "masquerade fully-random")),
        ]
        maps = (Map(SERVICE_IPS, _SERVICE_KEY, tuple(self.service_ips)),
                Map(SERVICE_NODEPORTS, _NODEPORT_KEY, tuple(self.service_nodeports)),
                Map(NO_ENDPOINT_SERVICES, _SERVICE_KEY, tuple(self.no_endpoint_services)),
                Map(NO_ENDPOINT_NODEPORTS, _NODEPORT_KEY, tuple(self.no_endpoint_nodeports)))
        return Ruleset(table=table_name(node.node, node.bridge),
                       comment=f"podvisor service proxy of node {node.node} on {node.bridge}",
                       chains=(*chains, *self.chains), maps=maps, sets=(*sets, *self.sets))


def is_per_service(name: str) -> bool:
    """Chains and sets a sync creates and drops with the Services (the rest always exist)."""
    return name.startswith((SERVICE_PREFIX, EXTERNAL_PREFIX, ENDPOINT_PREFIX, AFFINITY_PREFIX)) and "/" in name


def _target(ep: Backend) -> str:
    return f"{ep.ip}:{ep.port}"


def _hashed(name: str) -> str:
    """``HASH-name``: unique even when cut, and endpoints of one port told apart at a glance."""
    digest = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()[:8]
    full = f"{digest}-{name}"
    return full if len(full) <= _NAME_MAX - 16 else full[: _NAME_MAX - 19] + "..."
