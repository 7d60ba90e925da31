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
    """Verbs allowed on resources or non-resource URLs."""

    verbs: list[str] | None = None
    api_groups: list[str] | None = Field(default=None, alias="apiGroups")
    resources: list[str] | None = None
    resource_names: list[str] | None = None
    non_resource_urls: list[str] | None = Field(default=None, alias="nonResourceURLs")


class AggregationRule(K8sModel):
    """Selects ClusterRoles whose rules are added to this one."""

    cluster_role_selectors: list[LabelSelector] | None = None


class Subject(K8sModel):
    """A user, group or service account a binding applies to."""

    kind: str | None = None
    api_group: str | None = None
    name: str | None = None
    namespace: str | None = None


class RoleRef(K8sModel):
    """The role a binding grants."""

    api_group: str | None = None
    kind: str | None = None
    name: str | None = None


class Role(TypedObject):
    """A Role is a set of permissions within one namespace."""

    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "Role"
    api_version: str = API_VERSION
    kind: str = "Role"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    rules: list[PolicyRule] | None = None
    """The permissions."""


class ClusterRole(TypedObject):
    """A ClusterRole is a set of permissions, cluster-wide or for use in any namespace."""

    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "ClusterRole"
    api_version: str = API_VERSION
    kind: str = "ClusterRole"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    rules: list[PolicyRule] | None = None
    """The permissions."""
    aggregation_rule: AggregationRule | None = None


class RoleBinding(TypedObject):
    """A RoleBinding grants a role's permissions to subjects within a namespace."""

    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "RoleBinding"
    api_version: str = API_VERSION
    kind: str = "RoleBinding"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    subjects: list[Subject] | None = None
    """Who gets the permissions."""
    role_ref: RoleRef | None = None
    """The Role or ClusterRole granted."""


class ClusterRoleBinding(TypedObject):
    """A ClusterRoleBinding grants a ClusterRole's permissions cluster-wide."""

    API_VERSION: ClassVar[str] = API_VERSION
    KIND: ClassVar[str] = "ClusterRoleBinding"
    api_version: str = API_VERSION
    kind: str = "ClusterRoleBinding"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    subjects: list[Subject] | None = None
    """Who gets the permissions."""
    role_ref: RoleRef | None = None
    """The ClusterRole granted."""
