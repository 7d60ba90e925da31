"""``subPath`` and ``subPathExpr`` mounts: the host path a container mount binds, resolved before it is created.

As Kubernetes' kubelet (``pkg/kubelet/kubelet_pods.go`` and ``pkg/volume/util/subpath``):
``subPathExpr`` expands ``$(VAR)`` from the container's environment; the result must stay
relative and free of ``..``. The path is resolved through symlinks and must stay inside the
volume, so a link planted in a writable volume cannot bind the host's files.

* A volume of API data (configMap, secret, ...) binds the one file (or directory) inside the
  version directory ``..data`` points at: the mount keeps that version, which is why a subPath
  mount never sees an update, as in Kubernetes. A path the volume lacks is an error.
* emptyDir, hostPath and a claim's volume: a missing directory is created, with the mode of the volume's root
  (0777 for an emptyDir), then bound.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from apimachinery.models.core import Container, Pod
from kubelet import naming
from kubelet.atomicwriter import PayloadError, resolve
from kubelet.environment import expand
from kubelet.runtime.base import ContainerRuntime

EMPTY_DIR_MODE = 0o777


class SubPathError(ValueError):
    """A subPath that leaves its volume or names nothing in it."""


def wanted(container: Container) -> bool:
    return any(m.sub_path or m.sub_path_expr for m in container.volume_mounts or [])


def sub_path_of(mount_sub_path: str | None, expr: str | None, env: Mapping[str, str]) -> str:
    """The mount's relative path inside its volume ("" for the whole volume)."""
    path = expand(expr, env) if expr else (mount_sub_path or "")
    if path.startswith("/"):
        raise SubPathError(f"subPath {path!r} must be a relative path")
    if ".." in path.split("/"):
        raise SubPathError(f"subPath {path!r} must not contain '..'")
    return path


def resolve_all(pod: Pod, container: Container, *, env: Mapping[str, str], data_dirs: Mapping[str, str],
                runtime: ContainerRuntime, node: str) -> dict[int, str]:
    """Mount index -> the host path to bind, for each of the container's subPath mounts (blocking I/O)."""
    volumes = {v.name: v for v in pod.spec.volumes or []}
    out: dict[int, str] = {}
    for index, mount in enumerate(container.volume_mounts or []):
        path = sub_path_of(mount.sub_path, mount.sub_path_expr, env)
        volume = volumes.get(mount.name)
        if not path or volume is None:
            continue
        if volume.persistent_volume_claim is not None:
            if volume.name not in data_dirs:
                raise SubPathError(f"volume {volume.name!r}: its claim has not been mounted yet")
            out[index] = _directory(Path(data_dirs[volume.name]), path, mode=None)
        elif volume.name in data_dirs:
            try:
                found = resolve(Path(data_dirs[volume.name]), path)
            except PayloadError as err:
                raise SubPathError(str(err)) from err
            if not found.exists():
                raise SubPathError(f"subPath {path!r} does not exist in volume {volume.name!r}")
            out[index] = str(found)
        elif volume.host_path is not None:
            out[index] = _directory(Path(volume.host_path.path), path, mode=None)
        else:  # an emptyDir: a Docker volume, made here if the sandbox has not made it yet
            ref = naming.PodRef(namespace=pod.metadata.namespace or "default", name=pod.metadata.name or "",
                                uid=pod.metadata.uid or "")
            name = naming.volume_name(ref, volume.name)
            runtime.ensure_volume(name, {**naming.node_labels(node), naming.POD_UID: ref.uid,
                                         naming.POD_NAMESPACE: ref.namespace, naming.POD_NAME: ref.name})
            root = runtime.volume_path(name)
            if not root:
                raise SubPathError(f"volume {volume.name!r}: the runtime does not say where its files are")
            os.chmod(root, EMPTY_DIR_MODE)  # as the sandbox's slot would make it (kubelet.pause)
            out[index] = _directory(Path(root), path, mode=EMPTY_DIR_MODE)
    return out


def _directory(root: Path, path: str, *, mode: int | None) -> str:
    """``root/path``, inside ``root`` once resolved; made (with ``mode`` or the root's) if missing."""
    try:
        found = resolve(root, path)
    except PayloadError as err:
        raise SubPathError(str(err)) from err
    if not found.exists():
        perm = mode if mode is not None else (root.stat().st_mode & 0o7777 if root.exists() else 0o755)
        found.mkdir(parents=True, exist_ok=True)
        os.chmod(found, perm)
    return str(found)
