"""Server-side apply and managedFields over HTTP, asserted on what a client reads back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from apimachinery.client import ApiClient
from apimachinery.models.apps import Deployment, DeploymentStatus
from tests.apiserver.conftest import RunningServer

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
APPLY = {"Content-Type": "application/apply-patch+yaml"}
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
KUBECTL_AGENT = {"User-Agent": "kubectl/v1.37.1 (linux/amd64) kubernetes/f78e722"}


def deployment(name: str, *, replicas: int | None = 1, labels: dict[str, str] | None = None,
               env: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    container = {"name": "c", "image": "podvisor/busybox", "env": [{"name": e, "value": "1"} for e in env]}
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}},
                            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels or {}}, "spec": {**spec, **extra}}


def apply(http: httpx.Client, obj: dict[str, Any], *, manager: str = "me", query: str = "") -> httpx.Response:
    name = obj["metadata"]["name"]
    return http.patch(f"{DEPLOYMENTS}/{name}?fieldManager={manager}{query}", content=json.dumps(obj), headers=APPLY)


def entries(obj: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"], e.get("subresource", "")): e
            for e in obj["metadata"].get("managedFields") or []}


def env_names(obj: dict[str, Any]) -> list[str]:
    return [e["name"] for e in obj["spec"]["template"]["spec"]["containers"][0].get("env") or []]


def test_apply_creates_then_updates_and_owns_exactly_its_configuration(http: httpx.Client) -> None:
    created = apply(http, deployment("own", labels={"a": "1"}))
    assert created.status_code == 201
    again = apply(http, deployment("own", labels={"a": "1"}))
    assert again.status_code == 200
    (key, entry), = entries(again.json()).items()
    assert key == ("me", "Apply", "")
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1" and entry["time"]
    fields = entry["fieldsV1"]
    assert fields["f:metadata"] == {"f:labels": {"f:a": {}}}
    assert fields["f:spec"]["f:replicas"] == {}
    assert "f:strategy" not in fields["f:spec"]  # defaulted by the server, not applied
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}']
    assert container["."] == {} and container["f:image"] == {}


def test_dropped_label_and_env_var_are_removed_when_the_applier_alone_held_them(http: httpx.Client) -> None:
    apply(http, deployment("drop", labels={"a": "1", "b": "2"}, env=("X", "Y")))
    after = apply(http, deployment("drop", labels={"a": "1"}, env=("X",))).json()
    assert after["metadata"]["labels"] == {"a": "1"}
    assert env_names(after) == ["X"]
    assert "f:b" not in entries(after)[("me", "Apply", "")]["fieldsV1"]["f:metadata"]["f:labels"]


def test_dropped_fields_another_manager_also_holds_are_kept(http: httpx.Client) -> None:
    apply(http, deployment("shared", labels={"a": "1", "b": "2"}))
    apply(http, deployment("shared", labels={"b": "2"}), manager="other")
    after = apply(http, deployment("shared", labels={"a": "1"})).json()
    assert after["metadata"]["labels"] == {"a": "1", "b": "2"}
    assert "f:b" in entries(after)[("other", "Apply", "")]["fieldsV1"]["f:metadata"]["f:labels"]


def test_apply_after_scale_conflicts_on_replicas_and_force_takes_it(http: httpx.Client) -> None:
    apply(http, deployment("scaled", replicas=1))
    scaled = http.patch(f"{DEPLOYMENTS}/scaled/scale", json={"spec": {"replicas": 3}}, headers={**MERGE, **KUBECTL_AGENT})
    assert scaled.status_code == 200
    live = http.get(f"{DEPLOYMENTS}/scaled").json()
    assert entries(live)[("kubectl", "Update", "scale")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}

    refused = apply(http, deployment("scaled", replicas=1))
    assert refused.status_code == 409
    status = refused.json()
    assert status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas'
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict", "field": ".spec.replicas",
                                            "message": 'conflict with "kubectl" using apps/v1'}]
    assert http.get(f"{DEPLOYMENTS}/scaled").json()["spec"]["replicas"] == 3

    forced = apply(http, deployment("scaled", replicas=1), query="&force=true").json()
    assert forced["spec"]["replicas"] == 1
    assert ("kubectl", "Update", "scale") not in entries(forced)  # it owned nothing else


def test_applying_the_value_another_manager_set_is_no_conflict(http: httpx.Client) -> None:
    apply(http, deployment("same", replicas=1))
    http.patch(f"{DEPLOYMENTS}/same/scale", json={"spec": {"replicas": 3}}, headers={**MERGE, **KUBECTL_AGENT})
    assert apply(http, deployment("same", replicas=3)).status_code == 200


@pytest.mark.parametrize(
    ("query", "agent", "manager"),
    [
        pytest.param("?fieldManager=kubectl-create", {}, "kubectl-create", id="field-manager"),
        pytest.param("", KUBECTL_AGENT, "kubectl", id="from-the-user-agent"),
    ],
)
def test_create_records_an_update_by_its_manager(http: httpx.Client, query: str, agent: dict[str, str],
                                                 manager: str) -> None:
    body = {"metadata": {"name": f"cm-{manager}"}, "data": {"k": "v"}}
    created = http.post(f"{CONFIGMAPS}{query}", json=body, headers=agent).json()
    (key, entry), = entries(created).items()
    assert key == (manager, "Update", "")
    assert entry["apiVersion"] == "v1" and entry["fieldsV1"] == {"f:data": {"f:k": {}}}


def test_an_update_takes_the_fields_it_changes(http: httpx.Client) -> None:
    http.post(f"{CONFIGMAPS}?fieldManager=creator", json={"metadata": {"name": "upd"}, "data": {"a": "1", "b": "1"}})
    after = http.patch(f"{CONFIGMAPS}/upd?fieldManager=editor", json={"data": {"b": "2"}}, headers=MERGE).json()
    assert entries(after)[("creator", "Update", "")]["fieldsV1"] == {"f:data": {"f:a": {}}}
    assert entries(after)[("editor", "Update", "")]["fieldsV1"] == {"f:data": {"f:b": {}}}


def test_a_controller_writes_status_as_its_own_manager(server: RunningServer, http: httpx.Client) -> None:
    apply(http, deployment("ctl"))

    async def write_status() -> None:
        async with ApiClient(server.url, user_agent="podvisor-controller-manager") as client:
            live = await client.get(Deployment, "ctl", "default")
            live.status = DeploymentStatus(observed_generation=1)
            await client.replace_status(live)

    asyncio.run(write_status())
    obj = http.get(f"{DEPLOYMENTS}/ctl").json()
    status_entry = entries(obj)[("podvisor-controller-manager", "Update", "status")]
    assert "f:observedGeneration" in status_entry["fieldsV1"]["f:status"]
    assert "f:status" not in entries(obj)[("me", "Apply", "")]["fieldsV1"]


@pytest.mark.parametrize(
    ("value", "left"),
    [
        pytest.param([{}], None, id="one-empty-entry-clears"),
        pytest.param([], None, id="an-empty-list-clears"),
        pytest.param([{"manager": "restored", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                       "fieldsV1": {"f:data": {"f:a": {}}}}], ["restored"], id="sent-entries-replace"),
        pytest.param([{"manager": "bad", "operation": "Nope"}], ["creator"], id="invalid-entries-are-ignored"),
    ],
)
def test_managed_fields_sent_in_an_update_replace_ownership(http: httpx.Client, value: Any,
                                                            left: list[str] | None) -> None:
    name = f"reset-{len(json.dumps(value))}"
    http.post(f"{CONFIGMAPS}?fieldManager=creator", json={"metadata": {"name": name}, "data": {"a": "1"}})
    ops = [{"op": "replace", "path": "/metadata/managedFields", "value": value}]
    after = http.patch(f"{CONFIGMAPS}/{name}?fieldManager=patcher", json=ops, headers=JSON_PATCH).json()
    managers = [e["manager"] for e in after["metadata"].get("managedFields") or []] or None
    assert managers == left


def test_a_put_without_managed_fields_keeps_them(http: httpx.Client) -> None:
    http.post(f"{CONFIGMAPS}?fieldManager=creator", json={"metadata": {"name": "keep"}, "data": {"a": "1"}})
    after = http.put(f"{CONFIGMAPS}/keep?fieldManager=replacer", json={"metadata": {"name": "keep"},
                                                                        "data": {"a": "1", "b": "2"}}).json()
    assert sorted(e["manager"] for e in after["metadata"]["managedFields"]) == ["creator", "replacer"]


def test_dry_run_apply_changes_nothing(http: httpx.Client) -> None:
    apply(http, deployment("dry", replicas=1, labels={"a": "1"}))
    before = http.get(f"{DEPLOYMENTS}/dry").json()
    dry = apply(http, deployment("dry", replicas=4), query="&dryRun=All")
    assert dry.status_code == 200 and dry.json()["spec"]["replicas"] == 4
    assert http.get(f"{DEPLOYMENTS}/dry").json() == before
    assert apply(http, deployment("never", replicas=1), query="&dryRun=All").status_code == 201
    assert http.get(f"{DEPLOYMENTS}/never").status_code == 404


@pytest.mark.parametrize(
    ("body", "query", "code", "message"),
    [
        pytest.param(deployment("strict", bogus=1), "&fieldValidation=Strict", 400, 'unknown field "spec.bogus"',
                     id="strict-rejects-unknown-fields"),
        pytest.param({**deployment("mf"), "metadata": {"name": "mf", "managedFields": []}}, "", 400,
                     "metadata.managedFields must be nil", id="managed-fields-in-the-configuration"),
    ],
)
def test_bad_applies_are_refused(http: httpx.Client, body: dict[str, Any], query: str, code: int,
                                 message: str) -> None:
    response = apply(http, body, query=query)
    assert response.status_code == code, response.text
    assert message in response.json()["message"]


def test_apply_needs_a_field_manager(http: httpx.Client) -> None:
    response = http.patch(f"{DEPLOYMENTS}/nomgr", content=json.dumps(deployment("nomgr")), headers=APPLY)
    assert response.status_code == 422
    assert response.json()["message"] == ('PatchOptions.meta.k8s.io "" is invalid: '
                                          "fieldManager: Required value: is required for apply patch")


def test_kubectl_server_side_apply_takes_over_a_client_side_applied_object(http: httpx.Client) -> None:
    first = deployment("csa", replicas=2)
    annotated = {**first, "metadata": {**first["metadata"], "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(first)}}}
    http.post(f"{DEPLOYMENTS}?fieldManager=kubectl-client-side-apply", json=annotated)
    changed = deployment("csa", replicas=5)
    taken = apply(http, changed, manager="kubectl")
    assert taken.status_code == 200, taken.text
    obj = taken.json()
    assert obj["spec"]["replicas"] == 5
    assert "f:replicas" in entries(obj)[("kubectl", "Apply", "")]["fieldsV1"]["f:spec"]
    recorded = json.loads(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert recorded["spec"]["replicas"] == 5
    assert apply(http, deployment("csa", replicas=7), manager="someone").status_code == 409


def test_an_object_nobody_owns_is_owned_by_before_first_apply(server: RunningServer, http: httpx.Client) -> None:
    http.post(f"{CONFIGMAPS}?fieldManager=x", json={"metadata": {"name": "old"}, "data": {"a": "1"}})
    ops = [{"op": "replace", "path": "/metadata/managedFields", "value": [{}]}]
    http.patch(f"{CONFIGMAPS}/old", json=ops, headers=JSON_PATCH)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old"}, "data": {"a": "2"}}
    refused = http.patch(f"{CONFIGMAPS}/old?fieldManager=me", content=json.dumps(body), headers=APPLY)
    assert refused.status_code == 409
    assert refused.json()["details"]["causes"][0]["message"] == 'conflict with "before-first-apply" using v1'


def test_dropping_the_last_label_and_env_var_leaves_no_empty_map_or_list(http: httpx.Client) -> None:
    apply(http, deployment("empty", labels={"only": "1"}, env=("ONLY",)))
    body = deployment("empty", env=())
    del body["metadata"]["labels"]
    del body["spec"]["template"]["spec"]["containers"][0]["env"]
    after = apply(http, body).json()
    assert "labels" not in after["metadata"]
    assert "env" not in after["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "code"),
    [
        pytest.param("PATCH", f"{CONFIGMAPS}/forced", MERGE, {"data": {"a": "2"}}, 422, id="force-on-a-merge-patch"),
        pytest.param("PUT", f"{CONFIGMAPS}/forced", {}, {"metadata": {"name": "forced"}}, 200, id="ignored-on-put"),
    ],
)
def test_force_belongs_to_apply(http: httpx.Client, method: str, path: str, headers: dict[str, str],
                                body: dict[str, Any], code: int) -> None:
    http.post(CONFIGMAPS, json={"metadata": {"name": "forced"}, "data": {"a": "1"}})
    response = http.request(method, f"{path}?force=true", json=body, headers=headers)
    assert response.status_code == code, response.text
    if code == 422:
        assert "force: Forbidden: may not be specified for non-apply patch" in response.json()["message"]


def test_apply_to_status_owns_only_status(http: httpx.Client) -> None:
    apply(http, deployment("st"))
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "st"},
            "status": {"observedGeneration": 1}}
    response = http.patch(f"{DEPLOYMENTS}/st/status?fieldManager=ctrl", content=json.dumps(body), headers=APPLY)
    assert response.status_code == 200, response.text
    obj = response.json()
    assert obj["status"]["observedGeneration"] == 1 and obj["spec"]["replicas"] == 1
    assert entries(obj)[("ctrl", "Apply", "status")]["fieldsV1"] == {"f:status": {"f:observedGeneration": {}}}
    assert http.patch(f"{DEPLOYMENTS}/absent/status?fieldManager=ctrl", content=json.dumps(body),
                      headers=APPLY).status_code == 404


def test_reapplying_a_pod_unchanged_is_a_no_op(http: httpx.Client) -> None:
    pods = "/api/v1/namespaces/default/pods"
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}},
            "spec": {"containers": [{"name": "c", "image": "podvisor/busybox", "ports": [{"containerPort": 80}]}]}}
    first = http.patch(f"{pods}/p?fieldManager=me", content=json.dumps(body), headers=APPLY)
    assert first.status_code == 201, first.text
    again = http.patch(f"{pods}/p?fieldManager=me", content=json.dumps(body), headers=APPLY)
    assert again.status_code == 200, again.text
    assert again.json()["metadata"]["resourceVersion"] == first.json()["metadata"]["resourceVersion"]
    ports = entries(again.json())[("me", "Apply", "")]["fieldsV1"]["f:spec"]["f:containers"]['k:{"name":"c"}']
    assert ports["f:ports"] == {'k:{"containerPort":80}': {".": {}, "f:containerPort": {}}}
