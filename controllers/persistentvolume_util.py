"""What the PersistentVolume controller decides without I/O: which volume serves a claim, and the
volume the local-path provisioner makes (see :mod:`controllers.persistentvolume`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apimachinery.models.core import ObjectReference
from apimachinery.models.meta import ObjectMeta
from apimachinery.models.storage import (
    AVAILABLE,
    DELETE,
    FILESYSTEM,
    HOSTNAME_LABEL,
    LOCAL_PATH_PROVISIONER,
    PENDING,
    PROVISIONED_BY_ANNOTATION,
    LocalVolumeSource,
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeSpec,
    StorageClass,
    VolumeNodeAffinity,
    claim_request,
    volume_node,
)
from apimachinery.quantity import parse_quantity
from apimachinery.selectors import selector_from_model


def storage_of(values: dict[str, str] | None) -> Decimal | None:
    try:
        return parse_quantity((values or {})["storage"])
    except (KeyError, ValueError):
        return None


def claim_class(claim: PersistentVolumeClaim) -> str:
    return claim.spec.storage_class_name or ""


def volume_matches(volume: PersistentVolume, claim: PersistentVolumeClaim, *, node: str | None) -> bool:
    """Whether ``volume`` can serve ``claim`` (Kubernetes' ``checkVolumeSatisfyClaim`` and
    ``FindMatchingVolume``): class, access modes, size, selector, volumeMode, and when the claim
    waits for its consumer, usable from the chosen ``node``."""
    spec = volume.spec
    if (spec.storage_class_name or "") != claim_class(claim):
        return False
    if not set(claim.spec.access_modes or ()) <= set(spec.access_modes or ()):
        return False
    want, have = storage_of({"storage": claim_request(claim) or "0"}), storage_of(spec.capacity)
    if want is None or have is None or have < want:
        return False
    if (spec.volume_mode or FILESYSTEM) != (claim.spec.volume_mode or FILESYSTEM):
        return False
    if claim.spec.selector is not None and not selector_from_model(claim.spec.selector).matches(
            volume.metadata.labels or {}):
        return False
    return node is None or spec.node_affinity is None or volume_node(volume) in (None, node)


def find_volume(volumes: list[PersistentVolume], claim: PersistentVolumeClaim, *,
                node: str | None) -> PersistentVolume | None:
    """The volume to bind: one pre-bound to this claim, else the smallest free match."""
    free: list[PersistentVolume] = []
    for volume in volumes:
        if volume.metadata.deletion_timestamp is not None or not volume_matches(volume, claim, node=node):
            continue
        ref = volume.spec.claim_ref
        if ref is not None:
            if ref.name == claim.metadata.name and ref.namespace == claim.metadata.namespace and (
                    not ref.uid or ref.uid == claim.metadata.uid):
                return volume
            continue
        if (volume.status.phase if volume.status else None) in (AVAILABLE, PENDING, None):
            free.append(volume)
    return min(free, key=lambda v: (storage_of(v.spec.capacity) or Decimal(0), v.metadata.name or ""), default=None)


def claim_ref(claim: PersistentVolumeClaim) -> ObjectReference:
    meta = claim.metadata
    return ObjectReference(kind="PersistentVolumeClaim", api_version="v1", namespace=meta.namespace, name=meta.name,
                           uid=meta.uid, resource_version=meta.resource_version)


def local_path_volume(claim: PersistentVolumeClaim, sc: StorageClass, *, node: str, root: str) -> PersistentVolume:
    """The volume the local-path provisioner makes for ``claim`` on ``node``."""
    meta = claim.metadata
    name = f"pvc-{meta.uid}"
    return PersistentVolume(
        metadata=ObjectMeta(name=name, annotations={PROVISIONED_BY_ANNOTATION: LOCAL_PATH_PROVISIONER}),
        spec=PersistentVolumeSpec(
            capacity={"storage": claim_request(claim) or "0"},
            access_modes=list(claim.spec.access_modes or ()),
            persistent_volume_reclaim_policy=sc.reclaim_policy or DELETE,
            storage_class_name=sc.metadata.name,
            volume_mode=FILESYSTEM,
            claim_ref=claim_ref(claim),
            local=LocalVolumeSource(path=f"{root.rstrip('/')}/{name}_{meta.namespace}_{meta.name}"),
            node_affinity=VolumeNodeAffinity(required={"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}]}),
        ),
    )


def phase_of(obj: Any) -> str | None:
    return obj.status.phase if obj.status is not None else None


def refers_to(volume: PersistentVolume, claim: PersistentVolumeClaim) -> bool:
    ref = volume.spec.claim_ref
    return (ref is not None and ref.name == claim.metadata.name and ref.namespace == claim.metadata.namespace
            and ref.uid == claim.metadata.uid)
