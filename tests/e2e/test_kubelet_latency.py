"""Pod start latency: create (with nodeName) -> Running seen through a watch, vs raw docker create + start.

The two are measured alternately, one round of each at a time, so both see the same load on
a shared Docker daemon. Prints both medians (run with ``-s``). The bound asserted is loose, to
catch a regression (an extra sleep, a serialised path), not to benchmark a shared machine.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
import uuid
from typing import Any

import docker
import docker.errors
import httpx
import pytest

from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import IMAGE, PODS, make_pod, wait_node

pytestmark = pytest.mark.e2e
ROUNDS = 10
SETTLE = 0.5  # pause between rounds so one start's trailing work (events) never overlaps the next


def raw_start(api: docker.APIClient, ids: list[str]) -> float:
    started = time.perf_counter()
    created = api.create_container(IMAGE, command=["sleep", "3600"], name=f"pv-bench-{uuid.uuid4().hex[:8]}",
                                   labels={"podvisor.bench": "kubelet-latency"})
    api.start(created["Id"])
    elapsed = time.perf_counter() - started
    ids.append(created["Id"])
    return elapsed


def pod_start(h: httpx.Client, node: str, name: str) -> float:
    pod = make_pod(name, node, [{"name": "c", "command": ["sleep", "3600"]}], terminationGracePeriodSeconds=0)
    started = time.perf_counter()
    created = h.post(PODS, json=pod).json()
    params: dict[str, Any] = {"watch": "true", "resourceVersion": created["metadata"]["resourceVersion"],
                              "fieldSelector": f"metadata.name={name}", "timeoutSeconds": 60}
    with h.stream("GET", PODS, params=params, timeout=70) as stream:
        for line in stream.iter_lines():
            event = json.loads(line) if line.strip() else {}
            if ((event.get("object") or {}).get("status") or {}).get("phase") == "Running":
                break
    return time.perf_counter() - started


def measure(cluster: Cluster, node: str, rounds: int, prefix: str) -> tuple[list[float], list[float]]:
    api = docker.APIClient(version="auto")
    pods: list[float] = []
    raw: list[float] = []
    ids: list[str] = []
    try:
        with cluster.http() as h:
            for i in range(rounds):
                raw.append(raw_start(api, ids))
                time.sleep(SETTLE)
                pods.append(pod_start(h, node, f"{prefix}-{i}"))
                time.sleep(SETTLE)
            for i in range(rounds):
                h.delete(f"{PODS}/{prefix}-{i}")
    finally:
        for container_id in ids:
            with contextlib.suppress(docker.errors.NotFound):
                api.remove_container(container_id, force=True)
        api.close()
    return pods, raw


def test_pod_start_latency_close_to_raw_docker(cluster: Cluster) -> None:
    node = cluster.start_kubelet("node-1")
    wait_node(cluster, node)
    measure(cluster, node, 2, "warm")  # network, sandbox image, connections
    pods, raw = measure(cluster, node, ROUNDS, "lat")
    pod_median, raw_median = statistics.median(pods), statistics.median(raw)
    print(f"\npod create -> Running (watch): median {pod_median * 1000:.0f} ms "
          f"(min {min(pods) * 1000:.0f}, max {max(pods) * 1000:.0f})")
    print(f"raw docker create+start:       median {raw_median * 1000:.0f} ms "
          f"(min {min(raw) * 1000:.0f}, max {max(raw) * 1000:.0f})")
    print(f"ratio: {pod_median / raw_median:.2f}x")
    assert pod_median < raw_median * 3 + 0.2
