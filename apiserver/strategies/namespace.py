"""Namespaces: the name label, the ``kubernetes`` finalizer and the Active phase they start with.

Deleting a namespace deletes what it holds; the registry does that part (``_delete_namespace``)
until namespace deletion becomes graceful.
"""

from __future__ import annotations

from apiserver.defaults import sub, unset
from apiserver.strategies.base import Obj, Strategy

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _default_namespace(namespace: Obj) -> None:
    metadata = sub(namespace, "metadata")
    if metadata is not None and metadata.get("name") and (labels := sub(metadata, "labels")) is not None:
        labels[NAMESPACE_NAME_LABEL] = metadata["name"]
    spec = sub(namespace, "spec")
    if spec is not None and spec.get("finalizers") is None:
        spec["finalizers"] = ["kubernetes"]
    status = sub(namespace, "status")
    if status is not None:
        unset(status, "phase", "Active")


class NamespaceStrategy(Strategy):
    keeps_status_on_create = True
    deletes_contents = True

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default_namespace(obj)


STRATEGY = NamespaceStrategy("Namespace")
