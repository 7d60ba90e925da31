"""DaemonSets and PodDisruptionBudgets through the API: defaults, validation, printer columns, and
the eviction subresource honouring a budget (429, 500 for two budgets, unhealthy pods)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from apiserver.app import create_app
from apiserver.store.sqlite import SqliteStore

APPS = "/apis/apps/v1/namespaces/default/daemonsets"
PDBS = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
PODS = "/api/v1/namespaces/default/pods"
TEMPLATE = {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
DS = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
      "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": TEMPLATE}}


@pytest.fixture
def api(tmp_path: Any) -> Iterator[TestClient]:
    store = SqliteStore(tmp_path / "state.db")
    with TestClient(create_app(store)) as client:
        yield client
    store.close()


def _with(body: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node = out
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return out


def test_a_daemonset_is_defaulted_and_starts_with_zero_counts(api: TestClient) -> None:
    made = api.post(APPS, json=DS)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert body["spec"]["revisionHistoryLimit"] == 10
    assert body["status"] == {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                              "numberReady": 0}
    assert body["metadata"]["generation"] == 1


@pytest.mark.parametrize(("path", "value", "field", "message"), [
    pytest.param(["spec", "selector"], {"matchLabels": {"app": "other"}}, "spec.template.metadata.labels",
                 "`selector` does not match template `labels`", id="selector-mismatch"),
    pytest.param(["spec", "selector"], {}, "spec.selector", "empty selector is invalid for daemonset", id="empty"),
    pytest.param(["spec", "template", "spec", "restartPolicy"], "Never", "spec.template.spec.restartPolicy",
                 'Unsupported value: "Never"', id="restart-never"),
    pytest.param(["spec", "updateStrategy"], {"type": "Sometimes"}, "spec.updateStrategy.type",
                 'Unsupported value: "Sometimes"', id="strategy-type"),
    pytest.param(["spec", "updateStrategy"], {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}},
                 "spec.updateStrategy.rollingUpdate.maxUnavailable", "may not be 0", id="both-zero"),
    pytest.param(["spec", "updateStrategy"], {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "x%"}},
                 "spec.updateStrategy.rollingUpdate.maxSurge", "a valid percent string", id="bad-percent"),
])
def test_daemonset_mistakes_are_named(api: TestClient, path: list[str], value: Any, field: str, message: str) -> None:
    refused = api.post(APPS, json=_with(DS, path, value))
    assert refused.status_code == 422, refused.text
    causes = refused.json()["details"]["causes"]
    assert any(c["field"] == field and message in c["message"] for c in causes), causes


def test_the_selector_of_a_daemonset_is_immutable(api: TestClient) -> None:
    made = api.post(APPS, json=DS).json()
    changed = _with(made, ["spec", "selector"], {"matchLabels": {"app": "agent", "x": "y"}})
    changed["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    refused = api.put(f"{APPS}/agent", json=changed)
    assert refused.status_code == 422 and "field is immutable" in refused.text


def test_daemonsets_print_kubernetes_columns(api: TestClient) -> None:
    api.post(APPS, json=_with(DS, ["spec", "template", "spec", "nodeSelector"], {"role": "edge"}))
    table = api.get(APPS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    names = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert names == ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"]
    assert table["rows"][0]["cells"][:7] == ["agent", 0, 0, 0, 0, 0, "role=edge"]


PDB = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
       "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}


@pytest.mark.parametrize(("spec", "field", "message"), [
    pytest.param({"minAvailable": 1, "maxUnavailable": 1}, "spec", "cannot be both set", id="both"),
    pytest.param({"minAvailable": "120%"}, "spec.minAvailable", "must not be greater than 100%", id="over-100"),
    pytest.param({"maxUnavailable": -1}, "spec.maxUnavailable", "greater than or equal to 0", id="negative"),
    pytest.param({"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "Never"}, "spec.unhealthyPodEvictionPolicy",
                 'Unsupported value: "Never"', id="policy"),
    pytest.param({"minAvailable": 1, "selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}},
                 "spec.selector.matchExpressions[0].operator", "", id="selector"),
])
def test_budget_mistakes_are_named(api: TestClient, spec: dict[str, Any], field: str, message: str) -> None:
    refused = api.post(PDBS, json={**PDB, "spec": spec})
    assert refused.status_code == 422, refused.text
    causes = refused.json()["details"]["causes"]
    assert any(c["field"] == field and message in c["message"] for c in causes), causes


def test_budgets_print_kubernetes_columns(api: TestClient) -> None:
    made = api.post(PDBS, json=PDB)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                                     "expectedPods": 0}
    table = api.get(PDBS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"]
    assert table["rows"][0]["cells"][:4] == ["web", "2", "N/A", 0]


# -- eviction -----------------------------------------------------------------------------------


def _pod(api: TestClient, name: str, *, ready: bool = True, labels: dict[str, str] | None = None) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], "terminationGracePeriodSeconds": 0}}
    assert api.post(PODS, json=body).status_code == 201
    status = api.get(f"{PODS}/{name}").json()
    status["status"] = {"phase": "Running",
                        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    assert api.put(f"{PODS}/{name}/status", json=status).status_code == 200


def _budget(api: TestClient, *, allowed: int, healthy: int = 3, desired: int = 2, name: str = "web",
            **spec: Any) -> None:
    body = copy.deepcopy(PDB)
    body["metadata"]["name"] = name
    body["spec"].update(spec)
    assert api.post(PDBS, json=body).status_code == 201
    made = api.get(f"{PDBS}/{name}").json()
    made["status"] = {"observedGeneration": made["metadata"]["generation"], "disruptionsAllowed": allowed,
                      "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": 3}
    assert api.put(f"{PDBS}/{name}/status", json=made).status_code == 200


def _evict(api: TestClient, name: str) -> Any:
    return api.post(f"{PODS}/{name}/eviction", json={"apiVersion": "policy/v1", "kind": "Eviction",
                                                     "metadata": {"name": name, "namespace": "default"}})


def test_an_eviction_the_budget_allows_deletes_the_pod_and_takes_one_disruption(api: TestClient) -> None:
    _pod(api, "a")
    _budget(api, allowed=1)
    done = _evict(api, "a")
    assert done.status_code == 201, done.text
    assert api.get(f"{PODS}/a").status_code == 404
    status = api.get(f"{PDBS}/web").json()["status"]
    assert status["disruptionsAllowed"] == 0 and set(status["disruptedPods"]) == {"a"}
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("DisruptionAllowed", "False", "InsufficientPods")]


def test_an_eviction_the_budget_refuses_is_429_with_kubernetes_message(api: TestClient) -> None:
    _pod(api, "a")
    _budget(api, allowed=0, healthy=2, desired=2)
    refused = _evict(api, "a")
    assert refused.status_code == 429, refused.text
    body = refused.json()
    assert body["reason"] == "TooManyRequests"
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget",
                                          "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]
    assert api.get(f"{PODS}/a").status_code == 200


def test_a_budget_not_yet_observed_refuses_with_429(api: TestClient) -> None:
    _pod(api, "a")
    assert api.post(PDBS, json=PDB).status_code == 201  # status.observedGeneration still unset
    refused = _evict(api, "a")
    assert refused.status_code == 429 and "still being processed" in refused.text


def test_two_budgets_over_one_pod_are_a_500(api: TestClient) -> None:
    _pod(api, "a")
    _budget(api, allowed=1, name="one")
    _budget(api, allowed=1, name="two")
    refused = _evict(api, "a")
    assert refused.status_code == 500 and "more than one PodDisruptionBudget" in refused.text


@pytest.mark.parametrize(("policy", "healthy", "evicted"), [
    pytest.param(None, 2, True, id="if-healthy-budget-met"),
    pytest.param(None, 1, False, id="if-healthy-budget-not-met"),
    pytest.param("AlwaysAllow", 1, True, id="always-allow"),
])
def test_an_unready_pod_goes_as_the_unhealthy_policy_says(api: TestClient, policy: str | None, healthy: int,
                                                          evicted: bool) -> None:
    _pod(api, "sick", ready=False)
    extra = {"unhealthyPodEvictionPolicy": policy} if policy else {}
    _budget(api, allowed=0, healthy=healthy, desired=2, **extra)
    done = _evict(api, "sick")
    assert done.status_code == (201 if evicted else 429), done.text


def test_a_pod_no_budget_selects_is_simply_deleted(api: TestClient) -> None:
    _pod(api, "free", labels={"app": "other"})
    _budget(api, allowed=0)
    assert _evict(api, "free").status_code == 201
    assert api.get(f"{PODS}/free").status_code == 404


def test_the_second_eviction_finds_the_disruption_taken(api: TestClient) -> None:
    _pod(api, "a")
    _pod(api, "b")
    _budget(api, allowed=1)
    assert _evict(api, "a").status_code == 201
    refused = _evict(api, "b")
    assert refused.status_code == 429, refused.text


def test_an_evicted_pod_carries_the_disruption_target_condition_while_it_terminates(api: TestClient) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "slow", "labels": {"app": "other"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}],
                     "terminationGracePeriodSeconds": 30}}  # bound: its deletion waits for the kubelet
    assert api.post(PODS, json=body).status_code == 201
    status = api.get(f"{PODS}/slow").json()
    status["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    assert api.put(f"{PODS}/slow/status", json=status).status_code == 200
    assert _evict(api, "slow").status_code == 201
    pod = api.get(f"{PODS}/slow").json()
    assert pod["metadata"].get("deletionTimestamp"), pod
    target = [c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert [(c["status"], c["reason"], c["message"]) for c in target] == [
        ("True", "EvictionByEvictionAPI", "Eviction API: evicting")]
    assert {c["type"] for c in pod["status"]["conditions"]} == {"Ready", "DisruptionTarget"}
