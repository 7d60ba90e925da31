"""Kinds served for reading only (kubectl's prune allow list): empty lists, 404 per name, 405 for writes."""

from __future__ import annotations

import httpx
import pytest

from apimachinery import resources as res

KINDS = [pytest.param(rt, id=rt.group_resource) for rt in res.LIST_ONLY_RESOURCES]


def collection(rt: res.ResourceType) -> str:
    return rt.path(namespace="default" if rt.namespaced else None)


@pytest.mark.parametrize("rt", KINDS)
def test_lists_are_empty_and_typed(http: httpx.Client, rt: res.ResourceType) -> None:
    listed = http.get(collection(rt), params={"labelSelector": "app=x"})
    assert listed.status_code == 200
    body = listed.json()
    assert (body["kind"], body["apiVersion"], body["items"]) == (f"{rt.kind}List", rt.api_version, [])
    assert body["metadata"]["resourceVersion"]


@pytest.mark.parametrize("rt", KINDS)
def test_a_name_is_not_found_naming_the_resource(http: httpx.Client, rt: res.ResourceType) -> None:
    got = http.get(f"{collection(rt)}/x")
    assert got.status_code == 404
    assert got.json()["details"] == {"name": "x", **({"group": rt.group} if rt.group else {}), "kind": rt.plural}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("rt", KINDS)
def test_writes_are_method_not_allowed(http: httpx.Client, rt: res.ResourceType, method: str) -> None:
    path = collection(rt) if method == "POST" else f"{collection(rt)}/x"
    body = {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": {"name": "x"}}
    refused = http.request(method, path, json=body,
                           headers={"content-type": "application/merge-patch+json"} if method == "PATCH" else None)
    assert refused.status_code == 405
    status = refused.json()
    assert (status["reason"], status["details"]) == ("MethodNotAllowed", {})
    assert http.get(f"{collection(rt)}/x").status_code == 404


@pytest.mark.parametrize("rt", KINDS)
def test_discovery_says_read_only(http: httpx.Client, rt: res.ResourceType) -> None:
    [entry] = [r for r in http.get(rt.prefix).json()["resources"] if r["name"] == rt.plural]
    assert (entry["kind"], entry["namespaced"], entry["verbs"]) == (rt.kind, rt.namespaced, ["get", "list", "watch"])
