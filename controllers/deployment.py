"""The Deployment controller: one ReplicaSet per pod template, rolled by a strategy.

``sync(key)`` follows Kubernetes' syncDeployment: claim the ReplicaSets, then exactly one of

* status only (the Deployment is being deleted),
* *scale* (paused, or spec.replicas changed: resize the active ReplicaSets proportionally),
* one *rollout* step: RollingUpdate (grow the new ReplicaSet within maxSurge, or shrink old ones
  within maxUnavailable) or Recreate (old to zero, wait for their pods to end, new to full),

and return; the ReplicaSet status changes that follow drive the next step (STYLE 4). The rollout
steps live in :mod:`controllers.deployment_rollout`; the arithmetic in
:mod:`controllers.deployment_util`; status and conditions in :mod:`controllers.deployment_status`.

Revisions: the new ReplicaSet carries ``max(old revisions) + 1`` in
``deployment.kubernetes.io/revision`` and the Deployment mirrors it. A rollback is just the
template patched back to an old one: the old ReplicaSet is found by template equality (ignoring
``pod-template-hash``), becomes the new one, and gets the new highest revision.

Before a rollout step, :mod:`controllers.deployment_supervision` may take the step instead: it
counts the new ReplicaSet's escalated pods against the Deployment's restart intensity, stops the
rollout or rolls back, and holds a rejected template.
"""

from __future__ import annotations

import contextlib
import logging

from apimachinery.errors import ApiError
from apimachinery.events import NORMAL, WARNING
from apimachinery.models.apps import Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec
from apimachinery.models.core import Pod
from apimachinery.models.meta import Condition, LabelSelector, ObjectMeta
from apimachinery.selectors import selector_from_model
from apimachinery.timeutil import now_rfc3339
from apimachinery.workqueue import WorkQueue
from controllers import deployment_util as du
from controllers import podutil
from controllers.base import (
    CONTROLLER_UID_INDEX,
    NAMESPACE_INDEX,
    ControllerContext,
    Queue,
    controller_ref_to,
    end_on_stale_write,
    key_of,
    resolve_controller,
)
from controllers.deployment_rollout import RolloutSteps
from controllers.deployment_status import (
    FAILED_RS_CREATE,
    FOUND_NEW_RS,
    NEW_RS_CREATED,
    PROGRESSING,
    calculate_status,
    has_progress_deadline,
    new_condition,
    paused_condition,
    set_condition,
)
from controllers.deployment_supervision import SupervisionSteps
from controllers.ownership import claim, plan_claims

log = logging.getLogger(__name__)


class DeploymentController(SupervisionSteps, RolloutSteps):
    name = "deployment-controller"
    workers = 5

    def __init__(self, ctx: ControllerContext, *, queue: Queue | None = None) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.deployments = ctx.informers.deployments
        self.replicasets = ctx.informers.replicasets
        self.pods = ctx.informers.pods
        self.recorder = ctx.recorder_for(self.name)
        self.metrics = ctx.metrics
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self.first_seen: dict[str, float] = {}  # escalated pods that do not say when: uid -> first seen
        self.deployments.add_handler(self._enqueue, lambda old, new: self._enqueue(new), self._enqueue)
        self.replicasets.add_handler(self._on_rs_add, self._on_rs_update, self._on_rs_delete)
        self.pods.add_handler(on_update=self._on_pod_update, on_delete=self._on_pod_delete)

    # -- event handlers ------------------------------------------------------------------------

    def _enqueue(self, d: Deployment) -> None:
        self.queue.add(key_of(d))

    def _owner_of(self, rs: ReplicaSet) -> Deployment | None:
        return resolve_controller(self.deployments, rs.metadata.namespace, rs.metadata.controller_ref(), "Deployment")

    def _matching(self, rs: ReplicaSet) -> list[Deployment]:
        return [d for d in self.deployments.by_index(NAMESPACE_INDEX, rs.metadata.namespace or "")
                if selector_from_model(d.spec.selector).matches(rs.metadata.labels)]

    def _on_rs_add(self, rs: ReplicaSet) -> None:
        owner = self._owner_of(rs)
        if owner is not None:
            self._enqueue(owner)
        elif rs.metadata.controller_ref() is None:
            for d in self._matching(rs):
                self._enqueue(d)

    def _on_rs_update(self, old: ReplicaSet, new: ReplicaSet) -> None:
        if old.metadata.resource_version == new.metadata.resource_version:
            return
        old_owner, new_owner = self._owner_of(old), self._owner_of(new)
        if old_owner is not None and (new_owner is None or key_of(old_owner) != key_of(new_owner)):
            self._enqueue(old_owner)
        if new_owner is not None:
            self._enqueue(new_owner)
        elif new.metadata.controller_ref() is None:
            for d in self._matching(new):
                self._enqueue(d)

    def _on_rs_delete(self, rs: ReplicaSet) -> None:
        owner = self._owner_of(rs)
        if owner is not None:
            self._enqueue(owner)

    def _deployment_of(self, pod: Pod) -> Deployment | None:
        rs = resolve_controller(self.replicasets, pod.metadata.namespace, pod.metadata.controller_ref(), "ReplicaSet")
        return self._owner_of(rs) if rs is not None else None

    def _on_pod_update(self, old: Pod, new: Pod) -> None:
        """A pod that just escalated counts against the Deployment's intensity."""
        if podutil.is_escalated(new) and not podutil.is_escalated(old):
            owner = self._deployment_of(new)
            if owner is not None:
                self._enqueue(owner)

    def _on_pod_delete(self, pod: Pod) -> None:
        """Recreate waits for the old pods to be gone; their deletion is its next step."""
        self.first_seen.pop(pod.metadata.uid or "", None)
        owner = self._deployment_of(pod)
        if owner is not None and not du.is_rolling(owner):
            self._enqueue(owner)

    # -- sync ----------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """One step towards the Deployment's spec, then the status that step observed."""
        await end_on_stale_write("deployment", key, self._sync(key))

    async def _sync(self, key: str) -> None:
        cached = self.deployments.get(key)
        if cached is None:
            return  # deleted; the garbage collector removes its ReplicaSets
        d = cached.model_copy(deep=True)
        if selector_from_model(d.spec.selector).empty:
            await self._refuse_select_all(d)
            return
        rss = await self._claim_replica_sets(d)
        if d.metadata.deletion_timestamp is not None:
            await self._sync_status_only(d, rss)
            return
        d = await self._check_paused(d)
        if d.spec.paused or self._is_scaling_event(d, rss):
            await self._sync_scale(d, rss)
            return
        supervised = await self.supervise(d, rss)
        if supervised is None:
            return  # supervision took this step: held, stopped or rolled back
        d = supervised
        if du.is_rolling(d):
            await self.rollout_rolling(d, rss)
        else:
            await self.rollout_recreate(d, rss)

    async def _refuse_select_all(self, d: Deployment) -> None:
        self.recorder.event(d, WARNING, "SelectingAll",
                            "This deployment is selecting all pods. A non-empty selector is required.")
        status = (d.status or DeploymentStatus()).model_copy()
        if status.observed_generation != d.metadata.generation:
            status.observed_generation = d.metadata.generation
            await self._write_status(d, status)

    async def _claim_replica_sets(self, d: Deployment) -> list[ReplicaSet]:
        namespace = d.metadata.namespace
        owned = [rs for rs in self.replicasets.by_index(CONTROLLER_UID_INDEX, d.metadata.uid or "")
                 if rs.metadata.namespace == namespace]
        orphans = [rs for rs in self.replicasets.by_index(NAMESPACE_INDEX, namespace or "")
                   if rs.metadata.controller_ref() is None]
        plan = plan_claims(d, selector_from_model(d.spec.selector), [*owned, *orphans])
        return await claim(self.client, d, plan)

    def _is_scaling_event(self, d: Deployment, rss: list[ReplicaSet]) -> bool:
        """An active ReplicaSet was sized for a different spec.replicas than the current one."""
        new_rs = du.find_new_replica_set(d, rss)
        for rs in du.active([*du.old_replica_sets(rss, new_rs), new_rs]):
            annotated = du.annotation_int(rs, du.DESIRED_REPLICAS)
            if annotated is not None and annotated != du.desired(d):
                return True
        return False

    async def _check_paused(self, d: Deployment) -> Deployment:
        cond = paused_condition(d, now=now_rfc3339(self.clock))
        if cond is None:
            return d
        status = (d.status or DeploymentStatus()).model_copy(deep=True)
        set_condition(status, cond)
        return await self._write_status(d, status)

    async def _sync_status_only(self, d: Deployment, rss: list[ReplicaSet]) -> None:
        d, new_rs, old = await self.all_replica_sets(d, rss, create=False)
        await self.sync_status(d, [*old, new_rs], new_rs)

    async def _sync_scale(self, d: Deployment, rss: list[ReplicaSet]) -> None:
        """Paused or resized: scale the ReplicaSets proportionally, no rollout."""
        d, new_rs, old = await self.all_replica_sets(d, rss, create=False)
        await self.scale(d, new_rs, old)
        if d.spec.paused:
            await self.cleanup(d, old)
        await self.sync_status(d, [*old, new_rs], new_rs)

    async def sync_status(self, d: Deployment, all_rss: list[ReplicaSet | None], new_rs: ReplicaSet | None) -> None:
        status = calculate_status(all_rss, new_rs, d, now=now_rfc3339(self.clock))
        if status != d.status:
            await self._write_status(d, status)

    async def _write_status(self, d: Deployment, status: DeploymentStatus) -> Deployment:
        d = d.model_copy(deep=True)
        d.status = status
        return await self.client.replace_status(d)

    # -- the new ReplicaSet and revisions --------------------------------------------------------

    async def all_replica_sets(
        self, d: Deployment, rss: list[ReplicaSet], *, create: bool
    ) -> tuple[Deployment, ReplicaSet | None, list[ReplicaSet]]:
        """(deployment, new ReplicaSet or None, old ReplicaSets), syncing revisions on the way."""
        existing = du.find_new_replica_set(d, rss)
        old = du.old_replica_sets(rss, existing)
        new_revision = du.max_revision(old) + 1
        if existing is not None:
            new_rs, d = await self._sync_existing_new_rs(d, existing, new_revision)
            return d, new_rs, old
        if not create:
            return d, None, old
        created, d = await self._create_new_rs(d, old, new_revision)
        return d, created, old

    async def _sync_existing_new_rs(self, d: Deployment, rs: ReplicaSet, new_revision: int) -> tuple[ReplicaSet, Deployment]:
        rs = rs.model_copy(deep=True)
        changed = du.set_new_rs_annotations(d, rs, new_revision, exists=True)
        if changed or (rs.spec.min_ready_seconds or 0) != (d.spec.min_ready_seconds or 0):
            rs.spec.min_ready_seconds = d.spec.min_ready_seconds
            return await self.client.replace(rs), d
        cond = None
        current = d.status.conditions if d.status else None
        if has_progress_deadline(d) and not any(c.type == PROGRESSING for c in current or []):
            cond = new_condition(PROGRESSING, "True", FOUND_NEW_RS, f'Found new replica set "{rs.metadata.name}"',
                                 now=now_rfc3339(self.clock))
        d = await self._record_revision(d, str(du.revision(rs)), cond)
        return rs, d

    def _new_rs_object(self, d: Deployment, old: list[ReplicaSet], new_revision: int) -> ReplicaSet:
        template = d.spec.template.model_copy(deep=True)
        collisions = d.status.collision_count if d.status else None
        pod_hash = du.template_hash(d.spec.template, collisions)
        template_meta = template.metadata or ObjectMeta()
        template_meta.labels = {**(template_meta.labels or {}), du.HASH_LABEL: pod_hash}
        template.metadata = template_meta
        selector = (d.spec.selector or LabelSelector()).model_copy(deep=True)
        selector.match_labels = {**(selector.match_labels or {}), du.HASH_LABEL: pod_hash}
        rs = ReplicaSet(
            metadata=ObjectMeta(name=f"{d.metadata.name}-{pod_hash}", namespace=d.metadata.namespace,
                                labels=dict(template_meta.labels), owner_references=[controller_ref_to(d)]),
            spec=ReplicaSetSpec(replicas=0, min_ready_seconds=d.spec.min_ready_seconds, selector=selector,
                                template=template),
        )
        rs.spec.replicas = du.new_rs_new_replicas(d, [*old, rs], rs)
        du.set_new_rs_annotations(d, rs, new_revision, exists=False)
        return rs

    async def _create_new_rs(self, d: Deployment, old: list[ReplicaSet], new_revision: int) -> tuple[ReplicaSet, Deployment]:
        rs = self._new_rs_object(d, old, new_revision)
        try:
            created = await self.client.create(rs, d.metadata.namespace)
        except ApiError as err:
            if err.code == 409 and err.reason == "AlreadyExists":
                return await self._on_name_taken(d, rs, err)
            await self._report_create_failure(d, rs, err)
            raise
        if du.replicas(created) > 0:
            self.recorder.event(d, NORMAL, "ScalingReplicaSet",
                                f"Scaled up replica set {created.metadata.name} from 0 to {du.replicas(created)}")
        cond = None
        if has_progress_deadline(d):
            cond = new_condition(PROGRESSING, "True", NEW_RS_CREATED, f'Created new replica set "{created.metadata.name}"',
                                 now=now_rfc3339(self.clock))
        d = await self._record_revision(d, str(new_revision), cond)
        return created, d

    async def _on_name_taken(self, d: Deployment, rs: ReplicaSet, err: ApiError) -> tuple[ReplicaSet, Deployment]:
        """Ours already (a lagging cache): use it. Someone else's: a hash collision, bump the count."""
        existing = await self.client.get(ReplicaSet, rs.metadata.name or "", rs.metadata.namespace)
        ref = existing.metadata.controller_ref() if existing is not None else None
        if existing is not None and ref is not None and ref.uid == d.metadata.uid \
                and du.equal_ignore_hash(existing.spec.template, d.spec.template):
            return existing, d
        status = (d.status or DeploymentStatus()).model_copy(deep=True)
        status.collision_count = (status.collision_count or 0) + 1
        await self._write_status(d, status)
        raise err

    async def _report_create_failure(self, d: Deployment, rs: ReplicaSet, err: ApiError) -> None:
        message = f'Failed to create new replica set "{rs.metadata.name}": {err.message}'
        self.recorder.event(d, WARNING, FAILED_RS_CREATE, message)
        if has_progress_deadline(d):
            status = (d.status or DeploymentStatus()).model_copy(deep=True)
            set_condition(status, new_condition(PROGRESSING, "False", FAILED_RS_CREATE, message,
                                                now=now_rfc3339(self.clock)))
            with contextlib.suppress(ApiError):  # the create error is the one worth retrying for
                await self._write_status(d, status)

    async def _record_revision(self, d: Deployment, revision: str, cond: Condition | None) -> Deployment:
        """Mirror the new ReplicaSet's revision on the Deployment, plus a Progressing condition."""
        if (d.metadata.annotations or {}).get(du.REVISION) != revision:
            patch = {"metadata": {"annotations": {du.REVISION: revision}}}
            d = await self.client.patch(Deployment, d.metadata.name or "", patch, d.metadata.namespace)
        if cond is not None:
            status = (d.status or DeploymentStatus()).model_copy(deep=True)
            set_condition(status, cond)
            if status != d.status:
                d = await self._write_status(d, status)
        return d
