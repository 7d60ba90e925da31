"""Volume binding for the scheduler: a pod goes where its claims' volumes are (Kubernetes' VolumeBinding
and VolumeRestrictions plugins, for the volumes podvisor has).

Before a pod's filters run, :func:`pod_volumes` reads the pod's ``persistentVolumeClaim`` volumes
from the informer caches and decides, once per cycle:

* a claim that does not exist, is being deleted, or is unbound with an ``Immediate`` class (its
  volume is the binder's to find, not ours) makes the pod unschedulable on every node, with
  Kubernetes' words (``persistentvolumeclaim "data" not found``, ``pod has unbound immediate
  PersistentVolumeClaims``); so does a ``ReadWriteOncePod`` claim another pod already uses;
* a bound claim's volume with a required ``nodeAffinity`` (every local-path volume has one) admits
  only the nodes that affinity selects (``node(s) had volume node affinity conflict``);
* an unbound claim of a ``WaitForFirstConsumer`` class is left to the pod: the node chosen for it
  is written to the claim as ``volume.kubernetes.io/selected-node`` just before the binding
  (:func:`select_node`), and the provisioner makes the volume there. A claim that already
  carries a selected node (an earlier pod chose it, provisioning is under way) holds later
  pods to that node.

The scheduler does not wait for the volume to be bound before binding the pod, as Kubernetes'
PreBind does: the kubelet waits instead (the pod stays ContainerCreating until its claim is bound).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from apimachinery.models.core import Pod
from apimachinery.models.storage import (
    IMMEDIATE,
    RWOP,
    SELECTED_NODE_ANNOTATION,
    WAIT_FOR_FIRST_CONSUMER,
    PersistentVolume,
    PersistentVolumeClaim,
    StorageClass,
)
from scheduler.podinfo import NodeSelectorTerm, required_node_affinity

REASON_VOLUME_AFFINITY = "node(s) had volume node affinity conflict"
REASON_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
REASON_RWOP = "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode"


class VolumeLister(Protocol):
    """The caches the scheduler reads claims, volumes and classes from (informers, or a test's dicts)."""

    def claim(self, namespace: str, name: str) -> PersistentVolumeClaim | None: ...

    def volume(self, name: str) -> PersistentVolume | None: ...

    def storage_class(self, name: str) -> StorageClass | None: ...


class _Getter(Protocol):
    def get(self, key: str) -> Any: ...


@dataclass(frozen=True)
class InformerVolumes:
    """:class:`VolumeLister` over three informer caches."""

    claims: _Getter
    volumes: _Getter
    classes: _Getter

    def claim(self, namespace: str, name: str) -> PersistentVolumeClaim | None:
        found: PersistentVolumeClaim | None = self.claims.get(f"{namespace}/{name}")
        return found

    def volume(self, name: str) -> PersistentVolume | None:
        found: PersistentVolume | None = self.volumes.get(name)
        return found

    def storage_class(self, name: str) -> StorageClass | None:
        found: StorageClass | None = self.classes.get(name)
        return found


@dataclass(frozen=True)
class PodVolumes:
    """What the pod's claims ask of its node."""

    error: str | None = None  # unschedulable everywhere, with this reason
    affinities: tuple[tuple[NodeSelectorTerm, ...], ...] = ()  # each bound volume's terms (any one matches)
    selected_node: str | None = None  # an unbound claim's node, chosen by an earlier pod
    to_select: tuple[str, ...] = ()  # names of unbound WaitForFirstConsumer claims to annotate

    @property
    def constrains(self) -> bool:
        return bool(self.affinities) or self.selected_node is not None

    def admits(self, node: str, labels: dict[str, str]) -> bool:
        if self.selected_node is not None and node != self.selected_node:
            return False
        return all(any(term.matches(labels, node) for term in terms) for terms in self.affinities)


def claim_names(pod: Pod) -> list[str]:
    """The claims the pod's volumes name, in order."""
    out = []
    for volume in pod.spec.volumes or []:
        source = volume.persistent_volume_claim
        if source and source.get("claimName"):
            out.append(str(source["claimName"]))
    return out


def pod_volumes(pod: Pod, lister: VolumeLister, *,
                placed: Callable[[], Iterable[Pod]] = lambda: ()) -> PodVolumes | None:
    """The pod's volume constraints; None when it mounts no claim. ``placed`` lists the pods
    already on nodes (assumed ones too), read only for a ReadWriteOncePod claim."""
    names = claim_names(pod)
    if not names:
        return None
    namespace = pod.metadata.namespace or "default"
    affinities: list[tuple[NodeSelectorTerm, ...]] = []
    selected: set[str] = set()
    to_select: list[str] = []
    for name in names:
        claim = lister.claim(namespace, name)
        if claim is None:
            return PodVolumes(error=f'persistentvolumeclaim "{name}" not found')
        if claim.metadata.deletion_timestamp is not None:
            return PodVolumes(error=f'persistentvolumeclaim "{name}" is being deleted')
        if RWOP in (claim.spec.access_modes or ()) and _used_elsewhere(pod, namespace, name, placed()):
            return PodVolumes(error=REASON_RWOP)
        if claim.spec.volume_name:
            volume = lister.volume(claim.spec.volume_name)
            if volume is None:
                return PodVolumes(error=f'pvc {name}: bound to non-existent pv {claim.spec.volume_name}')
            affinity = volume.spec.node_affinity
            if affinity is not None and affinity.required is not None:
                terms = required_node_affinity({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                                                                 affinity.required}})
                affinities.append(terms or ())
            continue
        class_name = claim.spec.storage_class_name or ""
        sc = lister.storage_class(class_name) if class_name else None
        if class_name and sc is None:
            return PodVolumes(error=f'storageclass.storage.k8s.io "{class_name}" not found')
        if (sc.volume_binding_mode if sc is not None else IMMEDIATE) != WAIT_FOR_FIRST_CONSUMER:
            return PodVolumes(error=REASON_UNBOUND_IMMEDIATE)
        chosen = (claim.metadata.annotations or {}).get(SELECTED_NODE_ANNOTATION)
        if chosen:
            selected.add(chosen)
        else:
            to_select.append(name)
    if len(selected) > 1:
        return PodVolumes(error=REASON_VOLUME_AFFINITY)
    return PodVolumes(affinities=tuple(affinities), selected_node=selected.pop() if selected else None,
                      to_select=tuple(to_select))


def _used_elsewhere(pod: Pod, namespace: str, claim: str, others: Iterable[Pod]) -> bool:
    for other in others:
        if other.metadata.uid == pod.metadata.uid or (other.metadata.namespace or "default") != namespace:
            continue
        if claim in claim_names(other):
            return True
    return False


def selected_node_patch(node: str) -> dict[str, Any]:
    """The merge patch recording the node chosen for a claim's first consumer."""
    return {"metadata": {"annotations": {SELECTED_NODE_ANNOTATION: node}}}
