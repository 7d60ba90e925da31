"""Volumes a pod may ask for: the sources the kubelet serves, with Kubernetes' rules for each.

The kubelet writes ``emptyDir``, ``hostPath`` and the volumes of API data (``configMap``,
``secret``, ``downwardAPI``, ``projected`` with configMap, secret, downwardAPI and
serviceAccountToken sources; :mod:`kubelet.volumes`), and mounts the directory of the
PersistentVolume bound to a ``persistentVolumeClaim`` (:mod:`kubelet.claims`). Any other source
(nfs, csi, ephemeral, ...) would be silently missing in the container, so it is refused with
422 here, naming the field. The rest follows Kubernetes' ``ValidateVolumes``
(``pkg/apis/core/validation``): file modes between 0 and 0777, item paths relative without
``..`` (and not starting with ``..``, the atomic writer's names), no two files at one path in a
volume, required keys and names, the downward API's fields and resources, and the mounts'
``subPath`` / ``subPathExpr``.
"""

from __future__ import annotations

import re
from typing import Any

from apimachinery.quantity import parse_quantity
from apiserver.validation import (
    Cause,
    as_dict,
    as_dicts,
    forbidden,
    invalid_value,
    not_supported,
    required,
)

Obj = dict[str, Any]
VOLUME_SOURCES = ("configMap", "downwardAPI", "emptyDir", "hostPath", "persistentVolumeClaim", "projected", "secret")
SOURCES = ("configMap", "downwardAPI", "secret", "serviceAccountToken")
FIELD_PATHS = ("metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid")
RESOURCES = ("limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
             "requests.ephemeral-storage", "requests.memory")
_MAP_ENTRY = re.compile(r"metadata\.(labels|annotations)\['([^']+)'\]")
_CPU_DIVISORS = ("1m", "1")
_MEMORY_DIVISORS = ("1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei")
MAX_MODE = 0o777
MODE_MESSAGE = "must be a number between 0 and 0777 (octal), both inclusive"
MIN_TOKEN_SECONDS = 600


def validate_volumes(spec: Obj, path: str) -> list[Cause]:
    """The volumes and volume mounts of a pod spec at ``path`` (``spec`` or ``spec.template.spec``)."""
    causes: list[Cause] = []
    for i, volume in enumerate(as_dicts(spec.get("volumes"))):
        item_path = f"{path}.volumes[{i}]"
        for kind, body in volume.items():
            if kind == "name" or body is None:
                continue
            if kind not in VOLUME_SOURCES:
                causes.append(not_supported(f"{item_path}.{kind}", kind, VOLUME_SOURCES))
                continue
            causes += _source(kind, as_dict(body), f"{item_path}.{kind}")
    for list_name in ("initContainers", "containers"):
        for i, container in enumerate(as_dicts(spec.get(list_name))):
            for j, mount in enumerate(as_dicts(container.get("volumeMounts"))):
                causes += _sub_path(mount, f"{path}.{list_name}[{i}].volumeMounts[{j}]")
    return causes


def _source(kind: str, body: Obj, path: str) -> list[Cause]:
    match kind:
        case "configMap":
            return _keyed(body, path, "name", set()) + _mode(body, "defaultMode", path)
        case "secret":
            return _keyed(body, path, "secretName", set()) + _mode(body, "defaultMode", path)
        case "downwardAPI":
            return _downward(body, path, set()) + _mode(body, "defaultMode", path)
        case "projected":
            return _projected(body, path)
        case "persistentVolumeClaim":
            return [] if body.get("claimName") else [required(f"{path}.claimName")]
    return []


def _projected(projected: Obj, path: str) -> list[Cause]:
    causes = _mode(projected, "defaultMode", path)
    seen: set[str] = set()
    for i, source in enumerate(as_dicts(projected.get("sources"))):
        source_path = f"{path}.sources[{i}]"
        kinds = [key for key, value in source.items() if value is not None]
        if not kinds:
            causes.append(required(source_path, "must specify exactly 1 volume type"))
            continue
        causes += [forbidden(f"{source_path}.{extra}", "may not specify more than 1 volume type") for extra in kinds[1:]]
        kind = kinds[0]
        body = as_dict(source[kind])
        match kind:
            case "serviceAccountToken":
                causes += _token(body, f"{source_path}.serviceAccountToken", seen)
            case "configMap" | "secret":
                causes += _keyed(body, f"{source_path}.{kind}", "name", seen)
            case "downwardAPI":
                causes += _downward(body, f"{source_path}.downwardAPI", seen)
            case _:
                causes.append(not_supported(f"{source_path}.{kind}", kind, SOURCES))
    return causes


def _mode(obj: Obj, key: str, path: str) -> list[Cause]:
    mode = obj.get(key)
    if mode is None:
        return []
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= MAX_MODE:
        return [invalid_value(f"{path}.{key}", mode, MODE_MESSAGE)]
    return []


def relative_path_causes(value: str, path: str) -> list[Cause]:
    """Kubernetes' ``validateLocalDescendingPath``: relative, no ``..`` element."""
    causes = []
    if value.startswith("/"):
        causes.append(invalid_value(path, value, "must be a relative path"))
    if ".." in value.split("/"):
        causes.append(invalid_value(path, value, "must not contain '..'"))
    return causes


def _file(file_path: Any, path: str, seen: set[str]) -> list[Cause]:
    if not file_path:
        return [required(path)]
    text = str(file_path)
    causes = relative_path_causes(text, path)
    if not causes and text.startswith(".."):
        causes.append(invalid_value(path, text, "must not start with '..'"))
    if causes:
        return causes
    if text in seen:
        return [invalid_value(path, text, "conflicting duplicate paths")]
    seen.add(text)
    return []


def _keyed(source: Obj, path: str, name_key: str, seen: set[str]) -> list[Cause]:
    """A ConfigMap or Secret (its name, its ``items`` of key, path and mode)."""
    causes = [] if source.get(name_key) else [required(f"{path}.{name_key}")]
    for i, item in enumerate(as_dicts(source.get("items"))):
        item_path = f"{path}.items[{i}]"
        if not item.get("key"):
            causes.append(required(f"{item_path}.key"))
        causes += _file(item.get("path"), f"{item_path}.path", seen) + _mode(item, "mode", item_path)
    return causes


def _token(source: Obj, path: str, seen: set[str]) -> list[Cause]:
    causes = _file(source.get("path"), f"{path}.path", seen)
    seconds = source.get("expirationSeconds")
    if seconds is not None and isinstance(seconds, int):
        if seconds < MIN_TOKEN_SECONDS:
            causes.append(invalid_value(f"{path}.expirationSeconds", seconds,
                                        "may not specify a duration less than 10 minutes"))
        elif seconds > 2**32:
            causes.append(invalid_value(f"{path}.expirationSeconds", seconds,
                                        "may not specify a duration larger than 2^32 seconds"))
    return causes


def _downward(source: Obj, path: str, seen: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    for i, item in enumerate(as_dicts(source.get("items"))):
        item_path = f"{path}.items[{i}]"
        causes += _file(item.get("path"), f"{item_path}.path", seen) + _mode(item, "mode", item_path)
        field_ref, resource_ref = item.get("fieldRef"), item.get("resourceFieldRef")
        if field_ref is not None and resource_ref is not None:
            causes.append(invalid_value(item_path, "resource",
                                        "fieldRef and resourceFieldRef can not be specified simultaneously"))
        elif resource_ref is not None:
            causes += _resource_field(as_dict(resource_ref), f"{item_path}.resourceFieldRef")
        elif field_ref is None:
            causes.append(required(item_path, "one of fieldRef and resourceFieldRef is required"))
        else:
            causes += _field_path(as_dict(field_ref).get("fieldPath"), f"{item_path}.fieldRef.fieldPath")
    return causes


def _field_path(field_path: Any, path: str) -> list[Cause]:
    if not field_path:
        return [required(path)]
    text = str(field_path)
    if text in FIELD_PATHS or _MAP_ENTRY.fullmatch(text):
        return []
    return [not_supported(path, text, FIELD_PATHS)]


def _resource_field(ref: Obj, path: str) -> list[Cause]:
    causes = [] if ref.get("containerName") else [required(f"{path}.containerName")]
    resource = str(ref.get("resource") or "")
    if not resource:
        return [*causes, required(f"{path}.resource")]
    if resource not in RESOURCES:
        return [*causes, not_supported(f"{path}.resource", resource, RESOURCES)]
    divisor = ref.get("divisor")
    if divisor is None:
        return causes
    allowed = _CPU_DIVISORS if resource.endswith(".cpu") else _MEMORY_DIVISORS
    try:
        ok = any(parse_quantity(str(divisor)) == parse_quantity(choice) for choice in allowed)
    except ValueError:
        ok = False
    if not ok:
        message = ("only divisor's values 1m and 1 are supported with the cpu resource" if resource.endswith(".cpu")
                   else "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are "
                   "supported with the memory resource")
        causes.append(invalid_value(f"{path}.divisor", divisor, message))
    return causes


def _sub_path(mount: Obj, path: str) -> list[Cause]:
    sub_path, expr = mount.get("subPath"), mount.get("subPathExpr")
    causes: list[Cause] = []
    if sub_path and expr:
        causes.append(invalid_value(f"{path}.subPathExpr", expr, "subPathExpr and subPath are mutually exclusive"))
    if sub_path:
        causes += relative_path_causes(str(sub_path), f"{path}.subPath")
    if expr:
        causes += relative_path_causes(str(expr), f"{path}.subPathExpr")
    return causes
