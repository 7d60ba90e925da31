"""``persistentVolumeClaim`` volumes: the directory of the claim's PersistentVolume, and local-path disks.

A pod's claim volume is a bind mount of its bound volume's directory (``local.path`` or
``hostPath.path``). :meth:`ClaimVolumes.resolve` reads the claim and its volume from the API
(the Node authorizer lets a node read the claims its pods name and the volumes bound to them)
and refuses, with a ``MountVolume.SetUp failed`` message, a claim that is missing, not bound yet
(the pod waits in ContainerCreating and the worker retries, as Kubernetes' volume manager
does), bound to a volume of another claim, or a local volume of another node.

This kubelet owns its disk, so it keeps the local-path provisioner's directories
(:mod:`controllers.persistentvolume`) under ``<root>/local-path``, the root it advertises in its
Node's ``podvisor.io/local-path-root`` annotation:

* the first mount of such a volume creates its directory, mode 0777 as local-path makes it (the
  containers' users are unknown), and puts the ``podvisor.io/local-path-cleanup`` finalizer on
  the volume, so the volume cannot vanish before its data does;
* :meth:`ClaimVolumes.clean_up` (every volume refresh) removes the directory of a volume being
  deleted with reclaim policy Delete (the controller deletes it once its claim is gone), then the
  finalizer; a Retain volume an administrator deletes loses only the finalizer, its data stays.
  It only ever removes a directory directly under its own root whose volume names that very
  directory; a symlink, an unknown name, or a volume the API will not show is left alone.

The directory of a volume with reclaim policy Retain stays, so does data across pod deletions
and kubelet restarts: nothing here runs when a pod goes.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any, Protocol, TypeVar

from apimachinery.errors import ApiError
from apimachinery.models.base import TypedObject
from apimachinery.models.core import Pod
from apimachinery.models.storage import (
    BOUND,
    DELETE,
    LOCAL_PATH_CLEANUP_FINALIZER,
    PersistentVolume,
    PersistentVolumeClaim,
    volume_node,
)
from kubelet.projection import VolumeError

log = logging.getLogger(__name__)
T = TypeVar("T", bound=TypedObject)

LOCAL_PATH_DIR = "local-path"
DIRECTORY_MODE = 0o777
PRIVATE_MODE = 0o700


class ClaimApi(Protocol):
    async def get(self, model: type[T], name: str, namespace: str | None = None) -> T: ...

    async def replace(self, obj: T, *, subresource: str | None = None) -> T: ...


def claim_volumes(pod: Pod) -> list[tuple[str, str, bool]]:
    """(volume name, claim name, readOnly) of the pod's claim volumes."""
    out = []
    for volume in pod.spec.volumes or []:
        source = volume.persistent_volume_claim
        if source is not None and source.get("claimName"):
            out.append((volume.name, str(source["claimName"]), bool(source.get("readOnly"))))
    return out


class ClaimVolumes:
    def __init__(self, *, client: ClaimApi, root: Path, node: str) -> None:
        self.client = client
        self.storage = root / LOCAL_PATH_DIR
        self.node = node

    async def resolve(self, pod: Pod) -> dict[str, str]:
        """Volume name -> the host directory to bind, for each claim volume of the pod."""
        out: dict[str, str] = {}
        for volume, claim_name, _ in claim_volumes(pod):
            try:
                path = await self._path(pod.metadata.namespace or "default", claim_name)
            except VolumeError as err:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{volume}" : {err}') from err
            out[volume] = path
        return out

    async def _path(self, namespace: str, name: str) -> str:
        claim = await self._get(PersistentVolumeClaim, name, namespace)
        if claim is None:
            raise VolumeError(f'persistentvolumeclaim "{name}" not found')
        phase = claim.status.phase if claim.status else None
        if not claim.spec.volume_name or phase != BOUND:
            raise VolumeError(f'persistentvolumeclaim "{name}" is not bound')
        volume = await self._get(PersistentVolume, claim.spec.volume_name)
        if volume is None:
            raise VolumeError(f'persistentvolume "{claim.spec.volume_name}" not found')
        ref = volume.spec.claim_ref
        if ref is None or ref.uid != claim.metadata.uid:
            raise VolumeError(f'persistentvolume "{volume.metadata.name}" is not bound to claim "{name}"')
        if volume.spec.local is not None:
            return await self._local(volume)
        if volume.spec.host_path is not None:
            return volume.spec.host_path.path
        raise VolumeError(f'persistentvolume "{volume.metadata.name}" has no volume source this node can mount')

    async def _local(self, volume: PersistentVolume) -> str:
        assert volume.spec.local is not None
        node = volume_node(volume)
        if node is not None and node != self.node:
            raise VolumeError(f'persistentvolume "{volume.metadata.name}" is on node "{node}", not "{self.node}"')
        path = Path(volume.spec.local.path)
        if self.owns(path):
            if LOCAL_PATH_CLEANUP_FINALIZER not in (volume.metadata.finalizers or []):
                held = volume.copy_deep()
                held.metadata.finalizers = [*(held.metadata.finalizers or []), LOCAL_PATH_CLEANUP_FINALIZER]
                await self.client.replace(held)  # before the first byte is written
            if not path.exists():
                # The kubelet's root and this directory stay private to root on the host; the
                # volume itself is open to every user of the containers that mount it.
                self.storage.parent.mkdir(mode=PRIVATE_MODE, parents=True, exist_ok=True)
                self.storage.mkdir(mode=PRIVATE_MODE, exist_ok=True)
                path.mkdir(exist_ok=True)
                os.chmod(path, DIRECTORY_MODE)
        elif not path.is_dir():
            raise VolumeError(f'path "{path}" does not exist')
        return str(path)

    def owns(self, path: Path) -> bool:
        """Whether ``path`` is one of this kubelet's local-path directories (directly under its root)."""
        return path.parent == self.storage and path.name.startswith("pvc-") and ".." not in path.parts

    async def clean_up(self) -> list[str]:
        """Remove the directories of volumes being deleted, then their finalizer; the names removed."""
        if not self.storage.is_dir():
            return []
        removed = []
        for directory in sorted(self.storage.iterdir()):
            if directory.is_symlink() or not directory.is_dir() or not self.owns(directory):
                continue
            volume_name = directory.name.split("_", 1)[0]
            try:
                volume = await self._get(PersistentVolume, volume_name)
            except ApiError as err:  # e.g. forbidden: not known to be ours; keep the data
                log.info("cannot check volume %s of %s: %s", volume_name, directory, err.message)
                continue
            if volume is None or volume.metadata.deletion_timestamp is None or volume.spec.local is None \
                    or Path(volume.spec.local.path) != directory:
                continue  # in use, or not known to be this directory's: keep the data
            if volume.spec.persistent_volume_reclaim_policy == DELETE:
                shutil.rmtree(directory, ignore_errors=True)
                removed.append(directory.name)
            await self._release(volume)  # Retain: the data stays on disk, the object may go
        return removed

    async def _release(self, volume: PersistentVolume) -> None:
        released = volume.copy_deep()
        released.metadata.finalizers = [f for f in volume.metadata.finalizers or []
                                        if f != LOCAL_PATH_CLEANUP_FINALIZER] or None
        try:
            await self.client.replace(released)
        except ApiError as err:
            if err.code not in (404, 409):  # gone, or changed: the next round sees it again
                raise

    async def _get(self, model: type[T], name: str, namespace: str | None = None) -> Any:
        try:
            return await self.client.get(model, name, namespace)
        except ApiError as err:
            if err.code == 404:
                return None
            raise
