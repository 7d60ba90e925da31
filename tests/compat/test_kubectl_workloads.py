"""The real kubectl driving running workloads: rollouts, logs, describe, nodes, waiting deletes.

Two kubelets on the local Docker daemon run the pods (image ``podvisor/busybox:latest``).
``kubectl exec``, ``attach`` and ``cp`` are in ``test_kubectl_exec.py``.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import yaml

from tests.compat.conftest import Kubectl, read_lines, ready_nodes
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

NODES = ("node-1", "node-2")
IMAGE = "podvisor/busybox:latest"
# exits on SIGTERM (a shell as PID 1 ignores it otherwise), so deletes and drains take seconds
TICKER = "trap 'exit 0' TERM; echo started; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.5; done"


def deployment(name: str, *, replicas: int, command: str = TICKER) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {
                "terminationGracePeriodSeconds": 2,
                "containers": [{"name": "web", "image": IMAGE, "command": ["sh", "-c", command]}]}},
        },
    }


@pytest.fixture(scope="module")
def nodes(kubectl: Kubectl, compat_cluster: Cluster) -> list[str]:
    names = sorted(compat_cluster.node_name(base) for base in NODES)
    kubectl.wait_for("both nodes Ready", lambda: sorted(ready_nodes(kubectl)) == names, timeout=60)
    return names


def rolled_out(kubectl: Kubectl, name: str) -> None:
    out = kubectl.out("rollout", "status", f"deployment/{name}", "--timeout=120s", timeout=150)
    assert out.strip().splitlines()[-1] == f'deployment "{name}" successfully rolled out', out


def pods_of(kubectl: Kubectl, app: str) -> list[dict[str, Any]]:
    return [p for p in kubectl.json("get", "pods", "-l", f"app={app}")["items"]
            if not p["metadata"].get("deletionTimestamp")]


def test_nodes_are_listed(kubectl: Kubectl, nodes: list[str]) -> None:
    table = kubectl.out("get", "nodes").splitlines()
    assert table[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert sorted((row.split()[0], row.split()[1]) for row in table[1:]) == [(n, "Ready") for n in nodes]
    wide = kubectl.out("get", "nodes", "-o", "wide").splitlines()[0].split()
    assert wide[5:8] == ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE"]
    assert f"Name:               {nodes[0]}" in kubectl.out("describe", "node", nodes[0])


def test_rollout_lifecycle(kubectl: Kubectl, nodes: list[str]) -> None:
    kubectl.apply(deployment("app", replicas=2))
    rolled_out(kubectl, "app")
    assert kubectl.out("wait", "--for=condition=Available", "deployment/app", "--timeout=60s").strip() == (
        "deployment.apps/app condition met")
    wide = kubectl.out("get", "pods", "-l", "app=app", "-o", "wide").splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    rows = [line.split() for line in wide[1:]]
    assert len(rows) == 2 and all(r[1:3] == ["1/1", "Running"] and r[6] in nodes for r in rows), wide
    rs_rows = [line.split() for line in kubectl.out("get", "rs", "-l", "app=app").splitlines()[1:]]
    assert [r[1:4] for r in rs_rows] == [["2", "2", "2"]]
    first_rs = rs_rows[0][0]

    described = kubectl.out("describe", "deployment", "app")
    assert f"NewReplicaSet:   {first_rs} (2/2 replicas created)" in described
    assert f"Scaled up replica set {first_rs} from 0 to 2" in described
    assert re.search(r"Available\s+True\s+MinimumReplicasAvailable", described), described
    pod = rows[0][0]
    described_pod = kubectl.out("describe", "pod", pod)
    assert re.search(rf"Successfully assigned default/{pod} to {rows[0][6]}", described_pod), described_pod
    assert "Started container web" in described_pod and re.search(r"Status:\s+Running", described_pod)

    assert kubectl.out("set", "image", "deployment/app", "web=docker.io/podvisor/busybox:latest").strip() == (
        "deployment.apps/app image updated")
    rolled_out(kubectl, "app")
    history = kubectl.out("rollout", "history", "deployment/app").split()
    assert history[history.index("REVISION"):] == ["REVISION", "CHANGE-CAUSE", "1", "<none>", "2", "<none>"]
    assert "docker.io/podvisor/busybox:latest" in kubectl.out("rollout", "history", "deployment/app", "--revision=2")
    assert all(p["spec"]["containers"][0]["image"] == "docker.io/podvisor/busybox:latest" for p in pods_of(kubectl, "app"))

    assert kubectl.out("rollout", "undo", "deployment/app").strip() == "deployment.apps/app rolled back"
    rolled_out(kubectl, "app")
    assert kubectl.out("get", "deploy", "app", "-o", "jsonpath={.spec.template.spec.containers[0].image}") == IMAGE
    assert kubectl.out("rollout", "history", "deployment/app").split()[-4:] == ["2", "<none>", "3", "<none>"]

    assert kubectl.out("rollout", "restart", "deployment/app").strip() == "deployment.apps/app restarted"
    rolled_out(kubectl, "app")
    annotations = kubectl.json("get", "deploy", "app")["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in annotations
    assert len(kubectl.json("get", "rs", "-l", "app=app")["items"]) == 3

    assert kubectl.out("scale", "deployment/app", "--replicas=3").strip() == "deployment.apps/app scaled"
    rolled_out(kubectl, "app")
    assert sorted(p["status"]["phase"] for p in pods_of(kubectl, "app")) == ["Running"] * 3
    events = kubectl.out("get", "events")
    assert "ScalingReplicaSet" in events and "Scheduled" in events
    everything = kubectl.out("get", "all")
    assert "deployment.apps/app" in everything and "replicaset.apps/" in everything and "pod/app-" in everything


def test_pause_resume_set_and_edit(kubectl: Kubectl, nodes: list[str]) -> None:
    kubectl.apply(deployment("knobs", replicas=1))
    rolled_out(kubectl, "knobs")
    assert kubectl.out("rollout", "pause", "deployment/knobs").strip() == "deployment.apps/knobs paused"
    assert kubectl.out("set", "env", "deployment/knobs", "MODE=paused").strip() == "deployment.apps/knobs env updated"
    stalled = kubectl.run("rollout", "status", "deployment/knobs", "--timeout=3s", rc=1)
    assert "0 out of 1 new replicas have been updated" in stalled.stdout  # paused: no new ReplicaSet
    assert len(kubectl.json("get", "rs", "-l", "app=knobs")["items"]) == 1
    assert kubectl.out("rollout", "resume", "deployment/knobs").strip() == "deployment.apps/knobs resumed"
    rolled_out(kubectl, "knobs")
    assert [p["spec"]["containers"][0]["env"] for p in pods_of(kubectl, "knobs")] == [[{"name": "MODE",
                                                                                        "value": "paused"}]]
    kubectl.run("set", "resources", "deployment/knobs", "-c", "web", "--limits=cpu=200m,memory=64Mi",
                "--requests=cpu=100m")
    rolled_out(kubectl, "knobs")
    resources = pods_of(kubectl, "knobs")[0]["spec"]["containers"][0]["resources"]
    assert resources["limits"] == {"cpu": "200m", "memory": "64Mi"} and resources["requests"]["cpu"] == "100m"

    watcher = kubectl.popen("get", "pods", "-l", "app=knobs", "-w")
    edited = kubectl.run("edit", "deployment/knobs", env_extra={"EDITOR": "sed -i s/replicas:\\ 1/replicas:\\ 2/"})
    assert edited.stdout.strip() == "deployment.apps/knobs edited"
    lines = read_lines(watcher, want=lambda got: sum("Running" in line for line in got) >= 2, timeout=60)
    assert lines[0].split()[:3] == ["NAME", "READY", "STATUS"] and sum("Running" in x for x in lines) >= 2, lines
    rolled_out(kubectl, "knobs")
    # The rollout is complete once the new pods are available; an old pod may still be running out
    # its grace period (phase Running, being deleted) for a moment after.
    deadline = time.monotonic() + 60
    while True:
        running = kubectl.out("get", "pods", "-l", "app=knobs", "--field-selector=status.phase=Running", "-o", "name")
        if len(running.split()) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(running.split()) == 2, running
    events = kubectl.out("events", "--for", "deployment/knobs")
    assert "ScalingReplicaSet" in events and "Deployment/knobs" in events


def test_logs(kubectl: Kubectl, nodes: list[str]) -> None:
    kubectl.run("run", "talker", f"--image={IMAGE}", "--restart=Never", "--",
                "sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; " + TICKER)
    assert kubectl.out("wait", "--for=condition=Ready", "pod/talker", "--timeout=90s", timeout=120).strip() == (
        "pod/talker condition met")
    kubectl.wait_for("ticks in the log", lambda: "tick 1" in kubectl.out("logs", "talker"))
    logs = kubectl.out("logs", "talker").splitlines()
    assert logs[:6] == ["line 1", "line 2", "line 3", "line 4", "line 5", "started"]
    tail = kubectl.out("logs", "talker", "--tail=2").splitlines()
    assert len(tail) == 2 and all(line.startswith("tick ") for line in tail)
    stamped = kubectl.out("logs", "talker", "--timestamps", "--tail=1").strip()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z tick \d+$", stamped), stamped
    assert kubectl.out("logs", "talker", "-c", "talker", "--tail=1").startswith("tick ")
    follow = kubectl.popen("logs", "-f", "talker", "--tail=1")
    streamed = read_lines(follow, want=lambda got: len(got) >= 4, timeout=20)
    numbers = [int(line.split()[1]) for line in streamed]
    assert len(numbers) == 4 and numbers == sorted(numbers) and numbers[-1] > numbers[0], streamed

    kubectl.run("create", "deployment", "logger", f"--image={IMAGE}", "--replicas=2", "--", "sh", "-c", TICKER)
    rolled_out(kubectl, "logger")
    one = kubectl.run("logs", "deployment/logger", "--tail=1")
    assert one.stdout.startswith("tick ") or one.stdout.startswith("started")
    assert "Found 2 pods, using pod/logger-" in one.stderr
    prefixed = kubectl.out("logs", "-l", "app=logger", "--prefix", "--tail=1").splitlines()
    assert len(prefixed) == 2 and all(re.match(r"^\[pod/logger-[a-z0-9-]+/busybox\] ", p) for p in prefixed), prefixed
    absent = kubectl.run("logs", "talker", "-c", "nope", rc=1)
    assert "container nope is not valid for pod talker" in absent.stderr

    kubectl.run("run", "crasher", f"--image={IMAGE}", "--", "sh", "-c", "echo boom; exit 3")
    kubectl.wait_for("a restart of crasher", lambda: kubectl.json("get", "pod", "crasher")["status"].get(
        "containerStatuses", [{}])[0].get("restartCount", 0) >= 1)
    assert kubectl.out("logs", "crasher", "--previous") == "boom\n"
    row = kubectl.out("get", "pod", "crasher").splitlines()[1].split()
    assert row[0] == "crasher" and int(row[3]) >= 1, row  # RESTARTS counts the crash loop
    kubectl.run("delete", "pod", "crasher", "--grace-period=0", "--force")

    deleted = kubectl.out("delete", "pod", "talker", timeout=60)  # waits until the kubelet removed it
    assert deleted.strip() == 'pod "talker" deleted from default namespace'
    assert 'pods "talker" not found' in kubectl.run("get", "pod", "talker", rc=1).stderr


def test_cordon_and_drain(kubectl: Kubectl, nodes: list[str]) -> None:
    kubectl.apply(deployment("spread", replicas=4))
    rolled_out(kubectl, "spread")
    drained, other = nodes
    assert kubectl.out("cordon", drained).strip() == f"node/{drained} cordoned"
    status = {r.split()[0]: r.split()[1] for r in kubectl.out("get", "nodes").splitlines()[1:]}
    assert status == {drained: "Ready,SchedulingDisabled", other: "Ready"}
    assert kubectl.json("get", "node", drained)["spec"]["unschedulable"] is True
    out = kubectl.out("drain", drained, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s",
                      timeout=150)
    assert out.strip().splitlines()[-1] == f"node/{drained} drained", out
    rolled_out(kubectl, "spread")
    kubectl.wait_for("4 running pods, none on the drained node", lambda: sorted(
        (p["spec"].get("nodeName"), p["status"].get("phase")) for p in pods_of(kubectl, "spread"))
        == [(other, "Running")] * 4)
    assert kubectl.out("uncordon", drained).strip() == f"node/{drained} uncordoned"
    assert "unschedulable" not in kubectl.json("get", "node", drained)["spec"]
    kubectl.run("delete", "deployment", "spread")


def test_delete_file_removes_everything(kubectl: Kubectl, nodes: list[str]) -> None:
    manifest = deployment("doomed", replicas=2)
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "doomed"},
               "spec": {"selector": {"app": "doomed"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    text = yaml.safe_dump_all([manifest, service])
    kubectl.run("apply", "-f", "-", stdin=text)
    rolled_out(kubectl, "doomed")
    pod = pods_of(kubectl, "doomed")[0]["metadata"]["name"]
    deleted = kubectl.run("delete", "-f", "-", stdin=text, timeout=90).stdout.splitlines()
    assert deleted == ['deployment.apps "doomed" deleted from default namespace',
                       'service "doomed" deleted from default namespace']
    assert kubectl.out("wait", "--for=delete", f"pod/{pod}", "--timeout=60s", timeout=90).strip() in (
        f"pod/{pod} condition met", "")
    kubectl.wait_for("the garbage collector to remove the pods and replica sets", lambda: (
        kubectl.out("get", "pods,rs", "-l", "app=doomed", "-o", "name") == ""))
