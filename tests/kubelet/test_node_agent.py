"""NodeAgent: the Node's status is written on change, when due, or when the API shows otherwise."""

from __future__ import annotations

from typing import Any

from apimachinery.conditions import set_condition
from apimachinery.models.core import Node, NodeStatus
from apimachinery.models.meta import Condition
from apimachinery.timeutil import FakeClock
from kubelet.node import NodeAgent


class FakeNodes:
    """The two calls update_status makes; every status write is kept."""

    def __init__(self) -> None:
        self.writes: list[Node] = []

    async def create(self, node: Node) -> Node:
        return node

    async def replace_status(self, node: Node) -> Node:
        self.writes.append(node)
        return node

    async def get(self, model: Any, name: str, namespace: str | None = None) -> Any:
        raise AssertionError("not expected")


def agent(client: FakeNodes, clock: FakeClock, observed: list[Node | None]) -> NodeAgent:
    return NodeAgent(client=client, name="n1", status=lambda: NodeStatus(capacity={"cpu": "2"}), clock=clock,  # type: ignore[arg-type]
                     lease_interval=10, lease_duration=40, status_interval=300, labels={},
                     observed=lambda: observed[0])


async def test_an_unchanged_status_is_not_rewritten_until_due() -> None:
    client, clock = FakeNodes(), FakeClock()
    node_agent = agent(client, clock, [None])
    await node_agent.register()
    await node_agent.update_status()
    clock.advance(299)
    await node_agent.update_status()
    assert len(client.writes) == 1
    clock.advance(2)
    await node_agent.update_status()
    assert len(client.writes) == 2


async def test_a_ready_condition_overwritten_by_the_controller_is_written_back_at_once() -> None:
    client, clock = FakeNodes(), FakeClock()
    observed: list[Node | None] = [None]
    node_agent = agent(client, clock, observed)
    await node_agent.register()
    reported = client.writes[-1]
    observed[0] = reported  # the API agrees: nothing to do
    await node_agent.update_status()
    assert len(client.writes) == 1
    assert {c.type: c.status for c in reported.status.conditions or []}["Ready"] == "True"  # type: ignore[union-attr]
    unknown = Condition(type="Ready", status="Unknown", reason="NodeStatusUnknown", message="stopped posting")
    status = reported.status.model_copy(update={"conditions": set_condition(  # type: ignore[union-attr]
        reported.status.conditions, unknown, now="2026-01-01T00:00:00Z")})  # type: ignore[union-attr]
    observed[0] = reported.model_copy(update={"status": status})
    await node_agent.update_status()
    assert len(client.writes) == 2
    conditions = {c.type: c.status for c in client.writes[-1].status.conditions or []}  # type: ignore[union-attr]
    assert conditions["Ready"] == "True"
