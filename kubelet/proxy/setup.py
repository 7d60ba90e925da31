"""Whether and how a node runs its service proxy, from the kubelet's settings and the host.

The proxy needs the ``nft`` binary and the pod network's bridge interface on this host. When
either is missing the node runs without Services (logged as an error, and a Warning Event on
the Node says why) rather than not at all. Hollow nodes and ``--proxy-mode=none`` never run it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from pathlib import Path

from kubelet.context import NodeContext
from kubelet.proxy.nft import Applier, Nft, NftError
from kubelet.proxy.reconciler import Cache, ServiceProxy
from kubelet.proxy.rules import NodeFacts, table_name

log = logging.getLogger(__name__)

MODE_NFTABLES = "nftables"
MODE_NONE = "none"
MODES = (MODE_NFTABLES, MODE_NONE)
PROXY_UNAVAILABLE = "ServiceProxyUnavailable"  # the Warning Event's reason on the Node

ALIVE_MIN = 30
EventFn = Callable[[str, str, str], None]  # (type, reason, message)


def nodeport_addresses(address: str) -> tuple[str, ...]:
    """A node on a specific address serves NodePorts there; one on loopback (the single-host
    default) or on every address serves them on all the host's addresses but loopback."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ()
    return () if ip.is_loopback or ip.is_unspecified or ip.version != 4 else (address,)


def alive_for(shared_network: str, resync: float) -> int:
    """How long a node's rules act after its kubelet last refreshed them: on a network of its own,
    for ever (its pods' Services keep working while the kubelet restarts); on a shared one, ten
    sync periods and at least 30 s, after which the other nodes' tables carry the traffic."""
    return max(ALIVE_MIN, int(10 * resync)) if shared_network else 0


async def start_service_proxy(ctx: NodeContext, *, services: Cache, slices: Cache, event: EventFn,
                              nft: Nft | None = None) -> ServiceProxy | None:
    """The node's proxy, subscribed to both caches, or None when this node runs none."""
    cfg = ctx.cfg
    if cfg.hollow or cfg.proxy_mode == MODE_NONE:
        return None
    nft = nft or Nft()
    if not nft.available():
        _unavailable(event, f"the nft command is not installed: Services do not work on node {cfg.node_name}")
        return None
    try:
        await asyncio.to_thread(nft.tables)  # root (CAP_NET_ADMIN) is needed even to read
    except NftError as err:
        _unavailable(event, f"nft cannot be used ({err}): Services do not work on node {cfg.node_name}")
        return None
    bridge = await ctx.run(ctx.runtime.network_bridge, ctx.network)
    if not bridge or not Path("/sys/class/net", bridge).exists():
        _unavailable(event, f"the pod network {ctx.network} has no bridge interface on this host "
                            f"({bridge or 'none'}): Services do not work on node {cfg.node_name}")
        return None
    facts = NodeFacts(node=cfg.node_name, bridge=bridge, nodeport_addresses=nodeport_addresses(cfg.address),
                      service_cidrs=tuple(c.strip() for c in cfg.service_cidr.split(",") if c.strip()),
                      alive_for=alive_for(cfg.network, cfg.proxy_resync))

    def api() -> tuple[str, int] | None:
        relay = ctx.in_cluster
        return (relay.address, relay.port) if relay is not None else None

    proxy = ServiceProxy(services=services, slices=slices, node=facts, applier=Applier(nft), api=api,
                         resync=cfg.proxy_resync, event=event)
    proxy.start()
    log.info("service proxy of node %s: nftables table %s on %s", cfg.node_name, table_name(facts.node, bridge), bridge)
    return proxy


def _unavailable(event: EventFn, message: str) -> None:
    log.error("service proxy disabled: %s", message)
    try:
        event("Warning", PROXY_UNAVAILABLE, message)
    except Exception:  # noqa: BLE001 - reporting is best effort
        log.debug("could not record %s", PROXY_UNAVAILABLE, exc_info=True)
