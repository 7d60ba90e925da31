"""Claim protection: a claim in use by a pod is not removed until that pod is done with it.

As Kubernetes' ``pvc-protection`` controller with the ``StorageObjectInUseProtection`` admission
plugin (:mod:`apiserver.admissionplugins.storage`): every claim is created with the
``kubernetes.io/pvc-protection`` finalizer, so deleting it only marks it; this controller removes
the finalizer once no pod that is scheduled and not finished names the claim. Without it, a
claim deleted under a running pod would release its volume, and a local-path volume's directory
would be removed while the pod still writes to it.

Pods are read from the shared cache and, before the finalizer goes, from the API: a pod the
cache has not seen yet must not lose its data.
"""

from __future__ import annotations

import logging

from apimachinery.errors import ApiError
from apimachinery.models.core import Pod
from apimachinery.models.storage import PVC_PROTECTION_FINALIZER, PersistentVolumeClaim
from apimachinery.workqueue import WorkQueue
from controllers.base import NAMESPACE_INDEX, Cache, ControllerContext, Queue, key_of

log = logging.getLogger(__name__)

FINISHED = ("Succeeded", "Failed")


def claims_of(pod: Pod) -> list[str]:
    return [str(v.persistent_volume_claim["claimName"]) for v in pod.spec.volumes or []
            if v.persistent_volume_claim and v.persistent_volume_claim.get("claimName")]


def uses(pod: Pod, claim: str) -> bool:
    """Kubernetes' ``podUsesPVC``: scheduled, not finished, and naming the claim."""
    phase = pod.status.phase if pod.status else None
    return bool(pod.spec.node_name) and phase not in FINISHED and claim in claims_of(pod)


class ClaimProtection:
    name = "pvc-protection"
    workers = 1

    def __init__(self, ctx: ControllerContext, *, claims: Cache[PersistentVolumeClaim],
                 queue: Queue | None = None) -> None:
        self.client = ctx.client
        self.pods = ctx.informers.pods
        self.claims = claims
        self.queue: Queue = queue if queue is not None else WorkQueue()
        claims.add_handler(self._claim_changed, lambda old, new: self._claim_changed(new), None)
        self.pods.add_handler(None, lambda old, new: self._pod_changed(new), self._pod_changed)

    def _claim_changed(self, claim: PersistentVolumeClaim) -> None:
        if claim.metadata.deletion_timestamp is not None:
            self.queue.add(key_of(claim))

    def _pod_changed(self, pod: Pod) -> None:
        for name in claims_of(pod):
            self.queue.add(f"{pod.metadata.namespace}/{name}")

    async def sync(self, key: str) -> None:
        """Remove the finalizer of a deleted claim no pod uses any more."""
        claim = self.claims.get(key)
        if claim is None or claim.metadata.deletion_timestamp is None:
            return
        if PVC_PROTECTION_FINALIZER not in (claim.metadata.finalizers or []):
            return
        namespace, name = claim.metadata.namespace or "default", claim.metadata.name or ""
        if any(uses(pod, name) for pod in self.pods.by_index(NAMESPACE_INDEX, namespace)):
            return  # the pod's deletion brings the claim back
        live, _ = await self.client.list(Pod, namespace)
        if any(uses(pod, name) for pod in live):
            return
        released = claim.copy_deep()
        released.metadata.finalizers = [f for f in claim.metadata.finalizers or [] if f != PVC_PROTECTION_FINALIZER]
        try:
            await self.client.replace(released)
        except ApiError as err:
            if err.code not in (404, 409):  # gone, or changed: its event brings it back
                raise
