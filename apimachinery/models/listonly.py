"""Kinds podvisor serves for reading only, always empty: no controller of its own runs them.

``kubectl apply --prune`` maps every kind of its default allow list through discovery and fails
outright on one the server does not serve (Endpoints, PersistentVolumeClaim, Job, Ingress, ...).
Serving them as Kubernetes serves a read-only resource (verbs ``get``, ``list``, ``watch``, like
``componentstatuses``) is the honest answer: they exist, nothing of them exists yet, and a
create is ``405 MethodNotAllowed`` rather than an object stored that nothing would ever run.
Their fields are kept as plain dicts: podvisor never interprets them.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import AnyDict, TypedObject
from apimachinery.models.meta import ObjectMeta


class _ListOnly(TypedObject):
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: AnyDict | None = None
    status: AnyDict | None = None


class Ingress(_ListOnly):
    API_VERSION: ClassVar[str] = "networking.k8s.io/v1"
    KIND: ClassVar[str] = "Ingress"
    api_version: str = "networking.k8s.io/v1"
    kind: str = "Ingress"


