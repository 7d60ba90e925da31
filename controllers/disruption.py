"""The disruption controller: each PodDisruptionBudget's status (``pkg/controller/disruption``).

``sync(key)`` counts the pods the budget selects, how many of them its owners' scale expects
(``expectedPods``), the least number that must stay ready (``desiredHealthy``), how many are
ready now (``currentHealthy``, pods evicted but not yet seen gone excluded) and so how many
evictions may happen (``disruptionsAllowed``), with the ``DisruptionAllowed`` condition. The
eviction subresource reads and decrements that status; this controller recomputes it from what
it sees.

The expected count follows Kubernetes: ``minAvailable`` as a number needs no owner (it counts
the pods themselves); a percentage or ``maxUnavailable`` is measured against the scale of the
pods' controllers: a Deployment (through its ReplicaSet), a ReplicaSet, and any other kind with
``spec.replicas`` (StatefulSet, ReplicationController), read through the API. A pod whose
controller has no scale fails the sync: status ``SyncFailed``, no disruption allowed.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from apimachinery.conditions import FALSE, TRUE, set_condition
from apimachinery.errors import ApiError
from apimachinery.models.base import TypedObject
from apimachinery.models.core import IntOrString, Pod
from apimachinery.models.meta import Condition, OwnerReference
from apimachinery.models.policy import (
    DISRUPTION_ALLOWED,
    INSUFFICIENT_PODS,
    SUFFICIENT_PODS,
    SYNC_FAILED,
    PodDisruptionBudget,
    PodDisruptionBudgetStatus,
)
from apimachinery.resources import by_kind
from apimachinery.selectors import selector_from_model
from apimachinery.timeutil import parse_time
from apimachinery.workqueue import WorkQueue
from controllers import podutil
from controllers.base import (
    NAMESPACE_INDEX,
    Cache,
    ControllerContext,
    Queue,
    key_of,
    resolve_controller,
    rfc3339_at,
)

log = logging.getLogger(__name__)

#: How long an eviction recorded in ``disruptedPods`` waits for the pod to go (``DeletionTimeout``).
DELETION_TIMEOUT = 120.0


class NoScale(Exception):
    """A selected pod's controller has no scale to count against."""


@dataclass(frozen=True)
class Counts:
    expected: int
    desired_healthy: int


def scaled(value: IntOrString, total: int, *, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    percent = int(value.strip().rstrip("%"))
    return math.ceil(percent * total / 100) if round_up else math.floor(percent * total / 100)


def is_percent(value: IntOrString | None) -> bool:
    return isinstance(value, str) and value.strip().endswith("%")


def counts(pdb: PodDisruptionBudget, pods: list[Pod], expected_scale: int | None) -> Counts:
    """``getExpectedPodCount``: ``expected_scale`` is the owners' total (None: not needed)."""
    spec = pdb.spec
    if spec.max_unavailable is not None:
        expected = expected_scale or 0
        unavailable = scaled(spec.max_unavailable, expected, round_up=True)
        return Counts(expected, max(expected - unavailable, 0))
    if spec.min_available is not None and not is_percent(spec.min_available):
        return Counts(len(pods), scaled(spec.min_available, len(pods), round_up=True))
    if spec.min_available is not None:
        expected = expected_scale or 0
        return Counts(expected, scaled(spec.min_available, expected, round_up=True))
    return Counts(len(pods), 0)


def needs_scale(pdb: PodDisruptionBudget) -> bool:
    return pdb.spec.max_unavailable is not None or is_percent(pdb.spec.min_available)


def still_disrupted(pdb: PodDisruptionBudget, pods: list[Pod], now: float) -> tuple[dict[str, str], float | None]:
    """``buildDisruptedPodMap``: evicted pods not yet gone nor timed out, and when to look again."""
    present = {p.metadata.name: p for p in pods}
    kept: dict[str, str] = {}
    recheck: float | None = None
    for name, when in ((pdb.status.disrupted_pods if pdb.status else None) or {}).items():
        pod = present.get(name)
        if pod is None or pod.metadata.deletion_timestamp is not None:
            continue
        try:
            expires = parse_time(when).timestamp() + DELETION_TIMEOUT
        except ValueError:
            continue
        if expires <= now:
            log.info("pod %s was expected to be deleted but it was not; counting it again", name)
            continue
        kept[name] = when
        recheck = expires if recheck is None else min(recheck, expires)
    return kept, recheck


def healthy(pods: list[Pod], disrupted: dict[str, str]) -> int:
    """Ready pods that are not terminating and not already evicted."""
    return sum(1 for p in pods if p.metadata.deletion_timestamp is None and p.metadata.name not in disrupted
               and podutil.is_ready(p))


def calculate_status(pdb: PodDisruptionBudget, *, current: int, counts_: Counts, disrupted: dict[str, str],
                     now: float) -> PodDisruptionBudgetStatus:
    allowed = current - counts_.desired_healthy
    if counts_.expected <= 0 or allowed <= 0:
        allowed = 0
    condition = Condition(type=DISRUPTION_ALLOWED, status=TRUE if allowed > 0 else FALSE,
                          reason=SUFFICIENT_PODS if allowed > 0 else INSUFFICIENT_PODS, message="",
                          observed_generation=pdb.metadata.generation)
    old = pdb.status or PodDisruptionBudgetStatus()
    return PodDisruptionBudgetStatus(
        observed_generation=pdb.metadata.generation,
        disrupted_pods=disrupted or None,
        disruptions_allowed=allowed,
        current_healthy=current,
        desired_healthy=counts_.desired_healthy,
        expected_pods=counts_.expected,
        conditions=set_condition(old.conditions, condition, now=rfc3339_at(now)),
    )


def failed_status(pdb: PodDisruptionBudget, message: str, *, now: float) -> PodDisruptionBudgetStatus:
    """``failSafe``: nothing may be evicted while the budget cannot be computed."""
    old = pdb.status or PodDisruptionBudgetStatus()
    condition = Condition(type=DISRUPTION_ALLOWED, status=FALSE, reason=SYNC_FAILED, message=message,
                          observed_generation=pdb.metadata.generation)
    return old.model_copy(update={"observed_generation": pdb.metadata.generation, "disruptions_allowed": 0,
                                  "conditions": set_condition(old.conditions, condition, now=rfc3339_at(now))})


class DisruptionController:
    name = "disruption-controller"
    workers = 2

    def __init__(self, ctx: ControllerContext, budgets: Cache[PodDisruptionBudget], *,
                 queue: Queue | None = None) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.pods = ctx.informers.pods
        self.replicasets = ctx.informers.replicasets
        self.deployments = ctx.informers.deployments
        self.budgets = budgets
        self.queue: Queue = queue if queue is not None else WorkQueue()
        budgets.add_handler(self._enqueue, lambda old, new: self._enqueue(new), None)
        self.pods.add_handler(self._on_pod, lambda old, new: self._on_pod(new), self._on_pod)
        self.replicasets.add_handler(self._on_owner, lambda old, new: self._on_owner(new), None)
        self.deployments.add_handler(self._on_owner, lambda old, new: self._on_owner(new), None)

    def _enqueue(self, pdb: PodDisruptionBudget) -> None:
        self.queue.add(key_of(pdb))

    def _on_pod(self, pod: Pod) -> None:
        for pdb in self.budgets.list():
            if pdb.metadata.namespace == pod.metadata.namespace and _selects(pdb, pod):
                self._enqueue(pdb)

    def _on_owner(self, owner: TypedObject) -> None:
        namespace = owner.metadata.namespace  # type: ignore[attr-defined]
        for pdb in self.budgets.list():
            if pdb.metadata.namespace == namespace:
                self._enqueue(pdb)

    async def sync(self, key: str) -> None:
        """Recompute the budget's status from the pods it selects and their owners' scale."""
        cached = self.budgets.get(key)
        if cached is None:
            return
        pdb = cached.model_copy(deep=True)
        now = self.clock.time()
        pods = [p for p in self.pods.by_index(NAMESPACE_INDEX, pdb.metadata.namespace or "") if _selects(pdb, p)]
        try:
            expected_scale = await self._expected_scale(pods) if needs_scale(pdb) else None
        except NoScale as err:
            await self._write(pdb, failed_status(pdb, str(err), now=now))
            return
        disrupted, recheck = still_disrupted(pdb, pods, now)
        status = calculate_status(pdb, current=healthy(pods, disrupted), counts_=counts(pdb, pods, expected_scale),
                                  disrupted=disrupted, now=now)
        await self._write(pdb, status)
        if recheck is not None:
            self.queue.add_after(key, max(recheck - now, 0.0) + 1)

    async def _expected_scale(self, pods: list[Pod]) -> int:
        """``getExpectedScale``: the replicas of every distinct controller of the pods."""
        scales: dict[str, int] = {}
        for pod in pods:
            ref = pod.metadata.controller_ref()
            if ref is None:
                continue  # an unmanaged pod counts only as a pod
            uid, replicas = await self._scale_of(pod.metadata.namespace, ref)
            scales[uid] = replicas
        return sum(scales.values())

    async def _scale_of(self, namespace: str | None, ref: OwnerReference) -> tuple[str, int]:
        if ref.kind == "ReplicaSet":
            rs = resolve_controller(self.replicasets, namespace, ref, "ReplicaSet")
            if rs is not None:
                deployment = resolve_controller(self.deployments, namespace, rs.metadata.controller_ref(), "Deployment")
                if deployment is not None:
                    replicas = deployment.spec.replicas
                    return deployment.metadata.uid or "", 1 if replicas is None else replicas
                return rs.metadata.uid or "", 1 if rs.spec.replicas is None else rs.spec.replicas
        else:
            rt = by_kind(ref.kind, ref.api_version)
            if rt is not None and rt.kind != "DaemonSet":
                try:
                    owner = await self.client.get(rt.model, ref.name, namespace)
                except ApiError as err:
                    if err.code != 404:
                        raise
                else:
                    spec = owner.to_dict().get("spec") or {}
                    if owner.metadata.uid == ref.uid and isinstance(spec.get("replicas", 1), int):  # type: ignore[attr-defined]
                        return ref.uid, int(spec.get("replicas", 1))
        raise NoScale(f"found no controllers for pod {namespace}/{ref.name}")

    async def _write(self, pdb: PodDisruptionBudget, status: PodDisruptionBudgetStatus) -> None:
        if pdb.status is not None and status == pdb.status:
            return
        pdb.status = status
        await self.client.replace_status(pdb)  # a conflict retries with the newer budget


def _selects(pdb: PodDisruptionBudget, pod: Pod) -> bool:
    if pdb.spec.selector is None:
        return False
    return selector_from_model(pdb.spec.selector).matches(pod.metadata.labels)
