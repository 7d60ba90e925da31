"""Pydantic models of the resource kinds, with Kubernetes' JSON field names."""

from apimachinery.models.apps import (
    Deployment,
    DeploymentSpec,
    DeploymentStatus,
    Lease,
    LeaseSpec,
    ReplicaSet,
    ReplicaSetSpec,
    ReplicaSetStatus,
    Scale,
)
from apimachinery.models.base import K8sModel, TypedObject, unknown_fields
from apimachinery.models.core import (
    Binding,
    ConfigMap,
    Container,
    ContainerStatus,
    Event,
    Namespace,
    Node,
    NodeStatus,
    ObjectReference,
    Pod,
    PodSpec,
    PodStatus,
    PodTemplateSpec,
    Secret,
    Service,
)
from apimachinery.models.meta import Condition, LabelSelector, ObjectMeta, OwnerReference, Status

__all__ = [
    "Binding", "Condition", "ConfigMap", "Container", "ContainerStatus", "Deployment", "DeploymentSpec",
    "DeploymentStatus", "Event", "K8sModel", "LabelSelector", "Lease", "LeaseSpec", "Namespace", "Node",
    "NodeStatus", "ObjectMeta", "ObjectReference", "OwnerReference", "Pod", "PodSpec", "PodStatus",
    "PodTemplateSpec", "ReplicaSet", "ReplicaSetSpec", "ReplicaSetStatus", "Scale", "Secret", "Service",
    "Status", "TypedObject", "unknown_fields",
]
