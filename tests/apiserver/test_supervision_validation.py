"""Supervision annotations and container restart rules, refused or kept, through the real app over HTTP.

Every bad value is a 422 Status whose cause names the field at fault
(``metadata.annotations[supervision.podvisor.io/intensity]``,
``spec.containers[0].restartPolicyRules[0].exitCodes.values``); every good one is stored and
read back as sent.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from apimachinery import supervision as sv
from apiserver.app import AppSettings
from apiserver.store.sqlite import SqliteStore
from tests.apiserver.conftest import RunningServer

PODS = "/api/v1/namespaces/default/pods"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
REPLICASETS = "/apis/apps/v1/namespaces/default/replicasets"
MERGE = {"Content-Type": "application/merge-patch+json"}
_names = (f"obj-{i}" for i in itertools.count())

POD_SPEC: dict[str, Any] = {
    "initContainers": [{"name": "proxy", "image": "busybox", "restartPolicy": "Always"}],
    "containers": [{"name": "app", "image": "busybox"}, {"name": "worker", "image": "busybox"}],
}


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    tmp: Path = tmp_path_factory.mktemp("supervision")
    server = RunningServer(SqliteStore(tmp / "state.db"), AppSettings(compaction_interval=3600))
    server.start()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client
    server.stop()


def pod(annotations: dict[str, str] | None = None, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": next(_names), "annotations": annotations or {}},
        "spec": copy.deepcopy(spec or POD_SPEC),
    }


def workload(
    kind: str,
    *,
    annotations: dict[str, str] | None = None,
    template_annotations: dict[str, str] | None = None,
    spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": next(_names), "annotations": annotations or {}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "annotations": template_annotations or {}},
                "spec": copy.deepcopy(spec or POD_SPEC),
            },
        },
    }


def cause_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    status = response.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Invalid", 422)
    return [c["field"] for c in status["details"]["causes"]]


def annotation_field(key: str, prefix: str = "metadata") -> str:
    return f"{prefix}.annotations[{key}]"


# --- pods' annotations ---------------------------------------------------------------------------

GOOD_POD_ANNOTATIONS = [
    pytest.param({sv.STRATEGY: "one_for_one"}, id="strategy-one-for-one"),
    pytest.param({sv.STRATEGY: "one_for_all"}, id="strategy-one-for-all"),
    pytest.param({sv.STRATEGY: "rest_for_one"}, id="strategy-rest-for-one"),
    pytest.param({sv.INTENSITY: "0"}, id="intensity-zero"),
    pytest.param({sv.INTENSITY: "100"}, id="intensity-max"),
    pytest.param({sv.INTENSITY: "3", sv.PERIOD: "60"}, id="intensity-and-period"),
    pytest.param({sv.SIGNIFICANT: "app", sv.AUTO_SHUTDOWN: "any"}, id="significant-any"),
    pytest.param({sv.SIGNIFICANT: "app,worker", sv.AUTO_SHUTDOWN: "all"}, id="significant-all"),
    pytest.param({sv.AUTO_SHUTDOWN: "never"}, id="auto-shutdown-never"),
    pytest.param({sv.FAILED_ON: "node-1,node-2"}, id="failed-on"),
    pytest.param({"example.com/other": "anything"}, id="other-prefix-untouched"),
]

BAD_POD_ANNOTATIONS = [
    pytest.param({sv.STRATEGY: "one-for-one"}, sv.STRATEGY, "one_for_all", id="strategy-dashes"),
    pytest.param({sv.STRATEGY: ""}, sv.STRATEGY, "rest_for_one", id="strategy-empty"),
    pytest.param({sv.INTENSITY: "five"}, sv.INTENSITY, "between 0 and 100", id="intensity-word"),
    pytest.param({sv.INTENSITY: "-1"}, sv.INTENSITY, "between 0 and 100", id="intensity-negative"),
    pytest.param({sv.INTENSITY: "101"}, sv.INTENSITY, "between 0 and 100", id="intensity-too-big"),
    pytest.param({sv.INTENSITY: "3", sv.PERIOD: "0"}, sv.PERIOD, "between 1 and", id="period-zero"),
    pytest.param({sv.INTENSITY: "3", sv.PERIOD: "1m"}, sv.PERIOD, "between 1 and", id="period-unit"),
    pytest.param({sv.PERIOD: "60"}, sv.PERIOD, sv.INTENSITY, id="period-without-intensity"),
    pytest.param(
        {sv.SIGNIFICANT: "nope", sv.AUTO_SHUTDOWN: "any"}, sv.SIGNIFICANT, "nope", id="significant-unknown"
    ),
    pytest.param(
        {sv.SIGNIFICANT: "proxy", sv.AUTO_SHUTDOWN: "any"}, sv.SIGNIFICANT, "proxy", id="significant-sidecar"
    ),
    pytest.param(
        {sv.SIGNIFICANT: "app"}, sv.SIGNIFICANT, sv.AUTO_SHUTDOWN, id="significant-without-shutdown"
    ),
    pytest.param({sv.AUTO_SHUTDOWN: "some"}, sv.AUTO_SHUTDOWN, '"any"', id="auto-shutdown-word"),
    pytest.param({sv.AUTO_SHUTDOWN: "any"}, sv.AUTO_SHUTDOWN, sv.SIGNIFICANT, id="auto-shutdown-alone"),
    pytest.param({sv.FAILED_ON: "Node_1"}, sv.FAILED_ON, "DNS-1123", id="failed-on-bad-name"),
    pytest.param({sv.PREFIX + "intensty": "3"}, sv.PREFIX + "intensty", "known here", id="unknown-key"),
    pytest.param({sv.AUTO_ROLLBACK: "true"}, sv.AUTO_ROLLBACK, "known here", id="deployment-key-on-pod"),
]


@pytest.mark.parametrize("annotations", GOOD_POD_ANNOTATIONS)
def test_good_pod_annotations_are_stored(http: httpx.Client, annotations: dict[str, str]) -> None:
    created = http.post(PODS, json=pod(annotations))
    assert created.status_code == 201, created.text
    assert created.json()["metadata"]["annotations"] == annotations


@pytest.mark.parametrize(("annotations", "key", "message"), BAD_POD_ANNOTATIONS)
def test_bad_pod_annotations_are_422(
    http: httpx.Client, annotations: dict[str, str], key: str, message: str
) -> None:
    response = http.post(PODS, json=pod(annotations))
    assert annotation_field(key) in cause_fields(response)
    cause = next(c for c in response.json()["details"]["causes"] if c["field"] == annotation_field(key))
    assert cause["reason"] == "FieldValueInvalid"
    assert message in cause["message"]
    assert f'"{annotations[key]}"' in cause["message"]  # the value given is quoted


@pytest.mark.parametrize(("annotations", "key", "message"), BAD_POD_ANNOTATIONS[:4])
def test_bad_template_annotations_are_422(
    http: httpx.Client, annotations: dict[str, str], key: str, message: str
) -> None:
    for kind, url in (("Deployment", DEPLOYMENTS), ("ReplicaSet", REPLICASETS)):
        response = http.post(url, json=workload(kind, template_annotations=annotations))
        assert annotation_field(key, "spec.template.metadata") in cause_fields(response), kind


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        pytest.param({sv.INTENSITY: "5", sv.PERIOD: "30"}, 200, id="good"),
        pytest.param({sv.INTENSITY: "lots"}, 422, id="bad"),
        pytest.param({sv.PREFIX + "nope": "1"}, 422, id="unknown"),
    ],
)
def test_pod_annotation_updates_are_validated(http: httpx.Client, patch: dict[str, str], code: int) -> None:
    body = pod({sv.INTENSITY: "1"})
    name = body["metadata"]["name"]
    assert http.post(PODS, json=body).status_code == 201
    response = http.patch(f"{PODS}/{name}", json={"metadata": {"annotations": patch}}, headers=MERGE)
    assert response.status_code == code, response.text
    stored = http.get(f"{PODS}/{name}").json()["metadata"]["annotations"]
    assert stored == ({sv.INTENSITY: "1", **patch} if code == 200 else {sv.INTENSITY: "1"})


# --- Deployments' own annotations ------------------------------------------------------------------

GOOD_DEPLOYMENT_ANNOTATIONS = [
    pytest.param({sv.INTENSITY: "3"}, id="intensity"),
    pytest.param({sv.INTENSITY: "3", sv.PERIOD: "600"}, id="intensity-and-period"),
    pytest.param({sv.AUTO_ROLLBACK: "true"}, id="auto-rollback-true"),
    pytest.param({sv.AUTO_ROLLBACK: "false"}, id="auto-rollback-false"),
    pytest.param({sv.LAST_AVAILABLE_REVISION: "7"}, id="last-available-revision"),
    pytest.param({sv.REJECTED_TEMPLATE: "5d8f9c7b6"}, id="rejected-template"),
]

BAD_DEPLOYMENT_ANNOTATIONS = [
    pytest.param({sv.INTENSITY: "x"}, sv.INTENSITY, "between 0 and 100", id="intensity-word"),
    pytest.param({sv.INTENSITY: "3", sv.PERIOD: "0"}, sv.PERIOD, "between 1 and", id="period-zero"),
    pytest.param({sv.PERIOD: "60"}, sv.PERIOD, sv.INTENSITY, id="period-without-intensity"),
    pytest.param({sv.AUTO_ROLLBACK: "yes"}, sv.AUTO_ROLLBACK, '"true", "false"', id="auto-rollback-yes"),
    pytest.param(
        {sv.LAST_AVAILABLE_REVISION: "0"}, sv.LAST_AVAILABLE_REVISION, "between 1", id="revision-zero"
    ),
    pytest.param(
        {sv.LAST_AVAILABLE_REVISION: "v3"}, sv.LAST_AVAILABLE_REVISION, "integer", id="revision-word"
    ),
    pytest.param(
        {sv.REJECTED_TEMPLATE: "Bad_Hash"}, sv.REJECTED_TEMPLATE, "pod-template-hash", id="rejected-bad"
    ),
    pytest.param({sv.STRATEGY: "one_for_all"}, sv.STRATEGY, "known here", id="pod-key-on-deployment"),
    pytest.param({sv.PREFIX + "rollback": "true"}, sv.PREFIX + "rollback", "known here", id="unknown-key"),
]


@pytest.mark.parametrize("annotations", GOOD_DEPLOYMENT_ANNOTATIONS)
def test_good_deployment_annotations_are_stored(http: httpx.Client, annotations: dict[str, str]) -> None:
    created = http.post(DEPLOYMENTS, json=workload("Deployment", annotations=annotations))
    assert created.status_code == 201, created.text
    assert created.json()["metadata"]["annotations"] == annotations


@pytest.mark.parametrize(("annotations", "key", "message"), BAD_DEPLOYMENT_ANNOTATIONS)
def test_bad_deployment_annotations_are_422(
    http: httpx.Client, annotations: dict[str, str], key: str, message: str
) -> None:
    response = http.post(DEPLOYMENTS, json=workload("Deployment", annotations=annotations))
    assert annotation_field(key) in cause_fields(response)
    cause = next(c for c in response.json()["details"]["causes"] if c["field"] == annotation_field(key))
    assert message in cause["message"]


def test_deployment_annotation_updates_are_validated(http: httpx.Client) -> None:
    body = workload("Deployment", annotations={sv.AUTO_ROLLBACK: "true"})
    url = f"{DEPLOYMENTS}/{body['metadata']['name']}"
    assert http.post(DEPLOYMENTS, json=body).status_code == 201
    bad = http.patch(url, json={"metadata": {"annotations": {sv.AUTO_ROLLBACK: "on"}}}, headers=MERGE)
    assert cause_fields(bad) == [annotation_field(sv.AUTO_ROLLBACK)]
    good = http.patch(url, json={"metadata": {"annotations": {sv.INTENSITY: "2"}}}, headers=MERGE)
    assert good.status_code == 200, good.text


def test_a_deployment_with_good_template_annotations_is_stored(http: httpx.Client) -> None:
    template = {sv.STRATEGY: "one_for_all", sv.INTENSITY: "3", sv.PERIOD: "60"}
    created = http.post(DEPLOYMENTS, json=workload("Deployment", template_annotations=template))
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["template"]["metadata"]["annotations"] == template


def test_a_replicaset_keeps_annotations_copied_from_its_deployment(http: httpx.Client) -> None:
    """The Deployment controller copies its annotations onto its ReplicaSets: not pod keys, still fine."""
    rs = workload("ReplicaSet", annotations={sv.AUTO_ROLLBACK: "true", sv.LAST_AVAILABLE_REVISION: "2"})
    assert http.post(REPLICASETS, json=rs).status_code == 201


# --- container restart policy and rules -----------------------------------------------------------

C0 = "spec.containers[0]"


def rule(action: str = "Restart", operator: str = "In", values: list[int] | None = None) -> dict[str, Any]:
    return {
        "action": action,
        "exitCodes": {"operator": operator, "values": [42] if values is None else values},
    }


def with_container(**fields: Any) -> dict[str, Any]:
    spec = copy.deepcopy(POD_SPEC)
    spec["containers"][0].update(fields)
    return spec


BAD_RULES = [
    pytest.param(
        with_container(restartPolicy="Never", restartPolicyRules=[rule(values=[i]) for i in range(21)]),
        f"{C0}.restartPolicyRules",
        "FieldValueTooMany",
        id="21-rules",
    ),
    pytest.param(
        with_container(restartPolicy="Never", restartPolicyRules=[rule(values=list(range(256)))]),
        f"{C0}.restartPolicyRules[0].exitCodes.values",
        "FieldValueTooMany",
        id="256-values",
    ),
    pytest.param(
        with_container(restartPolicy="Never", restartPolicyRules=[rule(values=[1, 2, 1])]),
        f"{C0}.restartPolicyRules[0].exitCodes.values[2]",
        "FieldValueDuplicate",
        id="duplicate-values",
    ),
    pytest.param(
        with_container(restartPolicyRules=[rule()]),
        f"{C0}.restartPolicy",
        "FieldValueRequired",
        id="missing-restart-policy",
    ),
    pytest.param(
        with_container(restartPolicy="Never", restartPolicyRules=[rule(operator="Equals")]),
        f"{C0}.restartPolicyRules[0].exitCodes.operator",
        "FieldValueNotSupported",
        id="bad-operator",
    ),
    pytest.param(
        with_container(restartPolicy="Never", restartPolicyRules=[rule(), rule(action="Ignore")]),
        f"{C0}.restartPolicyRules[1].action",
        "FieldValueNotSupported",
        id="bad-action",
    ),
    pytest.param(
        with_container(
            restartPolicy="Never", restartPolicyRules=[{"exitCodes": {"operator": "In", "values": [1]}}]
        ),
        f"{C0}.restartPolicyRules[0].action",
        "FieldValueRequired",
        id="missing-action",
    ),
    pytest.param(
        with_container(restartPolicy="Never", restartPolicyRules=[{"action": "Restart"}]),
        f"{C0}.restartPolicyRules[0].exitCodes",
        "FieldValueRequired",
        id="missing-exit-codes",
    ),
    pytest.param(
        with_container(restartPolicy="Sometimes"),
        f"{C0}.restartPolicy",
        "FieldValueNotSupported",
        id="bad-policy",
    ),
    pytest.param(
        {**POD_SPEC, "initContainers": [{"name": "init", "image": "busybox", "restartPolicy": "Sometimes"}]},
        "spec.initContainers[0].restartPolicy",
        "FieldValueNotSupported",
        id="bad-init-policy",
    ),
]


@pytest.mark.parametrize(("spec", "field", "reason"), BAD_RULES)
def test_bad_restart_rules_are_422(http: httpx.Client, spec: dict[str, Any], field: str, reason: str) -> None:
    response = http.post(PODS, json=pod(spec=spec))
    assert field in cause_fields(response)
    cause = next(c for c in response.json()["details"]["causes"] if c["field"] == field)
    assert cause["reason"] == reason


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**70], ids=["int32-max+1", "int32-min-1", "2^70"])
def test_an_exit_code_beyond_int32_is_refused_naming_it(http: httpx.Client, value: int) -> None:
    spec = with_container(restartPolicy="Never", restartPolicyRules=[rule(values=[value])])
    response = http.post(PODS, json=pod(spec=spec))
    assert response.status_code in (400, 422), response.text
    fields = [c["field"] for c in response.json()["details"]["causes"]]
    assert f"{C0}.restartPolicyRules[0].exitCodes.values[0]" in fields


def test_missing_restart_policy_is_worded_as_kubernetes(http: httpx.Client) -> None:
    response = http.post(PODS, json=pod(spec=with_container(restartPolicyRules=[rule()])))
    assert (
        "spec.containers[0].restartPolicy: Required value: must be specified when restartPolicyRules are used"
        in response.json()["message"]
    )


@pytest.mark.parametrize(("spec", "field", "reason"), BAD_RULES[:6])
def test_template_restart_rules_are_validated_too(
    http: httpx.Client, spec: dict[str, Any], field: str, reason: str
) -> None:
    response = http.post(DEPLOYMENTS, json=workload("Deployment", spec=spec))
    assert field.replace("spec.", "spec.template.spec.", 1) in cause_fields(response)


GOOD_RULES = [
    pytest.param(with_container(restartPolicy="Never"), id="app-never"),
    pytest.param(with_container(restartPolicy="OnFailure"), id="app-on-failure"),
    pytest.param(with_container(restartPolicy="Always"), id="app-always"),
    pytest.param(
        with_container(
            restartPolicy="Never",
            restartPolicyRules=[
                rule(values=[42, 43]),
                rule(action="RestartAllContainers", operator="In", values=[88]),
                rule(operator="NotIn", values=[0, 255]),
            ],
        ),
        id="rules",
    ),
    pytest.param(
        with_container(restartPolicy="OnFailure", restartPolicyRules=[rule(values=list(range(255)))]),
        id="255-values",
    ),
    pytest.param(
        with_container(restartPolicy="Never", restartPolicyRules=[rule(values=[i]) for i in range(20)]),
        id="20-rules",
    ),
    pytest.param(
        {
            **POD_SPEC,
            "initContainers": [
                {"name": "migrate", "image": "busybox", "restartPolicy": "OnFailure"},
                {
                    "name": "seed",
                    "image": "busybox",
                    "restartPolicy": "Never",
                    "restartPolicyRules": [rule()],
                },
                {
                    "name": "proxy",
                    "image": "busybox",
                    "restartPolicy": "Always",
                    "restartPolicyRules": [rule(action="RestartAllContainers")],
                },
            ],
        },
        id="init-containers",
    ),
]


@pytest.mark.parametrize("spec", GOOD_RULES)
def test_good_restart_rules_round_trip(http: httpx.Client, spec: dict[str, Any]) -> None:
    body = pod(spec=spec)
    created = http.post(PODS, json=body)
    assert created.status_code == 201, created.text
    got = http.get(f"{PODS}/{body['metadata']['name']}").json()["spec"]
    for list_name in ("initContainers", "containers"):
        for sent, stored in zip(spec[list_name], got[list_name], strict=True):
            assert stored.get("restartPolicy") == sent.get("restartPolicy")
            assert stored.get("restartPolicyRules") == sent.get("restartPolicyRules")


def test_template_container_restart_rules_round_trip(http: httpx.Client) -> None:
    spec = with_container(restartPolicy="OnFailure", restartPolicyRules=[rule(values=[3])])
    body = workload("Deployment", spec=spec)
    assert http.post(DEPLOYMENTS, json=body).status_code == 201
    got = http.get(f"{DEPLOYMENTS}/{body['metadata']['name']}").json()
    container = got["spec"]["template"]["spec"]["containers"][0]
    assert (container["restartPolicy"], container["restartPolicyRules"]) == ("OnFailure", [rule(values=[3])])
