"""``pods/ephemeralcontainers``: only ``spec.ephemeralContainers`` changes, entries are only added,
and each entry is a debugging container (no ports, probes, resources, lifecycle)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

PODS = "/api/v1/namespaces/default/pods"
SUB = f"{PODS}/p/ephemeralcontainers"
SMP = {"content-type": "application/strategic-merge-patch+json"}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "p"}},
       "spec": {"initContainers": [{"name": "init", "image": "busybox"}],
                "containers": [{"name": "c", "image": "busybox"}]}}
DEBUG = {"name": "debugger", "image": "busybox", "targetContainerName": "c", "stdin": True, "tty": True}


@pytest.fixture
def pod(http: httpx.Client) -> dict[str, Any]:
    created = http.post(PODS, json=POD)
    assert created.status_code == 201, created.text
    return dict(created.json())


def add(http: httpx.Client, *containers: dict[str, Any]) -> httpx.Response:
    return http.patch(SUB, content=json.dumps({"spec": {"ephemeralContainers": list(containers)}}), headers=SMP)


def causes(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return [(c["field"], c["message"]) for c in response.json()["details"]["causes"]]


NOT_ALLOWED = "Forbidden: cannot be set for an Ephemeral Container"
# (id, ephemeral container, [(field, message)])
INVALID = [
    ("ports", {**DEBUG, "ports": [{"containerPort": 80}]}, [("spec.ephemeralContainers[0].ports", NOT_ALLOWED)]),
    ("resources", {**DEBUG, "resources": {"limits": {"cpu": "1"}}},
     [("spec.ephemeralContainers[0].resources", NOT_ALLOWED)]),
    ("liveness-probe", {**DEBUG, "livenessProbe": {"exec": {"command": ["true"]}}},
     [("spec.ephemeralContainers[0].livenessProbe", NOT_ALLOWED)]),
    ("readiness-probe", {**DEBUG, "readinessProbe": {"tcpSocket": {"port": 80}}},
     [("spec.ephemeralContainers[0].readinessProbe", NOT_ALLOWED)]),
    ("lifecycle", {**DEBUG, "lifecycle": {"preStop": {"exec": {"command": ["true"]}}}},
     [("spec.ephemeralContainers[0].lifecycle", NOT_ALLOWED)]),
    ("restart-policy", {**DEBUG, "restartPolicy": "Always"},
     [("spec.ephemeralContainers[0].restartPolicy", NOT_ALLOWED)]),
    ("name-of-a-container", {**DEBUG, "name": "c"}, [("spec.ephemeralContainers[0].name", 'Duplicate value: "c"')]),
    ("name-of-an-init-container", {**DEBUG, "name": "init"},
     [("spec.ephemeralContainers[0].name", 'Duplicate value: "init"')]),
    ("unknown-target", {**DEBUG, "targetContainerName": "nope"},
     [("spec.ephemeralContainers[0].targetContainerName", 'Not found: "nope"')]),
    ("no-image", {"name": "debugger"}, [("spec.ephemeralContainers[0].image", "Required value")]),
]


@pytest.mark.parametrize(("container", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_ephemeral_containers_are_422_naming_the_field(
    http: httpx.Client, pod: dict[str, Any], container: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert causes(add(http, container)) == expected
    assert "ephemeralContainers" not in http.get(f"{PODS}/p").json()["spec"]


def test_an_added_container_is_stored_with_defaults_and_the_rest_of_the_pod_kept(
    http: httpx.Client, pod: dict[str, Any]
) -> None:
    sneaky = {"metadata": {"labels": {"app": "changed"}},
              "spec": {"ephemeralContainers": [DEBUG], "containers": [{"name": "c", "image": "other"}]}}
    added = http.patch(SUB, content=json.dumps(sneaky), headers=SMP)
    assert added.status_code == 200, added.text
    got = added.json()
    assert got["kind"] == "Pod"
    assert got["spec"]["ephemeralContainers"] == [{
        **DEBUG, "imagePullPolicy": "Always", "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File", "resources": {},
    }]
    assert got["spec"]["containers"][0]["image"] == "busybox"
    assert got["metadata"]["labels"] == {"app": "p"}
    assert http.get(SUB).json() == http.get(f"{PODS}/p").json()


@pytest.mark.parametrize(("change", "message"), [
    ({"$patch": "replace", "spec": {"ephemeralContainers": []}}, 'existing ephemeral containers "debugger" may not be removed'),
    ({"spec": {"ephemeralContainers": [{"name": "debugger", "image": "other"}]}},
     'existing ephemeral containers "debugger" may not be changed'),
], ids=["remove", "change"])
def test_existing_entries_may_not_change(http: httpx.Client, pod: dict[str, Any], change: dict[str, Any],
                                         message: str) -> None:
    assert add(http, DEBUG).status_code == 200
    current = http.get(SUB).json()
    if change.pop("$patch", None):
        current["spec"]["ephemeralContainers"] = change["spec"]["ephemeralContainers"]
        refused = http.put(SUB, json=current)
    else:
        refused = http.patch(SUB, content=json.dumps(change), headers=SMP)
    assert causes(refused) == [("spec.ephemeralContainers", f"Forbidden: {message}")]


def test_a_second_container_is_added_next_to_the_first(http: httpx.Client, pod: dict[str, Any]) -> None:
    assert add(http, DEBUG).status_code == 200
    second = add(http, {"name": "second", "image": "busybox"})
    assert second.status_code == 200, second.text
    assert sorted(c["name"] for c in second.json()["spec"]["ephemeralContainers"]) == ["debugger", "second"]


@pytest.mark.parametrize(("method", "body"), [
    ("PUT", "pod-with-ephemeral"), ("PATCH", {"spec": {"ephemeralContainers": [DEBUG]}}),
], ids=["put", "patch"])
def test_the_main_resource_cannot_add_them(http: httpx.Client, pod: dict[str, Any], method: str, body: Any) -> None:
    if body == "pod-with-ephemeral":
        body = {**pod, "spec": {**pod["spec"], "ephemeralContainers": [DEBUG]}}
        response = http.put(f"{PODS}/p", json=body)
    else:
        response = http.patch(f"{PODS}/p", content=json.dumps(body), headers=SMP)
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "spec"


def test_a_pod_cannot_be_created_with_them(http: httpx.Client) -> None:
    body = {**POD, "spec": {**POD["spec"], "ephemeralContainers": [DEBUG]}}
    assert causes(http.post(PODS, json=body)) == [("spec.ephemeralContainers", "Forbidden: cannot be set on create")]


def test_a_missing_pod_is_a_404_naming_it(http: httpx.Client) -> None:
    missing = add(http, DEBUG)
    assert missing.status_code == 404
    assert missing.json()["details"] == {"name": "p", "kind": "pods"}


def test_discovery_lists_the_subresource_as_kubernetes_does(http: httpx.Client) -> None:
    entries = [r for r in http.get("/api/v1").json()["resources"] if r["name"] == "pods/ephemeralcontainers"]
    assert entries == [{"name": "pods/ephemeralcontainers", "singularName": "", "namespaced": True, "kind": "Pod",
                        "verbs": ["get", "patch", "update"]}]


def test_the_adding_manager_owns_the_entry_through_the_subresource(http: httpx.Client, pod: dict[str, Any]) -> None:
    added = http.patch(SUB, params={"fieldManager": "debugger-tool"},
                       content=json.dumps({"spec": {"ephemeralContainers": [DEBUG]}}), headers=SMP)
    assert added.status_code == 200, added.text
    [entry] = [m for m in added.json()["metadata"]["managedFields"] if m["manager"] == "debugger-tool"]
    assert (entry["operation"], entry["subresource"]) == ("Update", "ephemeralcontainers")
    owned = entry["fieldsV1"]["f:spec"]["f:ephemeralContainers"]
    assert 'k:{"name":"debugger"}' in owned
