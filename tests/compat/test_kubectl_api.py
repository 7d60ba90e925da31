"""The real kubectl against the podvisor API: discovery, apply, get, patch, replace, create.

These steps need no running pods (no kubelet): they check what kubectl sends and prints for
objects alone. Each step asserts on kubectl's output, not only its exit code.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.compat.conftest import Kubectl, read_lines

pytestmark = [pytest.mark.compat, pytest.mark.e2e]


def deployment(name: str, *, replicas: int = 2, image: str = "podvisor/busybox:latest",
               env: dict[str, str] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "image": image, "command": ["httpd", "-f", "-p", "8080"],
                                 "ports": [{"containerPort": 8080}]}
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}},
    }


def test_version_and_discovery(kubectl: Kubectl) -> None:
    version = json.loads(kubectl.out("version", "-o", "json"))
    assert version["clientVersion"]["major"] == "1"
    assert version["serverVersion"]["gitVersion"].startswith("v1.")

    resources = kubectl.out("api-resources").splitlines()
    assert resources[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = {(cols[0], cols[-3]): cols for cols in (line.split() for line in resources[1:])}  # name, APIVERSION
    assert rows[("deployments", "apps/v1")] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert rows[("pods", "v1")] == ["pods", "po", "v1", "true", "Pod"]
    assert rows[("nodes", "v1")] == ["nodes", "no", "v1", "false", "Node"]
    assert rows[("pods", "metrics.k8s.io/v1beta1")] == ["pods", "metrics.k8s.io/v1beta1", "true", "PodMetrics"]
    cluster_scoped = kubectl.out("api-resources", "--namespaced=false", "-o", "name").split()
    assert {"nodes", "namespaces"} <= set(cluster_scoped) and "pods" not in cluster_scoped
    assert {"v1", "apps/v1", "coordination.k8s.io/v1"} <= set(kubectl.out("api-versions").split())
    assert "Kubernetes control plane is running at https://127.0.0.1:" in kubectl.out("cluster-info")


def test_client_side_apply_lifecycle(kubectl: Kubectl) -> None:
    first = deployment("applied", replicas=2, env={"LEVEL": "debug", "FOO": "bar"})
    assert kubectl.apply(first).strip() == "deployment.apps/applied created"
    live = kubectl.json("get", "deployment", "applied")
    applied = json.loads(live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert applied["spec"]["replicas"] == 2 and live["metadata"]["generation"] == 1
    assert live["spec"]["strategy"]["type"] == "RollingUpdate"  # server-side defaults, as describe shows

    changed = deployment("applied", replicas=3, image="podvisor/busybox:v2", env={"NEW": "1", "FOO": "bar"})
    assert kubectl.apply(changed).strip() == "deployment.apps/applied configured"
    live = kubectl.json("get", "deployment", "applied")
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert (live["spec"]["replicas"], container["image"]) == (3, "podvisor/busybox:v2")
    assert container["env"] == [{"name": "NEW", "value": "1"}, {"name": "FOO", "value": "bar"}]
    assert live["metadata"]["generation"] == 2

    del changed["spec"]["template"]["spec"]["containers"][0]["ports"]  # a field removed from the file
    kubectl.apply(changed)
    container = kubectl.json("get", "deployment", "applied")["spec"]["template"]["spec"]["containers"][0]
    assert "ports" not in container

    assert kubectl.apply(changed).strip() == "deployment.apps/applied unchanged"
    assert "replicas: 5" in kubectl.run("diff", "-f", "-", stdin=yaml.safe_dump(deployment("applied", replicas=5)),
                                        rc=1).stdout
    kubectl.run("delete", "-f", "-", stdin=yaml.safe_dump(changed))
    assert "NotFound" in kubectl.run("get", "deployment", "applied", rc=1).stderr


def test_server_side_apply(kubectl: Kubectl) -> None:
    manifest = deployment("ssa", replicas=1)
    assert kubectl.apply(manifest, "--server-side").strip() == "deployment.apps/ssa serverside-applied"
    manifest["spec"]["replicas"] = 4
    assert "serverside-applied" in kubectl.apply(manifest, "--server-side")
    assert kubectl.out("get", "deploy", "ssa", "-o", "jsonpath={.spec.replicas}") == "4"
    dry = yaml.safe_load(kubectl.apply({**manifest, "spec": {**manifest["spec"], "replicas": 9}},
                                       "--server-side", "--dry-run=server", "-o", "yaml"))
    assert dry["spec"]["replicas"] == 9
    assert kubectl.out("get", "deploy", "ssa", "-o", "jsonpath={.spec.replicas}") == "4"


def test_get_output_formats(kubectl: Kubectl) -> None:
    kubectl.apply(deployment("shown", replicas=2))
    table = kubectl.out("get", "deployments").splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert any(line.split()[:2] == ["shown", "0/2"] for line in table[1:]), table
    wide = kubectl.out("get", "deploy", "shown", "-o", "wide").splitlines()
    assert wide[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[-3:] == ["web", "podvisor/busybox:latest", "app=shown"]
    assert yaml.safe_load(kubectl.out("get", "deploy", "shown", "-o", "yaml"))["metadata"]["name"] == "shown"
    listed = kubectl.json("get", "deploy")
    assert listed["kind"] == "List" and "shown" in [i["metadata"]["name"] for i in listed["items"]]
    assert kubectl.out("get", "deploy", "-l", "app=shown", "-o", "name").split() == ["deployment.apps/shown"]
    assert kubectl.out("get", "deploy", "-l", "app=nothing", "-o", "name") == ""
    assert "app=shown" in kubectl.out("get", "deploy", "shown", "--show-labels")
    columns = kubectl.out("get", "deploy", "shown", "-o", "custom-columns=N:.metadata.name,R:.spec.replicas")
    assert columns.split() == ["N", "R", "shown", "2"]
    everywhere = kubectl.out("get", "deploy", "-A").splitlines()
    assert everywhere[0].split()[0] == "NAMESPACE" and any(line.split()[:2] == ["default", "shown"]
                                                           for line in everywhere)
    assert "deployment.apps/shown" in kubectl.out("get", "all")
    assert kubectl.out("get", "nodes").strip() in ("", "No resources found")
    assert "No resources found" in kubectl.run("get", "events", "-n", "kube-public").stderr


def test_get_watch_prints_changes(kubectl: Kubectl) -> None:
    kubectl.apply(deployment("watched", replicas=1))
    proc = kubectl.popen("get", "deploy", "watched", "-w", "--output-watch-events")
    lines = read_lines(proc, want=lambda got: len(got) >= 2, timeout=15)  # header + current state
    kubectl.run("scale", "deploy", "watched", "--replicas=3")
    proc = kubectl.popen("get", "deploy", "watched", "-w", "-o", "jsonpath={.spec.replicas}{\"\\n\"}")
    kubectl.run("scale", "deploy", "watched", "--replicas=4")
    seen = read_lines(proc, want=lambda got: "4" in got, timeout=15)
    assert lines[0].split()[:2] == ["EVENT", "NAME"] and lines[1].split()[:2] == ["ADDED", "watched"]
    assert "4" in seen, seen


def test_labels_annotations_and_patches(kubectl: Kubectl) -> None:
    kubectl.apply(deployment("patched", replicas=1))
    assert kubectl.out("label", "deploy", "patched", "tier=frontend").strip() == "deployment.apps/patched labeled"
    assert "already has a value" in kubectl.run("label", "deploy", "patched", "tier=backend", rc=1).stderr
    kubectl.run("label", "deploy", "patched", "tier=backend", "--overwrite")
    assert kubectl.out("annotate", "deploy", "patched", "note=hello").strip() == "deployment.apps/patched annotated"
    assert kubectl.out("get", "deploy", "-l", "tier=backend", "-o", "name").split() == ["deployment.apps/patched"]
    kubectl.run("label", "deploy", "patched", "tier-")
    meta = kubectl.json("get", "deploy", "patched")["metadata"]
    assert "tier" not in meta["labels"] and meta["annotations"]["note"] == "hello"

    kubectl.run("patch", "deploy", "patched", "-p", '{"spec":{"replicas":2}}')
    kubectl.run("patch", "deploy", "patched", "-p",
                '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"podvisor/busybox:v3"}]}}}}')
    kubectl.run("patch", "deploy", "patched", "--type=merge", "-p", '{"metadata":{"labels":{"merged":"yes"}}}')
    kubectl.run("patch", "deploy", "patched", "--type=json", "-p",
                '[{"op":"replace","path":"/spec/replicas","value":3},{"op":"remove","path":"/metadata/labels/merged"}]')
    live = kubectl.json("get", "deploy", "patched")
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert (live["spec"]["replicas"], container["image"]) == (3, "podvisor/busybox:v3")
    assert container["command"] == ["httpd", "-f", "-p", "8080"]  # strategic merge kept the rest
    assert "merged" not in live["metadata"]["labels"]
    assert live["metadata"]["generation"] == 4  # 1 + replicas + image + replicas; metadata does not count
    bad = kubectl.run("patch", "deploy", "patched", "--type=json", "-p", '[{"op":"test","path":"/spec/replicas",'
                      '"value":99}]', rc=1)
    assert "The request is invalid" in bad.stderr and "test failed" in bad.stderr  # 422 Invalid


def test_scale_replace_and_conflicts(kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl.apply(deployment("replaced", replicas=1))
    assert kubectl.out("scale", "deploy", "replaced", "--replicas=5").strip() == "deployment.apps/replaced scaled"
    live = kubectl.json("get", "deploy", "replaced")
    assert (live["spec"]["replicas"], live["metadata"]["generation"]) == (5, 2)  # /scale bumps generation
    precondition = kubectl.run("scale", "deploy", "replaced", "--replicas=1", "--current-replicas=2", rc=1)
    assert "Expected replicas to be 2, was 5" in precondition.stderr

    # replace on a ConfigMap: no controller writes it, so only this test moves its resourceVersion
    kubectl.run("create", "configmap", "settings", "--from-literal=mode=a")
    live = kubectl.json("get", "configmap", "settings")
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(live))
    live["data"]["mode"] = "b"
    (tmp_path / "fresh.json").write_text(json.dumps(live))
    assert kubectl.out("replace", "-f", str(tmp_path / "fresh.json")).strip() == "configmap/settings replaced"
    conflict = kubectl.run("replace", "-f", str(stale), rc=1)
    assert "Error from server (Conflict)" in conflict.stderr and "the object has been modified" in conflict.stderr
    assert kubectl.out("get", "configmap", "settings", "-o", "jsonpath={.data.mode}") == "b"
    forced = kubectl.out("replace", "--force", "-f", str(stale)).splitlines()  # delete, then create
    assert forced == ['configmap "settings" deleted from default namespace', "configmap/settings replaced"]
    assert kubectl.out("get", "configmap", "settings", "-o", "jsonpath={.data.mode}") == "a"
    del live["metadata"]["resourceVersion"]
    (tmp_path / "again.json").write_text(json.dumps(live))
    exists = kubectl.run("create", "-f", str(tmp_path / "again.json"), rc=1)
    assert "Error from server (AlreadyExists)" in exists.stderr

    missing = kubectl.run("get", "deploy", "nope", rc=1)
    assert missing.stderr.strip() == 'Error from server (NotFound): deployments.apps "nope" not found'
    assert 'pods "nope" not found' in kubectl.run("delete", "pod", "nope", rc=1).stderr


def test_create_sends_protobuf_bodies(kubectl: Kubectl, tmp_path: Path) -> None:
    """``kubectl create <kind>`` encodes the object as protobuf: every one must round-trip."""
    assert kubectl.out("create", "namespace", "proto").strip() == "namespace/proto created"
    assert kubectl.json("get", "namespace", "proto")["status"]["phase"] == "Active"
    kubectl.run("create", "deployment", "pb", "-n", "proto", "--image=podvisor/busybox:latest", "--replicas=3",
                "--port=8080", "--", "httpd", "-f", "-p", "8080")
    dep = kubectl.json("get", "deploy", "pb", "-n", "proto")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert dep["spec"]["replicas"] == 3 and dep["spec"]["selector"] == {"matchLabels": {"app": "pb"}}
    assert container["command"] == ["httpd", "-f", "-p", "8080"] and container["ports"][0]["containerPort"] == 8080
    kubectl.run("create", "deployment", "none", "-n", "proto", "--image=podvisor/busybox:latest", "--replicas=0")
    assert kubectl.json("get", "deploy", "none", "-n", "proto")["spec"]["replicas"] == 0

    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\xffbinary")
    kubectl.run("create", "configmap", "cfg", "-n", "proto", "--from-literal=mode=prod", f"--from-file=blob={blob}")
    cfg = kubectl.json("get", "configmap", "cfg", "-n", "proto")
    assert cfg["data"] == {"mode": "prod"} and base64.b64decode(cfg["binaryData"]["blob"]) == b"\x00\xffbinary"
    kubectl.run("create", "secret", "generic", "creds", "-n", "proto", "--from-literal=user=admin")
    secret = kubectl.json("get", "secret", "creds", "-n", "proto")
    assert secret["type"] == "Opaque" and base64.b64decode(secret["data"]["user"]) == b"admin"
    kubectl.run("create", "service", "clusterip", "pb", "-n", "proto", "--tcp=80:8080")
    ports = kubectl.json("get", "service", "pb", "-n", "proto")["spec"]["ports"]
    assert [(p["port"], p["targetPort"], p["protocol"]) for p in ports] == [(80, 8080, "TCP")]

    dry = yaml.safe_load(kubectl.out("create", "deployment", "dry", "-n", "proto", "--image=podvisor/busybox:latest",
                                     "--dry-run=server", "-o", "yaml"))
    assert dry["spec"]["progressDeadlineSeconds"] == 600 and dry["metadata"]["uid"]
    assert 'deployments.apps "dry" not found' in kubectl.run("get", "deploy", "dry", "-n", "proto", rc=1).stderr
    assert "AlreadyExists" in kubectl.run("create", "namespace", "proto", rc=1).stderr

    kubectl.run("run", "single", "-n", "proto", "--image=podvisor/busybox:latest", "--", "sleep", "3600")
    kubectl.run("expose", "deployment", "pb", "-n", "proto", "--name=exposed", "--port=81", "--target-port=8080")
    assert kubectl.json("get", "service", "exposed", "-n", "proto")["spec"]["selector"] == {"app": "pb"}
    assert kubectl.out("delete", "namespace", "proto", timeout=120).strip() == 'namespace "proto" deleted'
    assert "NotFound" in kubectl.run("get", "namespace", "proto", rc=1).stderr
