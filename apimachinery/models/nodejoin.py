"""``NodeCredentialRequest`` (``node.podvisor.io/v1``): how a joining kubelet gets its identity.

A create-only kind, answered and never stored (as ``TokenRequest``): the kubelet, authenticated
with a bootstrap token, POSTs its node name and a PKCS#10 request for its serving certificate
(``spec.request``, as a CertificateSigningRequest's, signer ``kubernetes.io/kubelet-serving``);
the answer's status carries its own bearer token and the signed certificate. Being a resource
request (verb ``create``, group ``node.podvisor.io``, resource ``nodecredentialrequests``),
RBAC grants it to ``system:bootstrappers`` like any other.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import K8sModel, TypedObject
from apimachinery.models.meta import ObjectMeta


class NodeCredentialRequestSpec(K8sModel):
    """The node that asks to join."""

    node_name: str = ""
    request: str = ""  # base64 of a PEM "CERTIFICATE REQUEST", as CertificateSigningRequest.spec.request
    signer_name: str = "kubernetes.io/kubelet-serving"
    usages: list[str] | None = None


class NodeCredentialRequestStatus(K8sModel):
    """The credentials the joining node receives."""

    token: str = ""
    certificate: str = ""  # base64 of the PEM certificate, as CertificateSigningRequest.status.certificate
    certificate_authority: str = ""  # base64 of the PEM CA that signed it (not the cluster CA)


class NodeCredentialRequest(TypedObject):
    """A NodeCredentialRequest trades a bootstrap token for a node's own credentials."""

    API_VERSION: ClassVar[str] = "node.podvisor.io/v1"
    KIND: ClassVar[str] = "NodeCredentialRequest"
    api_version: str = "node.podvisor.io/v1"
    kind: str = "NodeCredentialRequest"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: NodeCredentialRequestSpec = Field(default_factory=NodeCredentialRequestSpec)
    status: NodeCredentialRequestStatus | None = None
