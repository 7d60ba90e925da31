"""The node cache: running totals, assumed pods and their confirmation, forgetting or expiry."""

from __future__ import annotations

import pytest

from apimachinery.timeutil import FakeClock
from scheduler.cache import SchedulerCache
from scheduler.podinfo import PodInfo
from tests.scheduler.objects import make_node, make_pod


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(clock: FakeClock) -> SchedulerCache:
    c = SchedulerCache(clock=clock.monotonic)
    c.update_node(make_node("n1", cpu="4"))
    return c


def info(name: str, cpu: str = "1", owner: str | None = "rs1", port: int | None = None) -> PodInfo:
    pod = make_pod(name, cpu=cpu, owner_uid=owner, host_port=port)
    pod.metadata.uid = f"uid-{name}"
    return PodInfo.from_pod(pod)


def test_totals_follow_pods(cache: SchedulerCache) -> None:
    cache.add_pod(info("a", port=80), "n1")
    cache.add_pod(info("b"), "n1")
    node = cache.node("n1")
    assert node is not None
    assert (node.requested["cpu"], node.pod_count, node.owners["rs1"]) == (2000, 2, 2)
    assert node.port_in_use("0.0.0.0", "TCP", 80)
    cache.remove_pod("uid-a")
    assert (node.requested["cpu"], node.pod_count, node.owners["rs1"]) == (1000, 1, 1)
    assert not node.port_in_use("0.0.0.0", "TCP", 80)


def test_assumed_pod_counts_at_once_and_is_confirmed_once(cache: SchedulerCache) -> None:
    pod = info("a")
    cache.assume(pod, "n1")
    node = cache.node("n1")
    assert node is not None and node.requested["cpu"] == 1000 and cache.is_assumed("uid-a")
    cache.add_pod(pod, "n1")  # the informer reports the binding
    assert not cache.is_assumed("uid-a") and node.requested["cpu"] == 1000 and node.pod_count == 1


def test_forget_undoes_an_assumption(cache: SchedulerCache) -> None:
    cache.assume(info("a"), "n1")
    cache.forget("uid-a")
    node = cache.node("n1")
    assert node is not None and node.requested["cpu"] == 0 and not cache.knows("uid-a")


def test_unconfirmed_assumption_expires_after_binding_when_a_ttl_is_set(clock: FakeClock) -> None:
    cache = SchedulerCache(clock=clock.monotonic, assumed_ttl=30.0)
    cache.update_node(make_node("n1", cpu="4"))
    cache.assume(info("a"), "n1")
    clock.advance(60)
    assert cache.cleanup() == []  # binding still in flight: never expire
    cache.finish_binding("uid-a")
    clock.advance(31)
    assert cache.cleanup() == ["uid-a"]
    assert not cache.knows("uid-a")


def test_by_default_a_bound_assumption_waits_for_the_informer_however_long(cache: SchedulerCache,
                                                                        clock: FakeClock) -> None:
    cache.assume(info("a"), "n1")
    cache.finish_binding("uid-a")
    clock.advance(3600)
    assert cache.cleanup() == [] and cache.is_assumed("uid-a")
    cache.add_pod(info("a"), "n1")
    assert not cache.is_assumed("uid-a")


def test_pods_on_an_unknown_node_are_kept_but_the_node_is_not_offered(cache: SchedulerCache) -> None:
    cache.add_pod(info("a"), "ghost")
    assert [n.name for n in cache.node_list()] == ["n1"]
    cache.update_node(make_node("ghost"))
    ghost = cache.node("ghost")
    assert [n.name for n in cache.node_list()] == ["ghost", "n1"]
    assert ghost is not None and ghost.pod_count == 1


def test_removed_node_keeps_totals_until_its_pods_go(cache: SchedulerCache) -> None:
    cache.add_pod(info("a"), "n1")
    cache.remove_node("n1")
    assert cache.node_list() == []
    assert cache.node("n1") is not None
    cache.remove_pod("uid-a")
    assert cache.node("n1") is None


def test_resized_pod_updates_totals(cache: SchedulerCache) -> None:
    cache.add_pod(info("a", cpu="1"), "n1")
    cache.add_pod(info("a", cpu="2"), "n1")
    node = cache.node("n1")
    assert node is not None and node.requested["cpu"] == 2000 and node.pod_count == 1
