"""The DaemonSet controller's pure decisions: which nodes run the pod, what the pod looks like,
what a rolling update step deletes or creates, and the status (``pkg/controller/daemon``).

A node should run the daemon pod when the template's nodeSelector and required node affinity
match it and the pod (with the tolerations every daemon pod gets) tolerates its NoSchedule and
NoExecute taints; a running pod may stay unless an untolerated NoExecute taint appears. Each pod
is pinned to its node by required node affinity on ``metadata.name`` (replacing the template's
own terms, which already matched) and bound by the scheduler, as Kubernetes does since 1.12.

History: Kubernetes records each template as a ControllerRevision and labels pods with its
``controller-revision-hash``. podvisor has no ControllerRevision kind, so the label carries the
FNV hash of the template itself (as a Deployment's ``pod-template-hash``): a pod is up to date
when its label equals the hash of the current template. ``kubectl rollout history/undo ds`` need
ControllerRevisions and are not served.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from apimachinery.models.apps import DaemonSet, DaemonSetStatus
from apimachinery.models.core import IntOrString, Node, Pod, Taint, Toleration
from apimachinery.models.meta import ObjectMeta
from apimachinery.nodeaffinity import NODE_NAME_FIELD, node_matches, required_node_affinity
from controllers import podutil
from controllers.base import controller_ref_to
from controllers.deployment_util import template_hash
from controllers.tainteviction import tolerates

REVISION_HASH_LABEL = "controller-revision-hash"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
NO_SCHEDULE, NO_EXECUTE = "NoSchedule", "NoExecute"
ROLLING_UPDATE = "RollingUpdate"

#: The tolerations Kubernetes adds to every daemon pod (``AddOrUpdateDaemonPodTolerations``).
DAEMON_TOLERATIONS: tuple[tuple[str, str], ...] = (
    ("node.kubernetes.io/not-ready", NO_EXECUTE),
    ("node.kubernetes.io/unreachable", NO_EXECUTE),
    ("node.kubernetes.io/disk-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/memory-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/pid-pressure", NO_SCHEDULE),
    ("node.kubernetes.io/unschedulable", NO_SCHEDULE),
)
#: Added too when the pod uses the host's network (it needs no pod network to work).
HOST_NETWORK_TOLERATION = ("node.kubernetes.io/network-unavailable", NO_SCHEDULE)


def revision_hash(ds: DaemonSet) -> str:
    return template_hash(ds.spec.template, ds.status.collision_count if ds.status else None)


def daemon_tolerations(existing: Iterable[Toleration], *, host_network: bool) -> list[Toleration]:
    """The template's tolerations plus the daemon ones it does not already carry (same key and effect)."""
    out = list(existing)
    wanted = [*DAEMON_TOLERATIONS, *((HOST_NETWORK_TOLERATION,) if host_network else ())]
    for key, effect in wanted:
        if not any(t.key == key and t.effect == effect for t in out):
            out.append(Toleration(key=key, operator="Exists", effect=effect))
    return out


def node_name_affinity(affinity: dict[str, object] | None, node_name: str) -> dict[str, object]:
    """``ReplaceDaemonSetPodNodeNameNodeAffinity``: the required terms become one ``metadata.name In``."""
    out = dict(affinity or {})
    node_affinity = dict(out.get("nodeAffinity") or {})  # type: ignore[call-overload]
    term = {"matchFields": [{"key": NODE_NAME_FIELD, "operator": "In", "values": [node_name]}]}
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}
    out["nodeAffinity"] = node_affinity
    return out


def new_pod(ds: DaemonSet, node_name: str, hash_: str) -> Pod:
    """The daemon pod for one node: the template, the daemon tolerations, pinned to the node."""
    template = ds.spec.template
    template_meta = template.metadata or ObjectMeta()
    labels = {**(template_meta.labels or {}), REVISION_HASH_LABEL: hash_}
    if ds.metadata.generation is not None:
        labels[TEMPLATE_GENERATION_LABEL] = str(ds.metadata.generation)
    meta = ObjectMeta(
        generate_name=f"{ds.metadata.name}-",
        namespace=ds.metadata.namespace,
        labels=labels,
        annotations=dict(template_meta.annotations) if template_meta.annotations else None,
        finalizers=list(template_meta.finalizers) if template_meta.finalizers else None,
        owner_references=[controller_ref_to(ds)],
    )
    spec = template.spec.model_copy(deep=True)
    spec.tolerations = daemon_tolerations(spec.tolerations or [], host_network=bool(spec.host_network))
    spec.affinity = node_name_affinity(spec.affinity, node_name)
    return Pod(metadata=meta, spec=spec)


def _untolerated(taints: Iterable[Taint], tolerations: list[Toleration], effect: str) -> bool:
    return any(t.effect == effect and not any(tolerates(tol, t) for tol in tolerations) for t in taints)


def should_run(ds: DaemonSet, node: Node) -> tuple[bool, bool]:
    """``NodeShouldRunDaemonPod``: (a pod should be created there, an existing pod may stay)."""
    spec = ds.spec.template.spec
    labels = node.metadata.labels or {}
    if not node_matches(spec.node_selector, spec.affinity, labels=labels, node_name=node.metadata.name or ""):
        return False, False
    tolerations = daemon_tolerations(spec.tolerations or [], host_network=bool(spec.host_network))
    taints = (node.spec.taints if node.spec else None) or []
    if _untolerated(taints, tolerations, NO_EXECUTE):
        return False, False
    return not _untolerated(taints, tolerations, NO_SCHEDULE), True


def target_node(pod: Pod) -> str | None:
    """The node a daemon pod is for: its nodeName, or before binding the node its affinity names."""
    if pod.spec.node_name:
        return pod.spec.node_name
    for term in required_node_affinity(pod.spec.affinity) or ():
        for requirement in term.names:
            values = sorted(requirement.values)
            if len(values) == 1:
                return values[0]
    return None


def by_creation(pods: Iterable[Pod]) -> list[Pod]:
    return sorted(pods, key=lambda p: (podutil.created_at(p) or 0.0, p.metadata.name or ""))


def is_updated(pod: Pod, hash_: str) -> bool:
    return (pod.metadata.labels or {}).get(REVISION_HASH_LABEL) == hash_


def scaled(value: IntOrString | None, total: int, default: int) -> int:
    """An int or a percentage of ``total``, rounded up (both DaemonSet limits round up)."""
    if value is None:
        return default
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        return math.ceil(int(text[:-1]) * total / 100)
    return int(text)


def surge_and_unavailable(ds: DaemonSet, desired: int) -> tuple[int, int]:
    """``updatedesiredNumberScheduled``'s limits; both zero means one unavailable at a time."""
    rolling = ds.spec.update_strategy.rolling_update if ds.spec.update_strategy else None
    surge = scaled(rolling.max_surge if rolling else None, desired, 0)
    unavailable = scaled(rolling.max_unavailable if rolling else None, desired, 1)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def is_rolling(ds: DaemonSet) -> bool:
    strategy = ds.spec.update_strategy
    return strategy is None or (strategy.type or ROLLING_UPDATE) == ROLLING_UPDATE


# -- the per-node plan ---------------------------------------------------------------------------


@dataclass
class NodePlan:
    """What ``manage`` does this round: nodes to create a pod on, pods to delete."""

    create: list[str] = field(default_factory=list)
    delete: list[Pod] = field(default_factory=list)
    failed: list[Pod] = field(default_factory=list)  # deleted too, and reported


def plan_node(ds: DaemonSet, node: Node | None, pods: list[Pod], *, surge: bool) -> NodePlan:
    """``podsShouldBeOnNode`` for one node (``node`` None: the node is gone)."""
    plan = NodePlan()
    run, keep = should_run(ds, node) if node is not None else (False, False)
    live = [p for p in pods if p.metadata.deletion_timestamp is None]
    if not keep:
        plan.delete.extend(live)
        return plan
    if run and not pods:
        plan.create.append(node.metadata.name or "")  # type: ignore[union-attr]
        return plan
    running = []
    for pod in live:
        if podutil.is_terminal(pod):
            plan.failed.append(pod)
        else:
            running.append(pod)
    if len(running) > 1:
        plan.delete.extend(_excess(by_creation(running), surge=surge))
    return plan


def _excess(running: list[Pod], *, surge: bool) -> list[Pod]:
    """Keep the oldest pod; while surging, the oldest pod of each template may coexist."""
    if not surge:
        return running[1:]
    kept: dict[str, Pod] = {}
    extra = []
    for pod in running:
        label = (pod.metadata.labels or {}).get(REVISION_HASH_LABEL, "")
        if label in kept or len(kept) == 2:
            extra.append(pod)
        else:
            kept[label] = pod
    return extra


# -- rolling update ------------------------------------------------------------------------------


def updated_and_old(pods: list[Pod], hash_: str) -> tuple[Pod | None, Pod | None, bool]:
    """``findUpdatedPodsOnNode``: the node's new and old pod; False when either is doubled."""
    new = old = None
    for pod in pods:
        if pod.metadata.deletion_timestamp is not None:
            continue
        if is_updated(pod, hash_):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def rolling_update_step(ds: DaemonSet, nodes: dict[str, Node], node_pods: dict[str, list[Pod]], *,
                        hash_: str, desired: int, now: float) -> tuple[list[Pod], list[str]]:
    """(old pods to delete, nodes to create a new pod on) for one step of a RollingUpdate."""
    surge, max_unavailable = surge_and_unavailable(ds, desired)
    min_ready = ds.spec.min_ready_seconds or 0

    def available(pod: Pod) -> bool:
        return podutil.is_available(pod, min_ready, now)

    if surge == 0:
        unavailable, allowed, candidates = 0, [], []
        for name in sorted(node_pods):
            new, old, ok = updated_and_old(node_pods[name], hash_)
            if not ok or (new is None) == (old is None):
                unavailable += 1  # manage sorts this node out
            elif new is not None:
                unavailable += 0 if available(new) else 1
            elif old is not None and not available(old):
                allowed.append(old)  # replacing an unavailable pod costs nothing
            elif old is not None and unavailable < max_unavailable:
                candidates.append(old)
        room = max(0, min(max_unavailable - unavailable, len(candidates)))
        return [*allowed, *candidates[:room]], []
    surged, to_delete, allowed_nodes, candidate_nodes = 0, [], [], []
    for name in sorted(node_pods):
        new, old, ok = updated_and_old(node_pods[name], hash_)
        node = nodes.get(name)
        if not ok:
            surged += 1
            continue
        if node is None or not should_run(ds, node)[0]:
            continue  # manage removes pods of nodes that should not run one
        if old is None:
            continue
        if new is None:
            if not available(old):
                allowed_nodes.append(name)
            elif surged < surge:
                candidate_nodes.append(name)
        elif not available(new):
            surged += 1
        else:
            to_delete.append(old)
    room = max(0, min(surge - surged, len(candidate_nodes)))
    return to_delete, [*allowed_nodes, *candidate_nodes[:room]]


# -- status --------------------------------------------------------------------------------------


def calculate_status(ds: DaemonSet, nodes: list[Node], node_pods: dict[str, list[Pod]], *, hash_: str,
                     now: float) -> DaemonSetStatus:
    """``updateDaemonSetStatus``'s counts: nodes, not pods, as Kubernetes counts them."""
    desired = current = misscheduled = ready = available = updated = 0
    min_ready = ds.spec.min_ready_seconds or 0
    for node in nodes:
        run, _ = should_run(ds, node)
        pods = by_creation(p for p in node_pods.get(node.metadata.name or "", [])
                           if p.metadata.deletion_timestamp is None)
        if not run:
            misscheduled += 1 if pods else 0
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        first = pods[0]
        if podutil.is_ready(first):
            ready += 1
            available += 1 if podutil.is_available(first, min_ready, now) else 0
        updated += 1 if is_updated(first, hash_) else 0
    old = ds.status or DaemonSetStatus()
    return DaemonSetStatus(
        current_number_scheduled=current,
        number_misscheduled=misscheduled,
        desired_number_scheduled=desired,
        number_ready=ready,
        observed_generation=ds.metadata.generation,
        updated_number_scheduled=updated,
        number_available=available,
        number_unavailable=desired - available,
        collision_count=old.collision_count,
        conditions=old.conditions,
    )
