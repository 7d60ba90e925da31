"""Storage kinds: PersistentVolume and PersistentVolumeClaim (core/v1) and StorageClass (storage.k8s.io/v1).

All three live here, apart from :mod:`apimachinery.models.core`, because they are one concept:
a claim asks for storage of a class, a volume is storage of the node, and the binder
(:mod:`controllers.persistentvolume`) and the kubelet read them together. Field coverage follows
Kubernetes' types; volume sources podvisor cannot serve (nfs, csi, ...) are accepted by the model
so that the server can refuse them by name (:mod:`apiserver.strategies.storage`).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import AnyDict, K8sModel, TypedObject
from apimachinery.models.core import HostPathVolumeSource, ObjectReference
from apimachinery.models.meta import Condition, LabelSelector, ObjectMeta

# Phases (Kubernetes' PersistentVolumePhase / PersistentVolumeClaimPhase).
PENDING, AVAILABLE, BOUND, RELEASED, FAILED, LOST = "Pending", "Available", "Bound", "Released", "Failed", "Lost"
RWO, ROX, RWX, RWOP = "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"
ACCESS_MODES = (RWO, ROX, RWX, RWOP)
RETAIN, DELETE, RECYCLE = "Retain", "Delete", "Recycle"
IMMEDIATE, WAIT_FOR_FIRST_CONSUMER = "Immediate", "WaitForFirstConsumer"
FILESYSTEM, BLOCK = "Filesystem", "Block"

#: The built-in provisioner (the k3s local-path model) and its default class.
LOCAL_PATH_PROVISIONER = "podvisor.io/local-path"
LOCAL_PATH_CLASS = "local-path"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
#: The node the scheduler chose for a claim's first pod (WaitForFirstConsumer).
SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"
#: Who provisions a claim / provisioned a volume, as Kubernetes' external provisioners record it.
STORAGE_PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner"
PROVISIONED_BY_ANNOTATION = "pv.kubernetes.io/provisioned-by"
BIND_COMPLETED_ANNOTATION = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER_ANNOTATION = "pv.kubernetes.io/bound-by-controller"
#: Held on every claim until no pod uses it (Kubernetes' StorageObjectInUseProtection).
PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection"
#: Held on a local-path volume by the kubelet that made its directory, until it removed it.
LOCAL_PATH_CLEANUP_FINALIZER = "podvisor.io/local-path-cleanup"
HOSTNAME_LABEL = "kubernetes.io/hostname"
#: Where a node's kubelet keeps local-path volumes, advertised on its Node for the provisioner.
LOCAL_PATH_ROOT_ANNOTATION = "podvisor.io/local-path-root"


class LocalVolumeSource(K8sModel):
    """A directory of one node (requires nodeAffinity naming that node)."""

    path: str
    fs_type: str | None = None


class VolumeNodeAffinity(K8sModel):
    """The nodes a volume can be used from; ``required`` is a NodeSelector (nodeSelectorTerms)."""

    required: AnyDict | None = None


class PersistentVolumeSpec(K8sModel):
    """A piece of storage: its size, how it may be mounted, and where it is."""

    capacity: dict[str, str] | None = None
    """Its size: ``storage``."""
    access_modes: list[str] | None = None
    persistent_volume_reclaim_policy: str | None = None
    """What happens once its claim is deleted: Retain or Delete."""
    storage_class_name: str | None = None
    volume_mode: str | None = None
    claim_ref: ObjectReference | None = None
    """The claim it is bound (or reserved) to."""
    host_path: HostPathVolumeSource | None = None
    local: LocalVolumeSource | None = None
    node_affinity: VolumeNodeAffinity | None = None
    mount_options: list[str] | None = None
    volume_attributes_class_name: str | None = None


class PersistentVolumeStatus(K8sModel):
    phase: str | None = None
    """Pending, Available, Bound, Released or Failed."""
    message: str | None = None
    reason: str | None = None
    last_phase_transition_time: str | None = None


class PersistentVolume(TypedObject):
    """Storage of the cluster, provisioned by an administrator or dynamically for a claim."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "PersistentVolume"
    api_version: str = "v1"
    kind: str = "PersistentVolume"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PersistentVolumeSpec = Field(default_factory=PersistentVolumeSpec)
    status: PersistentVolumeStatus | None = None


class VolumeResourceRequirements(K8sModel):
    limits: dict[str, str] | None = None
    requests: dict[str, str] | None = None
    """``storage``: the size asked for."""


class PersistentVolumeClaimSpec(K8sModel):
    """What a pod's storage must be: size, access modes, class, and optionally which volume."""

    access_modes: list[str] | None = None
    resources: VolumeResourceRequirements | None = None
    storage_class_name: str | None = None
    """The class; unset takes the default class, "" asks for a volume without a class."""
    volume_name: str | None = None
    """The volume it is bound to (or asks for)."""
    volume_mode: str | None = None
    selector: LabelSelector | None = None
    """Labels a pre-provisioned volume must have."""
    data_source: AnyDict | None = None
    data_source_ref: AnyDict | None = None
    volume_attributes_class_name: str | None = None


class PersistentVolumeClaimStatus(K8sModel):
    phase: str | None = None
    """Pending, Bound or Lost."""
    access_modes: list[str] | None = None
    capacity: dict[str, str] | None = None
    conditions: list[Condition] | None = None
    allocated_resources: dict[str, str] | None = None


class PersistentVolumeClaim(TypedObject):
    """A request for storage by a user, bound to one PersistentVolume."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "PersistentVolumeClaim"
    api_version: str = "v1"
    kind: str = "PersistentVolumeClaim"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PersistentVolumeClaimSpec = Field(default_factory=PersistentVolumeClaimSpec)
    status: PersistentVolumeClaimStatus | None = None


class StorageClass(TypedObject):
    """A class of storage: who provisions it, with what parameters, and when volumes are bound."""

    API_VERSION: ClassVar[str] = "storage.k8s.io/v1"
    KIND: ClassVar[str] = "StorageClass"
    api_version: str = "storage.k8s.io/v1"
    kind: str = "StorageClass"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    provisioner: str = ""
    parameters: dict[str, str] | None = None
    reclaim_policy: str | None = None
    """Delete (the default) or Retain, for the volumes it provisions."""
    volume_binding_mode: str | None = None
    """Immediate (the default) or WaitForFirstConsumer."""
    allow_volume_expansion: bool | None = None
    mount_options: list[str] | None = None
    allowed_topologies: list[AnyDict] | None = None


def claim_request(claim: PersistentVolumeClaim) -> str | None:
    """The storage the claim asks for (``resources.requests.storage``)."""
    requests = claim.spec.resources.requests if claim.spec.resources else None
    return (requests or {}).get("storage")


def volume_node(volume: PersistentVolume) -> str | None:
    """The one node a volume's required nodeAffinity names by hostname, if it names exactly one."""
    affinity = volume.spec.node_affinity
    terms = ((affinity.required if affinity else None) or {}).get("nodeSelectorTerms") or []
    names: set[str] = set()
    for term in terms:
        for expr in (term or {}).get("matchExpressions") or []:
            if expr.get("key") == HOSTNAME_LABEL and expr.get("operator") == "In":
                names.update(expr.get("values") or [])
    return names.pop() if len(names) == 1 else None
