"""Namespaces: the name label, the ``kubernetes`` finalizer and the Active phase they start with.

Deleting a namespace is graceful: the registry marks it ``Terminating`` and keeps it while
``spec.finalizers`` holds ``kubernetes``; the namespace controller deletes its content, then
removes that finalizer through ``/finalize`` (the only way to change ``spec.finalizers``).
"""

from __future__ import annotations

from apiserver.defaults import sub, unset
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import invalid_value, label_key_errors

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

    def prepare_for_create(self, obj: Obj) -> None:
        """A new namespace is Active, whatever status it was sent with."""
        obj["status"] = {"phase": "Active"}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        new.setdefault("spec", {})["finalizers"] = spec_finalizers(old)

    def validate(self, obj: Obj) -> list[Cause]:
        """Finalizer names are qualified names (``kubernetes``, ``example.com/x``), as Kubernetes checks."""
        return [
            invalid_value(f"spec.finalizers[{i}]", name, msg)
            for i, name in enumerate(spec_finalizers(obj))
            for msg in label_key_errors(str(name))
        ]

    def still_held(self, obj: Obj) -> bool:
        return bool(spec_finalizers(obj))


def spec_finalizers(namespace: Obj) -> list[str]:
    return list((namespace.get("spec") or {}).get("finalizers") or [])


STRATEGY = NamespaceStrategy("Namespace")
