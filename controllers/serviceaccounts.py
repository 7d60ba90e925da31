"""Two per-namespace publishers: the ``default`` ServiceAccount and the ``kube-root-ca.crt`` ConfigMap.

As Kubernetes' serviceaccounts-controller and root-ca-cert-publisher: every namespace that is
not terminating has a ServiceAccount ``default`` and a ConfigMap ``kube-root-ca.crt`` whose
``ca.crt`` is the cluster CA, which pods read to verify the API server. Both are keyed by
namespace, so a namespace created later gets them, and deleting either (or editing the CA out
of the ConfigMap) brings it back: the delete or update event enqueues the namespace again.
"""

from __future__ import annotations

import logging
from typing import Any

from apimachinery.errors import ApiError
from apimachinery.models.authentication import ServiceAccount
from apimachinery.models.core import ConfigMap, Namespace
from apimachinery.models.meta import ObjectMeta
from apimachinery.serviceaccounts import CA_FILE, DEFAULT_SERVICE_ACCOUNT, ROOT_CA_CONFIGMAP
from apimachinery.workqueue import WorkQueue
from controllers.base import Cache, ControllerContext, Queue

log = logging.getLogger(__name__)

DESCRIPTION_ANNOTATION = "kubernetes.io/description"
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the "
    "internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes "
    "clusters."
)


def _live(namespace: Namespace | None) -> bool:
    return namespace is not None and namespace.metadata.deletion_timestamp is None and (
        namespace.status is None or namespace.status.phase != "Terminating")


class _PerNamespace:
    """Enqueues a namespace when it appears or changes, or when its object of ``name`` changes."""

    name: str
    workers = 1

    def __init__(self, ctx: ControllerContext, objects: Cache[Any], *, queue: Queue | None = None) -> None:
        self.client = ctx.client
        self.namespaces = ctx.informers.namespaces
        self.objects = objects
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self.namespaces.add_handler(self._on_namespace, lambda old, new: self._on_namespace(new))
        self.objects.add_handler(None, lambda old, new: self._on_object(new), self._on_object)

    def _on_namespace(self, namespace: Namespace) -> None:
        self.queue.add(namespace.metadata.name or "")

    def _on_object(self, obj: Any) -> None:
        if obj.metadata.namespace:
            self.queue.add(obj.metadata.namespace)

    async def _create(self, obj: Any, namespace: str) -> None:
        try:
            await self.client.create(obj, namespace)
        except ApiError as err:
            if err.reason not in ("AlreadyExists", "Forbidden", "NotFound"):  # raced, or the namespace is going
                raise


class ServiceAccountsController(_PerNamespace):
    name = "serviceaccount"

    async def sync(self, key: str) -> None:
        """Create the namespace's ``default`` ServiceAccount when it is missing."""
        if not _live(self.namespaces.get(key)) or self.objects.get(f"{key}/{DEFAULT_SERVICE_ACCOUNT}") is not None:
            return
        await self._create(ServiceAccount(metadata=ObjectMeta(name=DEFAULT_SERVICE_ACCOUNT)), key)


class RootCAPublisher(_PerNamespace):
    name = "root-ca-cert-publisher"

    def __init__(self, ctx: ControllerContext, configmaps: Cache[ConfigMap], *, root_ca: str,
                 queue: Queue | None = None) -> None:
        super().__init__(ctx, configmaps, queue=queue)
        self.root_ca = root_ca

    def _on_object(self, obj: Any) -> None:
        if obj.metadata.name == ROOT_CA_CONFIGMAP:
            super()._on_object(obj)

    async def sync(self, key: str) -> None:
        """Create or repair the namespace's ``kube-root-ca.crt``."""
        if not _live(self.namespaces.get(key)):
            return
        current = self.objects.get(f"{key}/{ROOT_CA_CONFIGMAP}")
        if current is None:
            wanted = ConfigMap(metadata=ObjectMeta(name=ROOT_CA_CONFIGMAP,
                                                   annotations={DESCRIPTION_ANNOTATION: ROOT_CA_DESCRIPTION}),
                               data={CA_FILE: self.root_ca})
            await self._create(wanted, key)
            return
        if (current.data or {}) == {CA_FILE: self.root_ca}:
            return
        fixed = current.copy_deep()
        fixed.data = {CA_FILE: self.root_ca}
        fixed.binary_data = None
        try:
            await self.client.replace(fixed)
        except ApiError as err:
            if err.code not in (404, 409):  # gone or changed: its event brings the key back
                raise
