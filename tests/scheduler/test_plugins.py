"""Filters and scores as tables: (pod, node) -> reasons, and the score's order of criteria."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.core import ContainerPort, Taint, Toleration
from apimachinery.supervision import FAILED_ON
from scheduler.cache import NodeInfo
from scheduler.plugins import (
    REASON_AFFINITY,
    REASON_NOT_READY,
    REASON_PORTS,
    REASON_TOO_MANY_PODS,
    REASON_UNSCHEDULABLE,
    avoid_failed_nodes,
    least_allocated,
    node_affinity,
    node_ports,
    node_ready,
    node_resources_fit,
    node_unschedulable,
    run_filters,
    score,
    taint_toleration,
    tolerates,
)
from scheduler.podinfo import PodInfo
from tests.scheduler.objects import make_node, make_pod


def node_info(name: str = "n1", *, placed: tuple[PodInfo, ...] = (), **kwargs: Any) -> NodeInfo:
    info = NodeInfo(name)
    info.set_node(make_node(name, **kwargs))
    for pod in placed:
        info.add_pod(pod)
    return info


def pod_info(name: str = "p", **kwargs: Any) -> PodInfo:
    pod = make_pod(name, **kwargs)
    pod.metadata.uid = f"uid-{name}"
    return PodInfo.from_pod(pod)


def taint(key: str, effect: str = "NoSchedule", value: str | None = None) -> Taint:
    return Taint(key=key, effect=effect, value=value)


@pytest.mark.parametrize(
    ("toleration", "taint_", "expected"),
    [
        (Toleration(key="k", operator="Equal", value="v", effect="NoSchedule"), taint("k", value="v"), True),
        (Toleration(key="k", value="v"), taint("k", value="v"), True),  # operator defaults to Equal
        (Toleration(key="k", operator="Equal", value="w"), taint("k", value="v"), False),
        (Toleration(key="k", operator="Exists"), taint("k", value="anything"), True),
        (Toleration(key="k", operator="Exists", effect="NoExecute"), taint("k"), False),  # effect differs
        (Toleration(operator="Exists"), taint("any/key", "NoExecute"), True),  # empty key + Exists: all
        (Toleration(key="other", operator="Exists"), taint("k"), False),
        (Toleration(key="k", operator="Bogus"), taint("k"), False),
    ],
    ids=["equal", "equal-default-op", "value-differs", "exists", "effect-differs", "tolerate-all", "key-differs",
         "unknown-operator"],
)
def test_tolerates(toleration: Toleration, taint_: Taint, expected: bool) -> None:
    assert tolerates(toleration, taint_) is expected


UNREACHABLE = taint("node.kubernetes.io/unreachable")
FILTER_CASES: list[tuple[str, Any, dict[str, Any], dict[str, Any], tuple[str, ...]]] = [
    # (id, filter, pod kwargs, node kwargs, expected reasons)
    ("cordoned", node_unschedulable, {}, {"unschedulable": True}, (REASON_UNSCHEDULABLE,)),
    ("cordoned-tolerated", node_unschedulable,
     {"tolerations": [Toleration(key="node.kubernetes.io/unschedulable", operator="Exists", effect="NoSchedule")]},
     {"unschedulable": True}, ()),
    ("schedulable", node_unschedulable, {}, {}, ()),
    ("no-schedule-taint", taint_toleration, {}, {"taints": [UNREACHABLE]},
     ("node(s) had untolerated taint {node.kubernetes.io/unreachable: }",)),
    ("taint-with-value", taint_toleration, {}, {"taints": [taint("dedicated", value="gpu")]},
     ("node(s) had untolerated taint {dedicated: gpu}",)),
    ("no-execute-taint", taint_toleration, {}, {"taints": [taint("k", "NoExecute")]},
     ("node(s) had untolerated taint {k: }",)),
    ("prefer-no-schedule-passes", taint_toleration, {}, {"taints": [taint("k", "PreferNoSchedule")]}, ()),
    ("taint-tolerated", taint_toleration, {"tolerations": [Toleration(key="k", operator="Exists")]},
     {"taints": [taint("k"), taint("k", "NoExecute")]}, ()),
    ("not-ready", node_ready, {}, {"ready": False}, (REASON_NOT_READY,)),
    ("not-ready-tolerated", node_ready, {"tolerations": [Toleration(operator="Exists")]}, {"ready": False}, ()),
    ("selector-match", node_affinity, {"node_selector": {"disk": "ssd"}}, {"labels": {"disk": "ssd"}}, ()),
    ("selector-mismatch", node_affinity, {"node_selector": {"disk": "ssd"}}, {"labels": {"disk": "hdd"}},
     (REASON_AFFINITY,)),
    ("selector-missing-label", node_affinity, {"node_selector": {"disk": "ssd"}}, {}, (REASON_AFFINITY,)),
    ("free-port", node_ports, {"host_port": 8080}, {}, ()),
    ("cpu-fits", node_resources_fit, {"cpu": "1"}, {"cpu": "1"}, ()),
    ("cpu-short", node_resources_fit, {"cpu": "1500m"}, {"cpu": "1"}, ("Insufficient cpu",)),
    ("memory-short", node_resources_fit, {"memory": "2Gi"}, {"memory": "1Gi"}, ("Insufficient memory",)),
    ("both-short", node_resources_fit, {"cpu": "8", "memory": "16Gi"}, {},
     ("Insufficient cpu", "Insufficient memory")),
    ("no-requests-always-fit", node_resources_fit, {}, {"cpu": "0", "memory": "0"}, ()),
    ("pod-slots-full", node_resources_fit, {}, {"pods": 0}, (REASON_TOO_MANY_PODS,)),
]


@pytest.mark.parametrize(("check", "pod_kwargs", "node_kwargs", "expected"),
                         [c[1:] for c in FILTER_CASES], ids=[c[0] for c in FILTER_CASES])
def test_filter(check: Any, pod_kwargs: dict[str, Any], node_kwargs: dict[str, Any], expected: tuple[str, ...]) -> None:
    assert check(pod_info(**pod_kwargs), node_info(**node_kwargs)) == expected


def _affinity(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def _expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": operator, "values": list(values)} if values else {"key": key, "operator": operator}


@pytest.mark.parametrize(
    ("affinity", "labels", "fits"),
    [
        (_affinity({"matchExpressions": [_expr("zone", "In", "a", "b")]}), {"zone": "b"}, True),
        (_affinity({"matchExpressions": [_expr("zone", "In", "a")]}), {"zone": "c"}, False),
        (_affinity({"matchExpressions": [_expr("zone", "NotIn", "a")]}), {}, True),
        (_affinity({"matchExpressions": [_expr("gpu", "Exists")]}), {"gpu": "1"}, True),
        (_affinity({"matchExpressions": [_expr("gpu", "DoesNotExist")]}), {"gpu": "1"}, False),
        (_affinity({"matchExpressions": [_expr("cores", "Gt", "8")]}), {"cores": "16"}, True),
        (_affinity({"matchExpressions": [_expr("cores", "Lt", "8")]}), {"cores": "16"}, False),
        (_affinity({"matchExpressions": [_expr("zone", "In", "a")]}, {"matchExpressions": [_expr("gpu", "Exists")]}),
         {"gpu": "1"}, True),  # terms are ORed
        (_affinity({"matchExpressions": [_expr("zone", "In", "a"), _expr("gpu", "Exists")]}), {"zone": "a"}, False),
        (_affinity({"matchFields": [_expr("metadata.name", "In", "n1")]}), {}, True),
        (_affinity({"matchFields": [_expr("metadata.name", "NotIn", "n1")]}), {}, False),
        (_affinity({}), {}, False),  # an empty term selects nothing
        (_affinity(), {}, False),  # no terms: nothing
        (_affinity({"matchExpressions": [_expr("zone", "Bogus", "a")]}), {"zone": "a"}, False),
        ({"podAffinity": {}}, {}, True),  # no node affinity at all
    ],
    ids=["in", "in-miss", "notin-absent", "exists", "doesnotexist", "gt", "lt", "or-terms", "and-expressions",
         "match-fields", "match-fields-notin", "empty-term", "no-terms", "bad-operator", "no-node-affinity"],
)
def test_required_node_affinity(affinity: dict[str, Any], labels: dict[str, str], fits: bool) -> None:
    reasons = node_affinity(pod_info(affinity=affinity), node_info("n1", labels=labels))
    assert reasons == (() if fits else (REASON_AFFINITY,))


@pytest.mark.parametrize(
    ("used", "wanted", "conflict"),
    [
        (("0.0.0.0", "TCP", 80), ("0.0.0.0", "TCP", 80), True),
        (("0.0.0.0", "TCP", 80), ("10.0.0.1", "TCP", 80), True),  # any-address holder blocks every IP
        (("10.0.0.1", "TCP", 80), ("0.0.0.0", "TCP", 80), True),  # and wanting any address is blocked by one
        (("10.0.0.1", "TCP", 80), ("10.0.0.2", "TCP", 80), False),
        (("0.0.0.0", "TCP", 80), ("0.0.0.0", "UDP", 80), False),
        (("0.0.0.0", "TCP", 80), ("0.0.0.0", "TCP", 81), False),
    ],
    ids=["same", "any-vs-ip", "ip-vs-any", "different-ips", "different-protocol", "different-port"],
)
def test_host_port_conflicts(used: tuple[str, str, int], wanted: tuple[str, str, int], conflict: bool) -> None:
    def with_port(name: str, ip: str, protocol: str, port: int) -> PodInfo:
        pod = make_pod(name)
        pod.metadata.uid = f"uid-{name}"
        pod.spec.containers[0].ports = [ContainerPort(container_port=1, host_port=port, host_ip=ip, protocol=protocol)]
        return PodInfo.from_pod(pod)

    node = node_info(placed=(with_port("holder", *used),))
    assert node_ports(with_port("p", *wanted), node) == ((REASON_PORTS,) if conflict else ())


def test_resources_count_pods_already_on_the_node() -> None:
    node = node_info(cpu="2", placed=(pod_info("a", cpu="1500m"),))
    assert node_resources_fit(pod_info(cpu="500m"), node) == ()
    assert node_resources_fit(pod_info(cpu="501m"), node) == ("Insufficient cpu",)


def test_pod_slots_count_pods_already_on_the_node() -> None:
    node = node_info(placed=(pod_info("a"), pod_info("b")), pods=2)
    assert node_resources_fit(pod_info(), node) == (REASON_TOO_MANY_PODS,)


def test_first_failing_filter_decides() -> None:
    node = node_info(unschedulable=True, taints=[UNREACHABLE], cpu="0")
    assert run_filters(pod_info(cpu="1"), node) == (REASON_UNSCHEDULABLE,)


def test_least_allocated_uses_default_requests_for_pods_that_ask_nothing() -> None:
    # 4 cpu / 8Gi node, a pod asking nothing counts as 100m + 200Mi: (97 + 97) // 2
    assert least_allocated(pod_info(), node_info()) == 97


@pytest.mark.parametrize(
    ("first", "second", "better"),
    [
        ({"taints": [taint("k", "PreferNoSchedule")]}, {"cpu": "1"}, "second"),  # taint beats free space
        ({"failed_on": True}, {"siblings": 2}, "second"),  # avoiding a failed node beats spreading
        ({"failed_on": True, "cpu": "8"}, {"cpu": "1"}, "second"),  # ... and free space
        ({"failed_on": True}, {"taints": [taint("k", "PreferNoSchedule")]}, "first"),  # taints still first
        ({"siblings": 1}, {"cpu": "1"}, "second"),  # spreading beats free space
        ({"cpu": "8"}, {"cpu": "1"}, "first"),  # then the least allocated node
    ],
    ids=["prefer-no-schedule-first", "failed-node-before-spreading", "failed-node-before-free",
         "prefer-no-schedule-before-failed-node", "spread-before-free", "least-allocated"],
)
def test_score_order(first: dict[str, Any], second: dict[str, Any], better: str) -> None:
    pod = pod_info(owner_uid="rs1", annotations={FAILED_ON: "a"} if first.get("failed_on") else None)

    def build(name: str, spec: dict[str, Any]) -> NodeInfo:
        spec = dict(spec)
        spec.pop("failed_on", None)
        siblings = spec.pop("siblings", 0)
        return node_info(name, placed=tuple(pod_info(f"{name}-s{i}", owner_uid="rs1") for i in range(siblings)), **spec)

    a, b = build("a", first), build("b", second)
    assert (score(pod, a) < score(pod, b)) == (better == "first")


@pytest.mark.parametrize(
    ("annotation", "node", "expected"),
    [
        pytest.param(None, "a", 0, id="no-annotation"),
        pytest.param("a", "a", 1, id="listed"),
        pytest.param("b,a", "a", 1, id="listed-among-others"),
        pytest.param("b", "a", 0, id="not-listed"),
        pytest.param("A_bad", "a", 0, id="unparsable-entry-ignored"),
    ],
)
def test_avoid_failed_nodes(annotation: str | None, node: str, expected: int) -> None:
    pod = pod_info(annotations={FAILED_ON: annotation} if annotation is not None else None)
    assert avoid_failed_nodes(pod, node_info(node)) == expected
