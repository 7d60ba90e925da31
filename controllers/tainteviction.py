"""Taint-based eviction: pods leave nodes with NoExecute taints they do not tolerate for long.

A pod that does not tolerate every NoExecute taint of its node is deleted at once. A pod that does
is deleted when the shortest ``tolerationSeconds`` among the tolerations it uses has passed since
the taint's ``timeAdded`` (tolerations without seconds tolerate forever). The apiserver gives
every pod ``not-ready`` and ``unreachable`` tolerations of ``--eviction-timeout`` seconds, so pods
of a dead node are replaced elsewhere by their ReplicaSets after that long.

Timers are work-queue ``add_after`` calls and the due time is derived from the taint itself, so
``sync(pod_key)`` stays idempotent and a restarted controller keeps the original deadlines.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from apimachinery.errors import ApiError
from apimachinery.models.core import Node, Pod, Taint, Toleration
from apimachinery.timeutil import parse_time
from apimachinery.workqueue import WorkQueue
from controllers.base import NODE_INDEX, ControllerContext, Queue, key_of
from controllers.nodelifecycle import NO_EXECUTE

log = logging.getLogger(__name__)


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Kubernetes' ToleratesTaint: effect and key must match when set; Exists ignores the value."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if (toleration.operator or "Equal") == "Exists":
        return True
    return (toleration.value or "") == (taint.value or "")


def eviction_due(tolerations: Sequence[Toleration], taints: Sequence[Taint], *, added: dict[str, float]) -> float | None:
    """Epoch second at which the pod must go (``-inf``: at once), or None: it may stay.

    ``added`` is each taint's start time by key (its ``timeAdded``, or when first seen)."""
    due: float | None = None
    for taint in (t for t in taints if t.effect == NO_EXECUTE):
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            return float("-inf")
        bounded = [t.toleration_seconds for t in matching if t.toleration_seconds is not None]
        if not bounded:
            continue  # tolerated forever
        deadline = added[taint.key] + max(min(bounded), 0)
        due = deadline if due is None else min(due, deadline)
    return due


class TaintEvictionController:
    name = "taint-eviction-controller"
    workers = 3

    def __init__(self, ctx: ControllerContext, *, queue: Queue | None = None) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.pods = ctx.informers.pods
        self.nodes = ctx.informers.nodes
        self.recorder = ctx.recorder_for(self.name)
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self._first_seen: dict[tuple[str, str], float] = {}  # (node, taint key) without timeAdded
        self.pods.add_handler(self._on_pod, lambda old, new: self._on_pod(new))
        self.nodes.add_handler(self._on_node, self._on_node_update)

    def _on_pod(self, pod: Pod) -> None:
        node = self.nodes.get(pod.spec.node_name) if pod.spec.node_name else None
        if node is not None and _no_execute(node) and pod.metadata.deletion_timestamp is None:
            self.queue.add(key_of(pod))

    def _on_node(self, node: Node) -> None:
        if _no_execute(node):
            for pod in self.pods.by_index(NODE_INDEX, node.metadata.name or ""):
                self.queue.add(key_of(pod))

    def _on_node_update(self, old: Node, new: Node) -> None:
        if _no_execute(old) != _no_execute(new):
            name = new.metadata.name or ""
            keys = {t.key for t in _no_execute(new)}
            for seen in [s for s in self._first_seen if s[0] == name and s[1] not in keys]:
                del self._first_seen[seen]
            self._on_node(new)

    async def sync(self, key: str) -> None:
        """Delete the pod now if its node's NoExecute taints say so, else come back when due."""
        pod = self.pods.get(key)
        if pod is None or pod.metadata.deletion_timestamp is not None or not pod.spec.node_name:
            return
        node = self.nodes.get(pod.spec.node_name)
        taints = _no_execute(node) if node is not None else []
        if not taints:
            return
        now = self.clock.time()
        due = eviction_due(pod.spec.tolerations or [], taints, added=self._added(pod.spec.node_name, taints, now))
        if due is None:
            return
        if due > now:
            self.queue.add_after(key, due - now)
            return
        await self._evict(pod)

    def _added(self, node: str, taints: Sequence[Taint], now: float) -> dict[str, float]:
        out: dict[str, float] = {}
        for taint in taints:
            try:
                out[taint.key] = parse_time(taint.time_added).timestamp() if taint.time_added else -1.0
            except ValueError:
                out[taint.key] = -1.0
            if out[taint.key] < 0:
                out[taint.key] = self._first_seen.setdefault((node, taint.key), now)
        return out

    async def _evict(self, pod: Pod) -> None:
        log.info("evicting pod %s from tainted node %s", key_of(pod), pod.spec.node_name)
        self.recorder.event(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {key_of(pod)}")
        try:
            await self.client.delete(Pod, pod.metadata.name or "", pod.metadata.namespace,
                                     preconditions={"uid": pod.metadata.uid or ""})
        except ApiError as err:
            if err.code not in (404, 409):
                raise


def _no_execute(node: Node | None) -> tuple[Taint, ...]:
    if node is None:
        return ()
    return tuple(t for t in node.spec.taints or [] if t.effect == NO_EXECUTE)
