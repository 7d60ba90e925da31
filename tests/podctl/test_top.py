"""``podctl top``: the rows kubectl top prints, from NodeMetrics and PodMetrics as the server sends them."""

from __future__ import annotations

from typing import Any

import pytest

from podctl import top
from podctl.printing import render


def node(name: str, cpu: str = "2", memory: str = "4Gi") -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"allocatable": {"cpu": cpu, "memory": memory}}}


def node_metrics(name: str, cpu: str, memory: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "usage": {"cpu": cpu, "memory": memory}}


def pod_metrics(name: str, *containers: tuple[str, str, str], namespace: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace},
            "containers": [{"name": c, "usage": {"cpu": cpu, "memory": mem}} for c, cpu, mem in containers]}


@pytest.mark.parametrize(("cpu", "memory", "cells"), [
    pytest.param("123456789n", "4567Ki", ["124m", "4Mi"], id="cpu-rounds-up-memory-down"),
    pytest.param("0", "0", ["0m", "0Mi"], id="zero"),
    pytest.param("1", "1Gi", ["1000m", "1024Mi"], id="whole-core"),
    pytest.param("250m", "1048576", ["250m", "1Mi"], id="plain-bytes"),
])
def test_usage_cells(cpu: str, memory: str, cells: list[str]) -> None:
    assert top.usage_of({"cpu": cpu, "memory": memory}).cells() == cells


def test_node_rows_are_shares_of_allocatable_and_missing_nodes_unknown() -> None:
    rows = top.node_rows([node_metrics("a", "500m", "1Gi")], [node("a"), node("b")])
    assert rows == [["a", "500m", "25%", "1024Mi", "25%"], ["b", "<unknown>", "<unknown>", "<unknown>", "<unknown>"]]


def test_metrics_of_a_node_that_no_longer_exists_are_left_out() -> None:
    assert top.node_rows([node_metrics("gone", "1", "1Gi")], [node("a")]) == [["a", *["<unknown>"] * 4]]


def test_node_rows_sort_by_cpu_then_memory() -> None:
    metrics = [node_metrics("a", "100m", "3Gi"), node_metrics("b", "900m", "1Gi")]
    nodes = [node("a"), node("b")]
    assert [r[0] for r in top.node_rows(metrics, nodes, "cpu")] == ["b", "a"]
    assert [r[0] for r in top.node_rows(metrics, nodes, "memory")] == ["a", "b"]


def test_pod_rows_sum_containers_or_list_each() -> None:
    metrics = [pod_metrics("web", ("app", "300m", "10Mi"), ("sidecar", "5m", "2Mi")),
               pod_metrics("db", ("pg", "1", "100Mi"), namespace="data")]
    assert top.pod_rows(metrics, containers=False, all_namespaces=False) == [
        ["db", "1000m", "100Mi"], ["web", "305m", "12Mi"]]
    assert top.pod_rows(metrics, containers=True, all_namespaces=True) == [
        ["data", "db", "pg", "1000m", "100Mi"], ["default", "web", "app", "300m", "10Mi"],
        ["default", "web", "sidecar", "5m", "2Mi"]]
    assert [r[0] for r in top.pod_rows(metrics, containers=False, all_namespaces=False, sort_by="memory")] == [
        "db", "web"]


def test_headers_and_alignment_match_kubectl() -> None:
    assert top.pod_header(containers=True, all_namespaces=True) == [
        "NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    lines = render([top.NODE_HEADER, ["mapi-node", "1069m", "53%", "758Mi", "3%"]])
    assert lines == ["NAME        CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)",
                     "mapi-node   1069m        53%      758Mi           3%"]


def test_percent_of_nothing_is_unknown() -> None:
    assert top.percent(5, 0) == "<unknown>"
