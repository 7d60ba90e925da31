"""The PersistentVolume controller: binds claims to volumes, provisions local-path volumes, reclaims.

As Kubernetes' ``pkg/controller/volume/persistentvolume``, two syncs over two queues:

* :class:`ClaimBinder` (``syncClaim``), keyed ``namespace/name`` of a claim. An unbound claim is
  bound to the smallest Available volume that matches it (same class, its access modes, at
  least its request, its selector, its volumeMode; a volume pre-bound to it by ``claimRef``
  first). Binding writes the volume's ``spec.claimRef``, then its phase Bound, then the claim's
  ``spec.volumeName``, then its phase Bound with the volume's capacity and access modes; each write
  is idempotent, so an interrupted bind is finished by the next sync. Without a match, a claim of
  a class whose provisioner is ``podvisor.io/local-path`` gets a volume provisioned (below); with
  ``WaitForFirstConsumer`` only once the scheduler chose its node (the
  ``volume.kubernetes.io/selected-node`` annotation), and only volumes usable from that node
  are bound. A bound claim whose volume went away is Lost.
* :class:`VolumeSyncer` (``syncVolume``), keyed by the volume's name. A volume without a claim is
  Available; one whose claim is gone (checked against the API, not only the cache, before
  anything is released) is Released, and then its reclaim policy acts: Retain keeps it (an
  administrator frees it by removing ``claimRef``); Delete deletes a volume this provisioner made,
  and fails any other (podvisor has no deleter for a volume it did not make).

Provisioning follows the k3s local-path provisioner: a volume ``pvc-<claim uid>`` with
``local.path`` = ``<node's local-path root>/pvc-<uid>_<namespace>_<name>`` and a required node
affinity to that node (so every later pod of the claim lands there). The controller never
touches the disk: the node's kubelet, which owns it, creates the directory when it first mounts
the volume and removes it once the volume is deleted (:mod:`kubelet.claims`). The root is what
the node advertises in its ``podvisor.io/local-path-root`` annotation.
"""

from __future__ import annotations

import logging
from typing import Any

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.informer import Informer
from apimachinery.models.core import Node, ObjectReference
from apimachinery.models.storage import (
    AVAILABLE,
    BIND_COMPLETED_ANNOTATION,
    BOUND,
    BOUND_BY_CONTROLLER_ANNOTATION,
    DELETE,
    FAILED,
    LOCAL_PATH_PROVISIONER,
    LOCAL_PATH_ROOT_ANNOTATION,
    LOST,
    PENDING,
    PROVISIONED_BY_ANNOTATION,
    RELEASED,
    RETAIN,
    ROX,
    RWX,
    SELECTED_NODE_ANNOTATION,
    STORAGE_PROVISIONER_ANNOTATION,
    WAIT_FOR_FIRST_CONSUMER,
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeClaimStatus,
    PersistentVolumeStatus,
    StorageClass,
    claim_request,
)
from apimachinery.workqueue import WorkQueue
from controllers.base import Cache, ControllerContext, Queue, end_on_stale_write, key_of
from controllers.persistentvolume_util import (
    claim_class,
    claim_ref,
    find_volume,
    local_path_volume,
    phase_of,
    refers_to,
    storage_of,
)
from controllers.pvcprotection import ClaimProtection

log = logging.getLogger(__name__)

COMPONENT = "persistentvolume-controller"
# Event reasons, as Kubernetes' PV controller and the external provisioners emit them.
WAIT_FOR_FIRST_CONSUMER_REASON = "WaitForFirstConsumer"
FAILED_BINDING = "FailedBinding"
PROVISIONING = "Provisioning"
PROVISIONING_SUCCEEDED = "ProvisioningSucceeded"
PROVISIONING_FAILED = "ProvisioningFailed"
CLAIM_LOST = "ClaimLost"
VOLUME_FAILED_DELETE = "VolumeFailedDelete"
VOLUME_RESIZE_SUCCESSFUL = "VolumeResizeSuccessful"
#: Seconds before a failed provisioning is tried again (the node may advertise its root a moment later).
PROVISION_RETRY = 10.0


# --- the claim side ------------------------------------------------------------------------------


class _Storage:
    """The caches and writes both syncs share."""

    workers = 2

    def __init__(self, ctx: ControllerContext, *, claims: Cache[PersistentVolumeClaim],
                 volumes: Cache[PersistentVolume], classes: Cache[StorageClass], queue: Queue | None) -> None:
        self.client = ctx.client
        self.nodes = ctx.informers.nodes
        self.claims, self.volumes, self.classes = claims, volumes, classes
        self.recorder = ctx.recorder_for(COMPONENT)
        self.queue: Queue = queue if queue is not None else WorkQueue()

    async def _write_volume_status(self, volume: PersistentVolume, phase: str, message: str | None = None) -> None:
        if phase_of(volume) == phase and (volume.status.message if volume.status else None) == message:
            return
        await self.client.replace_status(volume.model_copy(update={"status": PersistentVolumeStatus(
            phase=phase, message=message, reason=FAILED if phase == FAILED else None)}))


class ClaimBinder(_Storage):
    name = "persistentvolume-binder"

    def __init__(self, ctx: ControllerContext, *, claims: Cache[PersistentVolumeClaim],
                 volumes: Cache[PersistentVolume], classes: Cache[StorageClass], queue: Queue | None = None) -> None:
        super().__init__(ctx, claims=claims, volumes=volumes, classes=classes, queue=queue)
        claims.add_handler(self._enqueue, lambda old, new: self._enqueue(new), None)
        volumes.add_handler(self._volume_changed, lambda old, new: self._volume_changed(new), self._volume_changed)
        classes.add_handler(lambda sc: self._all_pending(), None, None)

    def _enqueue(self, claim: PersistentVolumeClaim) -> None:
        self.queue.add(key_of(claim))

    def _volume_changed(self, volume: PersistentVolume) -> None:
        ref = volume.spec.claim_ref
        if ref is not None and ref.name:
            self.queue.add(f"{ref.namespace}/{ref.name}")
        elif phase_of(volume) in (AVAILABLE, None, PENDING):
            self._all_pending()  # a new free volume may match a waiting claim

    def _all_pending(self) -> None:
        for claim in self.claims.list():
            if not claim.spec.volume_name:
                self._enqueue(claim)

    async def sync(self, key: str) -> None:
        """Bind the claim, or provision for it, or record that it lost its volume."""
        claim = self.claims.get(key)
        if claim is None or claim.metadata.deletion_timestamp is not None:
            return
        step = self._sync_bound(claim) if claim.spec.volume_name else self._sync_unbound(claim)
        await end_on_stale_write("persistentvolumeclaim", key, step)

    async def _sync_unbound(self, claim: PersistentVolumeClaim) -> None:
        sc = self.classes.get(claim_class(claim)) if claim_class(claim) else None
        node = (claim.metadata.annotations or {}).get(SELECTED_NODE_ANNOTATION)
        waits = sc is not None and sc.volume_binding_mode == WAIT_FOR_FIRST_CONSUMER
        if waits and node is None:
            self.recorder.event(claim, "Normal", WAIT_FOR_FIRST_CONSUMER_REASON,
                                "waiting for first consumer to be created before binding")
            return
        volume = find_volume(self.volumes.list(), claim, node=node if waits else None)
        if volume is not None:
            await self._bind(volume, claim)
            return
        if sc is not None and sc.provisioner == LOCAL_PATH_PROVISIONER:
            await self._provision(claim, sc, node)
            return
        if claim_class(claim) and sc is None:
            message = f'storageclass.storage.k8s.io "{claim_class(claim)}" not found'
        elif sc is None:
            message = "no persistent volumes available for this claim and no storage class is set"
        else:
            message = f'waiting for a volume to be created by the provisioner "{sc.provisioner}"'
        self.recorder.event(claim, "Warning" if sc is None else "Normal", FAILED_BINDING, message)

    async def _sync_bound(self, claim: PersistentVolumeClaim) -> None:
        volume = self.volumes.get(claim.spec.volume_name or "")
        if volume is None:
            if phase_of(claim) != LOST:
                await self._write_claim_status(claim, LOST, None)
                self.recorder.event(claim, "Warning", CLAIM_LOST,
                                    "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
            return
        ref = volume.spec.claim_ref
        if ref is None or (ref.name == claim.metadata.name and ref.namespace == claim.metadata.namespace
                           and not ref.uid):
            if phase_of(volume) in (AVAILABLE, PENDING, None):
                await self._bind(volume, claim)  # a claim asking for one volume by name
            return
        if refers_to(volume, claim):
            volume = await self._expand(volume, claim)
            await self._bind(volume, claim)  # finishes a bind a crash interrupted; no-op when done
        elif (claim.metadata.annotations or {}).get(BIND_COMPLETED_ANNOTATION) and phase_of(claim) != LOST:
            await self._write_claim_status(claim, LOST, None)
            self.recorder.event(claim, "Warning", CLAIM_LOST,
                                "Bound claim has lost its PersistentVolume. Data on the volume is lost!")

    async def _expand(self, volume: PersistentVolume, claim: PersistentVolumeClaim) -> PersistentVolume:
        """A bound claim that asks for more than its local-path volume holds: the volume grows (a
        directory has no size to change, so only the numbers do; admission allowed the growth)."""
        wanted, held = storage_of({"storage": claim_request(claim) or "0"}), storage_of(volume.spec.capacity)
        provisioner = (volume.metadata.annotations or {}).get(PROVISIONED_BY_ANNOTATION)
        if wanted is None or held is None or wanted <= held or provisioner != LOCAL_PATH_PROVISIONER:
            return volume
        grown = volume.copy_deep()
        grown.spec.capacity = {**(grown.spec.capacity or {}), "storage": claim_request(claim) or ""}
        volume = await self.client.replace(grown)
        self.recorder.event(claim, "Normal", VOLUME_RESIZE_SUCCESSFUL,
                            f"resize volume {volume.metadata.name} to {claim_request(claim)} succeeded")
        return volume

    async def _bind(self, volume: PersistentVolume, claim: PersistentVolumeClaim) -> None:
        """The four idempotent writes of a bind, volume side first (Kubernetes' ``bind``)."""
        if not refers_to(volume, claim):
            bound = volume.copy_deep()
            bound.spec.claim_ref = claim_ref(claim)
            bound.metadata.annotations = {**(bound.metadata.annotations or {}), BOUND_BY_CONTROLLER_ANNOTATION: "yes"}
            volume = await self.client.replace(bound)
        if phase_of(volume) != BOUND:
            volume = await self.client.replace_status(volume.model_copy(
                update={"status": PersistentVolumeStatus(phase=BOUND)}))
        annotations = claim.metadata.annotations or {}
        if claim.spec.volume_name != volume.metadata.name or BIND_COMPLETED_ANNOTATION not in annotations:
            updated = claim.copy_deep()
            updated.spec.volume_name = volume.metadata.name
            updated.metadata.annotations = {**annotations, BIND_COMPLETED_ANNOTATION: "yes"}
            claim = await self.client.replace(updated)
        await self._write_claim_status(claim, BOUND, volume)

    async def _write_claim_status(self, claim: PersistentVolumeClaim, phase: str,
                                  volume: PersistentVolume | None) -> None:
        status = claim.status.copy_deep() if claim.status else PersistentVolumeClaimStatus()
        status.phase = phase
        if volume is not None:
            status.capacity = dict(volume.spec.capacity or {})
            status.access_modes = list(volume.spec.access_modes or ())
        if status == claim.status:
            return
        await self.client.replace_status(claim.model_copy(update={"status": status}))

    async def _provision(self, claim: PersistentVolumeClaim, sc: StorageClass, node: str | None) -> None:
        name = f"pvc-{claim.metadata.uid}"
        if self.volumes.get(name) is not None:
            return  # made already; its event brings the claim back to bind
        problem = self._cannot_provision(claim, node)
        if problem:
            self.recorder.event(claim, "Warning", PROVISIONING_FAILED, problem)
            self.queue.add_after(key_of(claim), PROVISION_RETRY)
            return
        found = self._node(node or "")
        assert node is not None and found is not None
        root = (found.metadata.annotations or {})[LOCAL_PATH_ROOT_ANNOTATION]
        if (claim.metadata.annotations or {}).get(STORAGE_PROVISIONER_ANNOTATION) != LOCAL_PATH_PROVISIONER:
            marked = claim.copy_deep()
            marked.metadata.annotations = {**(marked.metadata.annotations or {}),
                                           STORAGE_PROVISIONER_ANNOTATION: LOCAL_PATH_PROVISIONER}
            claim = await self.client.replace(marked)
            self.recorder.event(claim, "Normal", PROVISIONING,
                                f'External provisioner is provisioning volume for claim "{key_of(claim)}"')
        try:
            await self.client.create(local_path_volume(claim, sc, node=node, root=root))
        except ApiError as err:
            if err.reason != "AlreadyExists":
                raise
            return
        self.recorder.event(claim, "Normal", PROVISIONING_SUCCEEDED, f'Successfully provisioned volume {name}')

    def _node(self, name: str) -> Node | None:
        return self.nodes.get(name)

    def _cannot_provision(self, claim: PersistentVolumeClaim, node: str | None) -> str | None:
        if node is None:
            return "configuration error, no node was specified"  # an Immediate local-path class
        if set(claim.spec.access_modes or ()) & {ROX, RWX}:
            return "NodePath only supports ReadWriteOnce and ReadWriteOncePod access modes"
        found = self._node(node)
        if found is None:
            return f'node "{node}" not found'
        if not (found.metadata.annotations or {}).get(LOCAL_PATH_ROOT_ANNOTATION):
            return f'node "{node}" does not advertise a local-path directory ({LOCAL_PATH_ROOT_ANNOTATION})'
        return None


# --- the volume side -----------------------------------------------------------------------------


class VolumeSyncer(_Storage):
    name = "persistentvolume-volumes"

    def __init__(self, ctx: ControllerContext, *, claims: Cache[PersistentVolumeClaim],
                 volumes: Cache[PersistentVolume], classes: Cache[StorageClass], queue: Queue | None = None) -> None:
        super().__init__(ctx, claims=claims, volumes=volumes, classes=classes, queue=queue)
        volumes.add_handler(self._enqueue, lambda old, new: self._enqueue(new), None)
        claims.add_handler(None, lambda old, new: self._claim_changed(new), self._claim_changed)

    def _enqueue(self, volume: PersistentVolume) -> None:
        self.queue.add(volume.metadata.name or "")

    def _claim_changed(self, claim: PersistentVolumeClaim) -> None:
        if claim.spec.volume_name:
            self.queue.add(claim.spec.volume_name)
        for volume in self.volumes.list():  # a volume reserved for a claim that went away
            if volume.spec.claim_ref is not None and volume.spec.claim_ref.name == claim.metadata.name and \
                    volume.spec.claim_ref.namespace == claim.metadata.namespace:
                self._enqueue(volume)

    async def sync(self, key: str) -> None:
        """Available without a claim, Bound with one, Released (then reclaimed) once it is gone."""
        volume = self.volumes.get(key)
        if volume is None or volume.metadata.deletion_timestamp is not None:
            return
        await end_on_stale_write("persistentvolume", key, self._sync(volume))

    async def _sync(self, volume: PersistentVolume) -> None:
        ref = volume.spec.claim_ref
        if ref is None or not ref.uid:  # free, or reserved for a claim not bound yet
            await self._write_volume_status(volume, AVAILABLE)
            return
        claim = self.claims.get(f"{ref.namespace}/{ref.name}")
        if claim is not None and claim.metadata.uid == ref.uid:
            if claim.spec.volume_name == volume.metadata.name and phase_of(volume) != BOUND:
                await self._write_volume_status(volume, BOUND)
            return
        if not await self._claim_gone(ref):
            return  # the cache is behind: the claim's own event brings this volume back
        if phase_of(volume) not in (RELEASED, FAILED):
            await self._write_volume_status(volume, RELEASED)
            return  # the status event brings the volume back to be reclaimed
        await self._reclaim(volume)

    async def _claim_gone(self, ref: ObjectReference) -> bool:
        try:
            live = await self.client.get(PersistentVolumeClaim, ref.name or "", ref.namespace)
        except ApiError as err:
            if err.code == 404:
                return True
            raise
        return live.metadata.uid != ref.uid

    async def _reclaim(self, volume: PersistentVolume) -> None:
        policy = volume.spec.persistent_volume_reclaim_policy or RETAIN
        if policy != DELETE or phase_of(volume) == FAILED:
            return  # Retain: kept, Released, until an administrator frees or deletes it
        provisioner = (volume.metadata.annotations or {}).get(PROVISIONED_BY_ANNOTATION)
        if provisioner != LOCAL_PATH_PROVISIONER:
            message = f'error getting deleter volume plugin for volume "{volume.metadata.name}": ' \
                      "no deletable volume plugin matched"
            await self._write_volume_status(volume, FAILED, message)
            self.recorder.event(volume, "Warning", VOLUME_FAILED_DELETE, message)
            return
        try:
            await self.client.delete(PersistentVolume, volume.metadata.name or "")
        except ApiError as err:
            if err.code != 404:
                raise


def build_storage_controllers(client: ApiClient, ctx: ControllerContext) -> tuple[list[Any], list[Informer[Any]]]:
    """The binder, the volume syncer and claim protection over caches of volumes and classes of
    their own; claims and pods come from the shared caches."""
    own: list[Informer[Any]] = []
    claims = ctx.informers.persistentvolumeclaims
    if claims is None:
        claims = Informer(client, PersistentVolumeClaim)
        own.append(claims)
    volumes, classes = Informer(client, PersistentVolume), Informer(client, StorageClass)
    controllers = [ClaimBinder(ctx, claims=claims, volumes=volumes, classes=classes),
                   VolumeSyncer(ctx, claims=claims, volumes=volumes, classes=classes),
                   ClaimProtection(ctx, claims=claims)]
    return controllers, [*own, volumes, classes]
