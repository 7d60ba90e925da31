"""The StatefulSet controller: pods with stable names, DNS names and storage, in order.

One idempotent ``sync(key)``, shaped as Kubernetes' ``stateful_set_control.go``: claim the pods,
put each in its slot by ordinal (``<set>-<ordinal>``, from ``spec.ordinals.start``), then

1. remove a failed pod of a slot (it comes back under the same name once gone);
2. create the missing pods, each after its PersistentVolumeClaims (``<template>-<set>-<ordinal>``),
   which outlive it so the next pod of that ordinal mounts the same data;
   with ``OrderedReady`` one at a time, and not before every lower ordinal is Running and Ready
   (for ``minReadySeconds``);
3. delete the pods above ``spec.replicas`` from the highest ordinal down (one at a time, and only
   while the rest is healthy, with ``OrderedReady``);
4. roll the template out (``RollingUpdate``) from the highest ordinal down to the partition, one
   unavailable pod at a time (``maxUnavailable``), or leave it to the user (``OnDelete``);

and write the status computed by the pure :func:`calculate_status`.

No expectations are needed: pod names are deterministic, so a create from a stale cache meets
``AlreadyExists`` and ends the sync, and the informer event of that pod brings the set back.

Revisions. Kubernetes keeps each template in a ControllerRevision; podvisor has no such kind, so
a revision is the set's name and a hash of its template (``controller-revision-hash``), and
``status.currentRevision`` / ``updateRevision`` name them. The old template itself is not kept:
a pod below the partition that is deleted during a partitioned rollout comes back with the
current template (Kubernetes restores the old one from its ControllerRevision).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from apimachinery.errors import ApiError
from apimachinery.events import NORMAL, WARNING
from apimachinery.models.apps import StatefulSet, StatefulSetStatus
from apimachinery.models.core import Pod, Volume
from apimachinery.models.meta import ObjectMeta, OwnerReference
from apimachinery.resources import PERSISTENTVOLUMECLAIMS
from apimachinery.selectors import selector_from_model
from apimachinery.workqueue import WorkQueue
from controllers import podutil
from controllers.base import (
    CONTROLLER_UID_INDEX,
    NAMESPACE_INDEX,
    ControllerContext,
    Queue,
    controller_ref_to,
    is_stale_write,
    key_of,
    resolve_controller,
)
from controllers.deployment_util import resolve, template_hash
from controllers.ownership import claim, plan_claims

log = logging.getLogger(__name__)

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
ORDERED_READY, PARALLEL = "OrderedReady", "Parallel"
ROLLING_UPDATE, ON_DELETE = "RollingUpdate", "OnDelete"
DELETE = "Delete"
#: The claim model: a plain-dict model until PersistentVolumeClaim is served, a typed one after.
Claim = PERSISTENTVOLUMECLAIMS.model


# --- the pure parts -------------------------------------------------------------------------------


def revision_of_template(sts: StatefulSet) -> str:
    """The revision name of the set's current template: ``<set>-<hash>``."""
    return f"{sts.metadata.name}-{template_hash(sts.spec.template, sts.status.collision_count if sts.status else None)}"


def start_ordinal(sts: StatefulSet) -> int:
    return (sts.spec.ordinals.start if sts.spec.ordinals else None) or 0


def desired_replicas(sts: StatefulSet) -> int:
    return sts.spec.replicas if sts.spec.replicas is not None else 1


def ordinal_of(sts: StatefulSet, pod: Pod) -> int | None:
    """The ordinal in ``<set>-<ordinal>``, or None when the pod is not named as one of ours."""
    prefix, _, tail = (pod.metadata.name or "").rpartition("-")
    if prefix != sts.metadata.name or not tail.isdigit() or (len(tail) > 1 and tail[0] == "0"):
        return None
    return int(tail)


def claim_name(template: str, sts: StatefulSet, ordinal: int) -> str:
    return f"{template}-{sts.metadata.name}-{ordinal}"


def claim_templates(sts: StatefulSet) -> list[dict[str, Any]]:
    return [t for t in sts.spec.volume_claim_templates or [] if (t.get("metadata") or {}).get("name")]


def revision_of(pod: Pod) -> str:
    return (pod.metadata.labels or {}).get(REVISION_LABEL, "")


def is_running_and_ready(pod: Pod) -> bool:
    return podutil.phase(pod) == "Running" and podutil.is_ready(pod)


def is_healthy(pod: Pod, min_ready: int, now: float) -> bool:
    """Running, available for minReadySeconds and not going away."""
    return (
        pod.metadata.deletion_timestamp is None
        and podutil.phase(pod) == "Running"
        and podutil.is_available(pod, min_ready, now)
    )


def calculate_status(
    sts: StatefulSet, pods: list[Pod], *, current: str, update: str, now: float
) -> StatefulSetStatus:
    """The status for these owned pods; a finished rolling update makes the update revision current."""
    min_ready = sts.spec.min_ready_seconds or 0
    live = [p for p in pods if p.metadata.deletion_timestamp is None]
    ready = [p for p in pods if is_running_and_ready(p)]
    ready_count = len(ready)
    current_count = sum(1 for p in live if revision_of(p) == current)
    updated_count = sum(1 for p in live if revision_of(p) == update)
    strategy = sts.spec.update_strategy.type if sts.spec.update_strategy else ROLLING_UPDATE
    if strategy == ROLLING_UPDATE and updated_count == len(pods) == ready_count:
        current, current_count = update, updated_count
    return StatefulSetStatus(  # zero counts omitted, as Kubernetes encodes them
        observed_generation=sts.metadata.generation,
        replicas=len(pods),
        ready_replicas=ready_count or None,
        available_replicas=sum(1 for p in ready if podutil.is_available(p, min_ready, now)),
        current_replicas=current_count or None,
        updated_replicas=updated_count or None,
        current_revision=current,
        update_revision=update,
        collision_count=sts.status.collision_count if sts.status else None,
        conditions=sts.status.conditions if sts.status else None,
    )


def pod_for_ordinal(sts: StatefulSet, ordinal: int, *, revision: str) -> Pod:
    """The pod of one ordinal: the template, its identity (name, labels, hostname, subdomain) and
    one ``persistentVolumeClaim`` volume per claim template, controlled by the set."""
    template = sts.spec.template
    meta = template.metadata or ObjectMeta()
    name = f"{sts.metadata.name}-{ordinal}"
    labels = {
        **(meta.labels or {}),
        POD_NAME_LABEL: name,
        POD_INDEX_LABEL: str(ordinal),
        REVISION_LABEL: revision,
    }
    pod = Pod(
        metadata=ObjectMeta(
            name=name,
            namespace=sts.metadata.namespace,
            labels=labels,
            annotations=dict(meta.annotations) if meta.annotations else None,
            finalizers=list(meta.finalizers) if meta.finalizers else None,
            owner_references=[controller_ref_to(sts)],
        ),
        spec=template.spec.model_copy(deep=True),
    )
    pod.spec.hostname = name
    if sts.spec.service_name:
        pod.spec.subdomain = sts.spec.service_name
    claims = {
        t["metadata"]["name"]: claim_name(t["metadata"]["name"], sts, ordinal) for t in claim_templates(sts)
    }
    if claims:
        volumes = [v for v in pod.spec.volumes or [] if v.name not in claims]
        pod.spec.volumes = volumes + [
            Volume.model_validate({"name": t, "persistentVolumeClaim": {"claimName": c}})
            for t, c in claims.items()
        ]
    return pod


def claim_for_ordinal(sts: StatefulSet, template: dict[str, Any], ordinal: int) -> dict[str, Any]:
    """The wire PersistentVolumeClaim of one template and ordinal (labels: the template's and the
    selector's), owned by the set when ``whenDeleted: Delete``."""
    meta = template.get("metadata") or {}
    selector = sts.spec.selector.match_labels if sts.spec.selector and sts.spec.selector.match_labels else {}
    labels = {**(meta.get("labels") or {}), **selector}
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": claim_name(meta["name"], sts, ordinal),
            "namespace": sts.metadata.namespace,
            **({"labels": labels} if labels else {}),
            **({"annotations": dict(meta["annotations"])} if meta.get("annotations") else {}),
        },
        "spec": dict(template.get("spec") or {}),
    }
    if retention(sts)[0] == DELETE:
        body["metadata"]["ownerReferences"] = [set_owner_ref(sts).to_dict()]
    return body


def retention(sts: StatefulSet) -> tuple[str, str]:
    """(whenDeleted, whenScaled), Retain when unset."""
    policy = sts.spec.persistent_volume_claim_retention_policy
    return (
        (policy.when_deleted if policy else None) or "Retain",
        (policy.when_scaled if policy else None) or "Retain",
    )


def set_owner_ref(sts: StatefulSet) -> OwnerReference:
    """A claim's non-controlling reference to its set, so the set's deletion removes it."""
    return OwnerReference(
        api_version=sts.api_version,
        kind=sts.kind,
        name=sts.metadata.name,
        uid=sts.metadata.uid,
        block_owner_deletion=True,
    )


def max_unavailable(sts: StatefulSet) -> int:
    rolling = sts.spec.update_strategy.rolling_update if sts.spec.update_strategy else None
    value = rolling.max_unavailable if rolling else None
    return max(1, resolve(value if value is not None else 1, desired_replicas(sts), round_up=True))


def partition(sts: StatefulSet) -> int:
    rolling = sts.spec.update_strategy.rolling_update if sts.spec.update_strategy else None
    return (rolling.partition if rolling else None) or 0


# --- the controller -------------------------------------------------------------------------------


class StatefulSetController:
    name = "statefulset-controller"
    workers = 3

    def __init__(self, ctx: ControllerContext, *, queue: Queue | None = None) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.pods = ctx.informers.pods
        self.sets = ctx.informers.statefulsets
        self.claims = ctx.informers.persistentvolumeclaims
        self.recorder = ctx.recorder_for(self.name)
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self.sets.add_handler(self._enqueue, lambda old, new: self._enqueue(new), self._enqueue)
        self.pods.add_handler(self._on_pod, lambda old, new: self._on_pod_update(old, new), self._on_pod)

    def _enqueue(self, sts: StatefulSet) -> None:
        self.queue.add(key_of(sts))

    def _owner_of(self, pod: Pod) -> StatefulSet | None:
        return resolve_controller(
            self.sets, pod.metadata.namespace, pod.metadata.controller_ref(), "StatefulSet"
        )

    def _on_pod(self, pod: Pod) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self._enqueue(owner)
        elif pod.metadata.controller_ref() is None:
            for sts in self.sets.list():
                if (
                    sts.metadata.namespace == pod.metadata.namespace
                    and sts.spec.selector is not None
                    and selector_from_model(sts.spec.selector).matches(pod.metadata.labels)
                ):
                    self._enqueue(sts)

    def _on_pod_update(self, old: Pod, new: Pod) -> None:
        if old.metadata.resource_version == new.metadata.resource_version:
            return
        old_owner = self._owner_of(old)
        if old_owner is not None and old.metadata.labels != new.metadata.labels:
            self._enqueue(old_owner)
        self._on_pod(new)
        owner = self._owner_of(new)
        min_ready = owner.spec.min_ready_seconds or 0 if owner is not None else 0
        if owner is not None and min_ready and not podutil.is_ready(old) and podutil.is_ready(new):
            self.queue.add_after(key_of(owner), min_ready + 1)

    # -- sync ------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Bring the set's pods and claims one step closer to spec, then record what was observed."""
        cached = self.sets.get(key)
        if cached is None:
            return  # deleted; the garbage collector removes its pods (and claims it owns)
        sts = cached.model_copy(deep=True)
        if sts.spec.selector is None:
            return
        try:
            pods = await self._claim_pods(sts)
        except ApiError as err:
            if not is_stale_write(err):
                raise
            return
        update = revision_of_template(sts)
        current = (sts.status.current_revision if sts.status else None) or update
        if sts.metadata.deletion_timestamp is None:
            try:
                await self._reconcile(sts, pods, update=update)
            except ApiError as err:
                if err.code != 409:
                    raise
                log.debug("statefulset %s: %s; the newer state's event brings it back", key, err.message)
        now = self.clock.time()
        status = calculate_status(sts, self._owned(sts), current=current, update=update, now=now)
        await self._write_status(sts, status)
        min_ready = sts.spec.min_ready_seconds or 0
        if min_ready and (status.ready_replicas or 0) != status.available_replicas:
            self.queue.add_after(key, float(min_ready))

    def _owned(self, sts: StatefulSet) -> list[Pod]:
        return [
            p
            for p in self.pods.by_index(CONTROLLER_UID_INDEX, sts.metadata.uid or "")
            if p.metadata.namespace == sts.metadata.namespace and ordinal_of(sts, p) is not None
        ]

    async def _claim_pods(self, sts: StatefulSet) -> list[Pod]:
        """Owned pods named as ours, after adopting matching orphans of our names."""
        assert sts.spec.selector is not None
        candidates = [
            p
            for p in self.pods.by_index(NAMESPACE_INDEX, sts.metadata.namespace or "")
            if ordinal_of(sts, p) is not None
        ]
        owned = [
            p
            for p in candidates
            if (ref := p.metadata.controller_ref()) is not None and ref.uid == sts.metadata.uid
        ]
        orphans = [p for p in candidates if p.metadata.controller_ref() is None and podutil.is_active(p)]
        plan = plan_claims(sts, selector_from_model(sts.spec.selector), [*owned, *orphans])
        return await claim(self.client, sts, plan)

    async def _reconcile(self, sts: StatefulSet, pods: list[Pod], *, update: str) -> None:
        start, replicas = start_ordinal(sts), desired_replicas(sts)
        slots: dict[int, Pod] = {}
        condemned: list[Pod] = []
        for pod in pods:
            ordinal = ordinal_of(sts, pod)
            if ordinal is not None and start <= ordinal < start + replicas:
                slots[ordinal] = pod
            else:
                condemned.append(pod)
        condemned.sort(key=lambda p: ordinal_of(sts, p) or 0)
        ordered = (sts.spec.pod_management_policy or ORDERED_READY) == ORDERED_READY
        if not await self._fill_slots(
            sts, slots, start=start, replicas=replicas, update=update, ordered=ordered
        ):
            return
        if not await self._scale_down(sts, condemned, ordered=ordered):
            return
        await self._delete_scaled_claims(sts, start=start, replicas=replicas, pods=pods)
        strategy = sts.spec.update_strategy.type if sts.spec.update_strategy else ROLLING_UPDATE
        if strategy == ROLLING_UPDATE:
            await self._roll(sts, [slots.get(o) for o in range(start, start + replicas)], update=update)

    async def _fill_slots(
        self,
        sts: StatefulSet,
        slots: dict[int, Pod],
        *,
        start: int,
        replicas: int,
        update: str,
        ordered: bool,
    ) -> bool:
        """Create what is missing, in ordinal order; False when an ordered set must wait (a
        Parallel set goes on to scale down and update in the same round, as Kubernetes does)."""
        creations: list[int] = []
        min_ready, now = sts.spec.min_ready_seconds or 0, self.clock.time()
        for ordinal in range(start, start + replicas):
            pod = slots.get(ordinal)
            if pod is not None and podutil.is_terminal(pod) and pod.metadata.deletion_timestamp is None:
                await self._delete_pod(sts, pod, reason="failed")  # re-created, same name, once it is gone
                if ordered:
                    return False
                continue
            if pod is None:
                if not ordered:
                    creations.append(ordinal)
                    continue
                await self._create(sts, ordinal, update=update)
                return False
            # A pending pod may wait for a claim deleted since; a running one keeps what it mounts.
            await self._ensure_claims(sts, ordinal, create=podutil.phase(pod) in ("", "Pending"))
            if not is_healthy(pod, min_ready, now):  # its successors wait minReadySeconds too
                if ordered:
                    return False
                continue
        results = await asyncio.gather(
            *(self._create(sts, o, update=update) for o in creations), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        return True

    async def _scale_down(self, sts: StatefulSet, condemned: list[Pod], *, ordered: bool) -> bool:
        """Delete pods above the range, highest first; False when an ordered set must wait."""
        first_unhealthy = next((p for p in condemned if not is_running_and_ready(p)), None)
        for pod in reversed(condemned):
            if pod.metadata.deletion_timestamp is not None:
                if ordered:
                    return False
                continue
            if ordered and not is_running_and_ready(pod) and pod is not first_unhealthy:
                return False
            await self._delete_pod(sts, pod, reason="scale down")
            if ordered:
                return False
        return not condemned

    async def _roll(self, sts: StatefulSet, slots: list[Pod | None], *, update: str) -> None:
        """Replace outdated pods from the highest ordinal down to the partition, keeping at most
        maxUnavailable of them unavailable (a deleted pod is re-created at the new revision)."""
        min_ready, now = sts.spec.min_ready_seconds or 0, self.clock.time()
        targets = slots[partition(sts) :]
        unavailable = sum(1 for p in targets if p is None or not is_healthy(p, min_ready, now))
        budget = max_unavailable(sts) - unavailable
        for pod in reversed(targets):
            if budget <= 0:
                return
            if pod is None or pod.metadata.deletion_timestamp is not None or revision_of(pod) == update:
                continue
            await self._delete_pod(sts, pod, reason="update")
            if is_healthy(pod, min_ready, now):
                budget -= 1

    # -- pods and claims -------------------------------------------------------------------------

    async def _create(self, sts: StatefulSet, ordinal: int, *, update: str) -> None:
        await self._ensure_claims(sts, ordinal)
        pod = pod_for_ordinal(sts, ordinal, revision=update)
        try:
            await self.client.create(pod, sts.metadata.namespace)
        except ApiError as err:
            if err.code != 409:
                self.recorder.event(
                    sts,
                    WARNING,
                    "FailedCreate",
                    f"create Pod {pod.metadata.name} in StatefulSet {sts.metadata.name} failed error: "
                    f"{err.message}",
                )
            raise
        self.recorder.event(
            sts,
            NORMAL,
            "SuccessfulCreate",
            f"create Pod {pod.metadata.name} in StatefulSet {sts.metadata.name} successful",
        )

    async def _ensure_claims(self, sts: StatefulSet, ordinal: int, *, create: bool = True) -> None:
        """Each claim of the ordinal exists (``create``: made when missing, never replaced) and is
        owned per the retention policy: by the set when ``whenDeleted: Delete``, by nothing otherwise."""
        for template in claim_templates(sts):
            body = claim_for_ordinal(sts, template, ordinal)
            name = body["metadata"]["name"]
            existing = self.claims.get(f"{sts.metadata.namespace}/{name}")
            if existing is None:
                if create:
                    await self._create_claim(sts, body)
            elif existing.metadata.deletion_timestamp is None:
                await self._own_claim(sts, existing)

    async def _create_claim(self, sts: StatefulSet, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        try:
            await self.client.create(Claim.model_validate(body), sts.metadata.namespace)
        except ApiError as err:
            if err.code == 409 and err.reason == "AlreadyExists":
                return  # our cache lags; the claim is there, which is all we need
            self.recorder.event(
                sts,
                WARNING,
                "FailedCreate",
                f"create Claim {name} for StatefulSet {sts.metadata.name} failed error: {err.message}",
            )
            raise
        self.recorder.event(
            sts,
            NORMAL,
            "SuccessfulCreate",
            f"create Claim {name} for StatefulSet {sts.metadata.name} successful",
        )

    async def _own_claim(self, sts: StatefulSet, existing: Any) -> None:
        refs = list(existing.metadata.owner_references or [])
        ours = [r for r in refs if r.uid == sts.metadata.uid]
        want = retention(sts)[0] == DELETE
        if bool(ours) == want:
            return
        refs = [*refs, set_owner_ref(sts)] if want else [r for r in refs if r.uid != sts.metadata.uid]
        patch = {
            "metadata": {
                "ownerReferences": [r.to_dict() for r in refs] or None,
                "resourceVersion": existing.metadata.resource_version,
            }
        }
        await self.client.patch(Claim, existing.metadata.name or "", patch, sts.metadata.namespace)

    async def _delete_scaled_claims(
        self, sts: StatefulSet, *, start: int, replicas: int, pods: list[Pod]
    ) -> None:
        """``whenScaled: Delete``: claims of ordinals outside the range go once their pod is gone."""
        if retention(sts)[1] != DELETE:
            return
        present = {ordinal_of(sts, p) for p in pods}
        names = {t["metadata"]["name"] for t in claim_templates(sts)}
        for pvc in self.claims.by_index(NAMESPACE_INDEX, sts.metadata.namespace or ""):
            ordinal = self._claim_ordinal(sts, pvc.metadata.name or "", names)
            if (
                ordinal is None
                or start <= ordinal < start + replicas
                or ordinal in present
                or pvc.metadata.deletion_timestamp is not None
            ):
                continue
            try:
                await self.client.delete(
                    Claim,
                    pvc.metadata.name or "",
                    sts.metadata.namespace,
                    preconditions={"uid": pvc.metadata.uid or ""},
                )
            except ApiError as err:
                if err.code not in (404, 409):
                    raise
                continue
            self.recorder.event(
                sts,
                NORMAL,
                "SuccessfulDelete",
                f"delete Claim {pvc.metadata.name} in StatefulSet {sts.metadata.name} successful",
            )

    @staticmethod
    def _claim_ordinal(sts: StatefulSet, name: str, templates: set[str]) -> int | None:
        for template in templates:
            prefix = f"{template}-{sts.metadata.name}-"
            tail = name.removeprefix(prefix)
            if name.startswith(prefix) and tail.isdigit():
                return int(tail)
        return None

    async def _delete_pod(self, sts: StatefulSet, pod: Pod, *, reason: str) -> None:
        try:
            await self.client.delete(
                Pod,
                pod.metadata.name or "",
                pod.metadata.namespace,
                preconditions={"uid": pod.metadata.uid or ""},
            )
        except ApiError as err:
            if err.code == 404:
                return
            self.recorder.event(
                sts,
                WARNING,
                "FailedDelete",
                f"delete Pod {pod.metadata.name} in StatefulSet {sts.metadata.name} failed error: "
                f"{err.message}",
            )
            raise
        log.debug("statefulset %s: deleted pod %s (%s)", key_of(sts), pod.metadata.name, reason)
        self.recorder.event(
            sts,
            NORMAL,
            "SuccessfulDelete",
            f"delete Pod {pod.metadata.name} in StatefulSet {sts.metadata.name} successful",
        )

    async def _write_status(self, sts: StatefulSet, status: StatefulSetStatus) -> None:
        """Write when changed; on a conflict (our cache lags our own last write) re-read once."""
        for attempt in range(2):
            if sts.status is not None and status == sts.status:
                return
            sts.status = status
            try:
                await self.client.replace_status(sts)
                return
            except ApiError as err:
                if err.code != 409 or attempt:
                    raise
                sts = await self.client.get(StatefulSet, sts.metadata.name or "", sts.metadata.namespace)
