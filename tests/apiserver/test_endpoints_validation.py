"""Endpoints and EndpointSlice writes over HTTP: what proxies and DNS can trust, and how they print.

Every refused write is a 422 naming the field, as Kubernetes' ValidateEndpoints and
ValidateEndpointSlice name it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

ENDPOINTS = "/api/v1/namespaces/default/endpoints"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}


def endpoints(*subsets: dict[str, Any], name: str = "web") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name}, "subsets": list(subsets)}


def endpoint_slice(address_type: str = "IPv4", addresses: list[str] | None = None, *, name: str = "web-abc",
                   ports: list[dict[str, Any]] | None = None, endpoints: list[dict[str, Any]] | None = None
                   ) -> dict[str, Any]:
    listed = endpoints if endpoints is not None else [
        {"addresses": [a], "conditions": {"ready": True}} for a in (addresses or ["10.0.0.5"])]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": address_type, "endpoints": listed,
            "ports": ports if ports is not None else [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def fields(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["reason"] == "Invalid" and body["details"]["kind"] in ("Endpoints", "EndpointSlice")
    return [c["field"] for c in body["details"]["causes"]]


def subset(ips: list[str], ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"addresses": [{"ip": ip} for ip in ips], "ports": ports or [{"port": 8080}]}


def test_valid_endpoints_are_stored_with_tcp_defaulted(http: httpx.Client) -> None:
    created = http.post(ENDPOINTS, json=endpoints(subset(["10.0.0.5"])))
    assert created.status_code == 201, created.text
    assert created.json()["subsets"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (endpoints(subset(["not-an-ip"])), "subsets[0].addresses[0].ip"),
        (endpoints(subset(["127.0.0.1"])), "subsets[0].addresses[0].ip"),
        (endpoints(subset(["169.254.1.1"])), "subsets[0].addresses[0].ip"),
        (endpoints(subset(["0.0.0.0"])), "subsets[0].addresses[0].ip"),
        (endpoints(subset(["224.0.0.1"])), "subsets[0].addresses[0].ip"),
        (endpoints({"notReadyAddresses": [{"ip": "::1"}], "ports": [{"port": 80}]}),
         "subsets[0].notReadyAddresses[0].ip"),
        (endpoints({"ports": [{"port": 80}]}), "subsets[0]"),
        (endpoints(subset(["10.0.0.5"], [{"port": 0}])), "subsets[0].ports[0].port"),
        (endpoints(subset(["10.0.0.5"], [{"port": 80, "protocol": "HTTP"}])), "subsets[0].ports[0].protocol"),
        (endpoints(subset(["10.0.0.5"], [{"port": 80}, {"port": 81, "name": "b"}])), "subsets[0].ports[0].name"),
        (endpoints(subset(["10.0.0.5"], [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}])),
         "subsets[0].ports[1].name"),
        (endpoints(subset(["10.0.0.5"], [{"port": 80, "name": "Not_A_Label"}])), "subsets[0].ports[0].name"),
        (endpoints({"addresses": [{"ip": "10.0.0.5", "hostname": "No.Dots"}], "ports": [{"port": 80}]}),
         "subsets[0].addresses[0].hostname"),
    ],
    ids=["not-ip", "loopback", "link-local", "unspecified", "link-local-multicast", "not-ready-loopback-v6",
         "no-addresses", "port-zero", "protocol", "unnamed-of-two", "duplicate-name", "bad-name", "bad-hostname"],
)
def test_invalid_endpoints_are_refused_naming_the_field(http: httpx.Client, body: dict[str, Any], field: str) -> None:
    assert field in fields(http.post(ENDPOINTS, json=body))


def test_valid_slice_is_stored(http: httpx.Client) -> None:
    body = endpoint_slice(ports=[{"port": 8080}])
    created = http.post(SLICES, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    for address_type, address in (("IPv6", "2001:db8::5"), ("FQDN", "db.example.com")):
        made = http.post(SLICES, json=endpoint_slice(address_type, [address], name=f"s-{address_type.lower()}"))
        assert made.status_code == 201, made.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (endpoint_slice("IPv5"), "addressType"),
        (endpoint_slice(""), "addressType"),
        (endpoint_slice("IPv4", ["2001:db8::5"]), "endpoints[0].addresses[0]"),
        (endpoint_slice("IPv6", ["10.0.0.5"]), "endpoints[0].addresses[0]"),
        (endpoint_slice("IPv4", ["127.0.0.1"]), "endpoints[0].addresses[0]"),
        (endpoint_slice("IPv4", ["bogus"]), "endpoints[0].addresses[0]"),
        (endpoint_slice("FQDN", ["Not A Name"]), "endpoints[0].addresses[0]"),
        (endpoint_slice(endpoints=[{"addresses": []}]), "endpoints[0].addresses"),
        (endpoint_slice(endpoints=[{"addresses": ["10.0.0.5"], "hostname": "a.b"}]), "endpoints[0].hostname"),
        (endpoint_slice(endpoints=[{"addresses": ["10.0.0.5"]}] * 1001), "endpoints"),
        (endpoint_slice(ports=[{"name": f"p{i}", "port": 1000 + i} for i in range(101)]), "ports"),
        (endpoint_slice(ports=[{"name": "a", "port": 80}, {"name": "a", "port": 81}]), "ports[1].name"),
        (endpoint_slice(ports=[{"name": "a", "port": 80, "protocol": "ICMP"}]), "ports[0].protocol"),
        (endpoint_slice(ports=[{"name": "a", "port": 70000}]), "ports[0].port"),
        (endpoint_slice(ports=[{"name": "UPPER", "port": 80}]), "ports[0].name"),
    ],
    ids=["type-unknown", "type-empty", "v6-in-v4", "v4-in-v6", "loopback", "not-ip", "bad-fqdn", "no-addresses",
         "bad-hostname", "1001-endpoints", "101-ports", "duplicate-port-name", "protocol", "port-range", "port-name"],
)
def test_invalid_slices_are_refused_naming_the_field(http: httpx.Client, body: dict[str, Any], field: str) -> None:
    assert field in fields(http.post(SLICES, json=body))


def test_address_type_is_immutable(http: httpx.Client) -> None:
    created = http.post(SLICES, json=endpoint_slice())
    assert created.status_code == 201, created.text
    changed = created.json()
    changed["addressType"] = "IPv6"
    changed["endpoints"] = [{"addresses": ["2001:db8::5"]}]
    assert "addressType" in fields(http.put(f"{SLICES}/web-abc", json=changed))


def test_a_slice_update_bumps_generation(http: httpx.Client) -> None:
    """The EndpointSlice controller's tracker compares generations to spot a stale cache."""
    created = http.post(SLICES, json=endpoint_slice()).json()
    created["endpoints"] = [{"addresses": ["10.0.0.6"]}]
    updated = http.put(f"{SLICES}/web-abc", json=created)
    assert updated.status_code == 200, updated.text
    assert updated.json()["metadata"]["generation"] == 2


def cells(http: httpx.Client, path: str) -> tuple[list[str], list[list[Any]]]:
    table = http.get(path, headers=TABLE).json()
    return [c["name"] for c in table["columnDefinitions"]], [r["cells"] for r in table["rows"]]


def test_get_endpoints_prints_three_then_more(http: httpx.Client) -> None:
    http.post(ENDPOINTS, json=endpoints(subset(["10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"])))
    http.post(ENDPOINTS, json=endpoints(name="empty"))
    columns, rows = cells(http, ENDPOINTS)
    assert columns == ["Name", "Endpoints", "Age"]
    assert {r[0]: r[1] for r in rows} == {"web": "10.0.0.5:8080,10.0.0.6:8080,10.0.0.7:8080 + 1 more...",
                                          "empty": "<none>"}


def test_get_endpointslices_prints_type_ports_and_addresses(http: httpx.Client) -> None:
    http.post(SLICES, json=endpoint_slice(addresses=["10.0.0.5", "10.0.0.6"]))
    http.post(SLICES, json=endpoint_slice(name="web-empty", endpoints=[], ports=[]))
    columns, rows = cells(http, SLICES)
    assert columns == ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    assert {r[0]: r[1:4] for r in rows} == {"web-abc": ["IPv4", "8080", "10.0.0.5,10.0.0.6"],
                                            "web-empty": ["IPv4", "<unset>", "<unset>"]}
