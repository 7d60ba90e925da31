"""apps/v1 kinds (Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision), coordination.k8s.io/v1 Lease and autoscaling/v1 Scale."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from apimachinery.models.base import AnyDict, Int32, Int64, K8sModel, TypedObject
from apimachinery.models.core import IntOrString, PodTemplateSpec
from apimachinery.models.meta import Condition, LabelSelector, ObjectMeta


class RollingUpdateDeployment(K8sModel):
    """How far a rolling update may go below and above the desired pod count."""

    max_unavailable: IntOrString | None = None
    """Pods that may be unavailable during the update: a number or a percentage of the desired count (default 25%)."""
    max_surge: IntOrString | None = None
    """Pods that may be created above the desired count during the update: a number or a percentage (default 25%)."""


class DeploymentStrategy(K8sModel):
    """How a Deployment replaces old pods with new ones."""

    type: str | None = None
    """RollingUpdate (the default: replace pods gradually) or Recreate (stop every old pod first)."""
    rolling_update: RollingUpdateDeployment | None = None
    """Limits of a rolling update; only with type RollingUpdate."""


class DeploymentSpec(K8sModel):
    """The desired state of a Deployment."""

    selector: LabelSelector | None = None
    """Which pods belong to this Deployment; must match the template's labels."""
    template: PodTemplateSpec
    """The pods to run. Any change to it starts a new rollout."""
    replicas: Int32 | None = None
    """How many pods to run (default 1)."""
    strategy: DeploymentStrategy | None = None
    """How old pods are replaced with new ones."""
    min_ready_seconds: Int32 | None = None
    """Seconds a new pod must be ready, with no container crashing, before it counts as available (default 0)."""
    revision_history_limit: Int32 | None = None
    """How many old ReplicaSets to keep for rollbacks (default 10)."""
    paused: bool | None = None
    """While true, template changes do not start a rollout."""
    progress_deadline_seconds: Int32 | None = None
    """Seconds a rollout may go without progress before the Deployment reports ProgressDeadlineExceeded (default 600)."""


class DeploymentStatus(K8sModel):
    """What the Deployment controller last observed."""

    observed_generation: Int64 | None = None
    """The metadata.generation this status describes."""
    replicas: int | None = None
    """Pods of every ReplicaSet of this Deployment, not terminating."""
    updated_replicas: int | None = None
    """Pods that run the current template."""
    ready_replicas: int | None = None
    """Pods whose Ready condition is true."""
    available_replicas: int | None = None
    """Pods ready for at least minReadySeconds."""
    unavailable_replicas: int | None = None
    """Pods still missing for the Deployment to be fully available."""
    terminating_replicas: int | None = None
    conditions: list[Condition] | None = None
    """Available, Progressing and ReplicaFailure, with reasons."""
    collision_count: int | None = None


class Deployment(TypedObject):
    """A Deployment keeps a number of identical pods running and rolls out changes to their template through ReplicaSets."""

    API_VERSION: ClassVar[str] = "apps/v1"
    KIND: ClassVar[str] = "Deployment"
    api_version: str = "apps/v1"
    kind: str = "Deployment"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DeploymentSpec
    """The desired state: the pod template, replica count and rollout strategy."""
    status: DeploymentStatus | None = None
    """The observed state, written by the Deployment controller."""


class ReplicaSetSpec(K8sModel):
    """The desired state of a ReplicaSet."""

    selector: LabelSelector | None = None
    """Which pods belong to this ReplicaSet; must match the template's labels."""
    template: PodTemplateSpec | None = None
    """The pods to create when there are too few."""
    replicas: Int32 | None = None
    """How many pods to run (default 1)."""
    min_ready_seconds: Int32 | None = None
    """Seconds a new pod must be ready before it counts as available (default 0)."""


class ReplicaSetStatus(K8sModel):
    """What the ReplicaSet controller last observed."""

    replicas: int = 0
    """Pods that currently match the selector."""
    fully_labeled_replicas: int | None = None
    ready_replicas: int | None = None
    """Pods whose Ready condition is true."""
    available_replicas: int | None = None
    """Pods ready for at least minReadySeconds."""
    terminating_replicas: int | None = None
    observed_generation: Int64 | None = None
    conditions: list[Condition] | None = None


class ReplicaSet(TypedObject):
    """A ReplicaSet keeps a set number of pods matching its selector running."""

    API_VERSION: ClassVar[str] = "apps/v1"
    KIND: ClassVar[str] = "ReplicaSet"
    api_version: str = "apps/v1"
    kind: str = "ReplicaSet"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ReplicaSetSpec = Field(default_factory=ReplicaSetSpec)
    """The desired state: the pod template and replica count."""
    status: ReplicaSetStatus | None = None
    """The observed state, written by the ReplicaSet controller."""


class LeaseSpec(K8sModel):
    """Who holds a lease and until when."""

    holder_identity: str | None = None
    """The identity of the current holder."""
    lease_duration_seconds: int | None = None
    """How long others wait after the last renewal before they may take the lease."""
    acquire_time: str | None = None
    """When the current holder acquired the lease."""
    renew_time: str | None = None
    """When the current holder last renewed the lease."""
    lease_transitions: int | None = None
    """How many times the lease changed holders."""
    strategy: str | None = None
    preferred_holder: str | None = None


class Lease(TypedObject):
    """A Lease is a lock with an expiry: node heartbeats and leader election."""

    API_VERSION: ClassVar[str] = "coordination.k8s.io/v1"
    KIND: ClassVar[str] = "Lease"
    api_version: str = "coordination.k8s.io/v1"
    kind: str = "Lease"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: LeaseSpec = Field(default_factory=LeaseSpec)
    """The holder and timing of the lease."""


class ScaleSpec(K8sModel):
    """The desired size of a scalable resource."""

    replicas: Int32 | None = None
    """The desired number of pods."""


class ScaleStatus(K8sModel):
    """The observed size of a scalable resource."""

    replicas: int = 0
    """The observed number of pods."""
    selector: str | None = None
    """The label selector of the pods, in query-string form."""


class Scale(TypedObject):
    """The scale subresource of a Deployment or ReplicaSet."""

    API_VERSION: ClassVar[str] = "autoscaling/v1"
    KIND: ClassVar[str] = "Scale"
    api_version: str = "autoscaling/v1"
    kind: str = "Scale"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ScaleSpec = Field(default_factory=ScaleSpec)
    """The desired size."""
    status: ScaleStatus | None = None
    """The observed size."""


class RollingUpdateStatefulSetStrategy(K8sModel):
    """Which ordinals a rolling update may replace, and how many at once."""

    partition: Int32 | None = None
    """Only pods with an ordinal at or above it are updated (default 0: all of them)."""
    max_unavailable: IntOrString | None = None
    """Pods that may be unavailable during the update: a number or a percentage (default 1)."""


class StatefulSetUpdateStrategy(K8sModel):
    """How a StatefulSet replaces pods when its template changes."""

    type: str | None = None
    """RollingUpdate (the default: from the highest ordinal down) or OnDelete (only pods deleted by hand)."""
    rolling_update: RollingUpdateStatefulSetStrategy | None = None


class StatefulSetPersistentVolumeClaimRetentionPolicy(K8sModel):
    """What happens to the claims of ``volumeClaimTemplates`` when pods go away."""

    when_deleted: str | None = None
    """Retain (the default) or Delete: the claims go with the StatefulSet."""
    when_scaled: str | None = None
    """Retain (the default) or Delete: a scaled-down ordinal's claims go with its pod."""


class StatefulSetOrdinals(K8sModel):
    start: Int32 | None = None
    """The ordinal of the first pod (default 0)."""


class StatefulSetSpec(K8sModel):
    """The desired state of a StatefulSet."""

    selector: LabelSelector | None = None
    """Which pods belong to this StatefulSet; must match the template's labels."""
    template: PodTemplateSpec
    """The pods to run, one per ordinal."""
    replicas: Int32 | None = None
    """How many pods to run (default 1)."""
    service_name: str | None = None
    """The headless Service that gives each pod a DNS name (``<pod>.<serviceName>``)."""
    volume_claim_templates: list[AnyDict] | None = None
    """PersistentVolumeClaims each pod gets, named ``<template>-<statefulset>-<ordinal>``."""
    pod_management_policy: str | None = None
    """OrderedReady (the default: one pod at a time, in order) or Parallel."""
    update_strategy: StatefulSetUpdateStrategy | None = None
    revision_history_limit: Int32 | None = None
    min_ready_seconds: Int32 | None = None
    """Seconds a pod must be ready before it counts as available (default 0)."""
    persistent_volume_claim_retention_policy: StatefulSetPersistentVolumeClaimRetentionPolicy | None = None
    ordinals: StatefulSetOrdinals | None = None


class StatefulSetStatus(K8sModel):
    """What the StatefulSet controller last observed."""

    observed_generation: Int64 | None = None
    replicas: int = 0
    """Pods created by the controller, not terminating."""
    ready_replicas: int | None = None
    current_replicas: int | None = None
    """Pods at ``currentRevision``."""
    updated_replicas: int | None = None
    """Pods at ``updateRevision``."""
    available_replicas: int = 0
    current_revision: str | None = None
    """The revision of the pods below the partition (the template of the last finished update)."""
    update_revision: str | None = None
    """The revision of the current template."""
    collision_count: int | None = None
    conditions: list[Condition] | None = None


class RollingUpdateDaemonSet(K8sModel):
    """How many nodes may be without a ready pod, or run two pods, while a DaemonSet updates."""

    max_unavailable: IntOrString | None = None
    """Nodes whose daemon pod may be unavailable during the update: a number or a percentage of the desired count (default 1)."""
    max_surge: IntOrString | None = None
    """Nodes that may run a new pod beside the old one until it is available: a number or a percentage (default 0)."""


class DaemonSetUpdateStrategy(K8sModel):
    """How a DaemonSet replaces the pods of an old template."""

    type: str | None = None
    """RollingUpdate (the default: the controller replaces pods) or OnDelete (only pods deleted by hand are replaced)."""
    rolling_update: RollingUpdateDaemonSet | None = None
    """Limits of a rolling update; only with type RollingUpdate."""


class DaemonSetSpec(K8sModel):
    """The desired state of a DaemonSet."""

    selector: LabelSelector | None = None
    """Which pods belong to this DaemonSet; must match the template's labels and never changes."""
    template: PodTemplateSpec
    """The pod to run on every eligible node (nodeSelector, node affinity and tolerations decide which)."""
    update_strategy: DaemonSetUpdateStrategy | None = None
    """How pods of an old template are replaced."""
    min_ready_seconds: Int32 | None = None
    """Seconds a new pod must be ready before it counts as available (default 0)."""
    revision_history_limit: Int32 | None = None
    """How many old revisions to keep (default 10)."""


class DaemonSetStatus(K8sModel):
    """What the DaemonSet controller last observed, counted in nodes."""

    current_number_scheduled: int = 0
    """Nodes that run at least one daemon pod and should."""
    number_misscheduled: int = 0
    """Nodes that run a daemon pod but should not."""
    desired_number_scheduled: int = 0
    """Nodes that should run the daemon pod."""
    number_ready: int = 0
    """Nodes whose daemon pod is ready."""
    observed_generation: Int64 | None = None
    updated_number_scheduled: int | None = None
    """Nodes running a pod of the current template."""
    number_available: int | None = None
    """Nodes whose daemon pod has been ready for minReadySeconds."""
    number_unavailable: int | None = None
    """Nodes that should run the pod and have none available."""
    collision_count: int | None = None
    conditions: list[Condition] | None = None


class StatefulSet(TypedObject):
    """A StatefulSet runs pods with stable names, DNS names and storage, started and stopped in order."""

    API_VERSION: ClassVar[str] = "apps/v1"
    KIND: ClassVar[str] = "StatefulSet"
    api_version: str = "apps/v1"
    kind: str = "StatefulSet"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: StatefulSetSpec
    status: StatefulSetStatus | None = None
    """The observed state, written by the StatefulSet controller."""


class DaemonSet(TypedObject):
    """A DaemonSet runs one copy of a pod on every node that matches it: log shippers, node agents."""

    API_VERSION: ClassVar[str] = "apps/v1"
    KIND: ClassVar[str] = "DaemonSet"
    api_version: str = "apps/v1"
    kind: str = "DaemonSet"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DaemonSetSpec
    """The desired state: the pod template and update strategy."""
    status: DaemonSetStatus | None = None
    """The observed state, written by the DaemonSet controller."""


class ControllerRevision(TypedObject):
    """An immutable snapshot of a DaemonSet's pod template: the history ``kubectl rollout undo`` goes back to."""

    API_VERSION: ClassVar[str] = "apps/v1"
    KIND: ClassVar[str] = "ControllerRevision"
    api_version: str = "apps/v1"
    kind: str = "ControllerRevision"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    data: AnyDict | None = None
    """The state recorded: a strategic merge patch that puts the template back (``spec.template``, ``$patch: replace``)."""
    revision: Int64 = 0
    """The revision number: higher is newer."""
