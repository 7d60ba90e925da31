"""podctl with Jobs: ``get`` prints kubectl's job columns, ``get all`` lists them, ``describe``
shows the counts and the pods' tally, and the Job controller has made its pod (no kubelet here,
so it stays Pending)."""

from __future__ import annotations

from pathlib import Path

from tests.podctl.conftest import Podctl

JOB = """apiVersion: batch/v1
kind: Job
metadata:
  name: crunch
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: podvisor/busybox:latest
        command: ["sh", "-c", "true"]
"""


def test_get_describe_and_delete_a_job(podctl: Podctl, tmp_path: Path) -> None:
    manifest = tmp_path / "job.yaml"
    manifest.write_text(JOB)
    assert podctl("apply", "-f", str(manifest)).code == 0
    header, row = podctl("get", "jobs").out.splitlines()
    assert header.split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert row.split()[:3] == ["crunch", "Running", "0/3"]
    assert "job.batch/crunch" in podctl("get", "all").out
    podctl.cluster.wait_for("two pods", lambda: len(podctl.obj("v1/pods")["items"]) == 2, timeout=30)
    described = podctl("describe", "job", "crunch").out
    assert "Parallelism:" in described and "Completions:      3" in described
    assert "Pods Statuses:    2 Active (0 Ready) / 0 Succeeded / 0 Failed" in described
    assert podctl("delete", "job", "crunch").code == 0
    podctl.cluster.wait_for("pods gone", lambda: podctl.obj("v1/pods")["items"] == [], timeout=30)
