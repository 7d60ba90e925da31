"""CronJobs and ReplicationControllers on the wire: defaults, and 422s naming the field."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

CRONJOBS = "/apis/batch/v1/namespaces/default/cronjobs"
RCS = "/api/v1/namespaces/default/replicationcontrollers"
CONTAINER = {"name": "c", "image": "busybox:1"}


def cronjob(name: str = "tick", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schedule": "*/5 * * * *",
        "jobTemplate": {
            "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [CONTAINER]}}}
        },
    }
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name}, "spec": body}


def rc(name: str = "legacy", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "replicas": 2,
        "template": {"metadata": {"labels": {"app": "legacy"}}, "spec": {"containers": [CONTAINER]}},
    }
    body.update(spec)
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": name}, "spec": body}


def test_a_cronjob_gets_kubernetes_defaults(http: httpx.Client) -> None:
    made = http.post(CRONJOBS, json=cronjob())
    assert made.status_code == 201, made.text
    spec = made.json()["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"]) == ("Allow", False)
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)
    pod_spec = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod_spec["dnsPolicy"] == "ClusterFirst" and pod_spec["restartPolicy"] == "OnFailure"
    assert made.json()["status"] == {}


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return out


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        pytest.param("spec.schedule", "", "spec.schedule", "Required value", id="no-schedule"),
        pytest.param(
            "spec.schedule",
            "61 * * * *",
            "spec.schedule",
            'Invalid value: "61 * * * *": end of range (61) above maximum (59): 61',
            id="bad-schedule",
        ),
        pytest.param("spec.schedule", "@every 5m", "spec.schedule", "unrecognized descriptor", id="every"),
        pytest.param(
            "spec.schedule",
            "TZ=UTC * * * * *",
            "spec.schedule",
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            id="tz-in-schedule",
        ),
        pytest.param(
            "spec.timeZone", "Mars/Olympus", "spec.timeZone", "unknown time zone Mars/Olympus", id="zone"
        ),
        pytest.param("spec.timeZone", "Local", "spec.timeZone", "must be an explicit time zone", id="local"),
        pytest.param(
            "spec.timeZone", "", "spec.timeZone", "timeZone must be nil or non-empty string", id="empty-zone"
        ),
        pytest.param(
            "spec.concurrencyPolicy",
            "Sometimes",
            "spec.concurrencyPolicy",
            'Unsupported value: "Sometimes"',
            id="policy",
        ),
        pytest.param(
            "spec.startingDeadlineSeconds",
            -1,
            "spec.startingDeadlineSeconds",
            "must be greater than or equal to 0",
            id="deadline",
        ),
        pytest.param(
            "spec.successfulJobsHistoryLimit",
            -1,
            "spec.successfulJobsHistoryLimit",
            "must be greater than or equal to 0",
            id="successful-limit",
        ),
        pytest.param(
            "spec.failedJobsHistoryLimit",
            -2,
            "spec.failedJobsHistoryLimit",
            "must be greater than or equal to 0",
            id="failed-limit",
        ),
        pytest.param(
            "spec.jobTemplate.spec.template.spec.restartPolicy",
            "Always",
            "spec.jobTemplate.spec.template.spec.restartPolicy",
            'Unsupported value: "Always"',
            id="restart-always",
        ),
        pytest.param(
            "spec.jobTemplate.spec.selector",
            {"matchLabels": {"a": "b"}},
            "spec.jobTemplate.spec.selector",
            "`selector` will be auto-generated",
            id="selector",
        ),
        pytest.param(
            "spec.jobTemplate.spec.template.spec.containers",
            [],
            "spec.jobTemplate.spec.template.spec.containers",
            "Required value",
            id="no-containers",
        ),
        pytest.param(
            "spec.jobTemplate.spec.completionMode",
            ["Indexed"],
            "spec.jobTemplate.spec.completionMode",
            "",
            id="mistyped-job-field",
        ),
        pytest.param(
            "metadata.name", "n" * 53, "metadata.name", "must be no more than 52 characters", id="long-name"
        ),
    ],
)
def test_an_invalid_cronjob_is_refused_naming_the_field(
    http: httpx.Client, path: str, value: Any, field: str, message: str
) -> None:
    refused = http.post(CRONJOBS, json=_with(cronjob(), path, value))
    assert refused.status_code == 422, refused.text
    causes = refused.json()["details"]["causes"]
    assert any(c["field"] == field and message in c["message"] for c in causes), causes


def test_a_long_named_cronjob_may_still_be_updated(http: httpx.Client) -> None:
    # the 52-character limit is for new CronJobs only (the Jobs' names need the room)
    assert http.post(CRONJOBS, json=cronjob("n" * 52)).status_code == 201
    changed = http.patch(
        f"{CRONJOBS}/{'n' * 52}",
        json={"spec": {"suspend": True}},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert changed.status_code == 200, changed.text


def test_a_replication_controller_defaults_its_selector_and_labels_from_the_template(
    http: httpx.Client,
) -> None:
    made = http.post(RCS, json=rc())
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["spec"]["selector"] == {"app": "legacy"} and body["metadata"]["labels"] == {"app": "legacy"}
    assert body["status"] == {"replicas": 0}
    scale = http.get(f"{RCS}/legacy/scale").json()
    assert (scale["spec"]["replicas"], scale["status"]["selector"]) == (2, "app=legacy")
    scaled = http.patch(
        f"{RCS}/legacy/scale",
        json={"spec": {"replicas": 5}},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert scaled.status_code == 200, scaled.text
    assert http.get(f"{RCS}/legacy").json()["spec"]["replicas"] == 5


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        pytest.param(
            {"selector": {"app": "other"}},
            "spec.template.metadata.labels",
            "`selector` does not match template `labels`",
            id="selector-mismatch",
        ),
        pytest.param(
            {"template": None, "selector": {"app": "x"}}, "spec.template", "Required value", id="no-template"
        ),
        pytest.param({"replicas": -1}, "spec.replicas", "must be greater than or equal to 0", id="negative"),
        pytest.param(
            {
                "template": {
                    "metadata": {"labels": {"app": "legacy"}},
                    "spec": {"restartPolicy": "Never", "containers": [CONTAINER]},
                }
            },
            "spec.template.spec.restartPolicy",
            'Unsupported value: "Never"',
            id="restart-never",
        ),
        pytest.param(
            {"selector": {"bad key!": "x"}}, "spec.selector", "name part must consist of", id="bad-label"
        ),
    ],
)
def test_an_invalid_replication_controller_is_refused_naming_the_field(
    http: httpx.Client, spec: dict[str, Any], field: str, message: str
) -> None:
    refused = http.post(RCS, json=rc(**spec))
    assert refused.status_code == 422, refused.text
    causes = refused.json()["details"]["causes"]
    assert any(c["field"] == field and message in c["message"] for c in causes), causes
