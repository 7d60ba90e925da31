"""Discovery documents: the shapes kubectl and client-go read, derived from RESOURCES alone."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.resources import METRICS_RESOURCES, RESOURCES
from apiserver import discovery

SERVED = [("", "v1"), ("apps", "v1"), ("coordination.k8s.io", "v1"), ("authentication.k8s.io", "v1"),
          ("rbac.authorization.k8s.io", "v1"), ("authorization.k8s.io", "v1"), ("node.podvisor.io", "v1"),
          ("discovery.k8s.io", "v1"), ("batch", "v1"), ("policy", "v1"), ("storage.k8s.io", "v1"),
          ("networking.k8s.io", "v1"), ("autoscaling", "v2"), ("metrics.k8s.io", "v1beta1")]


def entries(group: str, version: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in discovery.api_resource_list(group, version)["resources"]}


def test_version_info() -> None:
    info = discovery.version_info()
    assert (info["major"], info["minor"]) == ("1", "37")
    assert info["gitVersion"].startswith("v1.37.0")
    assert "podvisor" in info["gitVersion"]
    assert {"goVersion", "platform", "compiler", "gitCommit", "buildDate"} <= set(info)
    assert "/" in info["platform"]


def test_api_versions() -> None:
    assert discovery.api_versions("127.0.0.1:6443") == {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    }


def test_api_group_list_names_only_served_groups() -> None:
    doc = discovery.api_group_list()
    assert (doc["kind"], doc["apiVersion"]) == ("APIGroupList", "v1")
    assert [g["name"] for g in doc["groups"]] == [
        "apps", "coordination.k8s.io", "authentication.k8s.io", "rbac.authorization.k8s.io", "authorization.k8s.io",
        "node.podvisor.io", "discovery.k8s.io", "batch", "policy", "storage.k8s.io", "networking.k8s.io",
            "autoscaling", "metrics.k8s.io"]
    apps = doc["groups"][0]
    assert apps["versions"] == [{"groupVersion": "apps/v1", "version": "v1"}]
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}


@pytest.mark.parametrize(("group", "version"), SERVED)
def test_api_resource_list_envelope(group: str, version: str) -> None:
    doc = discovery.api_resource_list(group, version)
    assert (doc["kind"], doc["apiVersion"]) == ("APIResourceList", "v1")
    assert doc["groupVersion"] == (f"{group}/{version}" if group else version)
    assert doc["resources"]


@pytest.mark.parametrize(
    ("group", "version"), [("autoscaling", "v1"), ("policy", "v1beta1"), ("apps", "v2"), ("", "v2")]
)
def test_unserved_group_versions_have_no_resources(group: str, version: str) -> None:
    assert discovery.api_resource_list(group, version)["resources"] == []


def test_deployments_entry_as_kubectl_expects() -> None:
    deployments = entries("apps", "v1")["deployments"]
    assert deployments == {
        "name": "deployments",
        "singularName": "deployment",
        "namespaced": True,
        "kind": "Deployment",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": ["deploy"],
        "categories": ["all"],
        "storageVersionHash": "8aSe+NMegvE=",  # the value real Kubernetes publishes
    }


def test_storage_version_hash_matches_kubernetes_for_pods() -> None:
    assert entries("", "v1")["pods"]["storageVersionHash"] == "xPOwRZ+Yhw8="


@pytest.mark.parametrize(
    ("group", "name", "expected"),
    [
        (
            "apps",
            "deployments/scale",
            {"group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]},
        ),
        ("apps", "deployments/status", {"kind": "Deployment", "verbs": ["get", "patch", "update"]}),
        (
            "apps",
            "replicasets/scale",
            {"group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]},
        ),
        ("", "pods/log", {"kind": "Pod", "verbs": ["get"]}),
        ("", "pods/status", {"kind": "Pod", "verbs": ["get", "patch", "update"]}),
        ("", "pods/binding", {"kind": "Binding", "verbs": ["create"]}),
        ("", "pods/exec", {"kind": "PodExecOptions", "verbs": ["create", "get"]}),
        ("", "pods/portforward", {"kind": "PodPortForwardOptions", "verbs": ["create", "get"]}),
        ("", "pods/eviction", {"group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]}),
        ("", "nodes/status", {"kind": "Node", "verbs": ["get", "patch", "update"]}),
        ("", "namespaces/status", {"kind": "Namespace", "verbs": ["get", "patch", "update"]}),
    ],
)
def test_subresource_entries(group: str, name: str, expected: dict[str, Any]) -> None:
    entry = entries(group, "v1")[name]
    assert {k: v for k, v in entry.items() if k not in ("name", "singularName", "namespaced")} == expected
    assert entry["singularName"] == ""


def test_namespaces_cannot_be_deleted_as_a_collection() -> None:
    assert "deletecollection" not in entries("", "v1")["namespaces"]["verbs"]
    assert "deletecollection" in entries("", "v1")["pods"]["verbs"]


def test_every_served_type_is_advertised_exactly_once() -> None:
    advertised = [
        (g, v, r["name"])
        for g, v in SERVED
        for r in discovery.api_resource_list(g, v)["resources"]
        if "/" not in r["name"]
    ]
    assert sorted(advertised) == sorted((rt.group, rt.version, rt.plural) for rt in (*RESOURCES, *METRICS_RESOURCES))
    subresources = {
        r["name"]
        for g, v in SERVED
        for r in discovery.api_resource_list(g, v)["resources"]
        if "/" in r["name"]
    }
    assert subresources == {f"{rt.plural}/{s}" for rt in RESOURCES for s in rt.subresources}


@pytest.mark.parametrize("name", ["secrets", "leases", "events"])
def test_entries_without_short_names_or_categories_omit_them(name: str) -> None:
    group = "coordination.k8s.io" if name == "leases" else ""
    entry = entries(group, "v1")[name]
    assert "categories" not in entry
    assert ("shortNames" in entry) == (name == "events")


# --- aggregated discovery --------------------------------------------------------------------


def test_aggregated_core_shape() -> None:
    doc = discovery.aggregated_core()
    assert (doc["kind"], doc["apiVersion"]) == ("APIGroupDiscoveryList", "apidiscovery.k8s.io/v2")
    [core] = doc["items"]
    assert core["metadata"] == {}
    [v1] = core["versions"]
    assert (v1["version"], v1["freshness"]) == ("v1", "Current")
    pods = next(r for r in v1["resources"] if r["resource"] == "pods")
    assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert (pods["scope"], pods["singularResource"], pods["shortNames"]) == ("Namespaced", "pod", ["po"])
    subresources = {s["subresource"]: s for s in pods["subresources"]}
    assert set(subresources) == {
        "attach", "binding", "ephemeralcontainers", "eviction", "exec", "log", "portforward", "status",
    }
    assert subresources["eviction"]["responseKind"] == {
        "group": "policy",
        "version": "v1",
        "kind": "Eviction",
    }
    nodes = next(r for r in v1["resources"] if r["resource"] == "nodes")
    assert nodes["scope"] == "Cluster"


def test_aggregated_groups_shape() -> None:
    doc = discovery.aggregated_groups()
    assert [item["metadata"]["name"] for item in doc["items"]] == [
        "apps", "coordination.k8s.io", "authentication.k8s.io", "rbac.authorization.k8s.io", "authorization.k8s.io",
        "node.podvisor.io", "discovery.k8s.io", "batch", "policy", "storage.k8s.io", "networking.k8s.io",
            "autoscaling", "metrics.k8s.io"]
    deployments = next(
        r for r in doc["items"][0]["versions"][0]["resources"] if r["resource"] == "deployments"
    )
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale == {
        "subresource": "scale",
        "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
        "verbs": ["get", "patch", "update"],
    }


def test_aggregated_and_plain_discovery_agree() -> None:
    aggregated = {
        (item["metadata"].get("name", ""), version["version"], r["resource"]): r["verbs"]
        for doc in (discovery.aggregated_core(), discovery.aggregated_groups())
        for item in doc["items"]
        for version in item["versions"]
        for r in version["resources"]
    }
    plain = {
        (g, v, r["name"]): r["verbs"]
        for g, v in SERVED
        for r in discovery.api_resource_list(g, v)["resources"]
        if "/" not in r["name"]
    }
    assert aggregated == plain


KUBECTL_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        pytest.param(KUBECTL_ACCEPT, True, id="kubectl"),
        pytest.param("application/json", False, id="plain-json"),
        pytest.param("", False, id="empty"),
        pytest.param("*/*", False, id="anything"),
        pytest.param(
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
            False,
            id="v2beta1-only",
        ),
        pytest.param(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0", False, id="refused"
        ),
        pytest.param(
            "application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io;q=0.9",
            True,
            id="spaces-order-q",
        ),
        pytest.param(
            "Application/JSON;G=apidiscovery.k8s.io;V=v2;AS=APIGroupDiscoveryList",
            True,
            id="case-insensitive-names",
        ),
        pytest.param(
            "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            False,
            id="protobuf",
        ),
    ],
)
def test_wants_aggregated(accept: str, expected: bool) -> None:
    assert discovery.wants_aggregated(accept) is expected


def test_aggregated_content_type_is_exact() -> None:
    assert (
        discovery.AGGREGATED_CONTENT_TYPE
        == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
