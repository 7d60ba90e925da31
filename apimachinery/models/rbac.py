"""rbac.authorization.k8s.io/v1 kinds: Role, ClusterRole, RoleBinding, ClusterRoleBinding.

Field for field Kubernetes' ``rbac/v1`` types. Roles and bindings have no spec/status split:
``rules``, ``aggregationRule``, ``subjects`` and ``roleRef`` sit at the top level.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import K8sModel, TypedObject
from apimachinery.models.meta import LabelSelector, ObjectMeta

GROUP = "rbac.authorization.k8s.io"
API_VERSION = f"{GROUP}/v1"


class PolicyRule(K8sModel):
    verbs: list[str] | None = None
    api_groups: list[str] | None = Field(default=None, alias="apiGroups")
    resources: list[str] | None = None
    resource_names: list[str] | None = None
    non_resource_urls: list[str] | None = Field(default=None, alias="nonResourceURLs")


class AggregationRule(K8sModel):
    cluster_role_selectors: list[LabelSelector] | None = None


class Subject(K8sModel):
    kind: str | None = None
    api_group: str | None = None
    name: str | None = None
    namespace: str | None = None


class RoleRef(K8sModel):
    api_group: str | None = None
    kind: str | None = None
    name: str | None = None


class Role(TypedObject):
    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "Role"
    api_version: str = API_VERSION
    kind: str = "Role"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    rules: list[PolicyRule] | None = None


class ClusterRole(TypedObject):
    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "ClusterRole"
    api_version: str = API_VERSION
    kind: str = "ClusterRole"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    rules: list[PolicyRule] | None = None
    aggregation_rule: AggregationRule | None = None


class RoleBinding(TypedObject):
    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "RoleBinding"
    api_version: str = API_VERSION
    kind: str = "RoleBinding"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    subjects: list[Subject] | None = None
    role_ref: RoleRef | None = None


class ClusterRoleBinding(TypedObject):
    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "ClusterRoleBinding"
    api_version: str = API_VERSION
    kind: str = "ClusterRoleBinding"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    subjects: list[Subject] | None = None
    role_ref: RoleRef | None = None
