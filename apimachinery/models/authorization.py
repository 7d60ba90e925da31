"""authorization.k8s.io/v1 reviews: may a subject do something, and what may it do.

Create-only kinds: a client posts the question in ``spec`` and reads the answer in
``status``; nothing is stored.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from apimachinery.models.base import K8sModel, TypedObject
from apimachinery.models.meta import ObjectMeta

API_VERSION = "authorization.k8s.io/v1"


class ResourceAttributes(K8sModel):
    """A request on a resource: verb, group, resource, namespace and name."""

    namespace: str | None = None
    verb: str | None = None
    group: str | None = None
    version: str | None = None
    resource: str | None = None
    subresource: str | None = None
    name: str | None = None
    field_selector: dict[str, Any] | None = None
    label_selector: dict[str, Any] | None = None


class NonResourceAttributes(K8sModel):
    """A request on a non-resource URL such as /healthz."""

    path: str | None = None
    verb: str | None = None


class SubjectAccessReviewSpec(K8sModel):
    """The request and the user to check it for."""

    resource_attributes: ResourceAttributes | None = None
    non_resource_attributes: NonResourceAttributes | None = None
    user: str | None = None
    groups: list[str] | None = None
    extra: dict[str, list[str]] | None = None
    uid: str | None = None


class SelfSubjectAccessReviewSpec(K8sModel):
    """The request to check for the caller."""

    resource_attributes: ResourceAttributes | None = None
    non_resource_attributes: NonResourceAttributes | None = None


class SubjectAccessReviewStatus(K8sModel):
    """Whether the request is allowed, and why."""

    allowed: bool = False
    denied: bool | None = None
    reason: str | None = None
    evaluation_error: str | None = None


class SubjectAccessReview(TypedObject):
    """A SubjectAccessReview asks whether a user may make a request."""

    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "SubjectAccessReview"
    api_version: str = API_VERSION
    kind: str = "SubjectAccessReview"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: SubjectAccessReviewSpec = Field(default_factory=SubjectAccessReviewSpec)
    status: SubjectAccessReviewStatus | None = None


class LocalSubjectAccessReview(TypedObject):
    """A LocalSubjectAccessReview asks whether a user may make a request in one namespace."""

    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "LocalSubjectAccessReview"
    api_version: str = API_VERSION
    kind: str = "LocalSubjectAccessReview"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: SubjectAccessReviewSpec = Field(default_factory=SubjectAccessReviewSpec)
    status: SubjectAccessReviewStatus | None = None


class SelfSubjectAccessReview(TypedObject):
    """A SelfSubjectAccessReview asks whether the caller may make a request."""

    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "SelfSubjectAccessReview"
    api_version: str = API_VERSION
    kind: str = "SelfSubjectAccessReview"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: SelfSubjectAccessReviewSpec = Field(default_factory=SelfSubjectAccessReviewSpec)
    status: SubjectAccessReviewStatus | None = None


class SelfSubjectRulesReviewSpec(K8sModel):
    """The namespace whose rules to list."""

    namespace: str | None = None


class SubjectRulesReviewStatus(K8sModel):
    """What the caller may do in the namespace."""

    resource_rules: list[dict[str, Any]] = Field(default_factory=list)
    non_resource_rules: list[dict[str, Any]] = Field(default_factory=list)
    incomplete: bool = False
    evaluation_error: str | None = None


class SelfSubjectRulesReview(TypedObject):
    """A SelfSubjectRulesReview lists what the caller may do in a namespace."""

    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "SelfSubjectRulesReview"
    api_version: str = API_VERSION
    kind: str = "SelfSubjectRulesReview"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: SelfSubjectRulesReviewSpec = Field(default_factory=SelfSubjectRulesReviewSpec)
    status: SubjectRulesReviewStatus | None = None
