"""A node partitioned from the API server, shorter and longer than the eviction timeout.

Mirrors Kubernetes' "[Disruptive] Network Partition" e2e tests (test/e2e/network/... and
test/e2e/apps/network_partition.go: "[ReplicationController] should recreate pods scheduled on
the unreachable node AND allow scheduling of pods on a node after it rejoins the cluster", "Pods
should return to running and ready state after network partition is healed"). The node's
kubelet runs in a network namespace of its own (``tests/faults/netns.py``) and reaches the
server, which listens on the host end of the veth pair, only through it; the partition drops
everything the namespace sends. The node grace period and the pods' not-ready/unreachable
tolerations (the server's ``--eviction-timeout``) are shortened to seconds.

* Shorter than the eviction timeout: the node goes Unknown and comes back Ready; no pod is
  deleted or replaced and its containers are the same ones.
* Longer: the pods are evicted (Terminating, as their kubelet cannot confirm), the ReplicaSet
  replaces them on the other node while the stale containers still run on the partitioned
  one; on heal that kubelet sees the deletions, stops the stale containers and removes the pods.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.controllers.e2e_helpers import (
    PodWatch,
    containers_of,
    create_deployment,
    deployment_manifest,
    list_items,
    live_pods,
    node_condition,
    rollout_complete,
)
from tests.e2e.cluster import Cluster
from tests.faults.netns import NodeNetwork
from tests.kubelet.e2e_helpers import PODS, wait_node

pytestmark = pytest.mark.e2e

GRACE = 3.0  # --node-grace-period: seconds without a Lease renewal before the node is Unknown
EVICTION = 8  # --eviction-timeout: the pods' tolerationSeconds for an unreachable node
REPLICAS = 2


@pytest.fixture
def net() -> Iterator[NodeNetwork]:
    network = NodeNetwork()
    try:
        network.create()
        yield network
    finally:
        network.destroy()


@pytest.fixture
def partition_cluster(net: NodeNetwork, tmp_path: Path, busybox_image: str) -> Iterator[Cluster]:
    """A server listening only on the host end of the veth pair (its certificate names that address)."""
    cluster = Cluster(tmp_path / "cluster", bind=net.host_ip,
                      server_args=["--node-grace-period", str(GRACE), "--eviction-timeout", str(EVICTION)])
    try:
        cluster.start_server()
        yield cluster
    finally:
        cluster.stop()


def pods_on(http: Any, node: str) -> list[dict[str, Any]]:
    return [p for p in list_items(http, PODS, "app=part") if p["spec"].get("nodeName") == node]


def created_or_deleted(watch: PodWatch) -> list[tuple[str, str]]:
    return [(kind, pod["metadata"]["name"]) for kind, pod in watch.changes()
            if kind in ("ADDED", "DELETED") or pod["metadata"].get("deletionTimestamp")]


def test_partition_shorter_then_longer_than_the_eviction_timeout(net: NodeNetwork, partition_cluster: Cluster) -> None:
    cluster = partition_cluster
    cut = cluster.start_kubelet("cut", "--lease-interval", "1", prefix=net.prefix)
    wait_node(cluster, cut, timeout=60)
    with cluster.http() as http:
        create_deployment(http, deployment_manifest("part", REPLICAS))
        cluster.wait_for("the pods on the node to be cut", lambda: rollout_complete(http, "part"), timeout=60)
        steady = cluster.start_kubelet("steady", "--lease-interval", "1")
        wait_node(cluster, steady, timeout=60)
        before = {p["metadata"]["uid"] for p in live_pods(http, "part")}
        stale = containers_of("part", node=cut)
        assert len(stale) == REPLICAS and len(pods_on(http, cut)) == REPLICAS
        watch = PodWatch(cluster, "app=part").start()

        # -- shorter than the eviction timeout: Unknown, then Ready again, nothing replaced ------
        began = time.monotonic()
        net.partition()
        cluster.wait_for("the cut node Unknown", lambda: node_condition(http, cut) == "Unknown", timeout=GRACE + 15)
        unknown_at = time.monotonic()
        time.sleep(1)
        net.heal()
        short = time.monotonic() - began
        cluster.wait_for("the healed node Ready", lambda: node_condition(http, cut) == "True", timeout=30)
        time.sleep(max(0.0, unknown_at + EVICTION + 3 - time.monotonic()))  # past when eviction would have come
        assert created_or_deleted(watch) == []
        assert {p["metadata"]["uid"] for p in live_pods(http, "part")} == before
        assert containers_of("part", node=cut) == stale

        # -- longer: evicted, replaced on the other node, stale containers stopped on heal ------
        began = time.monotonic()
        net.partition()
        cluster.wait_for(f"{REPLICAS} replacements running on {steady}", lambda: len(
            [p for p in live_pods(http, "part") if p["spec"].get("nodeName") == steady
             and (p.get("status") or {}).get("phase") == "Running"]) == REPLICAS, timeout=GRACE + EVICTION + 30)
        evicted = [p for p in pods_on(http, cut) if p["metadata"].get("deletionTimestamp")]
        still_running = containers_of("part", node=cut)
        assert len(evicted) == REPLICAS, "the partitioned node's pods are Terminating, not gone"
        assert len(still_running) == REPLICAS, "a partitioned kubelet cannot know: its containers run on"
        net.heal()
        long = time.monotonic() - began
        healed = time.monotonic()
        cluster.wait_for("the stale containers stopped", lambda: containers_of("part", node=cut) == [], timeout=60)
        stopped_after = time.monotonic() - healed
        cluster.wait_for("the evicted pods removed", lambda: pods_on(http, cut) == [], timeout=30)
        cluster.wait_for("the healed node Ready", lambda: node_condition(http, cut) == "True", timeout=30)
        final = live_pods(http, "part")
        assert len(final) == REPLICAS and all(p["spec"]["nodeName"] == steady for p in final)
        assert not {p["metadata"]["uid"] for p in final} & before
        kinds = [kind for kind, _ in created_or_deleted(watch)]
        assert kinds.count("ADDED") == REPLICAS and kinds.count("DELETED") == REPLICAS, kinds
    print(f"\npartition: short {short:.1f}s (node Unknown, then Ready): 0 pods evicted or created, {len(stale)} "
          f"containers untouched; long {long:.1f}s: {len(evicted)} pods evicted, {REPLICAS} replacements Running "
          f"on the other node while {len(still_running)} stale containers ran on; on heal the stale containers "
          f"stopped after {stopped_after:.1f}s and the evicted pods were removed")
