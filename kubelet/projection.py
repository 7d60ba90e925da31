"""What files a configMap, secret, downwardAPI or projected volume holds: pure, as Kubernetes renders them.

One function per source, each turning the object it reads (handed in as
:class:`~kubelet.configobjects.ObjectFiles`, looked up by the caller) into ``path -> file``
entries of an :mod:`~kubelet.atomicwriter` payload, with Kubernetes' rules and messages
(``pkg/volume/configmap``, ``secret``, ``downwardapi``, ``projected``):

* no ``items``: every key becomes a file of that name with ``defaultMode``; ``items`` pick keys
  and name their paths, an item's ``mode`` overriding ``defaultMode``;
* a missing object fails the mount (``configmap "x" not found``) unless ``optional``, which
  makes the volume (or that source) empty; a missing item key fails it the same way;
* downward API files: ``metadata.name``/``namespace``/``uid``, one label or annotation
  (``metadata.labels['k']``), all of them as ``k="v"`` lines in key order, or a container's
  resource limit or request divided by ``divisor``.

A source that cannot be rendered raises :class:`VolumeError` with the message the pod's
``FailedMount`` event carries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from apimachinery.models.core import Pod, Volume
from kubelet.atomicwriter import FileProjection
from kubelet.configobjects import CONFIG_MAP, SECRET, ObjectFiles
from kubelet.environment import EnvError, resource_value

DEFAULT_MODE = 0o644
_MAP_ENTRY = re.compile(r"metadata\.(labels|annotations)\['([^']+)'\]")

Lookup = Callable[[str, str], Awaitable[ObjectFiles | None]]  # (kind, name) -> the object in the pod's namespace
TokenSource = Callable[[Mapping[str, Any]], Awaitable[bytes]]  # a serviceAccountToken source -> the token


class VolumeError(Exception):
    """A volume cannot be written yet (its object or a key is missing, no token could be had)."""


Files = dict[str, FileProjection]


def kind_of(volume: Volume) -> str | None:
    """``configMap``, ``secret``, ``downwardAPI`` or ``projected``: the sources the kubelet writes."""
    for kind, body in (("configMap", volume.config_map), ("secret", volume.secret),
                       ("downwardAPI", volume.downward_api), ("projected", volume.projected)):
        if body is not None:
            return kind
    return None


def object_refs(volume: Volume) -> Iterator[tuple[str, str]]:
    """(kind, name) of every ConfigMap and Secret the volume reads."""
    if volume.config_map is not None:
        yield CONFIG_MAP, str(volume.config_map.get("name") or "")
    if volume.secret is not None:
        yield SECRET, str(volume.secret.get("secretName") or "")
    for source in (volume.projected or {}).get("sources") or []:
        if (body := source.get("configMap")) is not None:
            yield CONFIG_MAP, str(body.get("name") or "")
        if (body := source.get("secret")) is not None:
            yield SECRET, str(body.get("name") or "")


def holds_secrets(volume: Volume) -> bool:
    """Whether the files are credentials (a Secret's keys, a token): kept in memory, never on disk."""
    sources = (volume.projected or {}).get("sources") or []
    return volume.secret is not None or any(
        source.get("secret") is not None or source.get("serviceAccountToken") is not None for source in sources)


async def render(volume: Volume, *, pod: Pod, lookup: Lookup, token: TokenSource,
                 allocatable: Mapping[str, str] | None = None) -> Files:
    """The volume's files; VolumeError when its object (or a key) is missing and not optional."""
    if volume.config_map is not None:
        body = volume.config_map
        return _keyed(CONFIG_MAP, body, await lookup(CONFIG_MAP, str(body.get("name") or "")), _mode(body))
    if volume.secret is not None:
        body = volume.secret
        return _keyed(SECRET, body, await lookup(SECRET, str(body.get("secretName") or "")), _mode(body))
    if volume.downward_api is not None:
        return downward(pod, volume.downward_api, _mode(volume.downward_api), allocatable or {})
    projected = volume.projected or {}
    default = _mode(projected)
    files: Files = {}
    for source in projected.get("sources") or []:
        if (body := source.get("serviceAccountToken")) is not None:
            files[str(body["path"])] = FileProjection(await token(body), default)
        elif (body := source.get("configMap")) is not None:
            files.update(_keyed(CONFIG_MAP, body, await lookup(CONFIG_MAP, str(body.get("name") or "")), default))
        elif (body := source.get("secret")) is not None:
            files.update(_keyed(SECRET, body, await lookup(SECRET, str(body.get("name") or "")), default))
        elif (body := source.get("downwardAPI")) is not None:
            files.update(downward(pod, body, default, allocatable or {}))
        else:
            raise VolumeError(f"volume {volume.name!r}: unsupported projected source {sorted(source)}")
    return files


def _mode(body: Mapping[str, Any]) -> int:
    mode = body.get("defaultMode")
    return DEFAULT_MODE if mode is None else int(mode)


def _keyed(kind: str, body: Mapping[str, Any], found: ObjectFiles | None, default: int) -> Files:
    """A ConfigMap's or Secret's keys as files (all of them, or the ``items``)."""
    name = str(body.get("name") or body.get("secretName") or "")
    optional = bool(body.get("optional"))
    if found is None:
        if optional:
            return {}
        raise VolumeError(f'{kind} "{name}" not found')
    items = body.get("items") or []
    if not items:
        return {key: FileProjection(value, default) for key, value in found.data.items()}
    files: Files = {}
    for item in items:
        key = str(item.get("key") or "")
        if key not in found.data:
            if optional:
                continue
            what = "config key" if kind == CONFIG_MAP else "secret key"
            raise VolumeError(f"{kind} references non-existent {what}: {key}")
        mode = item.get("mode")
        files[str(item["path"])] = FileProjection(found.data[key], default if mode is None else int(mode))
    return files


def downward(pod: Pod, body: Mapping[str, Any], default: int, allocatable: Mapping[str, str]) -> Files:
    files: Files = {}
    for item in body.get("items") or []:
        mode = item.get("mode")
        files[str(item["path"])] = FileProjection(_downward_value(pod, item, allocatable).encode(),
                                                  default if mode is None else int(mode))
    return files


def _downward_value(pod: Pod, item: Mapping[str, Any], allocatable: Mapping[str, str]) -> str:
    if (ref := item.get("resourceFieldRef")) is not None:
        container = next((c for c in [*(pod.spec.init_containers or []), *pod.spec.containers]
                          if c.name == ref.get("containerName")), None)
        if container is None:
            raise VolumeError(f"downwardAPI: no container {ref.get('containerName')!r} in the pod")
        try:
            return resource_value(pod, container, ref, allocatable=allocatable)
        except EnvError as err:
            raise VolumeError(f"downwardAPI: {err}") from err
    path = str((item.get("fieldRef") or {}).get("fieldPath") or "")
    meta = pod.metadata
    simple = {"metadata.name": meta.name or "", "metadata.namespace": meta.namespace or "default",
              "metadata.uid": meta.uid or "", "metadata.labels": format_map(meta.labels or {}),
              "metadata.annotations": format_map(meta.annotations or {})}
    if path in simple:
        return simple[path]
    if match := _MAP_ENTRY.fullmatch(path):
        values = (meta.labels if match.group(1) == "labels" else meta.annotations) or {}
        return values.get(match.group(2), "")
    raise VolumeError(f"downwardAPI: unsupported fieldPath {path!r}")


def format_map(values: Mapping[str, str]) -> str:
    """Kubernetes' ``fieldpath.FormatMap``: ``key="value"`` lines sorted by key, values quoted."""
    return "\n".join(f"{key}={json.dumps(values[key], ensure_ascii=False)}" for key in sorted(values))
