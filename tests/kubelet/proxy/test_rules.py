"""The nftables table rendered from port plans: what each kind of Service turns into."""

from __future__ import annotations

import pytest

from kubelet.proxy.plan import Backend, PortPlan
from kubelet.proxy.rules import (
    NO_ENDPOINT_NODEPORTS,
    NO_ENDPOINT_SERVICES,
    NODEPORT_IPS,
    SERVICE_IPS,
    SERVICE_NODEPORTS,
    NodeFacts,
    Ruleset,
    is_per_service,
    render,
    table_name,
)

NODE = NodeFacts(node="n1", bridge="br-0123456789ab")


def port(name: str = "web", *endpoints: str, protocol: str = "tcp", node_port: int | None = None,
         affinity: int | None = None, ip: str = "10.96.0.10") -> PortPlan:
    backends = tuple(Backend(e.split(":")[0], int(e.split(":")[1])) for e in endpoints)
    return PortPlan(namespace="default", service=name, port_name="http", protocol=protocol, cluster_ip=ip, port=80,
                    endpoints=backends, node_port=node_port, affinity_timeout=affinity)


def chain(rs: Ruleset, prefix: str) -> tuple[str, ...]:
    [found] = [c for c in rs.chains if c.name.startswith(prefix)]
    return found.rules


def chains(rs: Ruleset, prefix: str) -> list[tuple[str, ...]]:
    return [c.rules for c in rs.chains if c.name.startswith(prefix)]


def elements(rs: Ruleset, name: str) -> tuple[str, ...]:
    return next(m.elements for m in rs.maps if m.name == name)


def test_a_cluster_ip_picks_a_random_endpoint_and_dnats_to_it() -> None:
    rs = render([port("web", "172.18.0.3:8080", "172.18.0.4:8080")], NODE)
    [entry] = elements(rs, SERVICE_IPS)
    assert entry.startswith("10.96.0.10 . tcp . 80 : goto service-") and entry.endswith("-default/web/tcp/http")
    [pick] = chain(rs, "service-")
    assert pick.startswith("numgen random mod 2 vmap { 0 : goto endpoint-")
    assert [r[-1] for r in chains(rs, "endpoint-")] == ["meta l4proto tcp dnat to 172.18.0.3:8080",
                                                         "meta l4proto tcp dnat to 172.18.0.4:8080"]
    assert elements(rs, NO_ENDPOINT_SERVICES) == ()


def test_a_pod_reaching_itself_is_masqueraded_so_the_reply_returns_through_conntrack() -> None:
    rs = render([port("web", "172.18.0.3:8080")], NODE)
    assert chain(rs, "endpoint-")[0] == "ip saddr 172.18.0.3 jump mark-for-masquerade"
    assert chain(rs, "masquerading") == ("meta mark & 0x4000 == 0 return", "meta mark set meta mark ^ 0x4000",
                                         "masquerade fully-random")


def test_udp_ports_dnat_udp() -> None:
    rs = render([port("dns", "172.18.0.3:5353", protocol="udp")], NODE)
    assert elements(rs, SERVICE_IPS)[0].startswith("10.96.0.10 . udp . 80 : goto service-")
    assert chain(rs, "endpoint-")[-1] == "meta l4proto udp dnat to 172.18.0.3:5353"


def test_a_service_without_endpoints_rejects_instead_of_timing_out() -> None:
    rs = render([port("empty", node_port=30080)], NODE)
    assert elements(rs, NO_ENDPOINT_SERVICES) == ("10.96.0.10 . tcp . 80 : goto reject-chain",)
    assert elements(rs, NO_ENDPOINT_NODEPORTS) == ("tcp . 30080 : goto reject-chain",)
    assert elements(rs, SERVICE_IPS) == () and chains(rs, "service-") == []
    assert chain(rs, "reject-chain") == ("meta l4proto tcp reject with tcp reset", "reject")
    assert chain(rs, "filter-forward") == ("ct state new jump endpoints-check",)


def test_client_ip_affinity_sticks_a_source_to_its_endpoint_for_the_timeout() -> None:
    rs = render([port("web", "172.18.0.3:8080", "172.18.0.4:8080", affinity=30)], NODE)
    sticky = [s for s in rs.sets if s.name.startswith("affinity-")]
    assert len(sticky) == 2 and all(s.keep and "timeout 30s" in s.spec for s in sticky)
    rules = chain(rs, "service-")
    assert [r.split(" goto ")[0] for r in rules[:2]] == [f"ip saddr @{s.name}" for s in sticky]
    assert rules[2].startswith("numgen random mod 2")
    assert chains(rs, "endpoint-")[0][1] == f"update @{sticky[0].name} {{ ip saddr }}"


def test_a_changed_affinity_timeout_is_a_new_set() -> None:
    before = {s.name for s in render([port("web", "172.18.0.3:8080", affinity=30)], NODE).sets}
    after = {s.name for s in render([port("web", "172.18.0.3:8080", affinity=60)], NODE).sets}
    assert before and not before & after


@pytest.mark.parametrize(("addresses", "match"), [
    ((), "fib daddr type local ip daddr != 127.0.0.0/8"),
    (("192.0.2.2",), f"ip daddr @{NODEPORT_IPS}"),
], ids=["every-local-address", "the-nodes-address"])
def test_node_ports_are_masqueraded_and_served_on_the_nodes_addresses(addresses, match) -> None:  # type: ignore[no-untyped-def]
    node = NodeFacts(node="n1", bridge="br-0123456789ab", nodeport_addresses=addresses)
    rs = render([port("web", "172.18.0.3:8080", node_port=30080)], node)
    [entry] = elements(rs, SERVICE_NODEPORTS)
    assert entry.startswith("tcp . 30080 : goto external-")
    assert chain(rs, "external-")[0] == "jump mark-for-masquerade"
    assert chain(rs, "nodeports") == (f"{match} meta l4proto . th dport vmap @{SERVICE_NODEPORTS}",)
    assert chain(rs, "nat-output") == ("jump nodeports",)  # the host itself
    assert [s.elements for s in rs.sets if s.name == NODEPORT_IPS] == ([addresses] if addresses else [])


def test_cluster_ips_are_only_caught_on_this_pod_networks_bridge() -> None:
    rs = render([port("web", "172.18.0.3:8080")], NODE)
    assert chain(rs, "nat-prerouting") == ('iifname "br-0123456789ab" jump services', "jump nodeports")
    assert chain(rs, "endpoints-check")[0].startswith('iifname "br-0123456789ab" ip daddr')
    assert rs.table == "podvisor.br-0123456789ab.n1"


def test_the_script_replaces_everything_but_affinity_and_drops_what_is_gone() -> None:
    rs = render([port("web", "172.18.0.3:8080", affinity=30)], NODE)
    old = "endpoint-XXXX-default/old/tcp/http__172.18.0.9/80"
    script = rs.script(existing_chains=[*rs.chain_names(), old], existing_sets=["affinity-old/x"],
                       delete_chains=[old])
    t = f"ip {rs.table}"
    lines = script.splitlines()
    assert lines[0].startswith(f"add table {t}")
    assert f"flush map {t} {SERVICE_IPS}" in lines
    assert not [line for line in lines if line.startswith(f"flush set {t} affinity-")]
    assert lines[-3:] == [f"flush chain {t} {old}", f"delete set {t} affinity-old/x", f"delete chain {t} {old}"]
    assert rs.script(recreate=True).splitlines()[:2] == [f"add table {t}", f"delete table {t}"]


def test_a_stale_chain_is_only_flushed_until_it_may_be_deleted() -> None:
    rs = render([], NODE)
    old = "service-XXXX-default/old/tcp/http"
    script = rs.script(existing_chains=[old])
    assert f"flush chain ip {rs.table} {old}" in script and "delete chain" not in script


def test_the_digest_follows_the_content() -> None:
    one = render([port("web", "172.18.0.3:8080")], NODE)
    assert one.digest == render([port("web", "172.18.0.3:8080")], NODE).digest
    assert one.digest != render([port("web", "172.18.0.4:8080")], NODE).digest


def test_names() -> None:
    assert table_name("node-1", "br-0123456789ab") == "podvisor.br-0123456789ab.node-1"
    assert len(table_name("n" * 253, "br-0123456789ab")) <= 240
    assert is_per_service("service-ABCD-default/web/tcp/http") and not is_per_service("services")


def test_hairpin_mode_is_turned_on_for_every_port_of_the_bridge(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kubelet.proxy.hairpin import ensure_hairpin

    for port, mode in (("veth1", "0"), ("veth2", "1")):
        (tmp_path / "br-x" / "brif" / port).mkdir(parents=True)
        (tmp_path / "br-x" / "brif" / port / "hairpin_mode").write_text(mode)
    assert ensure_hairpin("br-x", root=tmp_path) == 1
    assert (tmp_path / "br-x" / "brif" / "veth1" / "hairpin_mode").read_text() == "1"
    assert ensure_hairpin("br-gone", root=tmp_path) == 0


def test_pods_connecting_to_an_unallocated_cluster_ip_or_port_are_refused() -> None:
    node = NodeFacts(node="n1", bridge="br-0123456789ab", service_cidrs=("10.96.0.0/12",))
    rs = render([port("web", "172.18.0.3:8080")], node)
    assert chain(rs, "endpoints-check")[-1] == 'iifname "br-0123456789ab" ip daddr { 10.96.0.0/12 } goto reject-chain'
    assert len(chain(render([], NODE), "endpoints-check")) == 2  # no CIDR known: nothing refused


def test_on_a_shared_network_the_hooks_act_only_while_the_kubelet_refreshes_them() -> None:
    node = NodeFacts(node="n1", bridge="br-0123456789ab", alive_for=30)
    rs = render([port("web", "172.18.0.3:8080")], node)
    assert chain(rs, "nat-prerouting") == ('meta protocol @alive iifname "br-0123456789ab" jump services',
                                           "meta protocol @alive jump nodeports")
    assert chain(rs, "filter-forward") == ("meta protocol @alive ct state new jump endpoints-check",)
    assert [s.elements for s in rs.sets if s.name == "alive"] == [("ip timeout 30s",)]
    assert rs.heartbeat() == (f"flush set ip {rs.table} alive\nadd element ip {rs.table} alive {{ ip timeout 30s }}\n")
    assert render([], NODE).heartbeat() is None and "@alive" not in render([], NODE).script()
