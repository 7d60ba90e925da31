"""Storage admission: ``DefaultStorageClass``, ``StorageObjectInUseProtection`` and ``PersistentVolumeClaimResize``.

Kubernetes' ``plugin/pkg/admission/storage/storageclass/setdefault``: a claim created without
``storageClassName`` gets the default class (the one annotated
``storageclass.kubernetes.io/is-default-class: "true"``; of several, the newest, then by name, as
Kubernetes picks since 1.26). ``storageClassName: ""`` asks for a volume without a class and is
left alone. ``storageobjectinuseprotection``: a new claim gets the ``kubernetes.io/pvc-protection``
finalizer (removed by :mod:`controllers.pvcprotection` once no pod uses it).
``plugin/pkg/admission/storage/persistentvolume/resize``: a bound claim may grow only
when its class says ``allowVolumeExpansion: true``.
"""

from __future__ import annotations

from typing import Any

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apimachinery.models.storage import DEFAULT_CLASS_ANNOTATION, PVC_PROTECTION_FINALIZER
from apiserver.admissionplugins.base import CREATE, UPDATE, Attributes
from apiserver.registry import list_prefix, object_key
from apiserver.store.base import Store

Obj = dict[str, Any]
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"


def default_class(classes: list[Obj]) -> Obj | None:
    """The default StorageClass among ``classes``: the newest marked one, ties by name."""
    marked = [sc for sc in classes if "true" in (
        ((sc.get("metadata") or {}).get("annotations") or {}).get(key) for key in
        (DEFAULT_CLASS_ANNOTATION, BETA_DEFAULT_CLASS_ANNOTATION))]
    if not marked:
        return None
    def order(sc: Obj) -> tuple[str, str]:
        meta = sc.get("metadata") or {}
        return (str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))
    newest = max(order(sc)[0] for sc in marked)
    return min((sc for sc in marked if order(sc)[0] == newest), key=lambda sc: order(sc)[1])


class StorageAdmission:
    """Reads StorageClasses straight from the store (a handful of objects)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _classes(self) -> list[Obj]:
        return [kv.value for kv in self.store.list(list_prefix(res.STORAGECLASSES, None)).items]

    def _class(self, name: str) -> Obj | None:
        kv = self.store.get(object_key(res.STORAGECLASSES, None, name))
        return kv.value if kv is not None else None

    def admit(self, attrs: Attributes) -> list[str]:
        if attrs.operation != CREATE or attrs.rt.kind != "PersistentVolumeClaim" or attrs.subresource:
            return []
        meta = (attrs.obj or {}).setdefault("metadata", {})
        if isinstance(meta, dict) and PVC_PROTECTION_FINALIZER not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), PVC_PROTECTION_FINALIZER]
        spec = (attrs.obj or {}).setdefault("spec", {})
        if not isinstance(spec, dict) or spec.get("storageClassName") is not None:
            return []
        found = default_class(self._classes())
        if found is not None:
            spec["storageClassName"] = found["metadata"]["name"]
        return []

    def validate(self, attrs: Attributes) -> list[str]:
        if (attrs.operation != UPDATE or attrs.rt.kind != "PersistentVolumeClaim" or attrs.subresource
                or attrs.obj is None or attrs.old is None):
            return []
        new_spec, old_spec = attrs.obj.get("spec") or {}, attrs.old.get("spec") or {}
        requests = ((new_spec.get("resources") or {}).get("requests") or {}).get("storage")
        if requests == ((old_spec.get("resources") or {}).get("requests") or {}).get("storage"):
            return []
        if ((attrs.old.get("status") or {}).get("phase")) != "Bound":
            return []  # validation refuses the change to an unbound claim
        sc = self._class(str(old_spec.get("storageClassName") or ""))
        if sc is None or not sc.get("allowVolumeExpansion"):
            raise ApiError(403, "Forbidden",
                           f'persistentvolumeclaims "{attrs.name}" is forbidden: only dynamically provisioned pvc '
                           "can be resized and the storageclass that provisions the pvc must support resize",
                           name=attrs.name, kind="persistentvolumeclaims")
        return []
