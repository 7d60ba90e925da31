"""What the cluster DNS answers, as a table: a name and a type against Services and EndpointSlices."""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from apimachinery.models.core import Service
from apimachinery.models.discovery import EndpointSlice
from kubelet.clusterdns.records import Answer, StaticCatalog, resolve


def service(name: str, namespace: str = "demo", **spec: Any) -> Service:
    spec.setdefault(
        "ports",
        [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}, {"port": 9000}],
    )
    return Service.model_validate({"metadata": {"name": name, "namespace": namespace}, "spec": spec})


def endpoints(
    service_name: str, *items: tuple[str, bool | None, str | None], namespace: str = "demo", name: str = ""
) -> EndpointSlice:
    return EndpointSlice.model_validate(
        {
            "metadata": {
                "name": name or f"{service_name}-abc",
                "namespace": namespace,
                "labels": {"kubernetes.io/service-name": service_name},
            },
            "addressType": "IPv4",
            "endpoints": [
                {
                    "addresses": [ip],
                    **({"conditions": {"ready": ready}} if ready is not None else {}),
                    **({"hostname": host} if host else {}),
                }
                for ip, ready, host in items
            ],
        }
    )


CATALOG = StaticCatalog(
    items=[
        service("web", clusterIP="10.96.0.10"),
        service("db", clusterIP="None"),
        service("empty", clusterIP="None"),
        service("pending"),  # no ClusterIP allocated yet
        service("ext", type="ExternalName", externalName="db.example.com", ports=[]),
    ],
    slices=[
        endpoints(
            "db", ("172.18.0.5", True, "db-0"), ("172.18.0.6", None, None), ("172.18.0.7", False, "db-2")
        ),
        endpoints("db", ("172.18.0.5", True, "db-0"), name="db-dup"),
        endpoints("pending", ("172.18.0.9", True, None)),
        endpoints("web", ("172.18.0.20", True, None)),
        endpoints("db", ("172.18.0.66", True, None), namespace="other"),
    ],
)


def ask(name: str, rdtype: str = "A") -> Answer | None:
    return resolve(dns.name.from_text(name), dns.rdatatype.from_text(rdtype), CATALOG)


def records(answer: Answer | None) -> list[str]:
    assert answer is not None
    return sorted(rd.to_text() for rrset in answer.answer for rd in rrset)


@pytest.mark.parametrize(
    ("name", "rdtype", "expected"),
    [
        pytest.param("web.demo.svc.cluster.local.", "A", ["10.96.0.10"], id="cluster-ip"),
        pytest.param("WEB.Demo.SVC.cluster.LOCAL.", "A", ["10.96.0.10"], id="case-insensitive"),
        pytest.param(
            "db.demo.svc.cluster.local.",
            "A",
            ["172.18.0.5", "172.18.0.6"],
            id="headless-every-ready-endpoint-once",
        ),
        pytest.param("pending.demo.svc.cluster.local.", "A", ["172.18.0.9"], id="unallocated-as-headless"),
        pytest.param("db-0.db.demo.svc.cluster.local.", "A", ["172.18.0.5"], id="endpoint-hostname"),
        pytest.param(
            "172-18-0-6.db.demo.svc.cluster.local.", "A", ["172.18.0.6"], id="endpoint-by-dashed-ip"
        ),
        pytest.param("ext.demo.svc.cluster.local.", "A", ["db.example.com."], id="external-name-cname"),
        pytest.param("ext.demo.svc.cluster.local.", "AAAA", ["db.example.com."], id="external-name-any-type"),
        pytest.param(
            "_http._tcp.web.demo.svc.cluster.local.",
            "SRV",
            ["0 100 80 web.demo.svc.cluster.local."],
            id="srv-cluster-ip",
        ),
        pytest.param(
            "_dns._udp.web.demo.svc.cluster.local.",
            "SRV",
            ["0 100 53 web.demo.svc.cluster.local."],
            id="srv-udp",
        ),
        pytest.param(
            "_http._tcp.db.demo.svc.cluster.local.",
            "SRV",
            ["0 50 80 172-18-0-6.db.demo.svc.cluster.local.", "0 50 80 db-0.db.demo.svc.cluster.local."],
            id="srv-headless-per-ready-endpoint",
        ),
        pytest.param(
            "web.demo.svc.cluster.local.",
            "SRV",
            ["0 50 53 web.demo.svc.cluster.local.", "0 50 80 web.demo.svc.cluster.local."],
            id="srv-of-the-service-every-named-port",
        ),
        pytest.param("172-18-0-42.demo.pod.cluster.local.", "A", ["172.18.0.42"], id="pod-dashed-ip"),
        pytest.param(
            "cluster.local.",
            "SOA",
            ["ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"],
            id="zone-soa",
        ),
        pytest.param("dns-version.cluster.local.", "TXT", ['"1.1.0"'], id="schema-version"),
        pytest.param("10.0.96.10.in-addr.arpa.", "PTR", ["web.demo.svc.cluster.local."], id="ptr-cluster-ip"),
        pytest.param(
            "5.0.18.172.in-addr.arpa.", "PTR", ["db-0.db.demo.svc.cluster.local."], id="ptr-headless"
        ),
    ],
)
def test_records(name: str, rdtype: str, expected: list[str]) -> None:
    answer = ask(name, rdtype)
    assert answer is not None and answer.rcode == dns.rcode.NOERROR and not answer.authority
    assert records(answer) == expected
    assert all(rrset.name == dns.name.from_text(name) for rrset in answer.answer)  # the name as asked
    assert all(rrset.ttl == 5 for rrset in answer.answer)


@pytest.mark.parametrize(
    ("name", "rdtype"),
    [
        pytest.param("nope.demo.svc.cluster.local.", "A", id="no-such-service"),
        pytest.param("web.nowhere.svc.cluster.local.", "A", id="no-such-namespace"),
        pytest.param("nowhere.svc.cluster.local.", "A", id="namespace-without-services"),
        pytest.param("db-2.db.demo.svc.cluster.local.", "A", id="unready-endpoint-hostname"),
        pytest.param("x.web.demo.svc.cluster.local.", "A", id="hostname-under-cluster-ip-service"),
        pytest.param("_nope._tcp.web.demo.svc.cluster.local.", "SRV", id="no-such-port"),
        pytest.param("_http._udp.web.demo.svc.cluster.local.", "SRV", id="port-of-other-protocol"),
        pytest.param("_sctp.web.demo.svc.cluster.local.", "SRV", id="no-port-of-protocol"),
        pytest.param("web.demo.cluster.local.", "A", id="search-path-miss"),
        pytest.param("a.b.c.d.e.f.svc.cluster.local.", "A", id="too-deep"),
        pytest.param("web.demo.svc.cluster.local.demo.svc.cluster.local.", "A", id="doubled-suffix"),
        pytest.param("not-an-ip.demo.pod.cluster.local.", "A", id="pod-not-an-address"),
    ],
)
def test_names_that_do_not_exist_are_nxdomain_with_the_soa(name: str, rdtype: str) -> None:
    answer = ask(name, rdtype)
    assert answer is not None and answer.rcode == dns.rcode.NXDOMAIN and not answer.answer
    assert [rrset.rdtype for rrset in answer.authority] == [dns.rdatatype.SOA]


@pytest.mark.parametrize(
    ("name", "rdtype"),
    [
        pytest.param("web.demo.svc.cluster.local.", "AAAA", id="ipv4-service-asked-aaaa"),
        pytest.param("web.demo.svc.cluster.local.", "TXT", id="service-asked-txt"),
        pytest.param("empty.demo.svc.cluster.local.", "A", id="headless-without-ready-endpoints"),
        pytest.param("_tcp.web.demo.svc.cluster.local.", "A", id="protocol-node"),
        pytest.param("_http._tcp.web.demo.svc.cluster.local.", "A", id="srv-name-asked-a"),
        pytest.param("demo.svc.cluster.local.", "A", id="namespace"),
        pytest.param("svc.cluster.local.", "A", id="svc"),
        pytest.param("cluster.local.", "A", id="apex"),
    ],
)
def test_existing_names_without_the_type_are_nodata_with_the_soa(name: str, rdtype: str) -> None:
    answer = ask(name, rdtype)
    assert answer is not None and answer.rcode == dns.rcode.NOERROR and not answer.answer
    assert [rrset.rdtype for rrset in answer.authority] == [dns.rdatatype.SOA]


@pytest.mark.parametrize(
    "name", ["example.com.", "cluster.local.example.com.", "local.", "1.1.1.1.in-addr.arpa.", "svc.local."]
)
def test_names_outside_the_cluster_are_not_answered(name: str) -> None:
    assert resolve(dns.name.from_text(name), dns.rdatatype.A, CATALOG) is None


def test_srv_of_a_headless_service_adds_the_targets_addresses() -> None:
    answer = ask("_http._tcp.db.demo.svc.cluster.local.", "SRV")
    assert answer is not None
    additional = sorted((rrset.name.to_text(), rd.to_text()) for rrset in answer.additional for rd in rrset)
    assert additional == [
        ("172-18-0-6.db.demo.svc.cluster.local.", "172.18.0.6"),
        ("db-0.db.demo.svc.cluster.local.", "172.18.0.5"),
    ]


def test_a_service_turning_unready_leaves_the_next_answer() -> None:
    catalog = StaticCatalog(
        items=[service("db", clusterIP="None")], slices=[endpoints("db", ("172.18.0.5", True, None))]
    )
    name = dns.name.from_text("db.demo.svc.cluster.local.")
    assert records(resolve(name, dns.rdatatype.A, catalog)) == ["172.18.0.5"]
    catalog.slices = [endpoints("db", ("172.18.0.5", False, None))]
    assert records(resolve(name, dns.rdatatype.A, catalog)) == []


def test_another_zone() -> None:
    catalog = StaticCatalog(items=[service("web", clusterIP="10.96.0.10")])
    assert records(
        resolve(dns.name.from_text("web.demo.svc.k8s.test."), dns.rdatatype.A, catalog, zone="k8s.test")
    ) == ["10.96.0.10"]
    assert (
        resolve(dns.name.from_text("web.demo.svc.cluster.local."), dns.rdatatype.A, catalog, zone="k8s.test")
        is None
    )
