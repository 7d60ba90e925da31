"""podctl's read commands against a real server: get (tables, formats, watch), describe, events."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.podctl.conftest import Podctl, write

PODS = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: {app}}}
spec:
  containers:
  - {{name: main, image: podvisor/busybox:latest}}
"""


def make_pods(podctl: Podctl, tmp_path: Path, *names_apps: tuple[str, str]) -> None:
    text = "---\n".join(PODS.format(name=n, app=a) for n, a in names_apps)
    result = podctl("apply", "-f", str(write(tmp_path / "pods.yaml", text)))
    assert result.code == 0, result.err


def columns(line: str) -> list[int]:
    """Start offsets of the words of a header line."""
    return [m.start() for m in re.finditer(r"\S+(?: \S+)*", line)]


def test_get_prints_the_server_table_aligned(podctl: Podctl, tmp_path: Path) -> None:
    make_pods(podctl, tmp_path, ("web-1", "web"), ("a-much-longer-name", "db"))
    result = podctl("get", "pods")
    assert result.code == 0, result.err
    header, *rows = result.out.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert header.startswith("NAME                 READY   STATUS")
    assert sorted(r.split()[0] for r in rows) == ["a-much-longer-name", "web-1"]
    for row in rows:
        assert row[columns(header)[1]:].startswith("0/1")


def test_get_wide_labels_and_selectors(podctl: Podctl, tmp_path: Path) -> None:
    make_pods(podctl, tmp_path, ("web-1", "web"), ("db-1", "db"))
    wide = podctl("get", "pods", "-o", "wide")
    assert "NODE" in wide.out.splitlines()[0] and "IP" in wide.out.splitlines()[0].split()
    labelled = podctl("get", "pods", "-l", "app=web", "--show-labels")
    assert labelled.out.splitlines()[0].endswith("LABELS")
    assert [line.split()[0] for line in labelled.out.splitlines()[1:]] == ["web-1"]
    assert labelled.out.splitlines()[1].endswith("app=web")
    fields = podctl("get", "pods", "--field-selector", "metadata.name=db-1", "-o", "name")
    assert fields.out == "pod/db-1\n"


def test_get_object_formats(podctl: Podctl, tmp_path: Path) -> None:
    make_pods(podctl, tmp_path, ("web-1", "web"), ("db-1", "db"))
    assert podctl("get", "pod", "web-1", "-o", "jsonpath={.metadata.name}:{.spec.containers[0].image}").out == \
        "web-1:podvisor/busybox:latest"
    assert podctl("get", "pods", "-o", "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}").out == "db-1\nweb-1\n"
    yaml_out = podctl("get", "po/web-1", "-o", "yaml").out
    assert yaml_out.startswith("apiVersion: v1\nkind: Pod\nmetadata:\n")
    listed = podctl("get", "pods", "web-1", "db-1", "-o", "json").out
    assert '"kind": "List"' in listed and '"name": "db-1"' in listed
    assert podctl("get", "pod/web-1", "pod/db-1", "-o", "name").out == "pod/web-1\npod/db-1\n"


def test_get_all_and_several_types_prefix_names(podctl: Podctl, tmp_path: Path) -> None:
    make_pods(podctl, tmp_path, ("web-1", "web"))
    text = podctl("get", "all").out
    assert "pod/web-1" in text


def test_get_all_namespaces_adds_a_namespace_column(podctl: Podctl, tmp_path: Path) -> None:
    make_pods(podctl, tmp_path, ("web-1", "web"))
    result = podctl("get", "pods", "-A", namespace=False)
    header = result.out.splitlines()[0]
    assert header.startswith("NAMESPACE")
    assert any(line.split()[:2] == [podctl.namespace, "web-1"] for line in result.out.splitlines())


def test_missing_objects_are_reported_like_kubectl(podctl: Podctl, tmp_path: Path) -> None:
    make_pods(podctl, tmp_path, ("web-1", "web"))
    result = podctl("get", "pods", "web-1", "nope")
    assert result.code == 1
    assert result.out.splitlines()[1].startswith("web-1")
    assert result.err == 'Error from server (NotFound): pods "nope" not found\n'
    deploy = podctl("get", "deploy", "x")
    assert (deploy.code, deploy.err) == (1, 'Error from server (NotFound): deployments.apps "x" not found\n')
    empty = podctl("get", "secrets")  # every namespace has a ConfigMap: kube-root-ca.crt
    assert (empty.code, empty.out, empty.err) == (0, "", f"No resources found in {podctl.namespace} namespace.\n")
    unknown = podctl("get", "widgets")
    assert (unknown.code, unknown.err) == (1, 'error: the server doesn\'t have a resource type "widgets"\n')
    bad_output = podctl("get", "pods", "-o", "xml")
    assert bad_output.code == 1 and "unable to match a printer" in bad_output.err


def test_watch_prints_rows_as_events_arrive(podctl: Podctl, tmp_path: Path) -> None:
    make_pods(podctl, tmp_path, ("first", "web"))
    proc = podctl.process("get", "pods", "-w", "--request-timeout", "6")
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()
        assert header.split()[:2] == ["NAME", "READY"]
        assert proc.stdout.readline().startswith("first ")
        make_pods(podctl, tmp_path, ("next", "web"))
        line = proc.stdout.readline()
        assert line.startswith("next ") and "Pending" in line
        assert line.index("Pending") == header.index("STATUS"), "watch rows align under the header"
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == 0


def event_body(namespace: str, obj: dict[str, Any], reason: str, stamp: str, message: str) -> dict[str, Any]:
    meta = obj["metadata"]
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{reason.lower()}", "namespace": namespace},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": namespace, "uid": meta["uid"]},
            "reason": reason, "message": message, "type": "Normal", "count": 1, "source": {"component": "tester"},
            "firstTimestamp": stamp, "lastTimestamp": stamp}


def test_describe_shows_sections_and_the_objects_events(podctl: Podctl, tmp_path: Path) -> None:
    make_pods(podctl, tmp_path, ("web-1", "web"), ("other", "web"))
    pod, other = podctl.obj("v1/pods/web-1"), podctl.obj("v1/pods/other")
    with podctl.http() as client:
        for body in (event_body(podctl.namespace, pod, "Second", "2026-01-01T00:00:09Z", "later"),
                     event_body(podctl.namespace, pod, "First", "2026-01-01T00:00:01Z", "earlier"),
                     event_body(podctl.namespace, other, "Unrelated", "2026-01-01T00:00:05Z", "not mine")):
            assert client.post(f"/api/v1/namespaces/{podctl.namespace}/events", json=body).status_code == 201
    result = podctl("describe", "pod", "web-1")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "Name:           web-1" or lines[0].split() == ["Name:", "web-1"]
    for section in ("Namespace:", "Labels:", "Status:", "Containers:", "Events:"):
        assert any(line.startswith(section) for line in lines), section
    ours = ("First", "Second", "Unrelated")  # the scheduler adds its own events too
    events = [e.split()[1] for e in lines[lines.index("Events:") + 3:]]
    assert [reason for reason in events if reason in ours] == ["First", "Second"]
    assert "not mine" not in result.out
    listed = [line.split()[2] for line in podctl("events").out.splitlines()[1:]]
    assert [reason for reason in listed if reason in ours] == ["First", "Unrelated", "Second"]
    reasons = podctl("get", "events", "-o", "jsonpath={.items[*].reason}").out.split()
    assert [reason for reason in reasons if reason in ours] == ["First", "Unrelated", "Second"]


def test_describe_deployment(podctl: Podctl, tmp_path: Path) -> None:
    text = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n"
            "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
            "    spec: {containers: [{name: web, image: podvisor/busybox:latest}]}\n")
    assert podctl("apply", "-f", str(write(tmp_path / "d.yaml", text))).code == 0
    result = podctl("describe", "deployment/web")
    assert result.code == 0, result.err
    for expected in ("Selector:", "app=web", "Replicas:", "1 desired", "StrategyType:", "RollingUpdate",
                     "Pod Template:", "podvisor/busybox:latest", "NewReplicaSet:"):
        assert expected in result.out
    assert "last-applied-configuration" not in result.out


def test_version_and_api_resources(podctl: Podctl) -> None:
    version = podctl("version")
    assert version.code == 0 and version.out.startswith("Client Version: v")
    assert "Server Version: v" in version.out
    resources = podctl("api-resources").out.splitlines()
    assert resources[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert any(line.split() == ["deployments", "deploy", "apps/v1", "true", "Deployment"] for line in resources)
