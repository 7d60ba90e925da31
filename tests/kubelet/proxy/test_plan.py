"""Which endpoints each service port sends to: Kubernetes' rules, one case per row."""

from __future__ import annotations

import pytest

from kubelet.proxy.plan import Backend, plan
from tests.kubelet.proxy.fixtures import endpoint_slice, ep, service


def backends(*pairs: str) -> tuple[Backend, ...]:
    return tuple(Backend(p.split(":")[0], int(p.split(":")[1])) for p in pairs)


@pytest.mark.parametrize(("endpoints", "expected"), [
    ([ep("10.0.0.2"), ep("10.0.0.1", ready=True)], backends("10.0.0.1:8080", "10.0.0.2:8080")),
    ([ep("10.0.0.1", ready=True), ep("10.0.0.2", ready=False, serving=False)], backends("10.0.0.1:8080")),
    ([ep("10.0.0.1", ready=True), ep("10.0.0.2", ready=False, serving=True, terminating=True)],
     backends("10.0.0.1:8080")),
    ([ep("10.0.0.2", ready=False, serving=True, terminating=True),
      ep("10.0.0.3", ready=False, serving=False, terminating=True)], backends("10.0.0.2:8080")),
    ([ep("10.0.0.2", ready=False, serving=True)], ()),
    ([ep("10.0.0.1"), ep("10.0.0.1")], backends("10.0.0.1:8080")),
    ([], ()),
    ([ep("10.0.0.1"), ep('10.0.0.2; flush ruleset'), ep("fd00::1"), ep("")], backends("10.0.0.1:8080")),
], ids=["missing-condition-is-ready", "unready-left-out", "ready-wins-over-terminating",
        "terminating-fallback-when-none-ready", "unready-not-terminating-never", "duplicates-once", "empty",
        "only-addresses-reach-the-script"])
def test_ready_endpoints_and_the_terminating_fallback(endpoints, expected) -> None:  # type: ignore[no-untyped-def]
    [p] = plan([service("web")], [endpoint_slice("web", endpoints)])
    assert p.endpoints == expected


def test_ports_match_by_name_and_protocol_and_take_each_slices_number() -> None:
    svc = service("web", ports=[{"name": "http", "port": 80, "targetPort": "web"},
                                {"name": "dns", "port": 53, "protocol": "UDP"}])
    slices = [endpoint_slice("web", [ep("10.0.0.1")], name="a",
                             ports=[{"name": "http", "port": 8080}, {"name": "dns", "port": 5353, "protocol": "UDP"}]),
              endpoint_slice("web", [ep("10.0.0.2")], name="b", ports=[{"name": "http", "port": 9090},
                                                                       {"name": "dns", "port": 53, "protocol": "TCP"}])]
    by_name = {p.name: p for p in plan([svc], slices)}
    assert by_name["default/web/tcp/http"].endpoints == backends("10.0.0.1:8080", "10.0.0.2:9090")
    assert by_name["default/web/udp/dns"].endpoints == backends("10.0.0.1:5353")
    assert by_name["default/web/udp/dns"].port == 53


@pytest.mark.parametrize("svc", [
    service("headless", "None"), service("unallocated", None), service("v6", "fd00::10"),
    service("not-an-address", "10.96.0.9 }; flush ruleset; {"),
    service("external", "10.96.0.9", type="ExternalName", externalName="example.com"),
], ids=["headless", "no-cluster-ip", "ipv6", "not-an-address", "external-name"])
def test_services_without_a_virtual_ip_are_not_proxied(svc) -> None:  # type: ignore[no-untyped-def]
    assert plan([svc], [endpoint_slice(str(svc.metadata.name), [ep("10.0.0.1")])]) == []


def test_slices_of_other_services_and_namespaces_do_not_count() -> None:
    slices = [endpoint_slice("other", [ep("10.0.0.1")]), endpoint_slice("web", [ep("10.0.0.2")], namespace="prod")]
    [p] = plan([service("web")], slices)
    assert p.endpoints == ()


@pytest.mark.parametrize(("spec", "timeout"), [
    ({}, None), ({"sessionAffinity": "None"}, None), ({"sessionAffinity": "ClientIP"}, 10800),
    ({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 30}}}, 30),
], ids=["default", "none", "client-ip-default-timeout", "client-ip-timeout"])
def test_session_affinity(spec, timeout) -> None:  # type: ignore[no-untyped-def]
    [p] = plan([service("web", **spec)], [])
    assert p.affinity_timeout == timeout


@pytest.mark.parametrize(("type_", "node_port"), [(None, None), ("NodePort", 30080), ("LoadBalancer", 30080)])
def test_node_ports_of_node_port_and_load_balancer_services(type_, node_port) -> None:  # type: ignore[no-untyped-def]
    [p] = plan([service("web", ports=[{"name": "http", "port": 80, "nodePort": 30080}], type=type_)], [])
    assert p.node_port == node_port


def test_the_kubernetes_service_goes_to_the_nodes_api_relay() -> None:
    svc = service("kubernetes", "10.96.0.1", ports=[{"name": "https", "port": 443}])
    stray = endpoint_slice("kubernetes", [ep("127.0.0.1")], ports=[{"name": "https", "port": 6443}])
    [p] = plan([svc], [stray], api=("172.18.0.1", 443))
    assert p.endpoints == backends("172.18.0.1:443")
    [without] = plan([svc], [stray])
    assert without.endpoints == ()
