"""Services: requests through a ClusterIP vs straight to the pod IP, and endpoint removal latency.

One kubelet, two busybox ``httpd`` pods (``A`` and ``B``) and a client pod. The load generator
is one Python process run in the client pod's network namespace (``nsenter -n``; busybox's
``wget`` crashes), so both sides have the same client: it alternates rounds of sequential
requests, each on a new TCP connection (the NAT decision is per connection, so this is where
the kernel path costs anything), to ``clusterIP:80`` and to ``podIP:8080``. The Service has an
explicit ClusterIP and its EndpointSlice is written by the benchmark, so what is measured is
the service proxy and the kernel alone.

Removal: while the client keeps connecting to the ClusterIP, ``B`` is dropped from the slice;
the figure is the time from the slice write returning until the start of the last connection
``B`` still answered (the data path forgetting it: informer event, debounce, one ``nft``
transaction). It has no baseline; Kubernetes' kube-proxy has a 1 s minimum sync period by
default (``--nftables-min-sync-period``), named in the note.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from typing import Any

from bench.cluster import Cluster, bench_cluster, pod_manifest
from bench.harness import Comparison, RunInfo, Stat, deadline_wait

NAME = "services"
CLUSTER_IP = "10.96.0.80"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
SERVER = "mkdir -p /www && echo {name} > /www/index.html && exec httpd -f -p 8080 -h /www"

# Runs in the client pod's network namespace; prints JSON.
_LOAD = """
import json, socket, sys, time

def get(address, port):
    start = time.monotonic()
    try:
        with socket.create_connection((address, port), timeout=2) as s:
            s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        body = data.split(b"\\r\\n\\r\\n", 1)[-1].decode().strip()
    except OSError as err:
        body = type(err).__name__
    return start, time.monotonic() - start, body

mode, args = sys.argv[1], sys.argv[2:]
if mode == "rounds":
    targets, count, rounds = json.loads(args[0]), int(args[1]), int(args[2])
    out = {name: {"latency": [], "rounds": []} for name in targets}
    for _ in range(rounds):
        for name, (address, port) in targets.items():
            began = time.monotonic()
            for _ in range(count):
                out[name]["latency"].append(get(address, port)[1])
            out[name]["rounds"].append((time.monotonic() - began) / count)
    print(json.dumps(out))
else:  # "watch": connect for the given seconds, report (start, body) of each connection
    address, port, seconds = args[0], int(args[1]), float(args[2])
    end, seen = time.monotonic() + seconds, []
    while time.monotonic() < end:
        start, _, body = get(address, port)
        seen.append((start, body))
    print(json.dumps(seen))
"""


def _pod(cluster: Cluster, name: str, node: str, command: str) -> dict[str, Any]:
    manifest = pod_manifest(name, node=node)
    manifest["spec"]["containers"][0]["command"] = ["sh", "-c", command]
    with cluster.http() as h:
        response = h.post("/api/v1/namespaces/default/pods", json=manifest)
        response.raise_for_status()

        def running() -> dict[str, Any] | None:
            pod = h.get(f"/api/v1/namespaces/default/pods/{name}").json()
            status = pod.get("status") or {}
            return pod if status.get("phase") == "Running" and status.get("podIP") else None

        return dict(deadline_wait(running, timeout=120, what=f"pod {name} running"))


def _netns_pid(uid: str) -> int:
    ids = subprocess.run(["docker", "ps", "-q", "--filter", f"label=io.podvisor.pod.uid={uid}"],
                         capture_output=True, text=True, timeout=30, check=True).stdout.split()
    return int(subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", ids[0]], capture_output=True, text=True,
                              timeout=30, check=True).stdout)


def _write_slice(cluster: Cluster, ips: list[str]) -> None:
    body: dict[str, Any] = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-bench", "labels": {"kubernetes.io/service-name": "web",
                                                     "endpointslice.kubernetes.io/managed-by": "bench"}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips]}
    with cluster.http() as h:
        current = h.get(f"{SLICES}/web-bench")
        if current.status_code == 200:
            body["metadata"]["resourceVersion"] = current.json()["metadata"]["resourceVersion"]
            h.put(f"{SLICES}/web-bench", json=body).raise_for_status()
        else:
            h.post(SLICES, json=body).raise_for_status()


def _load(pid: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["nsenter", "-n", "-t", str(pid), "python3", "-c", _LOAD, *args],
                            stdout=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen[str], timeout: float) -> Any:
    out, _ = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"the load generator failed ({proc.returncode})")
    return json.loads(out)


def measure(*, count: int, rounds: int, removals: int) -> dict[str, Any]:
    with bench_cluster() as cluster:
        node = cluster.start_kubelet("svc", "--proxy-sync-period", "5")
        servers = {name: _pod(cluster, f"srv-{name.lower()}", node, SERVER.format(name=name)) for name in "AB"}
        client = _pod(cluster, "client", node, "exec sleep 3600")
        ips = {name: str(pod["status"]["podIP"]) for name, pod in servers.items()}
        with cluster.http() as h:
            h.post("/api/v1/namespaces/default/services", json={
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"clusterIP": CLUSTER_IP, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
            }).raise_for_status()
        _write_slice(cluster, [ips["A"]])
        pid = _netns_pid(client["metadata"]["uid"])

        def answers(expected: set[str]) -> bool:
            seen = _result(_load(pid, "watch", CLUSTER_IP, "80", "0.3"), 10)
            return {body for _, body in seen} == expected

        deadline_wait(lambda: answers({"A"}), timeout=30, what="the ClusterIP answering")
        targets = json.dumps({"cluster_ip": [CLUSTER_IP, 80], "pod_ip": [ips["A"], 8080]})
        throughput = _result(_load(pid, "rounds", targets, str(count), str(rounds)), 600)

        removal: list[float] = []
        for _ in range(removals):
            _write_slice(cluster, [ips["A"], ips["B"]])
            deadline_wait(lambda: answers({"A", "B"}), timeout=30, what="B serving")
            watcher = _load(pid, "watch", CLUSTER_IP, "80", "3")
            time.sleep(1.0)
            _write_slice(cluster, [ips["A"]])
            removed_at = time.monotonic()
            seen = _result(watcher, 10)
            last_b = max((start for start, body in seen if body == "B"), default=removed_at)
            removal.append(max(0.0, last_b - removed_at))
        return {"throughput": throughput, "removal": removal}


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    if os.geteuid() != 0 or shutil.which("nsenter") is None:
        raise RuntimeError("needs root and nsenter: the proxy writes nftables rules, the client enters a pod's netns")
    got = measure(count=50 if quick else 500, rounds=2 if quick else 5, removals=2 if quick else 10)
    via, direct = got["throughput"]["cluster_ip"], got["throughput"]["pod_ip"]
    rps_via = 1 / Stat.of(via["rounds"]).median
    rps_direct = 1 / Stat.of(direct["rounds"]).median
    info.notes[NAME] = (
        "One client process in a client pod's network namespace, alternating rounds of sequential requests "
        "(a new TCP connection each) to the ClusterIP and to the pod IP; busybox httpd serves both. "
        "Removal: time from the EndpointSlice write returning to the start of the last connection the removed "
        "endpoint still answered; kube-proxy's nftables mode syncs at most once a second by default.")
    return [
        Comparison("request via ClusterIP", "s", Stat.of(via["latency"]), Stat.of(direct["latency"]),
                   "the same request straight to the pod IP", group=NAME,
                   note=f"{rps_via:.0f} req/s via the ClusterIP, {rps_direct:.0f} req/s direct"),
        Comparison("seconds per request (round)", "s", Stat.of(via["rounds"]), Stat.of(direct["rounds"]),
                   "straight to the pod IP", group=NAME),
        Comparison("endpoint removed from the slice -> out of the data path", "s", Stat.of(got["removal"]), None,
                   "-", group=NAME),
    ]
