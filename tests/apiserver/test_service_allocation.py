"""Services through the API: ClusterIPs and node ports allocated, refused, kept and released
as kube-apiserver does it, validation of what the service proxy honours, and durability
(parallel creates, a restart)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from apiserver.app import AppSettings
from apiserver.servicealloc.ranges import ServiceRanges
from apiserver.store.sqlite import SqliteStore
from tests.apiserver.conftest import RunningServer

SVC = "/api/v1/namespaces/default/services"
CIDR = ipaddress.ip_network("10.96.0.0/12")


def body(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}], **spec}}


def create(http: httpx.Client, name: str, **spec: Any) -> dict[str, Any]:
    r = http.post(SVC, json=body(name, **spec))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def refused(http: httpx.Client, name: str, **spec: Any) -> httpx.Response:
    r = http.post(SVC, json=body(name, **spec))
    assert r.status_code >= 400, r.text
    return r


def node_port(svc: dict[str, Any], i: int = 0) -> int:
    return int(svc["spec"]["ports"][i]["nodePort"])


@pytest.fixture
def small(tmp_path: Path) -> Iterator[httpx.Client]:
    """A server with a 6-address service CIDR (5 free: the first is the kubernetes Service's)
    and 3 node ports."""
    ranges = ServiceRanges.parse("10.0.0.0/29", "30000-30002")
    srv = RunningServer(SqliteStore(tmp_path / "state.db"), AppSettings(compaction_interval=3600, service_ranges=ranges))
    srv.start()
    with httpx.Client(base_url=srv.url, timeout=10) as client:
        yield client
    srv.stop()


# --- ClusterIP -----------------------------------------------------------------------------------


def test_a_service_gets_a_cluster_ip_from_the_range(http: httpx.Client) -> None:
    svc = create(http, "web")
    ip = svc["spec"]["clusterIP"]
    assert ipaddress.ip_address(ip) in CIDR and ip != "10.96.0.1"
    assert svc["spec"]["clusterIPs"] == [ip]
    assert svc["status"] == {"loadBalancer": {}}
    assert http.get(f"{SVC}/web").json()["spec"]["clusterIP"] == ip


def test_a_requested_cluster_ip_is_honoured(http: httpx.Client) -> None:
    assert create(http, "dns", clusterIP="10.96.0.10")["spec"]["clusterIPs"] == ["10.96.0.10"]


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"clusterIP": "10.0.0.1"}, "spec.clusterIPs",
         "failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. "
         "The range of valid IPs is 10.96.0.0/12"),
        ({"clusterIP": "10.96.0.1"}, "spec.clusterIPs", "failed to allocate IP 10.96.0.1: provided IP is already allocated"),
        ({"clusterIP": "10.96.0.300"}, "spec.clusterIPs[0]", "must be a valid IP address"),
        ({"clusterIP": "None", "type": "NodePort"}, "spec.clusterIPs[0]", "may not be set to 'None' for NodePort services"),
        ({"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.21"]}, "spec.clusterIPs[0]", "first value must match"),
        ({"ipFamilyPolicy": "RequireDualStack"}, "spec.ipFamilyPolicy", "not configured for dual-stack"),
    ],
    ids=["out-of-range", "taken-by-kubernetes", "not-an-ip", "headless-nodeport", "ips-disagree", "dual-stack"],
)
def test_bad_cluster_ips_are_refused(http: httpx.Client, spec: dict[str, Any], field: str, message: str) -> None:
    r = refused(http, "bad", **spec)
    assert r.status_code == 422
    [cause] = r.json()["details"]["causes"]
    assert cause["field"] == field and message in cause["message"], cause


def test_an_allocated_ip_is_refused_to_a_second_service_and_free_after_delete(http: httpx.Client) -> None:
    ip = create(http, "one")["spec"]["clusterIP"]
    r = refused(http, "two", clusterIP=ip)
    assert r.status_code == 422 and "provided IP is already allocated" in r.text
    assert http.delete(f"{SVC}/one").status_code == 200
    assert create(http, "two", clusterIP=ip)["spec"]["clusterIP"] == ip


def test_a_failed_create_leaks_nothing(http: httpx.Client) -> None:
    create(http, "web", clusterIP="10.96.0.30")
    r = refused(http, "web", clusterIP="10.96.0.31")  # AlreadyExists, after 10.96.0.31 was reserved
    assert r.status_code == 409
    assert create(http, "other", clusterIP="10.96.0.31")["spec"]["clusterIP"] == "10.96.0.31"
    r = refused(http, "bad", clusterIP="10.96.0.32", ports=[{"port": 80, "nodePort": 1}], type="NodePort")
    assert r.status_code == 422 and "provided port is not in the valid range" in r.text
    assert create(http, "after", clusterIP="10.96.0.32")["spec"]["clusterIP"] == "10.96.0.32"


def test_a_dry_run_allocates_nothing(http: httpx.Client) -> None:
    r = http.post(SVC, params={"dryRun": "All"}, json=body("dry", clusterIP="10.96.0.40"))
    assert r.status_code == 201 and r.json()["spec"]["clusterIP"] == "10.96.0.40"
    assert create(http, "real", clusterIP="10.96.0.40")["spec"]["clusterIP"] == "10.96.0.40"


def test_headless_services_get_no_address(http: httpx.Client) -> None:
    svc = create(http, "db", clusterIP="None", ports=[])
    assert svc["spec"]["clusterIP"] == "None" and svc["spec"]["clusterIPs"] == ["None"]
    r = http.put(f"{SVC}/db", json={**svc, "spec": {**svc["spec"], "clusterIP": "10.96.0.50",
                                                     "clusterIPs": ["10.96.0.50"]}})
    assert r.status_code == 422 and "field is immutable" in r.text


def test_the_cluster_ip_is_immutable_and_kept_when_an_update_leaves_it_out(http: httpx.Client) -> None:
    svc = create(http, "web")
    ip = svc["spec"]["clusterIP"]
    changed = {**svc, "spec": {**svc["spec"], "clusterIP": "10.96.0.60", "clusterIPs": ["10.96.0.60"]}}
    r = http.put(f"{SVC}/web", json=changed)
    assert r.status_code == 422
    assert r.json()["details"]["causes"][0]["field"] == "spec.clusterIP" and "field is immutable" in r.text
    bare = http.get(f"{SVC}/web").json()
    del bare["spec"]["clusterIP"], bare["spec"]["clusterIPs"]
    bare["spec"]["ports"][0]["port"] = 81
    r = http.put(f"{SVC}/web", json=bare)
    assert r.status_code == 200, r.text
    assert r.json()["spec"]["clusterIP"] == ip and r.json()["spec"]["clusterIPs"] == [ip]
    assert create(http, "free", clusterIP="10.96.0.60")  # the refused change reserved nothing


def test_external_name_has_no_cluster_ip_and_a_change_to_it_releases_the_address(http: httpx.Client) -> None:
    ext = create(http, "ext", type="ExternalName", externalName="example.com", ports=[])
    assert "clusterIP" not in ext["spec"]
    svc = create(http, "web", clusterIP="10.96.0.70")
    r = http.put(f"{SVC}/web", json={**svc, "spec": {**svc["spec"], "type": "ExternalName", "externalName": "a.b"}})
    assert r.status_code == 200, r.text
    assert "clusterIP" not in r.json()["spec"] and "clusterIPs" not in r.json()["spec"]
    assert create(http, "reuse", clusterIP="10.96.0.70")
    back = http.get(f"{SVC}/web").json()
    back["spec"] = {"type": "ClusterIP", "ports": [{"port": 80}]}
    r = http.put(f"{SVC}/web", json=back)
    assert r.status_code == 200 and ipaddress.ip_address(r.json()["spec"]["clusterIP"]) in CIDR


def test_a_full_range_answers_as_kubernetes_does(small: httpx.Client) -> None:
    got = {create(small, f"s{i}")["spec"]["clusterIP"] for i in range(5)}
    assert got == {f"10.0.0.{i}" for i in range(2, 7)}
    r = refused(small, "full")
    assert r.status_code == 500
    assert r.json()["message"] == "Internal error occurred: failed to allocate a serviceIP: range is full"
    assert small.delete(f"{SVC}/s0").status_code == 200
    assert create(small, "again")["spec"]["clusterIP"] in got


# --- the kubernetes Service ----------------------------------------------------------------------


def test_the_kubernetes_service_holds_the_first_address(tmp_path: Path) -> None:
    from apimachinery import resources as res
    from apiserver.kubernetesservice import ensure_kubernetes_service
    from apiserver.registry import Registry

    store = SqliteStore(tmp_path / "state.db")
    reg = Registry(store)
    reg.ensure_system_namespaces()
    legacy = {"metadata": {"name": "kubernetes", "namespace": "default"},
              "spec": {"type": "ClusterIP", "ports": [{"name": "https", "port": 443}]}}
    store.create("/registry/services/default/kubernetes", legacy)  # written before ClusterIPs existed
    ensure_kubernetes_service(reg, port=6443)
    spec = reg.get(res.SERVICES, "default", "kubernetes")["spec"]
    assert spec["clusterIP"] == "10.96.0.1" and spec["clusterIPs"] == ["10.96.0.1"]
    assert spec["ports"][0]["targetPort"] == 6443
    store.close()


def test_the_kubernetes_service_is_served_with_its_address(http: httpx.Client, server: RunningServer) -> None:
    from apiserver.kubernetesservice import ensure_kubernetes_service

    ensure_kubernetes_service(server.app.state.registry, port=6443)
    svc = http.get("/api/v1/namespaces/default/services/kubernetes").json()
    assert svc["spec"]["clusterIP"] == "10.96.0.1"


# --- node ports ----------------------------------------------------------------------------------


def test_node_ports_are_allocated_per_port(http: httpx.Client) -> None:
    svc = create(http, "np", type="NodePort", ports=[{"name": "a", "port": 80}, {"name": "b", "port": 81},
                                                     {"name": "dns", "port": 81, "protocol": "UDP"}])
    ports = [node_port(svc, i) for i in range(3)]
    assert all(30000 <= p <= 32767 for p in ports)
    assert ports[0] != ports[1] and ports[1] == ports[2]  # TCP and UDP of one port share it
    assert svc["spec"]["externalTrafficPolicy"] == "Cluster"


def test_load_balancers_get_node_ports_and_a_pending_status(http: httpx.Client) -> None:
    svc = create(http, "lb", type="LoadBalancer")
    assert 30000 <= node_port(svc) <= 32767
    assert svc["status"] == {"loadBalancer": {}}
    none = create(http, "lb2", type="LoadBalancer", allocateLoadBalancerNodePorts=False)
    assert "nodePort" not in none["spec"]["ports"][0]


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"type": "NodePort", "ports": [{"port": 80, "nodePort": 8080}]}, "spec.ports[0].nodePort",
         "provided port is not in the valid range. The range of valid ports is 30000-32767"),
        ({"ports": [{"port": 80, "nodePort": 30001}]}, "spec.ports[0].nodePort",
         "may not be used when `type` is 'ClusterIP'"),
        ({"type": "NodePort", "ports": [{"name": "a", "port": 80, "nodePort": 30002},
                                        {"name": "b", "port": 81, "nodePort": 30002}]},
         "spec.ports[1].nodePort", "Duplicate value: 30002"),
    ],
    ids=["out-of-range", "on-cluster-ip", "twice"],
)
def test_bad_node_ports_are_refused(http: httpx.Client, spec: dict[str, Any], field: str, message: str) -> None:
    r = refused(http, "bad", **spec)
    assert r.status_code == 422
    [cause] = r.json()["details"]["causes"]
    assert cause["field"] == field and message in cause["message"], cause


def test_a_taken_node_port_is_refused_and_free_after_delete(http: httpx.Client) -> None:
    create(http, "one", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    r = refused(http, "two", type="NodePort", ports=[{"port": 80, "nodePort": 30080, "protocol": "UDP"}])
    assert r.status_code == 422 and "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated" in r.text
    http.delete(f"{SVC}/one")
    assert node_port(create(http, "two", type="NodePort", ports=[{"port": 80, "nodePort": 30080}])) == 30080


def test_node_ports_are_kept_on_update_and_released_on_a_change_to_cluster_ip(http: httpx.Client) -> None:
    svc = create(http, "np", type="NodePort", ports=[{"name": "http", "port": 80}])
    allocated = node_port(svc)
    bare = {**svc, "spec": {**svc["spec"], "ports": [{"name": "http", "port": 80, "targetPort": 9090}]}}
    r = http.put(f"{SVC}/np", json=bare)
    assert r.status_code == 200 and node_port(r.json()) == allocated
    back = r.json()
    back["spec"]["type"] = "ClusterIP"  # sent back with its nodePort, as kubectl edit does
    r = http.put(f"{SVC}/np", json=back)
    assert r.status_code == 200, r.text
    assert "nodePort" not in r.json()["spec"]["ports"][0] and "externalTrafficPolicy" not in r.json()["spec"]
    assert node_port(create(http, "reuse", type="NodePort", ports=[{"port": 80, "nodePort": allocated}])) == allocated


def test_node_ports_run_out_with_kubernetes_error(small: httpx.Client) -> None:
    create(small, "np", type="NodePort", ports=[{"name": f"p{i}", "port": 80 + i} for i in range(3)])
    r = refused(small, "more", type="NodePort")
    assert r.status_code == 500 and r.json()["message"].endswith("failed to allocate a nodePort: range is full")
    assert refused(small, "more", type="NodePort").status_code == 500
    assert create(small, "plain")  # the ClusterIP the refused creates took was given back


# --- what the proxy honours ----------------------------------------------------------------------


def test_client_ip_affinity_defaults_its_timeout(http: httpx.Client) -> None:
    svc = create(http, "sticky", sessionAffinity="ClientIP")
    assert svc["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        ({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}},
         "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "FieldValueInvalid"),
        ({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 86401}}},
         "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "FieldValueInvalid"),
        ({"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}, "spec.sessionAffinityConfig",
         "FieldValueForbidden"),
        ({"ports": [{"port": 80, "protocol": "SCTP"}]}, "spec.ports[0].protocol", "FieldValueNotSupported"),
        ({"ports": [{"port": 80, "targetPort": "HTTP_port"}]}, "spec.ports[0].targetPort", "FieldValueInvalid"),
        ({"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]}, "spec.ports[1]", "FieldValueDuplicate"),
        ({"externalIPs": ["192.0.2.1"]}, "spec.externalIPs", "FieldValueForbidden"),
        ({"loadBalancerIP": "192.0.2.1"}, "spec.loadBalancerIP", "FieldValueForbidden"),
        ({"type": "NodePort", "externalTrafficPolicy": "Local"}, "spec.externalTrafficPolicy",
         "FieldValueNotSupported"),
    ],
    ids=["timeout-zero", "timeout-over-a-day", "config-without-client-ip", "sctp", "bad-port-name",
         "same-port-twice", "external-ips", "lb-ip-on-cluster-ip", "local-traffic"],
)
def test_what_the_proxy_cannot_honour_is_refused(
    http: httpx.Client, spec: dict[str, Any], field: str, reason: str
) -> None:
    r = refused(http, "bad", **spec)
    assert r.status_code == 422
    assert [(c["field"], c["reason"]) for c in r.json()["details"]["causes"]] == [(field, reason)]


def test_named_target_ports_and_udp_are_accepted(http: httpx.Client) -> None:
    svc = create(http, "dns", ports=[{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": "dns"},
                                     {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": "dns-tcp"}])
    assert [p["targetPort"] for p in svc["spec"]["ports"]] == ["dns", "dns-tcp"]


# --- durability ----------------------------------------------------------------------------------


def test_parallel_creates_get_distinct_addresses_and_ports(http: httpx.Client) -> None:
    def make(i: int) -> tuple[str, int]:
        r = http.post(SVC, json=body(f"p{i}", type="NodePort"))
        assert r.status_code == 201, r.text
        return r.json()["spec"]["clusterIP"], node_port(r.json())

    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(make, range(64)))
    assert len({ip for ip, _ in got}) == 64 and len({port for _, port in got}) == 64
    listed = http.get(SVC).json()["items"]
    assert sorted(s["spec"]["clusterIP"] for s in listed) == sorted(ip for ip, _ in got)


def test_allocations_survive_a_restart(tmp_path: Path) -> None:
    def server() -> RunningServer:
        srv = RunningServer(SqliteStore(tmp_path / "state.db"), AppSettings(compaction_interval=3600))
        srv.start()
        return srv

    first = server()
    with httpx.Client(base_url=first.url, timeout=10) as http:
        svc = create(http, "web", type="NodePort")
    first.stop()
    second = server()
    try:
        with httpx.Client(base_url=second.url, timeout=10) as http:
            ip, port = svc["spec"]["clusterIP"], node_port(svc)
            assert refused(http, "ip", clusterIP=ip).status_code == 422
            again = refused(http, "port", type="NodePort", ports=[{"port": 80, "nodePort": port}])
            assert "provided port is already allocated" in again.text
            assert http.get(f"{SVC}/web").json()["spec"]["clusterIP"] == ip
    finally:
        second.stop()
