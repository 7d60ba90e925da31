"""Job writes over HTTP: defaults, the generated selector, and every refused spec a 422 naming
the field, as Kubernetes' ``pkg/apis/batch/validation`` names it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

JOBS = "/apis/batch/v1/namespaces/default/jobs"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}


def job(name: str = "pi", *, restart: str | None = "Never", **spec: Any) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": [{"name": "c", "image": "podvisor/busybox"}]}
    if restart is not None:
        pod["restartPolicy"] = restart
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": pod}, **spec}}


def fields(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["reason"] == "Invalid" and body["details"]["kind"] == "Job"
    return [c["field"] for c in body["details"]["causes"]]


def test_defaults_and_generated_selector(http: httpx.Client) -> None:
    created = http.post(JOBS, json=job())
    assert created.status_code == 201, created.text
    obj = created.json()
    uid, spec = obj["metadata"]["uid"], obj["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert (spec["completionMode"], spec["suspend"], spec["manualSelector"]) == ("NonIndexed", False, False)
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert spec["template"]["metadata"]["labels"] == {
        "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi",
        "controller-uid": uid, "job-name": "pi"}
    assert obj["status"] == {}


def test_parallelism_alone_leaves_completions_unset(http: httpx.Client) -> None:
    created = http.post(JOBS, json=job(parallelism=3)).json()
    assert created["spec"]["parallelism"] == 3 and "completions" not in created["spec"]


def test_manual_selector_is_kept(http: httpx.Client) -> None:
    body = job(manualSelector=True, selector={"matchLabels": {"app": "x"}})
    body["spec"]["template"]["metadata"] = {"labels": {"app": "x"}}
    created = http.post(JOBS, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["selector"] == {"matchLabels": {"app": "x"}}
    assert created.json()["spec"]["template"]["metadata"]["labels"] == {"app": "x"}


EXIT_42 = {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(job(restart=None), "spec.template.spec.restartPolicy", id="restart-always"),
        pytest.param(job(restart="OnFailure", podFailurePolicy=EXIT_42), "spec.template.spec.restartPolicy",
                     id="failure-policy-needs-never"),
        pytest.param(job(parallelism=-1), "spec.parallelism", id="negative-parallelism"),
        pytest.param(job(completions=-1), "spec.completions", id="negative-completions"),
        pytest.param(job(backoffLimit=-1), "spec.backoffLimit", id="negative-backoff"),
        pytest.param(job(activeDeadlineSeconds=-5), "spec.activeDeadlineSeconds", id="negative-deadline"),
        pytest.param(job(ttlSecondsAfterFinished=-1), "spec.ttlSecondsAfterFinished", id="negative-ttl"),
        pytest.param(job(completionMode="Sometimes"), "spec.completionMode", id="unknown-mode"),
        pytest.param(job(completionMode="Indexed", parallelism=2), "spec.completions", id="indexed-needs-completions"),
        pytest.param(job(completionMode="Indexed", completions=100_001), "spec.completions", id="indexed-too-many"),
        pytest.param(job(backoffLimitPerIndex=1, completions=2), "spec.backoffLimitPerIndex",
                     id="per-index-needs-indexed"),
        pytest.param(job(completionMode="Indexed", completions=2, maxFailedIndexes=1), "spec.backoffLimitPerIndex",
                     id="max-failed-needs-per-index"),
        pytest.param(job(completionMode="Indexed", completions=2, backoffLimitPerIndex=1, maxFailedIndexes=3),
                     "spec.maxFailedIndexes", id="max-failed-over-completions"),
        pytest.param(job(selector={"matchLabels": {"a": "b"}}), "spec.selector", id="selector-not-generated"),
        pytest.param(job(podFailurePolicy={"rules": [{"action": "Explode", "onExitCodes": {
            "operator": "In", "values": [1]}}]}), "spec.podFailurePolicy.rules[0].action", id="unknown-action"),
        pytest.param(job(podFailurePolicy={"rules": [{"action": "FailIndex", "onExitCodes": {
            "operator": "In", "values": [1]}}]}), "spec.podFailurePolicy.rules[0].action",
            id="fail-index-needs-per-index"),
        pytest.param(job(podFailurePolicy={"rules": [{"action": "FailJob"}]}), "spec.podFailurePolicy.rules[0]",
                     id="rule-needs-a-matcher"),
        pytest.param(job(podFailurePolicy={"rules": [{"action": "FailJob", "onExitCodes": {
            "operator": "In", "values": [0]}}]}), "spec.podFailurePolicy.rules[0].onExitCodes.values[0]",
            id="in-zero"),
        pytest.param(job(podFailurePolicy={"rules": [{"action": "FailJob", "onExitCodes": {
            "operator": "In", "values": [3, 2]}}]}), "spec.podFailurePolicy.rules[0].onExitCodes.values[1]",
            id="unordered-codes"),
        pytest.param(job(podFailurePolicy={"rules": [{"action": "FailJob", "onExitCodes": {
            "operator": "Maybe", "values": [3]}}]}), "spec.podFailurePolicy.rules[0].onExitCodes.operator",
            id="unknown-operator"),
        pytest.param(job(successPolicy={"rules": [{"succeededCount": 1}]}), "spec.completionMode",
                     id="success-policy-needs-indexed"),
        pytest.param(job(completionMode="Indexed", completions=3, successPolicy={"rules": [{"succeededIndexes": "2-5"}]}),
                     "spec.successPolicy.rules[0].succeededIndexes", id="success-index-beyond-completions"),
        pytest.param(job(completionMode="Indexed", completions=3, successPolicy={"rules": [{"succeededCount": 4}]}),
                     "spec.successPolicy.rules[0].succeededCount", id="success-count-beyond-completions"),
        pytest.param(job(completionMode="Indexed", completions=3, successPolicy={"rules": [{}]}),
                     "spec.successPolicy.rules[0]", id="success-rule-empty"),
    ],
)
def test_invalid_jobs_name_the_field(http: httpx.Client, body: dict[str, Any], field: str) -> None:
    assert field in fields(http.post(JOBS, json=body))


def _update(http: httpx.Client, name: str, change: Any) -> httpx.Response:
    current = http.get(f"{JOBS}/{name}").json()
    change(current["spec"])
    return http.put(f"{JOBS}/{name}", json=current)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(lambda s: s["template"]["spec"]["containers"][0].update(image="other"), "spec.template",
                     id="template"),
        pytest.param(lambda s: s.update(completions=5), "spec.completions", id="completions"),
        pytest.param(lambda s: s["selector"]["matchLabels"].update(x="y"), "spec.selector", id="selector"),
        pytest.param(lambda s: s.update(completionMode="Indexed"), "spec.completionMode", id="completion-mode"),
    ],
)
def test_immutable_fields(http: httpx.Client, change: Any, field: str) -> None:
    assert http.post(JOBS, json=job("imm", completions=2)).status_code == 201
    assert field in fields(_update(http, "imm", change))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda s: s.update(parallelism=4), id="parallelism"),
        pytest.param(lambda s: s.update(suspend=True), id="suspend"),
        pytest.param(lambda s: s.update(activeDeadlineSeconds=30), id="deadline"),
        pytest.param(lambda s: s.update(ttlSecondsAfterFinished=5), id="ttl"),
    ],
)
def test_mutable_fields(http: httpx.Client, change: Any) -> None:
    assert http.post(JOBS, json=job("mut", completions=2)).status_code == 201
    resp = _update(http, "mut", change)
    assert resp.status_code == 200, resp.text


def test_elastic_indexed_job_scales_completions_with_parallelism(http: httpx.Client) -> None:
    assert http.post(JOBS, json=job("el", completionMode="Indexed", completions=2, parallelism=2)).status_code == 201
    assert _update(http, "el", lambda s: s.update(completions=4, parallelism=4)).status_code == 200
    assert "spec.completions" in fields(_update(http, "el", lambda s: s.update(completions=5)))


def test_suspended_job_that_never_started_may_change_its_node_selector(http: httpx.Client) -> None:
    assert http.post(JOBS, json=job("sus", suspend=True)).status_code == 201
    resp = _update(http, "sus", lambda s: s["template"]["spec"].update(nodeSelector={"disk": "ssd"}))
    assert resp.status_code == 200, resp.text


def test_table_prints_kubectl_job_columns(http: httpx.Client) -> None:
    assert http.post(JOBS, json=job("tbl", completions=3)).status_code == 201
    table = http.get(JOBS, headers=TABLE).json()
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names[:5] == ["Name", "Status", "Completions", "Duration", "Age"]
    (row,) = [r for r in table["rows"] if r["cells"][0] == "tbl"]
    assert row["cells"][1:4] == ["Running", "0/3", ""]
