"""ServiceAccounts (core/v1) and the authentication.k8s.io/v1 kinds: TokenRequest, TokenReview,
SelfSubjectReview.

The three ``authentication.k8s.io`` kinds are never stored: TokenRequest is the body of a
ServiceAccount's ``token`` subresource, TokenReview and SelfSubjectReview are reviews (a create
answered with ``status`` filled in).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import AnyDict, Int64, K8sModel, TypedObject
from apimachinery.models.meta import ObjectMeta


class ServiceAccount(TypedObject):
    """A ServiceAccount is an identity for processes in pods, with tokens the API server accepts."""

    API_VERSION: ClassVar[str] = "v1"
    KIND: ClassVar[str] = "ServiceAccount"
    api_version: str = "v1"
    kind: str = "ServiceAccount"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    secrets: list[AnyDict] | None = None
    image_pull_secrets: list[AnyDict] | None = None
    automount_service_account_token: bool | None = None


class BoundObjectReference(K8sModel):
    """The object a token is bound to; the token dies with it."""

    kind: str | None = None
    api_version: str | None = None
    name: str | None = None
    uid: str | None = None


class TokenRequestSpec(K8sModel):
    """What a requested token is for and how long it lives."""

    audiences: list[str] | None = None
    expiration_seconds: Int64 | None = None
    bound_object_ref: BoundObjectReference | None = None


class TokenRequest(TypedObject):
    """A TokenRequest asks for a short-lived token of a service account."""

    API_VERSION: ClassVar[str] = "authentication.k8s.io/v1"
    KIND: ClassVar[str] = "TokenRequest"
    api_version: str = "authentication.k8s.io/v1"
    kind: str = "TokenRequest"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: TokenRequestSpec = Field(default_factory=TokenRequestSpec)
    status: AnyDict | None = None  # token, expirationTimestamp


class TokenReviewSpec(K8sModel):
    """The token to check."""

    token: str | None = None
    audiences: list[str] | None = None


class TokenReview(TypedObject):
    """A TokenReview checks a token and says who it belongs to."""

    API_VERSION: ClassVar[str] = "authentication.k8s.io/v1"
    KIND: ClassVar[str] = "TokenReview"
    api_version: str = "authentication.k8s.io/v1"
    kind: str = "TokenReview"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: TokenReviewSpec = Field(default_factory=TokenReviewSpec)
    status: AnyDict | None = None  # authenticated, user, audiences, error


class SelfSubjectReview(TypedObject):
    """A SelfSubjectReview says who the API server takes the caller to be."""

    API_VERSION: ClassVar[str] = "authentication.k8s.io/v1"
    KIND: ClassVar[str] = "SelfSubjectReview"
    api_version: str = "authentication.k8s.io/v1"
    kind: str = "SelfSubjectReview"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    status: AnyDict | None = None  # userInfo
