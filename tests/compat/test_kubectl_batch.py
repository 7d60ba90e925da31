"""The real kubectl with ReplicationControllers and CronJobs, pods on two real kubelets.

``get rc`` / ``get cronjobs`` print Kubernetes' columns, ``scale rc`` goes through the scale
subresource, a deleted ReplicationController takes its pods, a bad schedule is refused naming
``spec.schedule``, and ``create job --from=cronjob/...`` builds a Job the server accepts (once the
Job kind is served). A CronJob scheduled every minute starts its Job at the next minute (under 90 s).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.compat.conftest import Kubectl, ready_nodes

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

NODES = ("node-1", "node-2")
IMAGE = "podvisor/busybox:latest"
SLEEPER = "trap 'exit 0' TERM; while true; do sleep 0.5; done"


def rc(name: str, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": name},
            "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": name}}, "spec": {
                "terminationGracePeriodSeconds": 2,
                "containers": [{"name": "c", "image": IMAGE, "command": ["sh", "-c", SLEEPER]}]}}}}


def cronjob(name: str, schedule: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": IMAGE, "command": ["true"]}]}}}},
                **spec}}


@pytest.fixture(scope="module")
def nodes(kubectl: Kubectl) -> list[str]:
    return kubectl.wait_for("both nodes Ready", lambda: (ready := ready_nodes(kubectl)) and len(ready) == 2 and ready)


def running_pods(kubectl: Kubectl, app: str) -> list[dict[str, Any]]:
    pods = kubectl.json("get", "pods", "-l", f"app={app}")["items"]
    return [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def table(kubectl: Kubectl, *args: str) -> list[list[str]]:
    lines = kubectl.out("get", *args).splitlines()
    return [line.split() for line in lines]


def test_replication_controller_runs_scales_and_deletes(kubectl: Kubectl, nodes: list[str]) -> None:
    assert kubectl.apply(rc("legacy", 2)).strip() == "replicationcontroller/legacy created"
    kubectl.wait_for("2 running", lambda: len(running_pods(kubectl, "legacy")) == 2)
    kubectl.wait_for("2 ready", lambda: table(kubectl, "rc", "legacy")[1][1:4] == ["2", "2", "2"])
    header, row = table(kubectl, "replicationcontrollers", "legacy")
    assert header == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"] and row[0] == "legacy"
    wide = table(kubectl, "rc", "legacy", "-o", "wide")
    assert wide[0][-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"] and wide[1][-1] == "app=legacy"
    assert kubectl.out("scale", "rc", "legacy", "--replicas=3").strip() == "replicationcontroller/legacy scaled"
    kubectl.wait_for("3 running", lambda: len(running_pods(kubectl, "legacy")) == 3)
    owners = {p["metadata"]["ownerReferences"][0]["kind"] for p in running_pods(kubectl, "legacy")}
    assert owners == {"ReplicationController"}
    assert "replicationcontroller/legacy" in kubectl.out("get", "all")
    described = kubectl.out("describe", "rc", "legacy")
    assert "Selector:     app=legacy" in described and "3 Running" in described, described
    assert "SuccessfulCreate" in described, described
    kubectl.run("delete", "rc", "legacy", "--wait=true", timeout=60)
    kubectl.wait_for("pods gone", lambda: not kubectl.json("get", "pods", "-l", "app=legacy")["items"], timeout=60)


def test_get_cronjobs_prints_kubernetes_columns(kubectl: Kubectl) -> None:
    kubectl.apply(cronjob("nightly", "0 3 * * *", timeZone="Europe/Paris", suspend=True))
    header, row = table(kubectl, "cronjobs", "nightly")
    assert " ".join(header) == "NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE"
    assert row[:8] == ["nightly", "0", "3", "*", "*", "*", "Europe/Paris", "True"]
    assert row[8:10] == ["0", "<none>"]
    described = kubectl.out("describe", "cronjob", "nightly")
    assert "Schedule:                      0 3 * * *" in described and "Suspend:                       True" in described, (
        described)
    got = kubectl.json("get", "cj", "nightly")
    assert got["spec"]["concurrencyPolicy"] == "Allow" and got["spec"]["successfulJobsHistoryLimit"] == 3
    assert got["spec"]["failedJobsHistoryLimit"] == 1


@pytest.mark.parametrize(
    ("schedule", "zone", "message"),
    [
        pytest.param("61 * * * *", None,
                     'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61', id="range"),
        pytest.param("CRON_TZ=UTC * * * * *", None, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                     id="tz-in-schedule"),
        pytest.param("* * * * *", "Europe/Pariss", 'spec.timeZone: Invalid value: "Europe/Pariss"', id="zone"),
    ],
)
def test_a_bad_cronjob_is_refused_naming_the_field(kubectl: Kubectl, schedule: str, zone: str | None,
                                                   message: str) -> None:
    body = cronjob("bad", schedule, **({"timeZone": zone} if zone else {}))
    done = kubectl.run("create", "-f", "-", stdin=yaml.safe_dump(body), rc=1)
    assert message in done.stderr, done.stderr


def test_create_job_from_a_cronjob(kubectl: Kubectl) -> None:
    kubectl.apply(cronjob("source", "0 0 1 1 *"))
    assert kubectl.out("create", "job", "by-hand", "--from=cronjob/source").strip() == "job.batch/by-hand created"
    job = kubectl.json("get", "job", "by-hand")
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"


def test_a_cronjob_every_minute_starts_a_job_at_the_next_minute(kubectl: Kubectl, nodes: list[str]) -> None:
    kubectl.apply(cronjob("minutely", "*/1 * * * *"))

    def started() -> Any:
        jobs = kubectl.json("get", "jobs")["items"]
        return [j for j in jobs if (j["metadata"].get("ownerReferences") or [{}])[0].get("name") == "minutely"]

    (job,) = kubectl.wait_for("a Job of the CronJob", started, timeout=75, interval=2)
    minute = int(job["metadata"]["name"].rsplit("-", 1)[1])
    assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"].endswith(":00Z")
    status = kubectl.json("get", "cronjob", "minutely")["status"]
    assert status["lastScheduleTime"].endswith(":00Z") and minute > 0
    kubectl.run("delete", "cronjob", "minutely")


def test_kubectl_create_cronjob(kubectl: Kubectl) -> None:
    made = kubectl.out("create", "cronjob", "quick", f"--image={IMAGE}", "--schedule=*/5 * * * *", "--", "true")
    assert made.strip() == "cronjob.batch/quick created"
    got = kubectl.json("get", "cronjob", "quick")
    assert got["spec"]["schedule"] == "*/5 * * * *"
    assert got["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    assert kubectl.out("delete", "cj", "quick").startswith('cronjob.batch "quick" deleted')
