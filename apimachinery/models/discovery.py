"""EndpointSlices (``discovery.k8s.io/v1``): a Service's endpoints in slices of at most 100.

The endpoints controller writes them from the ready pods a Service selects; every node's service
proxy and cluster DNS read them. A slice names its Service in the ``kubernetes.io/service-name``
label and its writer in ``endpointslice.kubernetes.io/managed-by``.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import K8sModel, TypedObject
from apimachinery.models.core import ObjectReference
from apimachinery.models.meta import ObjectMeta

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"


class EndpointConditions(K8sModel):
    """``ready``: receives new traffic; ``serving``: would, were it not terminating;
    ``terminating``: its pod is being deleted."""

    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class Endpoint(K8sModel):
    """One backend: a pod's addresses, its conditions and where it runs."""

    addresses: list[str]
    conditions: EndpointConditions | None = None
    hostname: str | None = None
    target_ref: ObjectReference | None = None
    node_name: str | None = None
    zone: str | None = None
    hints: dict[str, object] | None = None


class EndpointSlicePort(K8sModel):
    """A port every endpoint of the slice serves; ``name`` matches the Service port's name."""

    name: str | None = None
    protocol: str | None = None
    port: int | None = None
    app_protocol: str | None = None


class EndpointSlice(TypedObject):
    """A slice of a Service's endpoints."""

    API_VERSION: ClassVar[str] = "discovery.k8s.io/v1"
    KIND: ClassVar[str] = "EndpointSlice"
    api_version: str = "discovery.k8s.io/v1"
    kind: str = "EndpointSlice"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    address_type: str = "IPv4"
    """IPv4, IPv6 or FQDN; immutable."""
    endpoints: list[Endpoint] = Field(default_factory=list)
    ports: list[EndpointSlicePort] | None = None
