"""Filters and scores: pure functions of a pod and one node's :class:`NodeInfo`.

Each filter returns the reasons the node cannot take the pod (an empty tuple when it can), in
Kubernetes' own words, because those words end up in the pod's ``PodScheduled`` condition and
its ``FailedScheduling`` event (``0/3 nodes are available: 2 Insufficient cpu, ...``). Filters
run in a fixed order and the first that fails decides, as Kubernetes' framework does; only the
resource filter reports several reasons at once (cpu and memory may both be short).

The score is a tuple compared lexicographically, smallest best: fewer untolerated
``PreferNoSchedule`` taints, then a node that is not in the pod's ``failed-on`` list (where an
earlier pod of its ReplicaSet exceeded its restart intensity: a preference, never a filter), then
fewer pods of the same controller on the node (spreading replicas), then more free cpu+memory
(least allocated, Kubernetes' 0-100 integer formula, negated). Ties are broken by the caller, by
visiting order. Avoiding failed nodes comes before spreading because the replacement's siblings
are elsewhere by construction: spreading alone would send it straight back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from apimachinery.models.core import Taint, Toleration
from scheduler.cache import NodeInfo
from scheduler.podinfo import CPU, MEMORY, PodInfo
from scheduler.volumebinding import REASON_VOLUME_AFFINITY

NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE = "NoSchedule", "PreferNoSchedule", "NoExecute"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_NOT_READY = "node.kubernetes.io/not-ready"

REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_NOT_READY = "node(s) were not ready"
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_PORTS = "node(s) didn't have free ports for the requested pod ports"
REASON_TOO_MANY_PODS = "Too many pods"
MAX_NODE_SCORE = 100

Reasons = tuple[str, ...]
Filter = Callable[[PodInfo, NodeInfo], Reasons]
Score = tuple[int, int, int, int]
PASS: Reasons = ()


# -- taints and tolerations ----------------------------------------------------------------


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Kubernetes' ToleratesTaint: effect and key (empty = any), then Exists or an equal value."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    if toleration.operator in (None, "", "Equal"):
        return (toleration.value or "") == (taint.value or "")
    return False


def untolerated(taints: Iterable[Taint], tolerations: tuple[Toleration, ...], effects: tuple[str, ...]) -> list[Taint]:
    return [t for t in taints if t.effect in effects and not any(tolerates(tol, t) for tol in tolerations)]


def _tolerates_synthetic(pod: PodInfo, key: str) -> bool:
    taint = Taint(key=key, effect=NO_SCHEDULE)
    return any(tolerates(tol, taint) for tol in pod.tolerations)


# -- filters -------------------------------------------------------------------------------


def node_unschedulable(pod: PodInfo, node: NodeInfo) -> Reasons:
    """A cordoned node takes only pods tolerating ``node.kubernetes.io/unschedulable:NoSchedule``."""
    if node.unschedulable and not _tolerates_synthetic(pod, TAINT_UNSCHEDULABLE):
        return (REASON_UNSCHEDULABLE,)
    return PASS


def taint_toleration(pod: PodInfo, node: NodeInfo) -> Reasons:
    """Every NoSchedule and NoExecute taint must be tolerated; the first one that is not is named."""
    if not node.taints:
        return PASS
    bad = untolerated(node.taints, pod.tolerations, (NO_SCHEDULE, NO_EXECUTE))
    if bad:
        return (f"node(s) had untolerated taint {{{bad[0].key}: {bad[0].value or ''}}}",)
    return PASS


def node_ready(pod: PodInfo, node: NodeInfo) -> Reasons:
    """Only nodes whose Ready condition is True, unless the pod tolerates not-ready nodes."""
    if node.ready or _tolerates_synthetic(pod, TAINT_NOT_READY):
        return PASS
    return (REASON_NOT_READY,)


def node_affinity(pod: PodInfo, node: NodeInfo) -> Reasons:
    """``spec.nodeSelector`` (all labels) and required node affinity (any term) must match."""
    labels = node.labels
    for key, value in pod.node_selector.items():
        if labels.get(key) != value:
            return (REASON_AFFINITY,)
    terms = pod.affinity_terms
    if terms is not None and not any(term.matches(labels, node.name) for term in terms):
        return (REASON_AFFINITY,)
    return PASS


def volume_binding(pod: PodInfo, node: NodeInfo) -> Reasons:
    """The node must be where the pod's bound volumes are, and the node its unbound claims chose."""
    if pod.volumes is not None and not pod.volumes.admits(node.name, node.labels):
        return (REASON_VOLUME_AFFINITY,)
    return PASS


def node_ports(pod: PodInfo, node: NodeInfo) -> Reasons:
    """No host port (same protocol and port, overlapping host IP) may already be taken."""
    for hp in pod.host_ports:
        if node.port_in_use(hp.ip, hp.protocol, hp.port):
            return (REASON_PORTS,)
    return PASS


def node_resources_fit(pod: PodInfo, node: NodeInfo) -> Reasons:
    """Pod count and every requested resource against allocatable minus what is already requested."""
    if len(node.pods) >= node.max_pods:
        return (REASON_TOO_MANY_PODS,)
    allocatable, requested = node.allocatable, node.requested
    short: Reasons = PASS
    for name, value in pod.positive_requests:
        if value > allocatable.get(name, 0) - requested.get(name, 0):
            short += (f"Insufficient {name}",)
    return short


NODE_STATE_FILTERS: tuple[Filter, ...] = (node_unschedulable, taint_toleration, node_ready)
FILTERS: tuple[Filter, ...] = (*NODE_STATE_FILTERS, node_affinity, volume_binding, node_ports, node_resources_fit)


def pod_filters(pod: PodInfo) -> tuple[Filter, ...]:
    """The pod-dependent filters worth running for this pod (no selector, no ports: no check)."""
    checks: list[Filter] = []
    if pod.node_selector or pod.affinity_terms is not None:
        checks.append(node_affinity)
    if pod.volumes is not None and pod.volumes.constrains:
        checks.append(volume_binding)
    if pod.host_ports:
        checks.append(node_ports)
    checks.append(node_resources_fit)
    return tuple(checks)


def run_filters(pod: PodInfo, node: NodeInfo, checks: tuple[Filter, ...] | None = None) -> Reasons:
    """The reasons of the first filter (in :data:`FILTERS` order) that fails; empty when the node fits.

    ``checks`` is :func:`pod_filters` of the pod, computed once per pod by the caller; the
    node-state filters are skipped for nodes that are Ready, uncordoned and untainted.
    """
    if not node.plain:
        for check in NODE_STATE_FILTERS:
            reasons = check(pod, node)
            if reasons:
                return reasons
    for check in pod_filters(pod) if checks is None else checks:
        reasons = check(pod, node)
        if reasons:
            return reasons
    return PASS


# -- scores --------------------------------------------------------------------------------


def prefer_no_schedule_count(pod: PodInfo, node: NodeInfo) -> int:
    if not node.taints:
        return 0
    return len(untolerated(node.taints, pod.tolerations, (PREFER_NO_SCHEDULE,)))


def avoid_failed_nodes(pod: PodInfo, node: NodeInfo) -> int:
    """1 on a node where an earlier pod of the pod's ReplicaSet exceeded its restart intensity."""
    return 1 if node.name in pod.failed_on else 0


def siblings(pod: PodInfo, node: NodeInfo) -> int:
    """Pods of the same controller (ReplicaSet, ...) already on the node, assumed ones included."""
    return node.owners.get(pod.owner_uid, 0) if pod.owner_uid else 0


def _free_score(allocatable: int, requested: int) -> int:
    if allocatable <= 0 or requested > allocatable:
        return 0
    return (allocatable - requested) * MAX_NODE_SCORE // allocatable


def least_allocated(pod: PodInfo, node: NodeInfo) -> int:
    """0-100: the free share of cpu and memory (equal weights) after placing the pod."""
    cpu = _free_score(node.allocatable.get(CPU, 0), node.nonzero_cpu + pod.nonzero_cpu)
    memory = _free_score(node.allocatable.get(MEMORY, 0), node.nonzero_memory + pod.nonzero_memory)
    return (cpu + memory) // 2


def score(pod: PodInfo, node: NodeInfo) -> Score:
    """Smaller is better; see the module docstring for the order of the criteria."""
    taints = prefer_no_schedule_count(pod, node) if node.taints else 0
    failed = avoid_failed_nodes(pod, node) if pod.failed_on else 0
    return (taints, failed, siblings(pod, node), -least_allocated(pod, node))
