"""Projected volumes: what a pod may ask for, restricted to what the kubelet writes.

A projected volume (``kube-api-access-*`` is one) is a directory of files from several sources.
The kubelet writes three kinds of them (:mod:`kubelet.tokens`): ``serviceAccountToken`` (a token
it requests for the pod and renews), ``configMap`` items and ``downwardAPI`` items naming the
pod's name, namespace or uid. Any other source (secret, clusterTrustBundle, podCertificate,
resourceFieldRef) would be silently missing in the container, so it is refused with 422 here;
so are file modes other than 0644, the only one the kubelet writes. Paths follow Kubernetes'
rules: relative, no ``..``, no two files at one path.
"""

from __future__ import annotations

from typing import Any

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
SOURCES = ("configMap", "downwardAPI", "serviceAccountToken")
FIELD_PATHS = ("metadata.name", "metadata.namespace", "metadata.uid")
FILE_MODE = 0o644
MIN_TOKEN_SECONDS = 600


def validate_projected_volumes(spec: Obj, path: str) -> list[Cause]:
    """Every projected volume of a pod spec at ``path`` (``spec`` or ``spec.template.spec``)."""
    causes: list[Cause] = []
    for i, volume in enumerate(as_dicts(spec.get("volumes"))):
        if volume.get("projected") is not None:
            causes += _projected(as_dict(volume["projected"]), f"{path}.volumes[{i}].projected")
    return causes


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
            case "configMap":
                causes += _config_map(body, f"{source_path}.configMap", seen)
            case "downwardAPI":
                causes += _downward(body, f"{source_path}.downwardAPI", seen)
            case _:
                causes.append(not_supported(f"{source_path}.{kind}", kind, SOURCES))
    return causes


def _mode(obj: Obj, key: str, path: str) -> list[Cause]:
    if obj.get(key) is None or obj[key] == FILE_MODE:
        return []
    return [forbidden(f"{path}.{key}", "projected files are written with mode 0644 (420); no other mode is supported")]


def _file(file_path: Any, path: str, seen: set[str]) -> list[Cause]:
    if not file_path:
        return [required(path)]
    text = str(file_path)
    if text.startswith("/"):
        return [invalid_value(path, text, "must be a relative path")]
    if ".." in text.split("/"):
        return [invalid_value(path, text, "must not contain '..'")]
    if text in seen:
        return [invalid_value(path, text, "conflicting duplicate paths")]
    seen.add(text)
    return []


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


def _config_map(source: Obj, path: str, seen: set[str]) -> list[Cause]:
    causes = [] if source.get("name") else [required(f"{path}.name")]
    items = as_dicts(source.get("items"))
    if not items:
        causes.append(required(f"{path}.items", "the kubelet projects ConfigMap keys named in items only"))
    for i, item in enumerate(items):
        item_path = f"{path}.items[{i}]"
        if not item.get("key"):
            causes.append(required(f"{item_path}.key"))
        causes += _file(item.get("path"), f"{item_path}.path", seen) + _mode(item, "mode", item_path)
    return causes


def _downward(source: Obj, path: str, seen: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    for i, item in enumerate(as_dicts(source.get("items"))):
        item_path = f"{path}.items[{i}]"
        causes += _file(item.get("path"), f"{item_path}.path", seen) + _mode(item, "mode", item_path)
        if item.get("resourceFieldRef") is not None:
            causes.append(forbidden(f"{item_path}.resourceFieldRef", "not supported in projected volumes"))
            continue
        field_path = as_dict(item.get("fieldRef")).get("fieldPath")
        if not field_path:
            causes.append(required(f"{item_path}.fieldRef"))
        elif field_path not in FIELD_PATHS:
            causes.append(not_supported(f"{item_path}.fieldRef.fieldPath", field_path, FIELD_PATHS))
    return causes
