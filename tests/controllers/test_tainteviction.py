"""Taint-based eviction: which pods leave a tainted node, and when."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.core import Taint, Toleration
from controllers.tainteviction import TaintEvictionController, eviction_due, tolerates
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, at, node, pod

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def tol(key: str | None = None, *, op: str = "Exists", value: str | None = None, effect: str | None = "NoExecute",
        seconds: int | None = None) -> Toleration:
    return Toleration(key=key, operator=op, value=value, effect=effect, toleration_seconds=seconds)


def taint(key: str = UNREACHABLE, value: str | None = None, effect: str = "NoExecute") -> Taint:
    return Taint(key=key, value=value, effect=effect)


@pytest.mark.parametrize(
    ("toleration", "the_taint", "expected"),
    [
        pytest.param(tol(UNREACHABLE), taint(), True, id="exists-same-key"),
        pytest.param(tol(), taint(), True, id="empty-key-exists-tolerates-all"),
        pytest.param(tol(NOT_READY), taint(), False, id="other-key"),
        pytest.param(tol(UNREACHABLE, effect="NoSchedule"), taint(), False, id="other-effect"),
        pytest.param(tol(UNREACHABLE, effect=None), taint(), True, id="any-effect"),
        pytest.param(tol("k", op="Equal", value="v"), taint("k", "v"), True, id="equal-value"),
        pytest.param(tol("k", op="Equal", value="v"), taint("k", "w"), False, id="different-value"),
    ],
)
def test_tolerates(toleration: Toleration, the_taint: Taint, expected: bool) -> None:
    assert tolerates(toleration, the_taint) is expected


T0 = 1000.0


@pytest.mark.parametrize(
    ("tolerations", "taints", "expected"),
    [
        pytest.param([], [taint()], float("-inf"), id="not-tolerated-goes-at-once"),
        pytest.param([tol(UNREACHABLE, seconds=300)], [taint()], T0 + 300, id="tolerated-for-a-while"),
        pytest.param([tol(UNREACHABLE)], [taint()], None, id="tolerated-forever"),
        pytest.param([tol(UNREACHABLE, seconds=300), tol(seconds=30)], [taint()], T0 + 30, id="shortest-wins"),
        pytest.param([tol(UNREACHABLE, seconds=-5)], [taint()], T0, id="negative-is-zero"),
        pytest.param([tol(UNREACHABLE, seconds=60)], [taint(), taint(NOT_READY)], float("-inf"),
                     id="every-taint-must-be-tolerated"),
        pytest.param([tol(UNREACHABLE, seconds=60)], [taint(effect="NoSchedule")], None, id="only-no-execute-evicts"),
    ],
)
def test_eviction_due(tolerations: list[Toleration], taints: list[Taint], expected: float | None) -> None:
    assert eviction_due(tolerations, taints, added={UNREACHABLE: T0, NOT_READY: T0}) == expected


def setup() -> tuple[FakeCluster, TaintEvictionController, FakeQueue]:
    cluster = fake_context()
    queue = FakeQueue()
    return cluster, TaintEvictionController(cluster.ctx, queue=queue), queue


def tainted_node(cluster: FakeCluster, *, added_ago: float) -> Any:
    return node("n1", ready="Unknown",
                taints=[{"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": at(cluster.clock, -added_ago)}])


def with_tolerations(p: Any, *tolerations: Toleration) -> Any:
    p.spec.tolerations = list(tolerations)
    return p


async def test_tolerating_pod_is_evicted_when_its_time_is_up() -> None:
    cluster, tec, queue = setup()
    cluster.client.seed(tainted_node(cluster, added_ago=1))
    cluster.client.seed(with_tolerations(pod("p", node="n1"), tol(UNREACHABLE, seconds=5)))
    await tec.sync(f"{NS}/p")
    assert cluster.client.calls("delete") == []
    assert queue.after == [(f"{NS}/p", pytest.approx(4.0))]
    cluster.clock.advance(4)
    await tec.sync(f"{NS}/p")
    (delete,) = cluster.client.calls("delete", "pods")
    assert delete.name == "p"
    assert cluster.recorder.reasons() == ["TaintManagerEviction"]


async def test_intolerant_pod_is_evicted_at_once_and_untainted_nodes_are_ignored() -> None:
    cluster, tec, _ = setup()
    cluster.client.seed(tainted_node(cluster, added_ago=0))
    cluster.client.seed(node("n2"))
    cluster.client.seed(pod("p", node="n1"))
    cluster.client.seed(pod("safe", node="n2"))
    await tec.sync(f"{NS}/p")
    await tec.sync(f"{NS}/safe")
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["p"]


async def test_tainting_a_node_enqueues_its_pods() -> None:
    cluster, _, queue = setup()
    cluster.client.seed(node("n1"))
    cluster.client.seed(pod("p", node="n1"))
    queue.clear()
    cluster.nodes.add(tainted_node(cluster, added_ago=0))
    assert queue.added == [f"{NS}/p"]


async def test_pod_already_terminating_is_left_alone() -> None:
    cluster, tec, _ = setup()
    cluster.client.seed(tainted_node(cluster, added_ago=100))
    cluster.client.seed(pod("p", node="n1", deleting=True))
    await tec.sync(f"{NS}/p")
    assert cluster.client.actions == []
