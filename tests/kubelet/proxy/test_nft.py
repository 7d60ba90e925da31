"""The applier against the real kernel, in a throwaway network namespace (root and nft needed)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from kubelet.proxy.nft import Applier, Nft, NftError, orphaned_tables
from kubelet.proxy.plan import Backend, PortPlan
from kubelet.proxy.rules import Chain, NodeFacts, Ruleset, render

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("nft") is None or shutil.which("ip") is None,
                                reason="needs root, nft and ip")
NODE = NodeFacts(node="n1", bridge="br-0123456789ab")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def nft() -> Iterator[Nft]:
    ns = f"pvproxy-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=10)
    try:
        yield Nft(prefix=("ip", "netns", "exec", ns))
    finally:
        subprocess.run(["ip", "netns", "delete", ns], check=False, timeout=10)


def port(name: str, *ips: str, affinity: int | None = None) -> PortPlan:
    return PortPlan(namespace="default", service=name, port_name="", protocol="tcp", cluster_ip="10.96.0.10",
                    port=80, endpoints=tuple(Backend(ip, 8080) for ip in ips), affinity_timeout=affinity)


def listing(nft: Nft, table: str) -> str:
    return nft.run("list", "table", "ip", table)


def test_a_sync_writes_the_table_once_and_then_finds_it_level(nft: Nft) -> None:
    applier = Applier(nft)
    rs = render([port("web", "172.18.0.3", "172.18.0.4")], NODE)
    assert applier.sync(rs) is True
    text = listing(nft, rs.table)
    assert "dnat to 172.18.0.3:8080" in text and 'iifname "br-0123456789ab" jump services' in text
    assert applier.sync(rs) is False


def test_a_deleted_rule_or_table_is_written_again(nft: Nft) -> None:
    applier = Applier(nft)
    rs = render([port("web", "172.18.0.3")], NODE)
    applier.sync(rs)
    before = listing(nft, rs.table)
    handles = nft.run("-a", "list", "chain", "ip", rs.table, "services")
    handle = next(line.rsplit("# handle ", 1)[1] for line in handles.splitlines() if "vmap @service-ips" in line)
    nft.run("delete", "rule", "ip", rs.table, "services", "handle", handle.strip())
    assert applier.sync(rs) is True
    assert listing(nft, rs.table) == before
    nft.delete_table(rs.table)
    assert applier.sync(rs) is True
    assert listing(nft, rs.table) == before


def test_affinity_survives_a_sync_that_changes_other_services(nft: Nft) -> None:
    applier = Applier(nft)
    rs = render([port("web", "172.18.0.3", affinity=60)], NODE)
    applier.sync(rs)
    [sticky] = [s.name for s in rs.sets if s.name.startswith("affinity-")]
    nft.run("add", "element", "ip", rs.table, sticky, "{ 172.18.0.9 }")
    assert applier.sync(rs) is False  # what the data path writes is no drift
    applier.sync(render([port("web", "172.18.0.3", affinity=60), replace(port("db", "172.18.0.5"), port=5432)],
                        NODE))
    assert "172.18.0.9" in nft.run("list", "set", "ip", rs.table, sticky)
    assert Applier(nft).sync(rs) is True  # a restarted kubelet writes everything once...
    assert "172.18.0.9" in nft.run("list", "set", "ip", rs.table, sticky)  # ...and clients stay where they were


def test_chains_of_a_removed_endpoint_are_flushed_then_deleted(nft: Nft) -> None:
    clock = Clock()
    applier = Applier(nft, clock=clock)
    applier.sync(render([port("web", "172.18.0.3", "172.18.0.4")], NODE))
    shrunk = render([port("web", "172.18.0.3")], NODE)
    assert applier.sync(shrunk) is True
    text = listing(nft, shrunk.table)
    assert "172.18.0.4" in text and "dnat to 172.18.0.4" not in text  # the chain stays, empty
    assert applier.pending
    clock.now += 1.5
    assert applier.sync(shrunk) is True
    assert "172.18.0.4" not in listing(nft, shrunk.table) and not applier.pending
    assert applier.sync(shrunk) is False


def test_a_failed_transaction_leaves_the_table_as_it_was(nft: Nft) -> None:
    applier = Applier(nft)
    rs = render([port("web", "172.18.0.3")], NODE)
    applier.sync(rs)
    before = listing(nft, rs.table)
    broken = replace(rs, chains=(*rs.chains, Chain("broken", ("jump no-such-chain",))))
    with pytest.raises(NftError):
        applier.sync(broken)
    assert listing(nft, rs.table) == before


def test_a_table_that_cannot_be_updated_in_place_is_replaced_whole(nft: Nft) -> None:
    rs = render([port("web", "172.18.0.3")], NODE)
    nft.apply(f"add table ip {rs.table}\nadd chain ip {rs.table} nat-prerouting "
              "{ type nat hook prerouting priority 0; policy accept; }\n")
    assert Applier(nft).sync(rs) is True
    assert "priority dstnat" in nft.run("list", "chain", "ip", rs.table, "nat-prerouting")


def test_tables_of_removed_docker_networks_are_orphans(nft: Nft) -> None:
    for table in ("podvisor.br-aaaaaaaaaaaa.n1", "podvisor.br-bbbbbbbbbbbb.n1", "podvisor.custom.n1", "other"):
        nft.apply(f"add table ip {table}\n")
    gone = orphaned_tables(nft, bridge_exists=lambda bridge: bridge == "br-bbbbbbbbbbbb")
    assert gone == ["podvisor.br-aaaaaaaaaaaa.n1"]


def test_an_empty_ruleset_is_valid(nft: Nft) -> None:
    rs: Ruleset = render([], NODE)
    assert Applier(nft).sync(rs) is True


def test_a_gated_table_goes_inert_unless_refreshed(nft: Nft) -> None:
    applier = Applier(nft)
    rs = render([port("web", "172.18.0.3")], replace(NODE, alive_for=1))
    applier.sync(rs)
    assert "ip timeout" in nft.run("list", "set", "ip", rs.table, "alive")
    time.sleep(1.3)
    assert "elements" not in nft.run("list", "set", "ip", rs.table, "alive")  # expired: the hooks match nothing
    assert applier.sync(rs) is False  # no drift: the heartbeat alone brings it back
    assert "ip timeout" in nft.run("list", "set", "ip", rs.table, "alive")
