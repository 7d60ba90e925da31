"""Projected volumes on the node: files a pod's containers see, written and kept current by the kubelet.

A projected volume (the ``kube-api-access-*`` volume the API server adds to every pod is one)
becomes a directory under the kubelet's root,
``<root>/pods/<pod uid>/volumes/kubernetes.io~projected/<volume>``, bind-mounted read-only
into the containers that mount it. Its files come from three sources, the ones the API server
admits (:mod:`apiserver.volumes`):

* ``serviceAccountToken``: a token from the :class:`~kubelet.tokens.TokenManager`, bound to the
  pod, rewritten in place whenever the manager renews it (:meth:`ProjectedVolumes.refresh`);
* ``configMap``: the named keys of a ConfigMap in the pod's namespace (``kube-root-ca.crt``);
* ``downwardAPI``: the pod's name, namespace or uid.

Files are 0644 in 0755 directories, owned by the kubelet's user: Kubernetes makes the token
0600 and hands it to the pod's ``fsGroup``; podvisor does not chown per pod, so the token is
world-readable *inside the pod's own mount*, which a non-root container (busybox as nobody)
needs. The kubelet's root directory is 0700, so other users of the host cannot reach it.
Each file is replaced atomically (write a temporary file, rename), so a reader never sees half a
token. The pod's directory is removed with the pod.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from apimachinery.errors import ApiError
from apimachinery.models.core import ConfigMap, Pod, Secret, Volume
from apimachinery.serviceaccounts import DEFAULT_SERVICE_ACCOUNT
from kubelet.tokens import TokenKey, TokenManager

log = logging.getLogger(__name__)

DIR_MODE, FILE_MODE, PRIVATE_MODE = 0o755, 0o644, 0o700
DEFAULT_TOKEN_SECONDS = 3600
PROJECTED_DIR = "kubernetes.io~projected"


class VolumeError(Exception):
    """A projected volume cannot be written yet (its ConfigMap is missing, no token could be had)."""


class ConfigMapSource(Protocol):
    async def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        """The ConfigMap's ``data``, None if it does not exist."""
        ...

    async def secret(self, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's ``data``, decoded, None if it does not exist."""
        ...


class ClientConfigMaps:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        try:
            found = await self.client.get(ConfigMap, name, namespace)
        except ApiError as err:
            if err.code == 404:
                return None
            raise
        return dict(found.data or {})

    async def secret(self, namespace: str, name: str) -> dict[str, str] | None:
        try:
            found = await self.client.get(Secret, name, namespace)
        except ApiError as err:
            if err.code == 404:
                return None
            raise
        decoded = {key: base64.b64decode(value).decode("utf-8", "replace") for key, value in (found.data or {}).items()}
        return {**(found.string_data or {}), **decoded}


@dataclass(frozen=True)
class _TokenFile:
    volume: str
    path: str
    key: TokenKey


def projected_volumes(pod: Pod) -> list[Volume]:
    return [v for v in pod.spec.volumes or [] if v.projected is not None]


class ProjectedVolumes:
    def __init__(self, *, root: Path, tokens: TokenManager, config_maps: ConfigMapSource) -> None:
        self.root = root
        self.tokens = tokens
        self.config_maps = config_maps
        self._token_files: dict[str, list[_TokenFile]] = {}  # pod uid -> its token files

    def pod_dir(self, pod_uid: str) -> Path:
        return self.root / "pods" / pod_uid

    def directory(self, pod_uid: str, volume: str) -> Path:
        return self.pod_dir(pod_uid) / "volumes" / PROJECTED_DIR / volume

    async def ensure(self, pod: Pod) -> dict[str, str]:
        """Write every projected volume of the pod; volume name -> its host directory."""
        uid = pod.metadata.uid or ""
        out: dict[str, str] = {}
        token_files: list[_TokenFile] = []
        for volume in projected_volumes(pod):
            files, tokens = await self._render(pod, volume)
            target = self.directory(uid, volume.name)
            self._write(target, files)
            out[volume.name] = str(target)
            token_files += tokens
        if out:
            self._token_files[uid] = token_files
        return out

    def track(self, pod: Pod) -> None:
        """Renew the pod's tokens from now on, written or not by this process (a kubelet that
        restarted adopts running pods without rewriting their files: the first renewal does)."""
        uid = pod.metadata.uid or ""
        if uid in self._token_files or not projected_volumes(pod):
            return
        self._token_files[uid] = [file for volume in projected_volumes(pod) for file in _token_files(pod, volume)]

    def untrack(self, pod_uid: str) -> None:
        """Stop renewing (the pod finished); its files stay until the pod is removed."""
        self._token_files.pop(pod_uid, None)
        self.tokens.forget(pod_uid)

    async def refresh(self) -> int:
        """Rewrite every token file whose token is due for renewal; how many were rewritten."""
        rewritten = 0
        for uid, files in list(self._token_files.items()):
            for file in files:
                if not self.tokens.due(file.key):
                    continue
                try:
                    token = await self.tokens.get(file.key)
                except ApiError as err:
                    log.warning("cannot renew the token of pod %s/%s: %s", file.key.namespace, file.key.pod_name, err)
                    continue
                target = self.directory(uid, file.volume)
                if target.is_dir():
                    _write_file(target / file.path, token.encode())
                    rewritten += 1
        return rewritten

    def remove(self, pod_uid: str) -> None:
        self._token_files.pop(pod_uid, None)
        self.tokens.forget(pod_uid)
        shutil.rmtree(self.pod_dir(pod_uid), ignore_errors=True)

    async def _render(self, pod: Pod, volume: Volume) -> tuple[dict[str, bytes], list[_TokenFile]]:
        files: dict[str, bytes] = {}
        tokens: list[_TokenFile] = []
        meta = pod.metadata
        namespace = meta.namespace or "default"
        for source in (volume.projected or {}).get("sources") or []:
            if token_source := source.get("serviceAccountToken"):
                key = _token_key(pod, token_source)
                try:
                    files[token_source["path"]] = (await self.tokens.get(key)).encode()
                except ApiError as err:
                    raise VolumeError(f"cannot get a ServiceAccount token: {err.message}") from err
                tokens.append(_TokenFile(volume.name, token_source["path"], key))
            elif cm_source := source.get("configMap"):
                files.update(await self._config_map(namespace, cm_source))
            elif downward := source.get("downwardAPI"):
                files.update(_downward(pod, downward))
            else:
                raise VolumeError(f"volume {volume.name!r}: unsupported projected source {sorted(source)}")
        return files, tokens

    async def _config_map(self, namespace: str, source: Mapping[str, Any]) -> dict[str, bytes]:
        name = str(source.get("name") or "")
        data = await self.config_maps.config_map(namespace, name)
        if data is None:
            if source.get("optional"):
                return {}
            raise VolumeError(f'configmap "{name}" not found')
        files = {}
        for item in source.get("items") or []:
            if item["key"] not in data:
                if source.get("optional"):
                    continue
                raise VolumeError(f'configmap "{name}" has no key "{item["key"]}"')
            files[item["path"]] = data[item["key"]].encode()
        return files

    def _write(self, target: Path, files: dict[str, bytes]) -> None:
        self.root.mkdir(mode=PRIVATE_MODE, parents=True, exist_ok=True)
        self.root.chmod(PRIVATE_MODE)  # the only gate for other users of the host
        target.parent.mkdir(parents=True, exist_ok=True)
        target.mkdir(mode=DIR_MODE, exist_ok=True)
        target.chmod(DIR_MODE)
        for path, content in files.items():
            _write_file(target / path, content)


def _token_key(pod: Pod, source: Mapping[str, Any]) -> TokenKey:
    meta = pod.metadata
    audience = source.get("audience")
    return TokenKey(namespace=meta.namespace or "default",
                    service_account=pod.spec.service_account_name or DEFAULT_SERVICE_ACCOUNT,
                    audiences=(audience,) if audience else (),
                    seconds=int(source.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS),
                    pod_name=meta.name or "", pod_uid=meta.uid or "")


def _token_files(pod: Pod, volume: Volume) -> list[_TokenFile]:
    return [_TokenFile(volume.name, str(token["path"]), _token_key(pod, token))
            for source in (volume.projected or {}).get("sources") or []
            if (token := source.get("serviceAccountToken"))]


def _downward(pod: Pod, source: Mapping[str, Any]) -> dict[str, bytes]:
    meta = pod.metadata
    values = {"metadata.name": meta.name or "", "metadata.namespace": meta.namespace or "default",
              "metadata.uid": meta.uid or ""}
    files = {}
    for item in source.get("items") or []:
        field_path = (item.get("fieldRef") or {}).get("fieldPath")
        if field_path not in values:
            raise VolumeError(f"downwardAPI: unsupported fieldPath {field_path!r}")
        files[item["path"]] = values[field_path].encode()
    return files


def _write_file(path: Path, content: bytes) -> None:
    """Replace ``path`` atomically with ``content``, mode 0644 (subdirectories 0755)."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tmp = path.with_name(f"..{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, path)
