"""Pod features on the real Docker daemon: probes, deletion, logs, volumes, init containers, networking."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.cluster import Cluster, free_port
from tests.kubelet.e2e_helpers import (
    PODS,
    container_status,
    create,
    docker,
    events_of,
    get,
    make_pod,
    pod_containers,
    status,
    wait_gone,
    wait_status,
)

pytestmark = pytest.mark.e2e


def _ready(st: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or [])


def test_liveness_failure_restarts_and_readiness_failure_does_not(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    live = {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 2}
    create(cluster, make_pod("live", node, [{
        "name": "c", "command": ["sh", "-c", "touch /tmp/healthy; sleep 3; rm /tmp/healthy; sleep 3600"],
        "livenessProbe": live}], terminationGracePeriodSeconds=2))
    ready_probe = {"httpGet": {"path": "/index.html", "port": 8080}, "periodSeconds": 1, "failureThreshold": 1}
    create(cluster, make_pod("ready", node, [{
        "name": "web", "command": ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && httpd -f -p 8080 -h /www"],
        "ports": [{"containerPort": 8080}], "readinessProbe": ready_probe}]))
    wait_status(cluster, "live", lambda s: container_status(s, "c").get("restartCount", 0) >= 1, "liveness restart")
    cluster.wait_for("Unhealthy and Killing events",
                     lambda: {"Unhealthy", "Killing"} <= {e["reason"] for e in events_of(cluster, "live")})
    st = wait_status(cluster, "ready", _ready, "Ready")
    web = container_status(st, "web")["containerID"].split("://")[1]
    docker("exec", web, "rm", "/www/index.html")
    st = wait_status(cluster, "ready", lambda s: not _ready(s), "not Ready after the readiness probe fails")
    assert container_status(st, "web")["ready"] is False and st["phase"] == "Running"
    time.sleep(2)
    st = status(cluster, "ready")
    assert container_status(st, "web")["restartCount"] == 0
    assert container_status(st, "web")["containerID"].endswith(web)
    docker("exec", web, "sh", "-c", "echo ok > /www/index.html")
    wait_status(cluster, "ready", _ready, "Ready again")


def test_deletion_stops_within_grace_and_removes_everything(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1")
    volumes = [{"name": "scratch", "emptyDir": {}}]
    mount = [{"name": "scratch", "mountPath": "/scratch"}]
    create(cluster, make_pod("polite", node, [{
        "name": "c", "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"], "volumeMounts": mount}],
        volumes=volumes, terminationGracePeriodSeconds=30))
    create(cluster, make_pod("stubborn", node, [{"name": "c", "command": ["sleep", "3600"]}],
                             terminationGracePeriodSeconds=3))
    for name in ("polite", "stubborn"):
        wait_status(cluster, name, lambda s: s.get("phase") == "Running", "Running")
    uids = {name: (get(cluster, name) or {})["metadata"]["uid"] for name in ("polite", "stubborn")}
    assert docker("volume", "ls", "-q", "--filter", f"name=pv-{uids['polite'].replace('-', '')[:8]}-scratch")
    with cluster.http() as h:
        assert h.delete(f"{PODS}/polite").status_code == 200
        assert h.delete(f"{PODS}/stubborn").status_code == 200
    polite = wait_gone(cluster, "polite", timeout=30)
    stubborn = wait_gone(cluster, "stubborn", timeout=30)
    assert polite < 10, "a container that exits on SIGTERM must not wait for the grace period"
    assert stubborn < 3 + 6, "SIGKILL follows the 3 s grace period"
    for name, uid in uids.items():
        assert pod_containers(uid) == [], name
    assert not docker("volume", "ls", "-q", "--filter", f"name=pv-{uids['polite'].replace('-', '')[:8]}")
    cluster.wait_for("a Killing event", lambda: any(e["reason"] == "Killing" for e in events_of(cluster, "polite")))


def test_logs_through_the_api(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1", "--restart-backoff-initial", "0")
    script = ("n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; "
              "for i in 1 2 3 4 5; do echo run$n line$i; done; if [ $n -eq 1 ]; then exit 1; fi; sleep 3600")
    create(cluster, make_pod("talker", node, [{"name": "c", "command": ["sh", "-c", script],
                                               "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                             volumes=[{"name": "data", "emptyDir": {}}]))
    wait_status(cluster, "talker", lambda s: container_status(s, "c").get("restartCount") == 1
                and s.get("phase") == "Running", "restarted once")
    with cluster.http() as h:
        def current() -> str:
            return str(h.get(f"{PODS}/talker/log").text)

        cluster.wait_for("five lines of run 2", lambda: current().count("\n") == 5)
        assert current().splitlines() == [f"run2 line{i}" for i in range(1, 6)]
        tail = h.get(f"{PODS}/talker/log", params={"tailLines": 2})
        assert tail.status_code == 200 and tail.text.splitlines() == ["run2 line4", "run2 line5"]
        previous = h.get(f"{PODS}/talker/log", params={"previous": "true"})
        assert previous.text.splitlines() == [f"run1 line{i}" for i in range(1, 6)]
        stamped = h.get(f"{PODS}/talker/log", params={"timestamps": "true", "tailLines": 1}).text
        assert stamped.endswith(" run2 line5\n") and stamped[:4].isdigit()
        wrong = h.get(f"{PODS}/talker/log", params={"container": "nope"})
        assert wrong.status_code == 400


def test_init_containers_volumes_env_and_localhost(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1")
    mount = [{"name": "shared", "mountPath": "/shared"}]
    init = [{"name": "prepare", "command": ["sh", "-c", "echo prepared > /shared/init.txt"], "volumeMounts": mount}]
    server = {"name": "server", "command": ["sh", "-c", "mkdir -p /w && cat /shared/init.txt > /w/index.html && "
                                                        "httpd -f -p 8081 -h /w"], "volumeMounts": mount}
    client = {"name": "client", "volumeMounts": mount,
              "env": [{"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                      {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                      {"name": "GREETING", "value": "hi $(ME)"}],
              "command": ["sh", "-c", "echo \"$GREETING $IP\" > /shared/env.txt; "
                                      "while true; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8081 "
                                      "> /shared/fetched.txt && break; sleep 0.2; done; sleep 3600"]}
    create(cluster, make_pod("combo", node, [server, client], initContainers=init,
                             volumes=[{"name": "shared", "emptyDir": {}}]))
    st = wait_status(cluster, "combo", lambda s: s.get("phase") == "Running", "Running")
    init_status = st["initContainerStatuses"][0]
    assert init_status["state"]["terminated"]["reason"] == "Completed"
    client_id = container_status(st, "client")["containerID"].split("://")[1]

    def read(path: str) -> str:
        return docker("exec", client_id, "cat", path)

    cluster.wait_for("fetched over localhost", lambda: "prepared" in read("/shared/fetched.txt"))
    assert read("/shared/env.txt") == f"hi combo {st['podIP']}"
    assert st["podIP"] and st["hostIP"] == "127.0.0.1"


def test_missing_image_reports_err_image_pull(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1")
    create(cluster, make_pod("ghost", node, [{"name": "c", "image": "podvisor/does-not-exist:1"}]))
    st = wait_status(cluster, "ghost", lambda s: (container_status(s, "c").get("state") or {}).get("waiting", {})
                     .get("reason") in ("ErrImagePull", "ImagePullBackOff"), "image error")
    assert st["phase"] == "Pending"
    assert "podvisor/does-not-exist:1" in container_status(st, "c")["state"]["waiting"]["message"]
    wait_status(cluster, "ghost", lambda s: container_status(s, "c")["state"]["waiting"]["reason"] == "ImagePullBackOff",
                "ImagePullBackOff")
    cluster.wait_for("a Failed event", lambda: any(e["reason"] == "Failed" for e in events_of(cluster, "ghost")))


def test_pods_reach_each_other_by_pod_ip_and_host_ports_are_published(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1")
    with cluster.http() as h:  # hostPort is beyond baseline, the default Pod Security level
        relabel = {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}
        assert h.patch("/api/v1/namespaces/default", json=relabel,
                       headers={"Content-Type": "application/merge-patch+json"}).status_code == 200
    host_port = free_port()
    create(cluster, make_pod("server", node, [{"name": "s", "command": [
        "sh", "-c", "mkdir -p /w && echo pong > /w/index.html && httpd -f -p 80 -h /w"],
        "ports": [{"containerPort": 80, "hostPort": host_port}]}]))
    create(cluster, make_pod("caller", node, [{"name": "c", "command": ["sleep", "3600"]}]))
    server_ip = wait_status(cluster, "server", lambda s: s.get("phase") == "Running", "Running")["podIP"]
    st = wait_status(cluster, "caller", lambda s: s.get("phase") == "Running", "Running")
    caller = container_status(st, "c")["containerID"].split("://")[1]

    def fetch() -> str:  # as in Kubernetes, a bare pod name is no DNS name: pods find pods by IP or a Service
        return docker("exec", caller, "sh", "-c", f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc {server_ip} 80")

    assert "pong" in cluster.wait_for("the server by its pod IP", fetch, timeout=20)

    def from_host() -> str:
        try:
            return httpx.get(f"http://127.0.0.1:{host_port}/", timeout=2).text
        except httpx.HTTPError:
            return ""

    assert "pong" in cluster.wait_for("the host port", from_host, timeout=20)
