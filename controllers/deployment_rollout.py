"""The steps of a Deployment rollout: rolling update, recreate, proportional scaling, cleanup.

Each public method performs one step and writes the status it observed, as Kubernetes'
``rolloutRolling`` / ``rolloutRecreate`` / ``scale`` do; the controller calls exactly one per sync.

Rolling update invariants (for D desired replicas, surge S, unavailable U):
* scale up: the sum of all ReplicaSets' spec.replicas never exceeds D + S;
* scale down: old ReplicaSets shrink only while at least D - U pods stay available, counting
  the new ReplicaSet's not-yet-available pods against the budget; old pods that are not
  available are removed first, since they cost no availability.

One deliberate difference from Kubernetes: a ReplicaSet counts as at most ``spec.replicas``
available pods. Right after a scale-down its status still shows the pods it is about to lose;
trusting that stale count would let the next step remove more than maxUnavailable allows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apimachinery.errors import ApiError
from apimachinery.events import NORMAL
from apimachinery.models.apps import Deployment, ReplicaSet
from apimachinery.models.core import Pod
from apimachinery.timeutil import Clock, now_rfc3339
from controllers import deployment_util as du
from controllers import podutil
from controllers.base import CONTROLLER_UID_INDEX, Cache, Client, Queue, Recorder, key_of
from controllers.deployment_status import is_complete, rollout_status, seconds_until_deadline

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


class RolloutSteps:
    """Mixed into the DeploymentController, which provides the attributes declared here."""

    client: Client
    clock: Clock
    recorder: Recorder
    queue: Queue
    pods: Cache[Pod]
    replicasets: Cache[ReplicaSet]
    all_replica_sets: Callable[..., Awaitable[tuple[Deployment, ReplicaSet | None, list[ReplicaSet]]]]
    sync_status: Callable[..., Awaitable[None]]

    # -- rolling update ----------------------------------------------------------------------

    async def rollout_rolling(self, d: Deployment, rss: list[ReplicaSet]) -> None:
        d, new_rs, old = await self.all_replica_sets(d, rss, create=True)
        assert new_rs is not None
        all_rss: list[ReplicaSet | None] = [*old, new_rs]
        if await self._reconcile_new(d, all_rss, new_rs):
            await self.sync_rollout_status(d, all_rss, new_rs)
            return
        if await self._reconcile_old(d, all_rss, du.active(old), new_rs):
            await self.sync_rollout_status(d, all_rss, new_rs)
            return
        if d.status is not None and is_complete(d, d.status):
            await self.cleanup(d, old)
        await self.sync_rollout_status(d, all_rss, new_rs)

    async def _reconcile_new(self, d: Deployment, all_rss: list[ReplicaSet | None], new_rs: ReplicaSet) -> bool:
        want = du.desired(d)
        if du.replicas(new_rs) == want:
            return False
        if du.replicas(new_rs) > want:
            return await self.scale_and_record(new_rs, want, d)
        return await self.scale_and_record(new_rs, du.new_rs_new_replicas(d, all_rss, new_rs), d)

    async def _reconcile_old(
        self, d: Deployment, all_rss: list[ReplicaSet | None], old: list[ReplicaSet], new_rs: ReplicaSet
    ) -> bool:
        if du.total_spec(old) == 0:
            return False
        min_available = du.desired(d) - du.max_unavailable(d)
        new_unavailable = du.replicas(new_rs) - du.settled_available([new_rs])
        max_scaled_down = du.total_spec(all_rss) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        old, cleaned = await self._cleanup_unhealthy(d, old, max_scaled_down)
        scaled = await self._scale_down_old(d, [*old, new_rs], old)
        return cleaned + scaled > 0

    async def _cleanup_unhealthy(self, d: Deployment, old: list[ReplicaSet], budget: int) -> tuple[list[ReplicaSet], int]:
        """Shrink old ReplicaSets by their unavailable pods first: removing those costs nothing."""
        result, total = [], 0
        for rs in du.by_creation(old):
            unhealthy = du.replicas(rs) - du.settled_available([rs])
            if total >= budget or du.replicas(rs) == 0 or unhealthy <= 0:
                result.append(rs)
                continue
            count = min(budget - total, unhealthy)
            result.append(await self._scale(rs, du.replicas(rs) - count, d))
            total += count
        return result, total

    async def _scale_down_old(self, d: Deployment, all_rss: list[ReplicaSet | None], old: list[ReplicaSet]) -> int:
        """Shrink old ReplicaSets, oldest first, down to what availability allows."""
        min_available = du.desired(d) - du.max_unavailable(d)
        available = du.settled_available(all_rss)
        if available <= min_available:
            return 0
        budget, total = available - min_available, 0
        for rs in du.by_creation(old):
            if total >= budget:
                break
            if du.replicas(rs) == 0:
                continue
            count = min(du.replicas(rs), budget - total)
            await self._scale(rs, du.replicas(rs) - count, d)
            total += count
        return total

    # -- recreate ----------------------------------------------------------------------------

    async def rollout_recreate(self, d: Deployment, rss: list[ReplicaSet]) -> None:
        """Old ReplicaSets to zero, wait until none of their pods runs, then the new one to full."""
        d, new_rs, old = await self.all_replica_sets(d, rss, create=False)
        scaled_down = False
        for rs in du.active(old):
            scaled_down = await self.scale_and_record(rs, 0, d) or scaled_down
        if scaled_down or self._old_pods_running(new_rs, old):
            await self.sync_rollout_status(d, [*old, new_rs], new_rs)
            return
        if new_rs is None:
            d, new_rs, old = await self.all_replica_sets(d, rss, create=True)
            assert new_rs is not None
        if await self.scale_and_record(new_rs, du.desired(d), d):
            await self.sync_rollout_status(d, [*old, new_rs], new_rs)
            return
        if d.status is not None and is_complete(d, d.status):
            await self.cleanup(d, old)
        await self.sync_rollout_status(d, [*old, new_rs], new_rs)

    def _old_pods_running(self, new_rs: ReplicaSet | None, old: list[ReplicaSet]) -> bool:
        if du.total_status(old, "replicas") > 0:
            return True
        for rs in old:
            if new_rs is not None and rs.metadata.uid == new_rs.metadata.uid:
                continue
            pods = self.pods.by_index(CONTROLLER_UID_INDEX, rs.metadata.uid or "")
            if any(not podutil.is_terminal(p) for p in pods):
                return True
        return False

    # -- proportional scaling ----------------------------------------------------------------

    async def scale(self, d: Deployment, new_rs: ReplicaSet | None, old: list[ReplicaSet]) -> None:
        """Resize for a new spec.replicas, spreading the change over the active ReplicaSets."""
        only = _active_or_latest(new_rs, old)
        if only is not None:
            if du.replicas(only) != du.desired(d):
                await self.scale_and_record(only, du.desired(d), d)
            return
        if du.is_saturated(d, new_rs):
            for rs in du.active(old):
                await self.scale_and_record(rs, 0, d)
            return
        if du.is_rolling(d):
            for rs, size in _proportional_sizes(d, du.active([*old, new_rs])):
                await self._scale(rs, size, d)

    # -- writing ReplicaSets -----------------------------------------------------------------

    async def scale_and_record(self, rs: ReplicaSet, size: int, d: Deployment) -> bool:
        """Resize one ReplicaSet; False (and no write) when it already has that size."""
        if du.replicas(rs) == size:
            return False
        await self._scale(rs, size, d)
        return True

    async def _scale(self, rs: ReplicaSet, size: int, d: Deployment) -> ReplicaSet:
        before = du.replicas(rs)
        updated = rs.model_copy(deep=True)
        annotations_changed = du.set_replicas_annotations(updated, du.desired(d), du.desired(d) + du.max_surge(d))
        if before == size and not annotations_changed:
            return rs
        updated.spec.replicas = size
        result = await self.client.replace(updated)
        if before != size:
            direction = "up" if size > before else "down"
            self.recorder.event(d, NORMAL, "ScalingReplicaSet",
                                f"Scaled {direction} replica set {rs.metadata.name} from {before} to {size}")
        return result

    async def cleanup(self, d: Deployment, old: list[ReplicaSet]) -> None:
        """Delete the oldest empty ReplicaSets beyond revisionHistoryLimit."""
        limit = d.spec.revision_history_limit
        if limit is None:
            return
        cleanable = [rs for rs in old if rs.metadata.deletion_timestamp is None]
        excess = len(cleanable) - limit
        if excess <= 0:
            return
        for rs in sorted(cleanable, key=lambda r: (du.revision(r), du.created_at(r)))[:excess]:
            status = rs.status
            if (status is not None and status.replicas) or du.replicas(rs) or \
                    (rs.metadata.generation or 0) > ((status.observed_generation if status else 0) or 0):
                continue
            try:
                await self.client.delete(ReplicaSet, rs.metadata.name or "", rs.metadata.namespace,
                                         preconditions={"uid": rs.metadata.uid or ""})
            except ApiError as err:
                if err.code != 404:
                    raise

    # -- rollout status ----------------------------------------------------------------------

    async def sync_rollout_status(self, d: Deployment, all_rss: list[ReplicaSet | None], new_rs: ReplicaSet | None) -> None:
        now = self.clock.time()
        status = rollout_status(all_rss, new_rs, d, now=now, now_text=now_rfc3339(self.clock))
        if status == d.status:
            self._requeue_stuck(d, status, now=now)
            return
        updated = d.model_copy(deep=True)
        updated.status = status
        await self.client.replace_status(updated)

    def _requeue_stuck(self, d: Deployment, status: Any, *, now: float) -> None:
        """Come back when the progress deadline would pass, to report ProgressDeadlineExceeded."""
        if is_complete(d, status):
            return
        left = seconds_until_deadline(d, status, now=now)
        if left is not None:
            self.queue.add_after(key_of(d), max(left, 0.0) + 1.0)


def _active_or_latest(new_rs: ReplicaSet | None, old: list[ReplicaSet]) -> ReplicaSet | None:
    """The one ReplicaSet to resize when at most one is active (the newest when none is)."""
    if new_rs is None and not old:
        return None
    newest_first = list(reversed(du.by_creation(old)))
    running = du.active([*newest_first, new_rs])
    if len(running) == 1:
        return running[0]
    if not running:
        return new_rs if new_rs is not None else newest_first[0]
    return None


def _proportional_sizes(d: Deployment, rss: list[ReplicaSet]) -> list[tuple[ReplicaSet, int]]:
    """Kubernetes' proportional scaling: each active ReplicaSet gets its share, leftovers to the
    largest (newest on scale-up, oldest on scale-down)."""
    allowed = du.desired(d) + du.max_surge(d) if du.desired(d) > 0 else 0
    to_add = allowed - du.total_spec(rss)
    if to_add > 0:
        ordered = sorted(rss, key=lambda r: (-du.replicas(r), -_epoch(r), r.metadata.name or ""))
    elif to_add < 0:
        ordered = sorted(rss, key=lambda r: (-du.replicas(r), _epoch(r), r.metadata.name or ""))
    else:
        ordered = list(rss)
    sizes: dict[str, int] = {}
    added = 0
    for rs in ordered:
        share = du.proportion(rs, d, to_add=to_add, added=added) if to_add else 0
        sizes[rs.metadata.uid or ""] = du.replicas(rs) + share
        added += share
    if to_add and ordered:
        first = ordered[0].metadata.uid or ""
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return [(rs, sizes[rs.metadata.uid or ""]) for rs in ordered]


def _epoch(rs: ReplicaSet) -> float:
    return du.created_at(rs)[0]
