"""Node lifecycle: heartbeat timing on a fake clock, taints, disruption modes, pods marked not ready."""

from __future__ import annotations

import pytest

from apimachinery.models.apps import Lease
from apimachinery.models.core import Node, Pod
from apimachinery.timeutil import FakeClock
from controllers.nodelifecycle import (
    FULL_DISRUPTION,
    NORMAL_ZONE,
    NOT_READY_TAINT,
    PARTIAL_DISRUPTION,
    UNREACHABLE_TAINT,
    NodeLifecycleController,
    TokenBucket,
    ZoneHealth,
    zone_state,
)
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, at, node, pod

GRACE = 40.0


def setup(*names: str) -> tuple[FakeCluster, NodeLifecycleController, FakeQueue]:
    cluster = fake_context(auto_deliver=True)
    queue = FakeQueue()
    controller = NodeLifecycleController(cluster.ctx, grace_period=GRACE, queue=queue)
    for name in names:
        cluster.client.seed(node(name))
        renew(cluster, name)
    return cluster, controller, queue


def renew(cluster: FakeCluster, name: str) -> None:
    lease = Lease.model_validate({"metadata": {"name": name, "namespace": "kube-node-lease"},
                                  "spec": {"holderIdentity": name, "renewTime": at(cluster.clock)}})
    existing = cluster.client.stored(Lease, name, "kube-node-lease")
    if existing is not None:
        lease.metadata.resource_version = None
        lease.metadata.uid = existing.metadata.uid
    cluster.client.seed(lease)  # replaces the stored one


def stored(cluster: FakeCluster, name: str) -> Node:
    found = cluster.client.stored(Node, name)
    assert found is not None
    return found


def ready(n: Node) -> tuple[str, str | None]:
    cond = next(c for c in (n.status.conditions if n.status else None) or [] if c.type == "Ready")
    return cond.status, cond.reason


def taints(n: Node) -> list[str]:
    return [t.key for t in n.spec.taints or []]


@pytest.mark.parametrize(
    ("silent_for", "expected_ready", "expected_taints"),
    [
        pytest.param(10, ("True", "KubeletReady"), [], id="within-grace"),
        pytest.param(39, ("True", "KubeletReady"), [], id="just-within-grace"),
        pytest.param(41, ("Unknown", "NodeStatusUnknown"), [UNREACHABLE_TAINT], id="past-grace"),
    ],
)
async def test_silent_node_becomes_unknown_after_the_grace_period(
    silent_for: float, expected_ready: tuple[str, str], expected_taints: list[str]
) -> None:
    cluster, nlc, _ = setup("n1", "n2", "n3")
    for name in ("n1", "n2", "n3"):
        await nlc.sync(name)
    cluster.clock.advance(silent_for)
    renew(cluster, "n2")
    renew(cluster, "n3")
    await nlc.sync("n1")
    assert ready(stored(cluster, "n1")) == expected_ready
    assert taints(stored(cluster, "n1")) == expected_taints


async def test_lease_renewals_keep_a_node_ready_and_recheck_is_scheduled() -> None:
    cluster, nlc, queue = setup("n1")
    await nlc.sync("n1")
    assert queue.after[-1][0] == "n1" and queue.after[-1][1] == pytest.approx(GRACE + 0.1)
    for _ in range(5):
        cluster.clock.advance(30)
        renew(cluster, "n1")
        await nlc.sync("n1")
    assert ready(stored(cluster, "n1"))[0] == "True"


async def test_unknown_marks_message_taint_time_and_pods_not_ready() -> None:
    cluster, nlc, _ = setup("n1", "n2", "n3")
    cluster.client.seed(pod("p", node="n1", ready=True))
    cluster.client.seed(pod("other", node="n2", ready=True))
    for name in ("n1", "n2", "n3"):
        await nlc.sync(name)
    cluster.clock.advance(GRACE + 1)
    for name in ("n2", "n3"):
        renew(cluster, name)
    await nlc.sync("n1")
    n1 = stored(cluster, "n1")
    cond = next(c for c in n1.status.conditions or [] if c.type == "Ready")  # type: ignore[union-attr]
    assert cond.message == "Kubelet stopped posting node status."
    assert cond.last_heartbeat_time == "2026-01-01T00:00:00Z"  # kept: the kubelet's last word
    (taint,) = n1.spec.taints or []
    assert (taint.key, taint.effect, taint.time_added) == (UNREACHABLE_TAINT, "NoExecute", at(cluster.clock))
    p = cluster.client.stored(Pod, "p", NS)
    assert p is not None and next(c for c in p.status.conditions or [] if c.type == "Ready").status == "False"  # type: ignore[union-attr]
    (patch,) = cluster.client.calls("patch-status", "pods")
    assert patch.name == "p"


async def test_recovered_node_loses_its_taint() -> None:
    cluster, nlc, _ = setup("n1", "n2", "n3")
    for name in ("n1", "n2", "n3"):
        await nlc.sync(name)
    cluster.clock.advance(GRACE + 1)
    renew(cluster, "n2")
    renew(cluster, "n3")
    await nlc.sync("n1")
    assert taints(stored(cluster, "n1")) == [UNREACHABLE_TAINT]
    # the kubelet comes back: it renews its Lease and posts Ready=True
    back = stored(cluster, "n1")
    back.status.conditions = node("n1", heartbeat=at(cluster.clock)).status.conditions  # type: ignore[union-attr]
    await cluster.client.replace_status(back)
    renew(cluster, "n1")
    await nlc.sync("n1")
    assert taints(stored(cluster, "n1")) == []
    assert ready(stored(cluster, "n1"))[0] == "True"


async def test_kubelet_reporting_not_ready_gets_the_not_ready_taint() -> None:
    cluster, nlc, _ = setup("n2", "n3")
    cluster.client.seed(node("n1", ready="False"))
    renew(cluster, "n1")
    await nlc.sync("n1")
    assert taints(stored(cluster, "n1")) == [NOT_READY_TAINT]


async def test_every_node_unhealthy_stops_tainting() -> None:
    cluster, nlc, _ = setup("n1", "n2")
    for name in ("n1", "n2"):
        await nlc.sync(name)
    cluster.clock.advance(GRACE + 1)
    await nlc.sync("n1")
    assert taints(stored(cluster, "n1")) == [UNREACHABLE_TAINT]  # n2 still looked ready
    await nlc.sync("n2")
    assert nlc.all_disrupted
    assert taints(stored(cluster, "n2")) == []
    await nlc.sync("n1")
    assert taints(stored(cluster, "n1")) == []  # taints withdrawn in full disruption


async def test_tainting_is_rate_limited_per_zone() -> None:
    names = [f"n{i}" for i in range(1, 9)]
    cluster, nlc, queue = setup(*names)
    for name in names:
        await nlc.sync(name)
    cluster.clock.advance(GRACE + 1)
    for name in names[2:]:
        renew(cluster, name)
    await nlc.sync("n1")
    await nlc.sync("n2")
    assert taints(stored(cluster, "n1")) == [UNREACHABLE_TAINT]
    assert taints(stored(cluster, "n2")) == []  # 0.1 node/s: the next one waits ~10 s
    assert ("n2", pytest.approx(10.0)) in queue.after
    cluster.clock.advance(10)
    for name in names[2:]:
        renew(cluster, name)
    await nlc.sync("n2")
    assert taints(stored(cluster, "n2")) == [UNREACHABLE_TAINT]


async def test_restarted_controller_gives_every_node_a_fresh_grace_period() -> None:
    cluster, nlc, _ = setup("n1")
    cluster.clock.advance(1000)  # the lease is old, but this controller has just started
    await nlc.sync("n1")
    assert ready(stored(cluster, "n1"))[0] == "True"


@pytest.mark.parametrize(
    ("ready_count", "not_ready", "expected"),
    [
        pytest.param(3, 0, NORMAL_ZONE, id="healthy"),
        pytest.param(0, 3, FULL_DISRUPTION, id="none-ready"),
        pytest.param(2, 2, NORMAL_ZONE, id="few-unready"),
        pytest.param(2, 3, PARTIAL_DISRUPTION, id="most-unready"),
        pytest.param(10, 3, NORMAL_ZONE, id="some-unready-in-big-zone"),
    ],
)
def test_zone_state(ready_count: int, not_ready: int, expected: str) -> None:
    assert zone_state(ready_count, not_ready) == expected


def test_token_bucket() -> None:
    clock = FakeClock()
    bucket = TokenBucket(0.1, clock=clock)
    assert bucket.try_take()
    assert not bucket.try_take()
    assert bucket.wait() == pytest.approx(10.0)
    clock.advance(10)
    assert bucket.try_take()
    bucket.set_rate(0)
    clock.advance(1000)
    assert not bucket.try_take()


def test_zone_health_follows_each_node_as_it_changes_zone_readiness_or_leaves() -> None:
    health = ZoneHealth()
    health.update("n1", "a", ready=True)
    health.update("n2", "a", ready=True)
    health.update("n3", "b", ready=False)
    health.update("n1", "a", ready=True)  # unchanged: not counted twice
    assert health.counts() == {"a": (2, 0), "b": (0, 1)}
    health.update("n2", "a", ready=False)
    health.update("n3", "a", ready=True)  # moved zones
    assert health.counts() == {"a": (2, 1)}
    health.remove("n2")
    health.remove("gone")
    assert health.counts() == {"a": (2, 0)}
