"""Pod start latency: create (with nodeName) -> Running seen through a watch, vs raw docker create + start.

Prints both medians (run with ``-s`` to see them). The bound asserted is loose, to catch a
regression (an extra sleep, a serialised path), not to benchmark a shared CI machine.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid

import docker
import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.kubelet_helpers import IMAGE, PODS, make_pod, wait_node

pytestmark = pytest.mark.e2e
ROUNDS = 10


def raw_docker_start_seconds(rounds: int) -> list[float]:
    api = docker.APIClient(version="auto")
    times: list[float] = []
    ids: list[str] = []
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            created = api.create_container(IMAGE, command=["sleep", "3600"], name=f"pv-bench-{uuid.uuid4().hex[:8]}",
                                           labels={"podvisor.test": "1"})
            api.start(created["Id"])
            times.append(time.perf_counter() - started)
            ids.append(created["Id"])
            time.sleep(0.5)
    finally:
        for container_id in ids:
            api.remove_container(container_id, force=True)
        api.close()
    return times


def pod_start_seconds(cluster: Cluster, node: str, rounds: int, prefix: str) -> list[float]:
    """One pod at a time; all are deleted at the end so teardown never overlaps a start."""
    times = []
    with cluster.http() as h:
        for i in range(rounds):
            name = f"{prefix}-{i}"
            pod = make_pod(name, node, [{"name": "c", "command": ["sleep", "3600"]}], terminationGracePeriodSeconds=0)
            started = time.perf_counter()
            created = h.post(PODS, json=pod).json()
            params = {"watch": "true", "resourceVersion": created["metadata"]["resourceVersion"],
                      "fieldSelector": f"metadata.name={name}", "timeoutSeconds": 60}
            with h.stream("GET", PODS, params=params, timeout=70) as stream:
                for line in stream.iter_lines():
                    event = json.loads(line) if line.strip() else {}
                    if ((event.get("object") or {}).get("status") or {}).get("phase") == "Running":
                        break
            times.append(time.perf_counter() - started)
            time.sleep(0.5)  # let the start's trailing work (events) finish before the next one
        for i in range(rounds):
            h.delete(f"{PODS}/{prefix}-{i}")
    return times


def test_pod_start_latency_close_to_raw_docker(cluster: Cluster, docker_cleanup: None) -> None:
    node = cluster.start_kubelet("node-1")
    wait_node(cluster, node)
    pod_start_seconds(cluster, node, 2, "warm")  # warm-up: network, sandbox image, connections
    raw_docker_start_seconds(2)
    pods = pod_start_seconds(cluster, node, ROUNDS, "lat")
    raw = raw_docker_start_seconds(ROUNDS)
    pod_median, raw_median = statistics.median(pods), statistics.median(raw)
    print(f"\npod create -> Running (watch): median {pod_median * 1000:.0f} ms "
          f"(min {min(pods) * 1000:.0f}, max {max(pods) * 1000:.0f})")
    print(f"raw docker create+start:       median {raw_median * 1000:.0f} ms "
          f"(min {min(raw) * 1000:.0f}, max {max(raw) * 1000:.0f})")
    print(f"ratio: {pod_median / raw_median:.2f}x")
    assert pod_median < raw_median * 3 + 0.2
