"""Pod facts the workload controllers agree on: active, ready, available, escalated, who goes first.

"Available" is Kubernetes' definition: Ready, and Ready for at least ``minReadySeconds`` measured
from the Ready condition's lastTransitionTime. The deletion order is Kubernetes'
``ActivePodsWithRanks`` so scaling down removes the pods that matter least: unscheduled before
scheduled, pending before running, not ready before ready, cheaper deletion cost first, pods
doubled up on a node first, recently ready first, more restarts first, newer first.

"Escalated" is the kubelet's verdict that a pod's supervisor gave up (more restarts than its
intensity allows): phase Failed with reason RestartIntensityExceeded. The ReplicaSet replaces it
elsewhere and the Deployment counts it; both date it by :func:`escalated_at`.
"""

from __future__ import annotations

from collections.abc import Iterable

from apimachinery.conditions import TRUE, get_condition
from apimachinery.models.core import Pod
from apimachinery.models.meta import Condition
from apimachinery.supervision import INTENSITY_CONDITION, RESTART_INTENSITY_EXCEEDED
from apimachinery.timeutil import parse_time

PENDING, RUNNING, SUCCEEDED, FAILED, UNKNOWN_PHASE = "Pending", "Running", "Succeeded", "Failed", "Unknown"
POD_READY = "Ready"
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDER = {PENDING: 0, UNKNOWN_PHASE: 1, RUNNING: 2}


def phase(pod: Pod) -> str:
    return (pod.status.phase if pod.status else None) or ""


def is_terminal(pod: Pod) -> bool:
    return phase(pod) in (SUCCEEDED, FAILED)


def is_active(pod: Pod) -> bool:
    """Counts toward a replica count: not finished and not being deleted."""
    return not is_terminal(pod) and pod.metadata.deletion_timestamp is None


def ready_condition(pod: Pod) -> Condition | None:
    return get_condition(pod.status.conditions if pod.status else None, POD_READY)


def is_ready(pod: Pod) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.status == TRUE


def _timestamp(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return parse_time(text).timestamp()
    except ValueError:
        return None


def ready_since(pod: Pod) -> float | None:
    """When the pod last became Ready (epoch seconds), None when not ready or unknown."""
    cond = ready_condition(pod)
    if cond is None or cond.status != TRUE:
        return None
    return _timestamp(cond.last_transition_time)


def is_available(pod: Pod, min_ready_seconds: int, now: float) -> bool:
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds < now


def is_escalated(pod: Pod) -> bool:
    """The pod's supervisor exceeded its restart intensity and the kubelet failed the pod."""
    return phase(pod) == FAILED and pod.status is not None and pod.status.reason == RESTART_INTENSITY_EXCEEDED


def escalated_at(pod: Pod) -> float | None:
    """When the pod gave up: its intensity condition's transition, else the last container exit.

    None when neither is recorded; the caller then uses the moment it first saw the pod failed."""
    cond = get_condition(pod.status.conditions if pod.status else None, INTENSITY_CONDITION)
    when = _timestamp(cond.last_transition_time) if cond is not None else None
    if when is not None:
        return when
    finished = [_timestamp(state.terminated.finished_at)
                for status in (pod.status.container_statuses if pod.status else None) or []
                for state in (status.state, status.last_state)
                if state is not None and state.terminated is not None]
    return max((f for f in finished if f is not None), default=None)


def created_at(pod: Pod) -> float | None:
    return _timestamp(pod.metadata.creation_timestamp)


def max_restarts(pod: Pod) -> int:
    statuses = pod.status.container_statuses if pod.status else None
    return max((s.restart_count for s in statuses or []), default=0)


def deletion_cost(pod: Pod) -> int:
    raw = (pod.metadata.annotations or {}).get(DELETION_COST, "0")
    try:
        return int(raw)
    except ValueError:
        return 0


def deletion_order_key(pod: Pod, *, rank: int) -> tuple[float, ...]:
    """Sort ascending: the first pods are the first to delete. ``rank`` = related pods on its node."""
    since = ready_since(pod)
    created = _timestamp(pod.metadata.creation_timestamp)
    return (
        1 if pod.spec.node_name else 0,
        _PHASE_ORDER.get(phase(pod), 0),
        1 if is_ready(pod) else 0,
        deletion_cost(pod),
        -rank,
        -(since or 0.0),
        -max_restarts(pod),
        -(created if created is not None else float("inf")),
    )


def pods_to_delete(pods: list[Pod], related: Iterable[Pod], count: int) -> list[Pod]:
    """The ``count`` pods to remove when scaling down, ranked as Kubernetes does."""
    if count >= len(pods):
        return list(pods)
    on_node: dict[str, int] = {}
    for other in related:
        if other.spec.node_name and is_active(other):
            on_node[other.spec.node_name] = on_node.get(other.spec.node_name, 0) + 1
    ranked = sorted(pods, key=lambda p: deletion_order_key(p, rank=on_node.get(p.spec.node_name or "", 0)))
    return ranked[:count]
