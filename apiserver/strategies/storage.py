"""PersistentVolumes, PersistentVolumeClaims and StorageClasses: what podvisor's storage can honour.

Kubernetes' ``ValidatePersistentVolume``, ``ValidatePersistentVolumeClaim(Update)``
(``pkg/apis/core/validation``) and ``ValidateStorageClass(Update)``
(``pkg/apis/storage/validation``), narrowed to what the kubelet can serve: a volume is a
directory of a node (``hostPath`` or ``local``), mounted as a filesystem. Any other volume source
or ``volumeMode: Block`` would be stored and then never work, so it is refused with 422 naming the
field; so is the deprecated ``Recycle`` reclaim policy. A claim's spec is immutable except that
the binder fills in ``volumeName`` once and that a bound claim's ``resources.requests`` may grow
(whether its class allows expansion is admission's question: :mod:`apiserver.admissionplugins.storage`).
"""

from __future__ import annotations

import copy
from decimal import Decimal

from apimachinery.models.storage import (
    ACCESS_MODES,
    BLOCK,
    BOUND,
    DELETE,
    FILESYSTEM,
    IMMEDIATE,
    RECYCLE,
    RETAIN,
    RWOP,
    WAIT_FOR_FIRST_CONSUMER,
)
from apimachinery.quantity import parse_quantity
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import (
    FIELD_IMMUTABLE,
    as_dict,
    as_dicts,
    forbidden,
    invalid_value,
    not_supported,
    required,
    validate_label_selector,
)

PV_SOURCES = ("hostPath", "local")
#: Every other source Kubernetes knows; named so that a manifest with one is refused, not stored.
OTHER_PV_SOURCES = ("awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume",
                    "flocker", "gcePersistentDisk", "glusterfs", "iscsi", "nfs", "photonPersistentDisk",
                    "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume")
RECLAIM_POLICIES = (RETAIN, DELETE)
BINDING_MODES = (IMMEDIATE, WAIT_FOR_FIRST_CONSUMER)
PVC_IMMUTABLE = ("spec is immutable after creation except resources.requests and volumeAttributesClassName "
                 "for bound claims")
_BLOCK_MESSAGE = "podvisor mounts volumes as filesystems only"


# --- shared pieces -------------------------------------------------------------------------------


def _access_modes(modes: object, path: str) -> list[Cause]:
    listed = [str(m) for m in modes] if isinstance(modes, list) else []
    if not listed:
        return [required(path, "at least 1 access mode is required")]
    causes = [not_supported(path, mode, ACCESS_MODES) for mode in listed if mode not in ACCESS_MODES]
    if RWOP in listed and len(set(listed)) > 1:
        causes.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return causes


def _volume_mode(spec: Obj, path: str) -> list[Cause]:
    mode = spec.get("volumeMode")
    if mode is None or mode == FILESYSTEM:
        return []
    if mode == BLOCK:
        return [forbidden(path, _BLOCK_MESSAGE)]
    return [not_supported(path, mode, (FILESYSTEM,))]


def _storage(values: object, path: str, *, positive: bool = True) -> tuple[Decimal | None, list[Cause]]:
    raw = as_dict(values).get("storage")
    if raw is None:
        return None, [required(path)]
    try:
        quantity = parse_quantity(raw)
    except ValueError as err:
        return None, [invalid_value(path, raw, str(err).split(": ", 1)[-1])]
    if positive and quantity <= 0:
        return quantity, [invalid_value(path, raw, "must be greater than zero")]
    return quantity, []


def storage_bytes(values: object) -> Decimal | None:
    """``storage`` of a capacity or requests map, None when missing or not a quantity."""
    try:
        return parse_quantity(as_dict(values)["storage"])
    except (KeyError, ValueError, TypeError):
        return None


# --- PersistentVolume ----------------------------------------------------------------------------


def _validate_pv(pv: Obj) -> list[Cause]:
    spec = as_dict(pv.get("spec"))
    causes = _access_modes(spec.get("accessModes"), "spec.accessModes")
    if not spec.get("capacity"):
        causes.append(required("spec.capacity"))
    else:
        causes += _storage(spec.get("capacity"), "spec.capacity[storage]")[1]
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy == RECYCLE:
        causes.append(forbidden("spec.persistentVolumeReclaimPolicy", "Recycle is deprecated; use Retain or Delete"))
    elif policy is not None and policy not in RECLAIM_POLICIES:
        causes.append(not_supported("spec.persistentVolumeReclaimPolicy", policy, RECLAIM_POLICIES))
    causes += _volume_mode(spec, "spec.volumeMode")
    causes += _pv_source(spec)
    return causes


def _pv_source(spec: Obj) -> list[Cause]:
    causes = [not_supported(f"spec.{other}", other, PV_SOURCES) for other in OTHER_PV_SOURCES
              if spec.get(other) is not None]
    given = [source for source in PV_SOURCES if spec.get(source) is not None]
    if not given and not causes:
        causes.append(required("spec", "must specify a volume type"))
    for extra in given[1:]:
        causes.append(forbidden(f"spec.{extra}", "may not specify more than 1 volume type"))
    for source in given:
        path = as_dict(spec.get(source)).get("path")
        if not path:
            causes.append(required(f"spec.{source}.path"))
        elif not str(path).startswith("/"):
            causes.append(invalid_value(f"spec.{source}.path", path, "must be an absolute path"))
        elif ".." in str(path).split("/"):
            causes.append(invalid_value(f"spec.{source}.path", path, "must not contain '..'"))
    terms = as_dicts(as_dict(as_dict(spec.get("nodeAffinity")).get("required")).get("nodeSelectorTerms"))
    if spec.get("local") is not None and not terms:
        causes.append(required("spec.nodeAffinity", "Local volume requires node affinity"))
    return causes


class PersistentVolumeStrategy(Strategy):
    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            spec.setdefault("persistentVolumeReclaimPolicy", RETAIN)
            spec.setdefault("volumeMode", FILESYSTEM)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        obj["status"] = {"phase": "Pending"}

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_pv(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
        causes = []
        for source in PV_SOURCES:  # where the data is may not move under a bound claim
            if old_spec.get(source) is not None and new_spec.get(source) != old_spec.get(source):
                causes.append(invalid_value(f"spec.{source}", new_spec.get(source), FIELD_IMMUTABLE))
        if old_spec.get("nodeAffinity") and new_spec.get("nodeAffinity") != old_spec.get("nodeAffinity"):
            causes.append(invalid_value("spec.nodeAffinity", new_spec.get("nodeAffinity"), FIELD_IMMUTABLE))
        if new_spec.get("volumeMode") != old_spec.get("volumeMode"):
            causes.append(invalid_value("spec.volumeMode", new_spec.get("volumeMode"), FIELD_IMMUTABLE))
        return causes


# --- PersistentVolumeClaim -----------------------------------------------------------------------


def _validate_pvc(pvc: Obj) -> list[Cause]:
    spec = as_dict(pvc.get("spec"))
    causes = _access_modes(spec.get("accessModes"), "spec.accessModes")
    causes += _storage(as_dict(spec.get("resources")).get("requests"), "spec.resources[storage]")[1]
    causes += _volume_mode(spec, "spec.volumeMode")
    if spec.get("selector") is not None:
        causes += validate_label_selector(as_dict(spec.get("selector")), "spec.selector")
    for source in ("dataSource", "dataSourceRef"):
        if spec.get(source) is not None:
            causes.append(forbidden(f"spec.{source}", "podvisor cannot populate a volume from a data source"))
    return causes


def _validate_pvc_update(new: Obj, old: Obj) -> list[Cause]:
    new_spec, old_spec = copy.deepcopy(as_dict(new.get("spec"))), as_dict(old.get("spec"))
    if not old_spec.get("volumeName"):
        new_spec["volumeName"] = old_spec.get("volumeName")  # the binder sets it once
    bound = as_dict(old.get("status")).get("phase") == BOUND
    causes: list[Cause] = []
    new_requests = as_dict(as_dict(new_spec.get("resources")).get("requests"))
    old_requests = as_dict(as_dict(old_spec.get("resources")).get("requests"))
    if bound and new_requests != old_requests:
        grown, was = storage_bytes(new_requests), storage_bytes(old_requests)
        capacity = storage_bytes(as_dict(old.get("status")).get("capacity"))
        floor = max(v for v in (was, capacity) if v is not None) if was is not None or capacity is not None else None
        if grown is not None and floor is not None and grown < floor:
            causes.append(forbidden("spec.resources.requests.storage", "field can not be less than status.capacity"))
        new_spec.setdefault("resources", {})["requests"] = old_requests
    for key in ("volumeAttributesClassName",):
        new_spec[key] = old_spec.get(key) if bound else new_spec.get(key)
    cleaned = {k: v for k, v in new_spec.items() if v is not None}
    if cleaned != {k: v for k, v in old_spec.items() if v is not None}:
        causes.append(forbidden("spec", PVC_IMMUTABLE))
    return causes


class PersistentVolumeClaimStrategy(Strategy):
    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            spec.setdefault("volumeMode", FILESYSTEM)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        obj["status"] = {"phase": "Pending"}

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_pvc(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_pvc_update(new, old)


# --- StorageClass --------------------------------------------------------------------------------


def _validate_storage_class(sc: Obj) -> list[Cause]:
    causes: list[Cause] = []
    if not sc.get("provisioner"):
        causes.append(required("provisioner"))
    policy = sc.get("reclaimPolicy")
    if policy == RECYCLE:
        causes.append(forbidden("reclaimPolicy", "Recycle is deprecated; use Retain or Delete"))
    elif policy not in RECLAIM_POLICIES:
        causes.append(not_supported("reclaimPolicy", policy, RECLAIM_POLICIES))
    if sc.get("volumeBindingMode") not in BINDING_MODES:
        causes.append(not_supported("volumeBindingMode", sc.get("volumeBindingMode"), BINDING_MODES))
    return causes


class StorageClassStrategy(Strategy):
    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        obj.setdefault("reclaimPolicy", DELETE)
        obj.setdefault("volumeBindingMode", IMMEDIATE)

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_storage_class(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return [invalid_value(key, new.get(key), FIELD_IMMUTABLE)
                for key in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")
                if new.get(key) != old.get(key)]


PERSISTENT_VOLUME = PersistentVolumeStrategy("PersistentVolume")
PERSISTENT_VOLUME_CLAIM = PersistentVolumeClaimStrategy("PersistentVolumeClaim")
STORAGE_CLASS = StorageClassStrategy("StorageClass")
