"""The garbage collector: dependents follow their owners (ownerReferences), in three modes.

* **Background** - an object all of whose owners are gone (no object with that uid) is deleted.
* **Foreground** - an owner being deleted with the ``foregroundDeletion`` finalizer has its
  dependents deleted (foreground again, when they have dependents of their own); the finalizer is
  removed once no dependent with ``blockOwnerDeletion`` remains, and the apiserver then removes
  the owner.
* **Orphan** - an owner being deleted with the ``orphan`` finalizer has its ownerReference removed
  from every dependent, then the finalizer.

The design is generic over the ResourceType table: one informer per watched kind, indexed by uid
and by owner uid, and work keys ``<group-resource>/<namespace>/<name>``. "Gone" is never decided
from a cache alone: before deleting a dependent, its owner is looked up on the API server, because
a cache that has not yet seen a brand-new owner would otherwise make its first children orphans.
"""

from __future__ import annotations

import logging
from typing import Any

from apimachinery.errors import ApiError
from apimachinery.models.meta import OwnerReference
from apimachinery.resources import (
    DEPLOYMENTS,
    ENDPOINTSLICES,
    JOBS,
    LEASES,
    NODES,
    PERSISTENTVOLUMECLAIMS,
    PODS,
    REPLICASETS,
    SERVICES,
    STATEFULSETS,
    ResourceType,
    by_kind,
)
from apimachinery.workqueue import WorkQueue
from controllers.base import OWNER_UID_INDEX, UID_INDEX, Cache, ControllerContext, Queue, key_of, split_key

log = logging.getLogger(__name__)

FOREGROUND, ORPHAN = "foregroundDeletion", "orphan"
PRESENT, ABSENT, WAITING = "present", "absent", "waiting"  # owner states


def _deleting_with(obj: Any, finalizer: str) -> bool:
    meta = obj.metadata
    return meta.deletion_timestamp is not None and finalizer in (meta.finalizers or [])


class GarbageCollector:
    name = "garbage-collector"
    workers = 3

    def __init__(self, ctx: ControllerContext, *, queue: Queue | None = None,
                 more: dict[ResourceType, Cache[Any]] | None = None) -> None:
        """``more``: caches of kinds whose controllers keep their own (ReplicationControllers, ...)."""
        self.client = ctx.client
        informers = ctx.informers
        # The kinds that have (or are) owners here; adding a kind is one entry. Node Leases are
        # owned by their Node, so a deleted Node takes its Lease with it.
        self.caches: dict[ResourceType, Cache[Any]] = {
            PODS: informers.pods, REPLICASETS: informers.replicasets, DEPLOYMENTS: informers.deployments,
            NODES: informers.nodes, LEASES: informers.leases, SERVICES: informers.services,
            ENDPOINTSLICES: informers.endpointslices, STATEFULSETS: informers.statefulsets,
            PERSISTENTVOLUMECLAIMS: informers.persistentvolumeclaims, JOBS: informers.jobs, **(more or {}),
        }
        if informers.persistentvolumeclaims is not None:  # a StatefulSet's claims, owned by it or its pods
            self.caches[PERSISTENTVOLUMECLAIMS] = informers.persistentvolumeclaims
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self._by_name = {rt.group_resource: rt for rt in self.caches}
        for rt, cache in list(self.caches.items()):
            self._watch(rt, cache)

    def watch(self, rt: ResourceType, cache: Cache[Any]) -> None:
        """Follow one more kind (indexed by uid and owner uid): a controller's own cache."""
        self.caches[rt] = cache
        self._by_name[rt.group_resource] = rt
        self._watch(rt, cache)

    def _watch(self, rt: ResourceType, cache: Cache[Any]) -> None:
        cache.add_handler(self._handler(rt, "add"), self._update_handler(rt), self._handler(rt, "delete"))

    # -- keys and handlers -----------------------------------------------------------------------

    @staticmethod
    def work_key(rt: ResourceType, obj: Any) -> str:
        return f"{rt.group_resource}/{key_of(obj)}"

    def _handler(self, rt: ResourceType, kind: str) -> Any:
        def handle(obj: Any) -> None:
            if kind == "add":
                self._consider(rt, obj)
            else:
                self._enqueue_dependents(obj)
            self._enqueue_deleting_owners(obj)

        return handle

    def _update_handler(self, rt: ResourceType) -> Any:
        def handle(old: Any, new: Any) -> None:
            if old.metadata.resource_version == new.metadata.resource_version:
                return
            self._consider(rt, new)
            self._enqueue_deleting_owners(new)

        return handle

    def _consider(self, rt: ResourceType, obj: Any) -> None:
        """Enqueue an object that has owners to check, or a deletion to finish."""
        if obj.metadata.owner_references or _deleting_with(obj, FOREGROUND) or _deleting_with(obj, ORPHAN):
            self.queue.add(self.work_key(rt, obj))

    def _enqueue_dependents(self, owner: Any) -> None:
        for rt, cache in self.caches.items():
            for dependent in cache.by_index(OWNER_UID_INDEX, owner.metadata.uid or ""):
                self.queue.add(self.work_key(rt, dependent))

    def _enqueue_deleting_owners(self, obj: Any) -> None:
        """A dependent changed or went away: an owner waiting on its dependents may finish."""
        for ref in obj.metadata.owner_references or []:
            for rt, owner in self._cached_by_uid(ref.uid):
                if owner.metadata.deletion_timestamp is not None:
                    self.queue.add(self.work_key(rt, owner))

    def _cached_by_uid(self, uid: str) -> list[tuple[ResourceType, Any]]:
        return [(rt, obj) for rt, cache in self.caches.items() for obj in cache.by_index(UID_INDEX, uid)]

    def _dependents(self, uid: str) -> list[tuple[ResourceType, Any]]:
        return [(rt, obj) for rt, cache in self.caches.items() for obj in cache.by_index(OWNER_UID_INDEX, uid)]

    # -- sync ------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Finish an owner's foreground/orphan deletion, or delete a dependent whose owners are gone."""
        kind, _, rest = key.partition("/")
        rt = self._by_name.get(kind)
        if rt is None:
            return
        obj = self.caches[rt].get(rest)
        if obj is None:
            return
        if _deleting_with(obj, ORPHAN):
            await self._orphan_dependents(rt, obj)
        elif _deleting_with(obj, FOREGROUND):
            await self._delete_dependents(rt, obj)
        elif obj.metadata.deletion_timestamp is None and obj.metadata.owner_references:
            await self._check_owners(rt, obj)

    async def _orphan_dependents(self, rt: ResourceType, owner: Any) -> None:
        uid = owner.metadata.uid
        for dep_rt, dependent in self._dependents(uid):
            patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": uid}]}}
            await self._patch(dep_rt, dependent, patch)
        await self._remove_finalizer(rt, owner, ORPHAN)

    async def _delete_dependents(self, rt: ResourceType, owner: Any) -> None:
        uid = owner.metadata.uid
        blocking = 0
        for dep_rt, dependent in self._dependents(uid):
            ref = next(r for r in dependent.metadata.owner_references or [] if r.uid == uid)
            blocking += 1 if ref.block_owner_deletion else 0
            if dependent.metadata.deletion_timestamp is None:
                propagation = "Foreground" if self._dependents(dependent.metadata.uid) else "Background"
                await self._delete(dep_rt, dependent, propagation=propagation)
        if blocking == 0:
            await self._remove_finalizer(rt, owner, FOREGROUND)

    async def _check_owners(self, rt: ResourceType, obj: Any) -> None:
        refs = obj.metadata.owner_references or []
        states = [(ref, await self._owner_state(obj, ref)) for ref in refs]
        dangling = [ref for ref, state in states if state == ABSENT]
        if not dangling:
            return
        if any(state == PRESENT for _, state in states):
            patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": ref.uid} for ref in dangling]}}
            await self._patch(rt, obj, patch)
        elif all(state == ABSENT for _, state in states):
            await self._delete(rt, obj, propagation="Background")
        # otherwise an owner is deleting in the foreground; its own sync deletes this object

    async def _owner_state(self, dependent: Any, ref: OwnerReference) -> str:
        """PRESENT, ABSENT, or WAITING (deleting in the foreground), checked on the server when
        the cache has no such owner."""
        owner_rt = by_kind(ref.kind, ref.api_version)
        if owner_rt is None:
            return PRESENT  # a kind this cluster does not serve: never a reason to delete
        namespace = dependent.metadata.namespace if owner_rt.namespaced else None
        if owner_rt.namespaced and not namespace:
            return PRESENT
        cached = [o for rt, o in self._cached_by_uid(ref.uid) if rt == owner_rt]
        owner = cached[0] if cached else await self._live_owner(owner_rt, ref, namespace)
        if owner is None:
            return ABSENT
        return WAITING if _deleting_with(owner, FOREGROUND) else PRESENT

    async def _live_owner(self, rt: ResourceType, ref: OwnerReference, namespace: str | None) -> Any:
        try:
            owner = await self.client.get(rt.model, ref.name, namespace)
        except ApiError as err:
            if err.code == 404:
                return None
            raise
        return owner if owner.metadata.uid == ref.uid else None  # type: ignore[attr-defined]

    # -- writes ----------------------------------------------------------------------------------

    async def _delete(self, rt: ResourceType, obj: Any, *, propagation: str) -> None:
        namespace, name = split_key(key_of(obj))
        log.debug("deleting %s %s (%s)", rt.kind, key_of(obj), propagation)
        try:
            await self.client.delete(rt.model, name, namespace, propagation=propagation,
                                     preconditions={"uid": obj.metadata.uid})
        except ApiError as err:
            if err.code not in (404, 409):  # gone, or a new object of the same name
                raise

    async def _patch(self, rt: ResourceType, obj: Any, patch: dict[str, Any]) -> None:
        namespace, name = split_key(key_of(obj))
        try:
            await self.client.patch(rt.model, name, patch, namespace, patch_type="strategic")
        except ApiError as err:
            if err.code != 404:
                raise

    async def _remove_finalizer(self, rt: ResourceType, obj: Any, finalizer: str) -> None:
        patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": [finalizer]}}
        await self._patch(rt, obj, patch)
