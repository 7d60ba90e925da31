"""A pod's supervisor on the real Docker daemon: strategies, intensity, sidecars, Job-like pods."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apimachinery.supervision import (
    INTENSITY,
    INTENSITY_CONDITION,
    PERIOD,
    RESTART_INTENSITY_EXCEEDED,
    STRATEGY,
)
from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import (
    container_status,
    create,
    docker,
    events_of,
    make_pod,
    pod_containers,
    status,
    wait_node,
    wait_status,
)

pytestmark = pytest.mark.e2e
SLEEPER = ["sleep", "3600"]


def supervised(name: str, node: str, annotations: dict[str, str], names: tuple[str, ...] = ("a", "b", "c"),
               **spec: Any) -> dict[str, Any]:
    pod = make_pod(name, node, [{"name": n, "command": SLEEPER} for n in names], terminationGracePeriodSeconds=1,
                   **spec)
    pod["metadata"]["annotations"] = annotations
    return pod


def restart_counts(st: dict[str, Any], names: tuple[str, ...] = ("a", "b", "c")) -> list[int]:
    return [container_status(st, n).get("restartCount", -1) for n in names]


def all_running(st: dict[str, Any], names: tuple[str, ...] = ("a", "b", "c")) -> bool:
    return all((container_status(st, n).get("state") or {}).get("running") for n in names)


def container_id(st: dict[str, Any], name: str) -> str:
    return str(container_status(st, name)["containerID"]).removeprefix("docker://")


def started_at(uid: str) -> dict[str, str]:
    """``<container><attempt>`` -> Docker's StartedAt (nanoseconds) for the pod's app containers."""
    out = {}
    for row in pod_containers(uid):
        info = json.loads(docker("inspect", row["ID"]))[0]
        labels = info["Config"]["Labels"]
        if labels.get("io.podvisor.sandbox") != "true":
            out[labels["io.podvisor.container"] + labels["io.podvisor.attempt"]] = info["State"]["StartedAt"]
    return out


def running_pod(cluster: Cluster, pod: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    uid = create(cluster, pod)["metadata"]["uid"]
    name = pod["metadata"]["name"]
    names = tuple(c["name"] for c in pod["spec"]["containers"])
    return uid, wait_status(cluster, name, lambda s: all_running(s, names), "all containers running")


def test_rest_for_one_restarts_the_dead_container_and_those_after_it_in_order(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    wait_node(cluster, node)
    uid, before = running_pod(cluster, supervised("rfo", node, {STRATEGY: "rest_for_one"}))

    docker("kill", container_id(before, "b"))
    after = wait_status(cluster, "rfo", lambda s: restart_counts(s) == [0, 1, 1] and all_running(s),
                        "b and c restarted once, a untouched")

    assert container_id(after, "a") == container_id(before, "a")
    times = started_at(uid)
    assert times["a0"] < times["b0"] < times["c0"], times  # declared order at the first start too
    assert times["b1"] < times["c1"], times
    assert "Restarting" in [e["reason"] for e in events_of(cluster, "rfo")]


def test_one_for_all_restarts_every_container_in_place(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    wait_node(cluster, node)
    pod = create(cluster, supervised("ofa", node, {STRATEGY: "one_for_all"}))
    before = wait_status(cluster, "ofa", all_running, "all running")

    docker("kill", container_id(before, "c"))
    after = wait_status(cluster, "ofa", lambda s: restart_counts(s) == [1, 1, 1] and all_running(s),
                        "all restarted once")

    assert after["podIP"] == before["podIP"]
    fresh = status(cluster, "ofa")
    assert fresh["phase"] == "Running"
    times = started_at(pod["metadata"]["uid"])
    assert times["a1"] < times["b1"] < times["c1"], times


def test_exceeding_the_intensity_fails_the_pod(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    wait_node(cluster, node)
    pod = make_pod("brittle", node, [{"name": "app", "command": ["sh", "-c", "sleep 0.3; exit 1"]}],
                   terminationGracePeriodSeconds=1)
    pod["metadata"]["annotations"] = {INTENSITY: "2", PERIOD: "60"}
    create(cluster, pod)

    st = wait_status(cluster, "brittle", lambda s: s.get("phase") == "Failed", "Failed", timeout=60)

    assert st["reason"] == RESTART_INTENSITY_EXCEEDED and "3 restarts in 60s" in st["message"]
    budget = next(c for c in st["conditions"] if c["type"] == INTENSITY_CONDITION)
    assert budget["status"] == "False" and budget["reason"] == RESTART_INTENSITY_EXCEEDED
    assert container_status(st, "app")["restartCount"] == 2
    assert any(e["reason"] == RESTART_INTENSITY_EXCEEDED and e["type"] == "Warning"
               for e in events_of(cluster, "brittle"))
    uid = pod_containers_uid(cluster, "brittle")
    cluster.wait_for("no container of the failed pod runs",
                     lambda: not [r for r in pod_containers(uid) if r["State"] == "running"], timeout=30)


def pod_containers_uid(cluster: Cluster, name: str) -> str:
    with cluster.http() as h:
        return str(h.get(f"/api/v1/namespaces/default/pods/{name}").json()["metadata"]["uid"])


def test_a_sidecar_outlives_a_restarting_app_and_a_job_like_pod_completes(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    wait_node(cluster, node)
    flaky = ("n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; "
             "sleep 1; [ $n -ge 3 ]")  # fails twice, then succeeds
    pod = make_pod(
        "job", node,
        [{"name": "work", "command": ["sh", "-c", flaky], "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
        initContainers=[{"name": "proxy", "command": SLEEPER, "restartPolicy": "Always"}],
        restartPolicy="OnFailure", volumes=[{"name": "data", "emptyDir": {}}], terminationGracePeriodSeconds=1,
    )
    uid = create(cluster, pod)["metadata"]["uid"]

    st = wait_status(cluster, "job", lambda s: s.get("phase") == "Succeeded", "Succeeded", timeout=90)

    assert container_status(st, "work")["restartCount"] == 2
    proxy = next(c for c in st["initContainerStatuses"] if c["name"] == "proxy")
    assert proxy["restartCount"] == 0
    times = started_at(uid)
    assert times["proxy0"] < min(t for k, t in times.items() if k.startswith("work")), times
    cluster.wait_for("the sidecar stopped after the app completed",
                     lambda: not [r for r in pod_containers(uid) if r["State"] == "running"], timeout=30)
