"""The kubelet's Summary API from the fake runtime: shape, CPU rate, grouping and what is left out."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from kubelet import naming
from kubelet.hoststats import HostSample
from kubelet.runtime.base import ContainerSpec
from kubelet.runtime.fake import FakeRuntime
from kubelet.summary import SummaryProvider, resolver, rfc3339
from kubelet.threads import InlineRunner

NODE = "mapi-node"
IMAGE = "podvisor/busybox:latest"
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
MIB = 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.25

    def __call__(self) -> float:
        return self.now


def start(runtime: FakeRuntime, *, pod: str, container: str, node: str = NODE, uid: str = "uid-1") -> str:
    ref = naming.PodRef(namespace="default", name=pod, uid=uid)
    labels = naming.container_labels(node=node, pod=ref, container=container, attempt=0, init=False)
    cid = runtime.create_container(ContainerSpec(name=naming.container_name(ref, container, 0), image=IMAGE,
                                                 labels=labels))
    runtime.start_container(cid)
    return cid


def provider(runtime: FakeRuntime, clock: Clock, **kwargs: Any) -> SummaryProvider:
    return SummaryProvider(node=NODE, runtime=runtime, run=InlineRunner(), lookup=lambda _key: None, clock=clock,
                           **kwargs)


def setup() -> tuple[FakeRuntime, Clock, SummaryProvider]:
    clock = Clock()
    runtime = FakeRuntime(images=[IMAGE], clock=clock)
    return runtime, clock, provider(runtime, clock)


def test_pods_are_grouped_with_their_containers_and_the_sandbox_left_out() -> None:
    runtime, clock, stats = setup()
    start(runtime, pod="web", container=naming.SANDBOX_NAME)
    for name in ("b", "a"):
        runtime.set_usage(start(runtime, pod="web", container=name), millicores=100, memory_bytes=10 * MIB)
    summary = asyncio.run(stats.summary())
    [pod] = summary["pods"]
    assert pod["podRef"] == {"name": "web", "namespace": "default", "uid": "uid-1"}
    assert [c["name"] for c in pod["containers"]] == ["a", "b"]
    assert pod["memory"]["workingSetBytes"] == 20 * MIB
    assert summary["node"]["nodeName"] == NODE


def test_cpu_rate_appears_from_the_second_sample() -> None:
    runtime, clock, stats = setup()
    runtime.set_usage(start(runtime, pod="burn", container="c"), millicores=500, memory_bytes=MIB)
    clock.now += 10
    first = asyncio.run(stats.summary())["pods"][0]["containers"][0]["cpu"]
    assert "usageNanoCores" not in first
    assert first["usageCoreNanoSeconds"] == 10 * 500_000_000
    clock.now += 2.5
    second = asyncio.run(stats.summary())["pods"][0]["containers"][0]["cpu"]
    assert second["usageNanoCores"] == 500_000_000
    assert second["usageCoreNanoSeconds"] == int(12.5 * 500_000_000)


def test_times_are_rfc3339_with_nanosecond_digits() -> None:
    runtime, clock, stats = setup()
    start(runtime, pod="web", container="c")
    summary = asyncio.run(stats.summary())
    container = summary["pods"][0]["containers"][0]
    for value in (container["cpu"]["time"], container["memory"]["time"], summary["node"]["startTime"]):
        assert RFC3339_NANO.match(value), value
    assert rfc3339(1_800_000_000.25) == "2027-01-15T08:00:00.250000000Z"


def test_other_nodes_and_stopped_containers_are_not_reported() -> None:
    runtime, clock, stats = setup()
    start(runtime, pod="elsewhere", container="c", node="mapi-other")
    stopped = start(runtime, pod="stopped", container="c", uid="uid-2")
    runtime.stop_container(stopped, timeout=0)
    start(runtime, pod="mine", container="c", uid="uid-3")
    assert [p["podRef"]["name"] for p in asyncio.run(stats.summary())["pods"]] == ["mine"]


def test_without_a_host_the_node_is_the_sum_of_its_pods() -> None:
    runtime, clock, stats = setup()
    runtime.set_usage(start(runtime, pod="a", container="c"), millicores=100, memory_bytes=3 * MIB)
    runtime.set_usage(start(runtime, pod="b", container="c", uid="uid-2"), millicores=200, memory_bytes=5 * MIB)
    clock.now += 4
    asyncio.run(stats.summary())
    clock.now += 4
    node = asyncio.run(stats.summary())["node"]
    assert node["memory"]["workingSetBytes"] == 8 * MIB
    assert node["cpu"]["usageNanoCores"] == 300_000_000
    assert node["cpu"]["usageCoreNanoSeconds"] == 8 * 300_000_000


def test_with_a_host_the_node_is_the_host() -> None:
    runtime, clock = FakeRuntime(images=[IMAGE]), Clock()
    sample = HostSample(timestamp=clock.now, cpu_usage_ns=7_000_000_000, memory_total_bytes=1000 * MIB,
                        memory_available_bytes=600 * MIB, memory_free_bytes=100 * MIB, memory_rss_bytes=50 * MIB)
    node = asyncio.run(provider(runtime, clock, host=lambda: sample).summary())["node"]
    assert node["cpu"]["usageCoreNanoSeconds"] == 7_000_000_000
    assert node["memory"]["workingSetBytes"] == 400 * MIB
    assert node["memory"]["availableBytes"] == 600 * MIB


def test_resolver_picks_the_node_by_server_name() -> None:
    runtime, clock, stats = setup()
    summarize = resolver({NODE: stats})
    assert asyncio.run(summarize(NODE))["node"]["nodeName"] == NODE  # type: ignore[index]
    assert asyncio.run(summarize(""))["node"]["nodeName"] == NODE  # type: ignore[index]
    assert asyncio.run(summarize("mapi-unknown")) is None
