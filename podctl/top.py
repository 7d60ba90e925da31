"""``podctl top node|pod``: CPU and memory from the metrics API, printed as ``kubectl top`` prints them.

Figures come from ``metrics.k8s.io/v1beta1`` (NodeMetrics, PodMetrics), served by the podvisor
API server's metrics provider or by metrics-server on Kubernetes. CPU is shown in millicores
(rounded up, as kubectl's ``MilliValue``), memory in MiB (rounded down); a node's percentages
are of its allocatable, and a node without metrics yet is listed as ``<unknown>``, as kubectl does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apimachinery.quantity import cpu_millis, memory_bytes
from podctl.errors import PodctlError
from podctl.printing import render
from podctl.session import Session

MIB = 1024 * 1024
UNKNOWN = "<unknown>"
SORT_KEYS = ("cpu", "memory")
NODE_HEADER = ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]


@dataclass(frozen=True)
class TopOptions:
    selector: str | None = None
    sort_by: str = ""  # "cpu" or "memory": highest first
    no_headers: bool = False


@dataclass(frozen=True)
class Usage:
    millicores: int
    memory: int  # bytes

    def cells(self) -> list[str]:
        return [f"{self.millicores}m", f"{self.memory // MIB}Mi"]


def usage_of(usage: dict[str, Any]) -> Usage:
    return Usage(cpu_millis(usage.get("cpu") or "0"), memory_bytes(usage.get("memory") or "0"))


def total(usages: list[Usage]) -> Usage:
    return Usage(sum(u.millicores for u in usages), sum(u.memory for u in usages))


def percent(used: int, available: int) -> str:
    return f"{used * 100 // available}%" if available > 0 else UNKNOWN


def _sorted(rows: list[tuple[Usage, list[str]]], sort_by: str) -> list[list[str]]:
    if sort_by:
        rows = sorted(rows, key=lambda r: r[0].millicores if sort_by == "cpu" else r[0].memory, reverse=True)
    return [cells for _, cells in rows]


def node_rows(metrics: list[dict[str, Any]], nodes: list[dict[str, Any]], sort_by: str = "") -> list[list[str]]:
    """One row per node: those with metrics first, then the others as ``<unknown>``."""
    allocatable = {n["metadata"]["name"]: (n.get("status") or {}).get("allocatable") or {} for n in nodes}
    rows: list[tuple[Usage, list[str]]] = []
    for item in metrics:
        name = item["metadata"]["name"]
        if name not in allocatable:
            continue
        used, free = usage_of(item.get("usage") or {}), allocatable[name]
        cpu_cells, memory_cells = used.cells()
        rows.append((used, [name, cpu_cells, percent(used.millicores, cpu_millis(free.get("cpu") or "0")),
                            memory_cells, percent(used.memory, memory_bytes(free.get("memory") or "0"))]))
    measured = {item["metadata"]["name"] for item in metrics}
    missing = [[name, *[UNKNOWN] * 4] for name in sorted(allocatable) if name not in measured]
    return _sorted(rows, sort_by) + missing


def pod_rows(metrics: list[dict[str, Any]], *, containers: bool, all_namespaces: bool,
             sort_by: str = "") -> list[list[str]]:
    """One row per pod (the sum of its containers) or, with ``containers``, per container."""
    rows: list[tuple[Usage, list[str]]] = []
    for item in sorted(metrics, key=lambda m: (m["metadata"].get("namespace", ""), m["metadata"]["name"])):
        meta = item["metadata"]
        prefix = [meta.get("namespace", "")] if all_namespaces else []
        per_container = [(c.get("name", ""), usage_of(c.get("usage") or {})) for c in item.get("containers") or []]
        if containers:
            rows += [(used, [*prefix, meta["name"], name, *used.cells()]) for name, used in per_container]
        else:
            used = total([u for _, u in per_container])
            rows.append((used, [*prefix, meta["name"], *used.cells()]))
    return _sorted(rows, sort_by)


def pod_header(*, containers: bool, all_namespaces: bool) -> list[str]:
    return [*(["NAMESPACE"] if all_namespaces else []), *(["POD"] if containers else []), "NAME", "CPU(cores)",
            "MEMORY(bytes)"]


async def _metrics(session: Session, rt: res.ResourceType, *, namespace: str | None, name: str | None,
                   selector: str | None) -> list[dict[str, Any]]:
    try:
        if name:
            return [await session.client.request("GET", rt.path(namespace, name))]
        items, _ = await session.client.list_raw(rt, namespace, label_selector=selector)
        return items
    except ApiError as err:
        if err.code == 404 and not name:
            raise PodctlError("Metrics API not available") from None
        raise


def _print(session: Session, header: list[str], rows: list[list[str]], no_headers: bool) -> None:
    for line in render(rows if no_headers else [header, *rows]):
        session.output.line(line)


async def top_nodes(session: Session, name: str | None, opts: TopOptions) -> int:
    metrics = await _metrics(session, res.NODE_METRICS, namespace=None, name=name, selector=opts.selector)
    if name:
        nodes = [await session.client.request("GET", res.NODES.path(None, name))]
    else:
        nodes, _ = await session.client.list_raw(res.NODES, label_selector=opts.selector)
    if not nodes:
        session.output.error("No resources found")
        return 0
    _print(session, NODE_HEADER, node_rows(metrics, nodes, opts.sort_by), opts.no_headers)
    return 0


async def top_pods(session: Session, name: str | None, opts: TopOptions, *, containers: bool,
                   all_namespaces: bool) -> int:
    namespace = None if all_namespaces else session.namespace
    metrics = await _metrics(session, res.POD_METRICS, namespace=namespace, name=name, selector=opts.selector)
    if not metrics:
        where = "" if all_namespaces else f" in {session.namespace} namespace"
        session.output.error(f"No resources found{where}.")
        return 0
    rows = pod_rows(metrics, containers=containers, all_namespaces=all_namespaces, sort_by=opts.sort_by)
    _print(session, pod_header(containers=containers, all_namespaces=all_namespaces), rows, opts.no_headers)
    return 0
