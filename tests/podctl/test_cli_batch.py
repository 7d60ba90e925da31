"""podctl with ReplicationControllers and CronJobs against a real server: apply, get, scale."""

from __future__ import annotations

from pathlib import Path

from tests.podctl.conftest import Podctl, write

RC = """
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 1
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: c, image: busybox}]}
"""
CRONJOB = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  timeZone: Europe/Paris
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}
"""


def test_scale_rc_and_get_both(podctl: Podctl, tmp_path: Path) -> None:
    podctl("apply", "-f", str(write(tmp_path / "rc.yaml", RC)))
    podctl("apply", "-f", str(write(tmp_path / "cj.yaml", CRONJOB)))
    assert podctl("scale", "rc/legacy", "--replicas=3").out == "replicationcontroller/legacy scaled\n"
    assert podctl.obj("v1/replicationcontrollers/legacy")["spec"]["replicas"] == 3
    header, row = podctl("get", "rc").out.splitlines()
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"] and row.split()[:2] == ["legacy", "3"]
    header, row = podctl("get", "cj").out.splitlines()
    assert header.split()[:4] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND"]
    assert row.split()[:8] == ["nightly", "0", "3", "*", "*", "*", "Europe/Paris", "False"]
