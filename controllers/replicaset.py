"""The ReplicaSet controller: keep ``spec.replicas`` active pods matching the selector.

One idempotent ``sync(key)``: re-read the ReplicaSet from the cache, claim its pods (adopt matching
orphans, release pods whose labels drifted), remove its finished pods, create or delete the
difference, then write the status computed by the pure :func:`calculate_status` when it changed.

Two Kubernetes safeguards keep the counting honest while informers lag behind our own writes:
*expectations* (no second round of creations until the first is observed) and *slow start*
(create in batches of 1, 2, 4, ... and stop at the first error, so a quota or admission failure
costs one request, not five hundred). Errors propagate so the work queue retries with back-off.

The ReplicationController runs the same logic (:mod:`controllers.replicationcontroller`): the
class names its kind, model and status type, and :meth:`ReplicaSetController.selector_of` reads
the selector, so the legacy kind differs only in its equality selector.

Escalation (OTP: the pod's supervisor gave up, see :func:`podutil.is_escalated`): such a pod is
inactive and replaced like any finished pod, but it is left in place (as Kubernetes leaves failed
pods) so that its Deployment can count it and later replacements know where it failed: each new
pod carries ``supervision.podvisor.io/failed-on`` with the nodes of the kept escalated pods, most
recent last, and the scheduler prefers other nodes. Only the newest ones are kept (enough for the
owning Deployment's intensity); older ones are deleted like other finished pods. One Warning
Event per escalated pod is written in the round that creates its replacement.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apimachinery.errors import ApiError
from apimachinery.events import NORMAL, WARNING
from apimachinery.models.apps import ReplicaSet, ReplicaSetStatus
from apimachinery.models.core import Pod, ReplicationController, ReplicationControllerStatus
from apimachinery.models.meta import Condition, ObjectMeta
from apimachinery.selectors import LabelSelector, selector_from_model
from apimachinery.supervision import FAILED_ON, RESTART_INTENSITY_EXCEEDED, failed_on_value, parse_deployment
from apimachinery.workqueue import WorkQueue
from controllers import podutil
from controllers.base import (
    CONTROLLER_UID_INDEX,
    NAMESPACE_INDEX,
    Cache,
    ControllerContext,
    Queue,
    controller_ref_to,
    is_stale_write,
    key_of,
    resolve_controller,
    rfc3339_at,
)
from controllers.expectations import Expectations
from controllers.ownership import claim, plan_claims

log = logging.getLogger(__name__)

BURST_REPLICAS = 500
REPLICA_FAILURE = "ReplicaFailure"
FAILED_CREATE, FAILED_DELETE = "FailedCreate", "FailedDelete"
#: Escalated pods kept at least (more when the owning Deployment's intensity needs them counted).
KEPT_ESCALATED_PODS = 20

#: What this controller keeps at a replica count: a ReplicaSet, or the legacy ReplicationController.
Workload = ReplicaSet | ReplicationController
WorkloadStatus = ReplicaSetStatus | ReplicationControllerStatus


def calculate_status(
    rs: Workload, pods: list[Pod], *, now: float, failure: tuple[str, str] | None = None,
    status_type: type[WorkloadStatus] = ReplicaSetStatus,
) -> WorkloadStatus:
    """The status the ReplicaSet should show for these (active, owned) pods at ``now``.

    ``failure`` is (reason, message) of a failed create/delete round: it sets the ReplicaFailure
    condition, and a clean round removes it.
    """
    template_labels = (rs.spec.template.metadata.labels if rs.spec.template and rs.spec.template.metadata else None) or {}
    min_ready = rs.spec.min_ready_seconds or 0
    labeled = sum(1 for p in pods if all((p.metadata.labels or {}).get(k) == v for k, v in template_labels.items()))
    ready = [p for p in pods if podutil.is_ready(p)]
    available = sum(1 for p in ready if podutil.is_available(p, min_ready, now))
    old = rs.status or status_type()
    conditions = [c for c in old.conditions or [] if c.type != REPLICA_FAILURE]
    if failure is not None:
        existing = next((c for c in old.conditions or [] if c.type == REPLICA_FAILURE), None)
        conditions.append(existing or Condition(type=REPLICA_FAILURE, status="True", reason=failure[0],
                                                message=failure[1], last_transition_time=rfc3339_at(now)))
    return status_type(
        replicas=len(pods),
        fully_labeled_replicas=labeled or None,
        ready_replicas=len(ready) or None,
        available_replicas=available or None,
        observed_generation=rs.metadata.generation,
        conditions=conditions or None,
    )


def escalation_time(pod: Pod) -> float:
    """The sort key of escalated pods: when they gave up (creation as a fallback), oldest first."""
    when = podutil.escalated_at(pod)
    if when is None:
        when = podutil.created_at(pod)
    return when if when is not None else 0.0


def kept_escalated(pods: list[Pod], *, keep: int) -> list[Pod]:
    """The newest ``keep`` escalated pods, oldest first (older ones go like other finished pods)."""
    escalated = sorted((p for p in pods if podutil.is_escalated(p)), key=escalation_time)
    return escalated[max(len(escalated) - keep, 0):]


def latest_last(nodes: list[str]) -> list[str]:
    """Node names, oldest first, each kept once at its most recent place."""
    return list(reversed(dict.fromkeys(reversed(nodes))))


def failed_on_nodes(escalated: list[Pod]) -> list[str]:
    """Nodes of these (oldest first) escalated pods, most recent last."""
    return latest_last([p.spec.node_name for p in escalated if p.spec.node_name])


class ManageError(Exception):
    def __init__(self, reason: str, cause: ApiError) -> None:
        super().__init__(str(cause))
        self.reason = reason
        self.cause = cause


async def slow_start_batch(count: int, *, initial: int, fn: Callable[[], Awaitable[None]]) -> tuple[int, ApiError | None]:
    """Call ``fn`` ``count`` times in growing concurrent batches; stop after a failing batch.

    Returns (successes, first error)."""
    done, batch = 0, min(count, initial)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        done += batch - len(errors)
        if errors:
            first = errors[0]
            if not isinstance(first, ApiError):
                raise first
            return done, first
        batch = min(2 * batch, count - done)
    return done, None


class ReplicaSetController:
    name = "replicaset-controller"
    workers = 5
    kind = "ReplicaSet"
    model: type[Workload] = ReplicaSet
    status_type: type[WorkloadStatus] = ReplicaSetStatus

    def __init__(self, ctx: ControllerContext, *, queue: Queue | None = None, burst: int = BURST_REPLICAS,
                 owners: Cache[Any] | None = None) -> None:
        """``owners``: the cache of this controller's kind (the shared ReplicaSet cache by default)."""
        self.client = ctx.client
        self.clock = ctx.clock
        self.pods = ctx.informers.pods
        self.replicasets: Cache[Any] = owners if owners is not None else ctx.informers.replicasets
        self.recorder = ctx.recorder_for(self.name)
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self.burst = burst
        self.expectations = Expectations(ctx.clock)
        self.deployments = ctx.informers.deployments
        self._reported: set[str] = set()  # uids of escalated pods whose Event was written
        self.replicasets.add_handler(self._enqueue, lambda old, new: self._enqueue(new), self._on_rs_delete)
        self.pods.add_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete)

    # -- event handlers: they only enqueue keys (and record what expectations observed) --------

    def selector_of(self, rs: Workload) -> LabelSelector | None:
        """The pods this object selects; None when it has no selector (it is then ignored)."""
        return selector_from_model(rs.spec.selector) if rs.spec.selector is not None else None

    def _enqueue(self, rs: Workload) -> None:
        self.queue.add(key_of(rs))

    def _on_rs_delete(self, rs: Workload) -> None:
        self.expectations.forget(key_of(rs))
        self.queue.add(key_of(rs))

    def _owner_of(self, pod: Pod) -> Workload | None:
        return resolve_controller(self.replicasets, pod.metadata.namespace, pod.metadata.controller_ref(), self.kind)

    def _matching(self, pod: Pod) -> list[Workload]:
        """ReplicaSets that could adopt this orphan."""
        return [rs for rs in self.replicasets.list()
                if rs.metadata.namespace == pod.metadata.namespace
                and (selector := self.selector_of(rs)) is not None and selector.matches(pod.metadata.labels)]

    def _on_pod_add(self, pod: Pod) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.creation_observed(key_of(owner))
        if pod.metadata.deletion_timestamp is not None:
            self._on_pod_delete(pod)
        elif owner is not None:
            self._enqueue(owner)
        elif pod.metadata.controller_ref() is None:
            for rs in self._matching(pod):
                self._enqueue(rs)

    def _on_pod_update(self, old: Pod, new: Pod) -> None:
        if old.metadata.resource_version == new.metadata.resource_version:
            return
        if new.metadata.deletion_timestamp is not None:
            self._on_pod_delete(new)
            if old.metadata.labels != new.metadata.labels:
                self._on_pod_delete(old)
            return
        old_owner, new_owner = self._owner_of(old), self._owner_of(new)
        if old_owner is not None and (new_owner is None or key_of(old_owner) != key_of(new_owner)):
            self._enqueue(old_owner)
        if new_owner is not None:
            self._enqueue(new_owner)
            min_ready = new_owner.spec.min_ready_seconds or 0
            if min_ready and not podutil.is_ready(old) and podutil.is_ready(new):
                self.queue.add_after(key_of(new_owner), min_ready + 1)  # re-check availability
        elif new.metadata.controller_ref() is None:
            for rs in self._matching(new):
                self._enqueue(rs)

    def _on_pod_delete(self, pod: Pod) -> None:
        self._reported.discard(pod.metadata.uid or "")  # going: its Event is never due again
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.deletion_observed(key_of(owner), key_of(pod))
            self._enqueue(owner)

    # -- sync ----------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Bring the ReplicaSet's active pods to spec.replicas, then record what was observed."""
        cached = self.replicasets.get(key)
        if cached is None:
            self.expectations.forget(key)
            return  # deleted; the garbage collector removes its pods
        rs = cached.model_copy(deep=True)
        selector = self.selector_of(rs)
        if selector is None:
            log.warning("%s %s has no selector; ignoring it", self.kind, key)
            return
        needs_sync = self.expectations.satisfied(key)
        try:
            pods = await self._claim_pods(rs, selector)
        except ApiError as err:
            if not is_stale_write(err):
                raise
            return  # a pod changed under an adoption: its event brings the ReplicaSet back
        failure: ManageError | None = None
        if needs_sync and rs.metadata.deletion_timestamp is None:
            try:
                await self._manage_replicas(rs, pods)
            except ManageError as err:
                failure = err
        active = [p for p in pods if podutil.is_active(p)]
        status = calculate_status(rs, active, now=self.clock.time(), status_type=self.status_type,
                                  failure=(failure.reason, str(failure.cause)) if failure else None)
        updated = await self._write_status(rs, status)
        if failure is not None:
            raise failure.cause
        self._requeue_for_availability(key, updated)

    async def _claim_pods(self, rs: Workload, selector: LabelSelector) -> list[Pod]:
        """Owned pods (terminal ones included), after adopting orphans and releasing mismatches."""
        namespace_pods = self.pods.by_index(NAMESPACE_INDEX, rs.metadata.namespace or "")
        owned = [p for p in self.pods.by_index(CONTROLLER_UID_INDEX, rs.metadata.uid or "")
                 if p.metadata.namespace == rs.metadata.namespace]
        orphans = [p for p in namespace_pods if p.metadata.controller_ref() is None and podutil.is_active(p)]
        plan = plan_claims(rs, selector, [*owned, *orphans])
        return await claim(self.client, rs, plan)

    async def _manage_replicas(self, rs: Workload, pods: list[Pod]) -> None:
        escalated = kept_escalated(pods, keep=self._escalated_to_keep(rs))
        kept = {p.metadata.uid for p in escalated}
        await self._delete_finished(rs, [p for p in pods if podutil.is_terminal(p) and p.metadata.uid not in kept])
        active = [p for p in pods if podutil.is_active(p)]
        diff = len(active) - (rs.spec.replicas if rs.spec.replicas is not None else 1)
        if diff < 0:
            self._report_escalations(rs, escalated, replacements=min(-diff, self.burst))
            await self._create_pods(rs, min(-diff, self.burst), failed_on=failed_on_nodes(escalated))
        elif diff > 0:
            await self._delete_pods(rs, active, min(diff, self.burst))

    def _escalated_to_keep(self, rs: Workload) -> int:
        """Enough escalated pods for the owning Deployment to see its intensity exceeded."""
        owner = resolve_controller(self.deployments, rs.metadata.namespace, rs.metadata.controller_ref(), "Deployment")
        intensity = parse_deployment(owner.metadata.annotations).intensity if owner is not None else None
        return max(KEPT_ESCALATED_PODS, intensity.restarts + 1 if intensity is not None else 0)

    def _report_escalations(self, rs: Workload, escalated: list[Pod], *, replacements: int) -> None:
        """One Event per escalated pod, in the round that replaces it (the newest unreported ones)."""
        fresh = [p for p in escalated
                 if (p.metadata.uid or "") not in self._reported and p.metadata.deletion_timestamp is None]
        for pod in fresh[-replacements:] if replacements > 0 else []:
            self._reported.add(pod.metadata.uid or "")
            self.recorder.event(rs, WARNING, RESTART_INTENSITY_EXCEEDED,
                                f"Pod {pod.metadata.name} exceeded its restart intensity on node "
                                f"{pod.spec.node_name or '<none>'}; creating a replacement")

    async def _create_pods(self, rs: Workload, count: int, *, failed_on: list[str]) -> None:
        key = key_of(rs)
        self.expectations.expect_creations(key, count)
        created, error = await slow_start_batch(count, initial=1, fn=lambda: self._create_pod(rs, failed_on))
        for _ in range(count - created):
            self.expectations.creation_observed(key)  # those will never show up
        if error is not None:
            raise ManageError(FAILED_CREATE, error)

    async def _create_pod(self, rs: Workload, failed_on: list[str]) -> None:
        pod = pod_from_template(rs, failed_on=failed_on)
        try:
            made = await self.client.create(pod, rs.metadata.namespace)
        except ApiError as err:
            self.recorder.event(rs, WARNING, FAILED_CREATE, f"Error creating: {err.message}")
            raise
        self.recorder.event(rs, NORMAL, "SuccessfulCreate", f"Created pod: {made.metadata.name}")

    async def _delete_pods(self, rs: Workload, active: list[Pod], count: int) -> None:
        key = key_of(rs)
        victims = podutil.pods_to_delete(active, self._related_pods(rs), count)
        self.expectations.expect_deletions(key, [key_of(p) for p in victims])
        results = await asyncio.gather(*(self._delete_pod(rs, p) for p in victims), return_exceptions=True)
        errors = []
        for pod, result in zip(victims, results, strict=True):
            if isinstance(result, BaseException):
                self.expectations.deletion_observed(key, key_of(pod))
                if not (isinstance(result, ApiError) and result.code == 404):
                    errors.append(result)
        if errors:
            first = errors[0]
            if not isinstance(first, ApiError):
                raise first
            raise ManageError(FAILED_DELETE, first)

    async def _delete_pod(self, rs: Workload, pod: Pod) -> None:
        try:
            await self.client.delete(Pod, pod.metadata.name or "", pod.metadata.namespace,
                                     preconditions={"uid": pod.metadata.uid or ""})
        except ApiError as err:
            if err.code != 404:
                self.recorder.event(rs, WARNING, FAILED_DELETE, f"Error deleting: {err.message}")
            raise
        self.recorder.event(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {pod.metadata.name}")

    async def _delete_finished(self, rs: Workload, finished: list[Pod]) -> None:
        """Pods that ended (Succeeded/Failed) are removed; replacements are counted separately."""
        for pod in finished:
            if pod.metadata.deletion_timestamp is not None:
                continue
            try:
                await self._delete_pod(rs, pod)
            except ApiError as err:
                if err.code not in (404, 409):
                    raise

    def _related_pods(self, rs: Workload) -> list[Pod]:
        """Active pods of this ReplicaSet and of its siblings (same owning Deployment)."""
        owner = rs.metadata.controller_ref()
        siblings = [rs]
        if owner is not None:
            siblings = [s for s in self.replicasets.by_index(CONTROLLER_UID_INDEX, owner.uid)
                        if s.metadata.namespace == rs.metadata.namespace]
        pods: list[Pod] = []
        for sibling in siblings:
            pods.extend(self.pods.by_index(CONTROLLER_UID_INDEX, sibling.metadata.uid or ""))
        return [p for p in pods if podutil.is_active(p)]

    async def _write_status(self, rs: Workload, status: WorkloadStatus) -> Workload:
        """Write when changed; on a conflict (our cache lags our own last write) re-read once."""
        for attempt in range(2):
            if rs.status is not None and status == rs.status:
                return rs
            rs.status = status
            try:
                return await self.client.replace_status(rs)
            except ApiError as err:
                if err.code != 409 or attempt:
                    raise
                rs = await self.client.get(self.model, rs.metadata.name or "", rs.metadata.namespace)
        return rs

    def _requeue_for_availability(self, key: str, rs: Workload) -> None:
        """Ready pods become available minReadySeconds later; look again then."""
        status = rs.status or self.status_type()
        min_ready = rs.spec.min_ready_seconds or 0
        desired = rs.spec.replicas if rs.spec.replicas is not None else 1
        if min_ready > 0 and (status.ready_replicas or 0) == desired and (status.available_replicas or 0) != desired:
            self.queue.add_after(key, float(min_ready))


def pod_from_template(rs: Workload, *, failed_on: list[str] | None = None) -> Pod:
    """A new pod of the ReplicaSet: its template, ``<rs>-<5 random chars>``, controlled by it.

    ``failed_on``: nodes where earlier pods escalated (oldest first), added to the template's own
    ``failed-on`` nodes, if any."""
    template = rs.spec.template
    if template is None:
        raise ApiError(422, "Invalid", f"replicaset {rs.metadata.name} has no pod template")
    template_meta = template.metadata or ObjectMeta()
    annotations = dict(template_meta.annotations or {})
    if failed_on:
        ours = [n.strip() for n in annotations.get(FAILED_ON, "").split(",") if n.strip()]
        annotations[FAILED_ON] = failed_on_value(latest_last([*ours, *failed_on]))
    meta = ObjectMeta(
        generate_name=f"{rs.metadata.name}-",
        namespace=rs.metadata.namespace,
        labels=dict(template_meta.labels) if template_meta.labels else None,
        annotations=annotations or None,
        finalizers=list(template_meta.finalizers) if template_meta.finalizers else None,
        owner_references=[controller_ref_to(rs)],
    )
    return Pod(metadata=meta, spec=template.spec.model_copy(deep=True))

