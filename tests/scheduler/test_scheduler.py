"""schedule_one against the fake API: bindings, the Unschedulable verdict, retries, bursts."""

from __future__ import annotations

import asyncio
from collections import Counter

from apimachinery.conditions import get_condition
from apimachinery.errors import ApiError
from apimachinery.models.core import Node, Pod, Taint
from apimachinery.models.meta import Condition
from apimachinery.supervision import FAILED_ON
from tests.scheduler.harness import Harness
from tests.scheduler.objects import make_node, make_pod

UNREACHABLE = Taint(key="node.kubernetes.io/unreachable", effect="NoSchedule")


def pod_scheduled(h: Harness, key: str) -> Condition | None:
    pod = h.pod(key)
    return get_condition(pod.status.conditions if pod.status else None, "PodScheduled")


def nodes_used(h: Harness) -> Counter[str | None]:
    return Counter(h.placement().values())


async def test_binds_a_pending_pod_and_records_the_event(harness: Harness) -> None:
    harness.add_node(make_node("n1"))
    harness.create_pod(make_pod("web"))
    await harness.drain()
    assert harness.binds() == [("default/web", "n1")]
    assert harness.recorder.messages("default/web", "Scheduled") == ["Successfully assigned default/web to n1"]
    uid = harness.pod("default/web").metadata.uid or ""
    assert harness.scheduler.cache.knows(uid) and not harness.scheduler.cache.is_assumed(uid)


async def test_unschedulable_pod_gets_the_condition_and_event_with_per_node_reasons(harness: Harness) -> None:
    harness.add_node(make_node("a", taints=[UNREACHABLE]))
    harness.add_node(make_node("b", cpu="1"))
    harness.add_node(make_node("c", cpu="1"))
    harness.create_pod(make_pod("big", cpu="2"))
    await harness.drain()
    expected = ("0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, "
                "2 Insufficient cpu.")
    cond = pod_scheduled(harness, "default/big")
    assert cond is not None
    assert (cond.status, cond.reason, cond.message) == ("False", "Unschedulable", expected)
    assert cond.last_transition_time
    assert harness.recorder.messages("default/big", "FailedScheduling") == [expected]
    assert harness.binds() == []
    assert harness.scheduler.queue.is_unschedulable("default/big")


async def test_the_same_verdict_is_not_written_twice(harness: Harness) -> None:
    harness.add_node(make_node("n1", cpu="1"))
    harness.create_pod(make_pod("big", cpu="2"))
    await harness.drain()
    harness.advance(60)  # the periodic flush retries it
    await harness.drain()
    assert len(harness.api.calls("update-status", "pods")) == 1
    assert len(harness.recorder.messages("default/big", "FailedScheduling")) == 2


async def test_six_pods_of_one_owner_spread_two_per_node(harness: Harness) -> None:
    for name in ("a", "b", "c"):
        harness.add_node(make_node(name))
    for i in range(6):
        harness.create_pod(make_pod(f"web-{i}", cpu="100m", owner_uid="rs-web"))
    await harness.drain()
    assert nodes_used(harness) == {"a": 2, "b": 2, "c": 2}


async def test_spreading_wins_over_free_space(harness: Harness) -> None:
    harness.add_node(make_node("small", cpu="2"))
    harness.add_node(make_node("huge", cpu="64", memory="256Gi"))
    for i in range(2):
        harness.create_pod(make_pod(f"web-{i}", cpu="100m", owner_uid="rs-web"))
    await harness.drain()
    assert nodes_used(harness) == {"small": 1, "huge": 1}


async def test_least_allocated_node_wins_without_siblings(harness: Harness) -> None:
    harness.add_node(make_node("busy", cpu="4"))
    harness.add_node(make_node("idle", cpu="4"))
    harness.create_pod(make_pod("hog", cpu="3"))
    await harness.drain()
    hog_node = harness.placement()["default/hog"]
    harness.create_pod(make_pod("next", cpu="100m"))
    await harness.drain()
    assert harness.placement()["default/next"] != hog_node


async def test_assumed_pods_prevent_overcommit_while_the_informers_lag(harness: Harness) -> None:
    for name in ("a", "b", "c"):
        harness.add_node(make_node(name, cpu="4"))
    for i in range(20):
        harness.create_pod(make_pod(f"p{i:02d}", cpu="1"))
    harness.pause_watch()  # bindings succeed, but no informer hears of them yet
    await harness.drain()
    assert len(harness.binds()) == 12
    assert Counter(node for _, node in harness.binds()) == {"a": 4, "b": 4, "c": 4}
    harness.resume_watch()
    for name in ("a", "b", "c"):
        node = harness.scheduler.cache.node(name)
        assert node is not None and node.requested["cpu"] == 4000 and node.pod_count == 4
    assert sum(harness.scheduler.cache.is_assumed(p.metadata.uid or "") for p in harness.api.all(Pod)) == 0


async def test_unschedulable_pod_is_retried_when_a_node_is_added(harness: Harness) -> None:
    harness.add_node(make_node("small", cpu="1"))
    harness.create_pod(make_pod("big", cpu="2"))
    await harness.drain()
    harness.add_node(make_node("large", cpu="8"))
    harness.advance(1)  # its 1 s back-off
    await harness.drain()
    assert harness.placement()["default/big"] == "large"


async def test_unschedulable_pod_is_retried_when_a_node_is_uncordoned(harness: Harness) -> None:
    harness.add_node(make_node("n1", unschedulable=True))
    harness.create_pod(make_pod("web"))
    await harness.drain()
    cond = pod_scheduled(harness, "default/web")
    assert cond is not None and cond.message == "0/1 nodes are available: 1 node(s) were unschedulable."

    def uncordon(node: Node) -> None:
        node.spec.unschedulable = None

    harness.update_node("n1", uncordon)
    harness.advance(1)
    await harness.drain()
    assert harness.placement()["default/web"] == "n1"


async def test_labelling_a_node_satisfies_a_node_selector(harness: Harness) -> None:
    harness.add_node(make_node("n1"))
    harness.create_pod(make_pod("db", node_selector={"disk": "ssd"}))
    await harness.drain()
    cond = pod_scheduled(harness, "default/db")
    assert cond is not None and cond.message == "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."

    def label(node: Node) -> None:
        node.metadata.labels = {**(node.metadata.labels or {}), "disk": "ssd"}

    harness.update_node("n1", label)
    harness.advance(1)
    await harness.drain()
    assert harness.placement()["default/db"] == "n1"


async def test_a_heartbeat_does_not_requeue_parked_pods(harness: Harness) -> None:
    harness.add_node(make_node("n1", cpu="1"))
    harness.create_pod(make_pod("big", cpu="2"))
    await harness.drain()

    def heartbeat(node: Node) -> None:
        assert node.status is not None and node.status.conditions
        node.status.conditions[0].last_heartbeat_time = "2030-01-01T00:00:00Z"

    harness.update_node("n1", heartbeat)
    assert harness.scheduler.queue.is_unschedulable("default/big")


async def test_deleting_an_assigned_pod_makes_room_for_a_parked_one(harness: Harness) -> None:
    harness.add_node(make_node("n1", cpu="2"))
    harness.create_pod(make_pod("first", cpu="2"))
    await harness.drain()
    harness.create_pod(make_pod("second", cpu="2"))
    await harness.drain()
    assert harness.placement()["default/second"] is None
    harness.delete_pod("default/first")
    harness.advance(1)
    await harness.drain()
    assert harness.placement()["default/second"] == "n1"


async def test_host_port_conflict_keeps_the_second_pod_pending(harness: Harness) -> None:
    harness.add_node(make_node("n1"))
    harness.create_pod(make_pod("one", host_port=8080))
    harness.create_pod(make_pod("two", host_port=8080))
    await harness.drain()
    assert harness.placement() == {"default/one": "n1", "default/two": None}
    cond = pod_scheduled(harness, "default/two")
    assert cond is not None and cond.message == (
        "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.")


async def test_failed_binding_is_forgotten_and_retried_after_backoff(harness: Harness) -> None:
    harness.add_node(make_node("n1", cpu="1"))
    harness.create_pod(make_pod("web", cpu="1"))
    harness.api.fail("bind", "pods", ApiError(500, "InternalError", "database is locked"), name="web")
    await harness.drain()
    node = harness.scheduler.cache.node("n1")
    assert node is not None and node.requested.get("cpu", 0) == 0
    assert harness.recorder.messages("default/web", "FailedScheduling") == ["Binding rejected: database is locked"]
    assert harness.scheduler.queue.is_backing_off("default/web")
    harness.advance(1)
    await harness.drain()
    assert harness.placement()["default/web"] == "n1"


async def test_conflicting_binding_is_not_retried(harness: Harness) -> None:
    harness.add_node(make_node("n1"))
    harness.create_pod(make_pod("web"))
    harness.api.fail("bind", "pods", ApiError(409, "Conflict", "pod web is being deleted"), name="web")
    await harness.drain()
    harness.advance(30)
    assert await harness.drain() == 0
    assert harness.binds() == [("default/web", "n1")]  # tried once, never again
    assert harness.placement() == {"default/web": None}


async def test_pods_not_for_us_are_left_alone(harness: Harness) -> None:
    harness.add_node(make_node("n1"))
    harness.create_pod(make_pod("other", scheduler_name="my-scheduler"))
    gated = make_pod("gated")
    gated.spec.scheduling_gates = [{"name": "example.com/wait"}]
    harness.create_pod(gated)
    await harness.drain()
    assert harness.binds() == []


async def test_a_pod_deleted_while_queued_is_skipped(harness: Harness) -> None:
    harness.add_node(make_node("n1"))
    harness.create_pod(make_pod("web"))
    harness.delete_pod("default/web")
    assert await harness.drain() == 0


async def test_bindings_run_concurrently_but_bounded() -> None:
    h = Harness(latency=0.02, parallelism=16)
    for i in range(10):
        h.add_node(make_node(f"n{i}"))
    for i in range(64):
        h.create_pod(make_pod(f"p{i}"))
    started = asyncio.get_running_loop().time()
    await h.drain()
    elapsed = asyncio.get_running_loop().time() - started
    assert len(h.binds()) == 64
    assert h.api.max_in_flight == 16
    assert elapsed < 64 * 0.02 / 4  # far from one round-trip per pod


async def test_run_schedules_until_cancelled(harness: Harness) -> None:
    harness.add_node(make_node("n1"))
    task = asyncio.create_task(harness.scheduler.run())
    try:
        for i in range(5):
            harness.create_pod(make_pod(f"p{i}"))
        deadline = asyncio.get_running_loop().time() + 5
        while len(harness.binds()) < 5:
            assert asyncio.get_running_loop().time() < deadline, harness.binds()
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert set(harness.placement().values()) == {"n1"}


# --- a replacement for a pod that exceeded its restart intensity ------------------------------


async def test_a_replacement_prefers_a_node_where_no_earlier_pod_failed_and_says_so(harness: Harness) -> None:
    for name in ("node-a", "node-b"):
        harness.add_node(make_node(name))
    harness.create_pod(make_pod("web-abc", owner_uid="rs-web", annotations={FAILED_ON: "node-a"}))
    await harness.drain()
    assert harness.binds() == [("default/web-abc", "node-b")]
    assert harness.recorder.messages("default/web-abc", "Scheduled") == [
        "Successfully assigned default/web-abc to node-b "
        "(preferred over node-a, where an earlier pod exceeded its restart intensity)"]


async def test_failed_on_is_a_preference_not_a_filter(harness: Harness) -> None:
    harness.add_node(make_node("node-a"))
    harness.add_node(make_node("node-b", cpu="1"))
    harness.create_pod(make_pod("web-abc", cpu="2", annotations={FAILED_ON: "node-a"}))
    await harness.drain()
    assert harness.binds() == [("default/web-abc", "node-a")]
    assert harness.recorder.messages("default/web-abc", "Scheduled") == [
        "Successfully assigned default/web-abc to node-a"]


async def test_the_replacement_avoids_the_failed_node_even_where_spreading_would_pick_it(harness: Harness) -> None:
    for name in ("node-a", "node-b"):
        harness.add_node(make_node(name))
    harness.create_pod(make_pod("web-1", owner_uid="rs-web"))
    await harness.drain()
    (first_node,) = harness.placement().values()
    other = "node-b" if first_node == "node-a" else "node-a"
    harness.create_pod(make_pod("web-2", owner_uid="rs-web", annotations={FAILED_ON: other}))
    await harness.drain()
    assert harness.placement()["default/web-2"] == first_node
