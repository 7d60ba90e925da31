"""Volumes of API data on the node: configMap, secret, downwardAPI and projected, written and kept current.

Each such volume is a directory under the kubelet's root,
``<root>/pods/<pod uid>/volumes/kubernetes.io~<plugin>/<volume>`` (``configmap``, ``secret``,
``downward-api``, ``projected``, as Kubernetes names them), bind-mounted read-only into the
containers that mount it. Its files are rendered by :mod:`kubelet.projection` and written by
the :class:`~kubelet.atomicwriter.AtomicWriter`, so a reader sees one version whole.

* :meth:`ProjectedVolumes.ensure` writes every volume before a container starts; a volume
  whose object is missing raises :class:`VolumeError` (the pod waits in ContainerCreating with
  a FailedMount event, and the worker retries).
* :meth:`ProjectedVolumes.refresh` renders the volumes of every tracked pod again (the worker
  tracks running pods with their latest labels and annotations) and rewrites what changed:
  a new ConfigMap or Secret revision, a label, a renewed ServiceAccount token. The agent calls
  it every ``volume_refresh_interval`` (Kubernetes: the pod sync period plus its object cache).
  Immutable objects are read once and never again.
* Volumes holding credentials (Secret keys, tokens) sit on a tmpfs (:mod:`kubelet.tmpfs`),
  unmounted before the pod's directory is removed (:meth:`ProjectedVolumes.remove`), also for
  pods a crashed kubelet left behind (:meth:`ProjectedVolumes.remove_orphans`).

Files carry the volume's ``defaultMode`` or the item's ``mode`` and belong to the kubelet's
user: Kubernetes hands them to the pod's ``fsGroup``, which podvisor does not do, so a file of
mode 0400 is readable only by a container running as root. The kubelet's root directory is
0700, so other users of the host cannot reach any of it.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apimachinery.errors import ApiError
from apimachinery.models.core import Pod, Volume
from apimachinery.serviceaccounts import DEFAULT_SERVICE_ACCOUNT
from kubelet.atomicwriter import DATA_DIR, AtomicWriter, PayloadError
from kubelet.claims import ClaimVolumes
from kubelet.configobjects import ClientConfigMaps, ConfigMapSource, ObjectFiles
from kubelet.projection import VolumeError, holds_secrets, kind_of, render
from kubelet.tmpfs import Tmpfs
from kubelet.tokens import TokenKey, TokenManager

__all__ = ["ClientConfigMaps", "ConfigMapSource", "ProjectedVolumes", "VolumeError", "config_volumes"]

log = logging.getLogger(__name__)

DIR_MODE, PRIVATE_MODE = 0o755, 0o700
DEFAULT_TOKEN_SECONDS = 3600
PLUGIN_DIRS = {"configMap": "kubernetes.io~configmap", "secret": "kubernetes.io~secret",
               "downwardAPI": "kubernetes.io~downward-api", "projected": "kubernetes.io~projected"}
PROJECTED_DIR = PLUGIN_DIRS["projected"]


def config_volumes(pod: Pod) -> list[Volume]:
    """The pod's volumes whose files the kubelet writes from API data."""
    return [v for v in pod.spec.volumes or [] if kind_of(v) is not None]


class ProjectedVolumes:
    def __init__(self, *, root: Path, tokens: TokenManager, config_maps: ConfigMapSource,
                 memory: Tmpfs | None = None, claims: ClaimVolumes | None = None) -> None:
        self.root = root
        self.claims = claims  # persistentVolumeClaim volumes (kubelet.claims); None: refused
        self.tokens = tokens
        self.config_maps = config_maps
        self.memory = memory  # None: credentials are written to disk (tests, unprivileged kubelets)
        self.allocatable: Mapping[str, str] = {}  # the node's, for resource fields without a limit
        self._pods: dict[str, Pod] = {}  # pod uid -> the latest pod seen, for refresh
        self._immutable: dict[tuple[str, str, str], ObjectFiles] = {}

    def pod_dir(self, pod_uid: str) -> Path:
        return self.root / "pods" / pod_uid

    def directory(self, pod_uid: str, volume: str, kind: str = "projected") -> Path:
        return self.pod_dir(pod_uid) / "volumes" / PLUGIN_DIRS[kind] / volume

    async def ensure(self, pod: Pod) -> dict[str, str]:
        """Write every volume of API data of the pod; volume name -> its host directory. The
        directories of its claim volumes are in the answer too (made, not written)."""
        uid = pod.metadata.uid or ""
        out: dict[str, str] = {}
        objects: dict[tuple[str, str], ObjectFiles | None] = {}
        for volume in config_volumes(pod):
            target = await self._write(pod, volume, objects)
            out[volume.name] = str(target)
        if out:
            self._pods[uid] = pod
        if self.claims is not None:
            out.update(await self.claims.resolve(pod))
        return out

    def track(self, pod: Pod) -> None:
        """Keep the pod's volumes current from now on, written or not by this process (a kubelet
        that restarted adopts running pods without rewriting their files: the next refresh does)."""
        if config_volumes(pod):
            self._pods[pod.metadata.uid or ""] = pod

    def untrack(self, pod_uid: str) -> None:
        """Stop refreshing (the pod finished); its files stay until the pod is removed."""
        self._pods.pop(pod_uid, None)
        self.tokens.forget(pod_uid)

    async def refresh(self) -> int:
        """Render the tracked pods' written volumes again; how many volumes changed. A volume whose
        object went away keeps its last files (Kubernetes' remount fails the same way)."""
        rewritten = 0
        objects: dict[tuple[str, str], ObjectFiles | None] = {}
        for uid, pod in list(self._pods.items()):
            for volume in config_volumes(pod):
                target = self.directory(uid, volume.name, kind_of(volume) or "projected")
                if not (target / DATA_DIR).is_symlink():
                    continue  # never mounted: the pod's start writes it
                try:
                    if await self._write(pod, volume, objects, known=target):
                        rewritten += 1
                except VolumeError as err:
                    log.info("volume %s of pod %s/%s not refreshed: %s", volume.name, pod.metadata.namespace,
                             pod.metadata.name, err)
        return rewritten

    def remove(self, pod_uid: str) -> None:
        self._pods.pop(pod_uid, None)
        self.tokens.forget(pod_uid)
        directory = self.pod_dir(pod_uid)
        if self.memory is not None:
            self.memory.unmount_under(directory)
        shutil.rmtree(directory, ignore_errors=True)

    def remove_orphans(self, keep: set[str]) -> list[str]:
        """Remove the directories of pods not in ``keep`` (uids): left by a kubelet that crashed
        between removing a pod's containers and its files."""
        pods = self.root / "pods"
        gone = [p.name for p in pods.iterdir() if p.is_dir() and p.name not in keep] if pods.is_dir() else []
        for uid in gone:
            self.remove(uid)
        return gone

    # -- writing -------------------------------------------------------------------------------

    async def _write(self, pod: Pod, volume: Volume, objects: dict[tuple[str, str], ObjectFiles | None],
                     *, known: Path | None = None) -> Path | bool:
        """Render and write one volume: its directory (or, refreshing ``known``, whether it changed).
        A first write reads every object afresh; a refresh does not read immutable ones again."""
        kind = kind_of(volume) or "projected"
        lookup = self._lookup(pod, objects, cached=known is not None)
        try:
            files = await render(volume, pod=pod, lookup=lookup, token=self._token(pod),
                                 allocatable=self.allocatable)
        except VolumeError as err:
            raise VolumeError(f'MountVolume.SetUp failed for volume "{volume.name}" : {err}') from err
        target = known or self._prepare(pod.metadata.uid or "", volume, kind)
        try:
            changed = AtomicWriter(target).write(files)
        except (PayloadError, OSError) as err:
            raise VolumeError(f'MountVolume.SetUp failed for volume "{volume.name}" : {err}') from err
        return changed if known is not None else target

    def _prepare(self, uid: str, volume: Volume, kind: str) -> Path:
        self.root.mkdir(mode=PRIVATE_MODE, parents=True, exist_ok=True)
        self.root.chmod(PRIVATE_MODE)  # the only gate for other users of the host
        target = self.directory(uid, volume.name, kind)
        target.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if self.memory is not None and holds_secrets(volume):
            self.memory.mount(target)
        target.chmod(DIR_MODE)
        return target

    def _lookup(self, pod: Pod, objects: dict[tuple[str, str], ObjectFiles | None], *, cached: bool) -> Any:
        namespace = pod.metadata.namespace or "default"

        async def lookup(kind: str, name: str) -> ObjectFiles | None:
            if cached and (found := self._immutable.get((kind, namespace, name))) is not None:
                return found
            if (kind, f"{namespace}/{name}") not in objects:
                found = await self.config_maps.files(kind, namespace, name)
                objects[(kind, f"{namespace}/{name}")] = found
                if found is not None and found.immutable:
                    self._immutable[(kind, namespace, name)] = found
            return objects[(kind, f"{namespace}/{name}")]

        return lookup

    def _token(self, pod: Pod) -> Any:
        async def token(source: Mapping[str, Any]) -> bytes:
            try:
                return (await self.tokens.get(_token_key(pod, source))).encode()
            except ApiError as err:
                raise VolumeError(f"cannot get a ServiceAccount token: {err.message}") from err

        return token


def _token_key(pod: Pod, source: Mapping[str, Any]) -> TokenKey:
    meta = pod.metadata
    audience = source.get("audience")
    return TokenKey(namespace=meta.namespace or "default",
                    service_account=pod.spec.service_account_name or DEFAULT_SERVICE_ACCOUNT,
                    audiences=(audience,) if audience else (),
                    seconds=int(source.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS),
                    pod_name=meta.name or "", pod_uid=meta.uid or "")
