"""apps/v1 kinds (Deployment, ReplicaSet), coordination.k8s.io/v1 Lease and autoscaling/v1 Scale."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import Int32, Int64, K8sModel, TypedObject
from apimachinery.models.core import IntOrString, PodTemplateSpec
from apimachinery.models.meta import Condition, LabelSelector, ObjectMeta


class RollingUpdateDeployment(K8sModel):
    max_unavailable: IntOrString | None = None
    max_surge: IntOrString | None = None


class DeploymentStrategy(K8sModel):
    type: str | None = None
    rolling_update: RollingUpdateDeployment | None = None


class DeploymentSpec(K8sModel):
    selector: LabelSelector | None = None
    template: PodTemplateSpec
    replicas: Int32 | None = None
    strategy: DeploymentStrategy | None = None
    min_ready_seconds: Int32 | None = None
    revision_history_limit: Int32 | None = None
    paused: bool | None = None
    progress_deadline_seconds: Int32 | None = None


class DeploymentStatus(K8sModel):
    observed_generation: Int64 | None = None
    replicas: int | None = None
    updated_replicas: int | None = None
    ready_replicas: int | None = None
    available_replicas: int | None = None
    unavailable_replicas: int | None = None
    terminating_replicas: int | None = None
    conditions: list[Condition] | None = None
    collision_count: int | None = None


class Deployment(TypedObject):
    API_VERSION: ClassVar[str] = "apps/v1"
    KIND: ClassVar[str] = "Deployment"
    api_version: str = "apps/v1"
    kind: str = "Deployment"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DeploymentSpec
    status: DeploymentStatus | None = None


class ReplicaSetSpec(K8sModel):
    selector: LabelSelector | None = None
    template: PodTemplateSpec | None = None
    replicas: Int32 | None = None
    min_ready_seconds: Int32 | None = None


class ReplicaSetStatus(K8sModel):
    replicas: int = 0
    fully_labeled_replicas: int | None = None
    ready_replicas: int | None = None
    available_replicas: int | None = None
    terminating_replicas: int | None = None
    observed_generation: Int64 | None = None
    conditions: list[Condition] | None = None


class ReplicaSet(TypedObject):
    API_VERSION: ClassVar[str] = "apps/v1"
    KIND: ClassVar[str] = "ReplicaSet"
    api_version: str = "apps/v1"
    kind: str = "ReplicaSet"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ReplicaSetSpec = Field(default_factory=ReplicaSetSpec)
    status: ReplicaSetStatus | None = None


class LeaseSpec(K8sModel):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: str | None = None
    renew_time: str | None = None
    lease_transitions: int | None = None
    strategy: str | None = None
    preferred_holder: str | None = None


class Lease(TypedObject):
    API_VERSION: ClassVar[str] = "coordination.k8s.io/v1"
    KIND: ClassVar[str] = "Lease"
    api_version: str = "coordination.k8s.io/v1"
    kind: str = "Lease"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: LeaseSpec = Field(default_factory=LeaseSpec)


class ScaleSpec(K8sModel):
    replicas: Int32 | None = None


class ScaleStatus(K8sModel):
    replicas: int = 0
    selector: str | None = None


class Scale(TypedObject):
    API_VERSION: ClassVar[str] = "autoscaling/v1"
    KIND: ClassVar[str] = "Scale"
    api_version: str = "autoscaling/v1"
    kind: str = "Scale"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ScaleSpec = Field(default_factory=ScaleSpec)
    status: ScaleStatus | None = None
