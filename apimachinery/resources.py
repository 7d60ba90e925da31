"""The served resource types: group, version, kind, plural, scope, and their models.

One table drives the apiserver's routes and discovery, the API client's paths and podctl's
type names, so adding a kind is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from apimachinery.models.apps import ControllerRevision, DaemonSet, Deployment, Lease, ReplicaSet, StatefulSet
from apimachinery.models.authentication import SelfSubjectReview, ServiceAccount, TokenReview
from apimachinery.models.authorization import (
    LocalSubjectAccessReview,
    SelfSubjectAccessReview,
    SelfSubjectRulesReview,
    SubjectAccessReview,
)
from apimachinery.models.autoscaling import HorizontalPodAutoscaler
from apimachinery.models.base import TypedObject
from apimachinery.models.batch import CronJob, Job
from apimachinery.models.core import (
    ConfigMap,
    Endpoints,
    Event,
    Namespace,
    Node,
    Pod,
    ReplicationController,
    Secret,
    Service,
)
from apimachinery.models.discovery import EndpointSlice
from apimachinery.models.listonly import (
    Ingress,
)
from apimachinery.models.metrics import NodeMetrics, PodMetrics
from apimachinery.models.nodejoin import NodeCredentialRequest
from apimachinery.models.policy import PodDisruptionBudget
from apimachinery.models.rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding
from apimachinery.models.storage import PersistentVolume, PersistentVolumeClaim, StorageClass

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
#: Kinds served for reading only (see :mod:`apimachinery.models.listonly`).
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    model: type[TypedObject]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = field(default=())
    verbs: tuple[str, ...] = ALL_VERBS  # ("create",): a review, computed per request and never stored

    @property
    def is_review(self) -> bool:
        return self.verbs == ("create",)

    @property
    def is_read_only(self) -> bool:
        return self.verbs == READ_VERBS

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``deployments.apps`` / ``pods``: how Kubernetes names a resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def prefix(self) -> str:
        """``/api/v1`` or ``/apis/apps/v1``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        parts = [self.prefix]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.plural)
        if name:
            parts.append(name)
            if subresource:
                parts.append(subresource)
        return "/".join(parts)


PODS = ResourceType(
    "", "v1", "Pod", "pods", "pod", True, Pod, ("po",), ("all",),
    ("status", "binding", "log", "exec", "attach", "eviction", "portforward", "ephemeralcontainers"),
)
NODES = ResourceType("", "v1", "Node", "nodes", "node", False, Node, ("no",), (), ("status",))
NAMESPACES = ResourceType(
    "", "v1", "Namespace", "namespaces", "namespace", False, Namespace, ("ns",), (), ("status", "finalize")
)
EVENTS = ResourceType("", "v1", "Event", "events", "event", True, Event, ("ev",))
SERVICES = ResourceType("", "v1", "Service", "services", "service", True, Service, ("svc",), ("all",), ("status",))
CONFIGMAPS = ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", True, ConfigMap, ("cm",))
SECRETS = ResourceType("", "v1", "Secret", "secrets", "secret", True, Secret)
DEPLOYMENTS = ResourceType(
    "apps", "v1", "Deployment", "deployments", "deployment", True, Deployment, ("deploy",), ("all",), ("status", "scale")
)
REPLICASETS = ResourceType(
    "apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, ReplicaSet, ("rs",), ("all",), ("status", "scale")
)
STATEFULSETS = ResourceType("apps", "v1", "StatefulSet", "statefulsets", "statefulset", True, StatefulSet, ("sts",),
                            ("all",), ("status", "scale"))
REPLICATIONCONTROLLERS = ResourceType("", "v1", "ReplicationController", "replicationcontrollers",
                                      "replicationcontroller", True, ReplicationController, ("rc",), ("all",),
                                      ("status", "scale"))
JOBS = ResourceType("batch", "v1", "Job", "jobs", "job", True, Job, (), ("all",), ("status",))
DAEMONSETS = ResourceType(
    "apps", "v1", "DaemonSet", "daemonsets", "daemonset", True, DaemonSet, ("ds",), ("all",), ("status",)
)
CONTROLLERREVISIONS = ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision",
                                   True, ControllerRevision)
PODDISRUPTIONBUDGETS = ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets",
                                    "poddisruptionbudget", True, PodDisruptionBudget, ("pdb",), (), ("status",))
HORIZONTALPODAUTOSCALERS = ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
                                        "horizontalpodautoscaler", True, HorizontalPodAutoscaler, ("hpa",), ("all",),
                                        ("status",))
CRONJOBS = ResourceType("batch", "v1", "CronJob", "cronjobs", "cronjob", True, CronJob, ("cj",), ("all",), ("status",))
LEASES = ResourceType("coordination.k8s.io", "v1", "Lease", "leases", "lease", True, Lease)
NODE_CREDENTIAL_REQUESTS = ResourceType("node.podvisor.io", "v1", "NodeCredentialRequest", "nodecredentialrequests",
                                        "nodecredentialrequest", False, NodeCredentialRequest, verbs=("create",))
SERVICEACCOUNTS = ResourceType(
    "", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True, ServiceAccount, ("sa",), (), ("token",)
)
TOKENREVIEWS = ResourceType(
    "authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", False, TokenReview, verbs=("create",)
)
SELFSUBJECTREVIEWS = ResourceType(
    "authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview", False,
    SelfSubjectReview, verbs=("create",),
)
_RBAC = "rbac.authorization.k8s.io"
ROLES = ResourceType(_RBAC, "v1", "Role", "roles", "role", True, Role)
CLUSTERROLES = ResourceType(_RBAC, "v1", "ClusterRole", "clusterroles", "clusterrole", False, ClusterRole)
ROLEBINDINGS = ResourceType(_RBAC, "v1", "RoleBinding", "rolebindings", "rolebinding", True, RoleBinding)
CLUSTERROLEBINDINGS = ResourceType(
    _RBAC, "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", False, ClusterRoleBinding
)
_AUTHZ = "authorization.k8s.io"
SUBJECTACCESSREVIEWS = ResourceType(
    _AUTHZ, "v1", "SubjectAccessReview", "subjectaccessreviews", "subjectaccessreview", False,
    SubjectAccessReview, verbs=("create",),
)
SELFSUBJECTACCESSREVIEWS = ResourceType(
    _AUTHZ, "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", "selfsubjectaccessreview", False,
    SelfSubjectAccessReview, verbs=("create",),
)
LOCALSUBJECTACCESSREVIEWS = ResourceType(
    _AUTHZ, "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", "localsubjectaccessreview", True,
    LocalSubjectAccessReview, verbs=("create",),
)
SELFSUBJECTRULESREVIEWS = ResourceType(
    _AUTHZ, "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", "selfsubjectrulesreview", False,
    SelfSubjectRulesReview, verbs=("create",),
)
ENDPOINTS = ResourceType("", "v1", "Endpoints", "endpoints", "endpoints", True, Endpoints, ("ep",))
ENDPOINTSLICES = ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", True,
                              EndpointSlice)
PERSISTENTVOLUMECLAIMS = ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims",
                                      "persistentvolumeclaim", True, PersistentVolumeClaim, ("pvc",), (), ("status",))
PERSISTENTVOLUMES = ResourceType("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", False,
                                 PersistentVolume, ("pv",), (), ("status",))
STORAGECLASSES = ResourceType("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", False,
                              StorageClass, ("sc",))
STORAGE_RESOURCES = (PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES, STORAGECLASSES)
# Read-only and always empty: kubectl's default prune allow list maps each of them.
INGRESSES = ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", True, Ingress, ("ing",),
                         verbs=READ_VERBS)
LIST_ONLY_RESOURCES = (
    INGRESSES,
)
RBAC_RESOURCES = (ROLES, CLUSTERROLES, ROLEBINDINGS, CLUSTERROLEBINDINGS)
AUTHORIZATION_REVIEWS = (
    SUBJECTACCESSREVIEWS, SELFSUBJECTACCESSREVIEWS, LOCALSUBJECTACCESSREVIEWS, SELFSUBJECTRULESREVIEWS,
)

RESOURCES: tuple[ResourceType, ...] = (
    PODS, NODES, NAMESPACES, EVENTS, SERVICES, ENDPOINTS, CONFIGMAPS, SECRETS, DEPLOYMENTS,
    REPLICASETS, DAEMONSETS, CONTROLLERREVISIONS, LEASES, SERVICEACCOUNTS, TOKENREVIEWS, SELFSUBJECTREVIEWS,
    *RBAC_RESOURCES, *AUTHORIZATION_REVIEWS, NODE_CREDENTIAL_REQUESTS, ENDPOINTSLICES, STATEFULSETS,
    REPLICATIONCONTROLLERS, JOBS, CRONJOBS, PODDISRUPTIONBUDGETS, *STORAGE_RESOURCES, *LIST_ONLY_RESOURCES,
    HORIZONTALPODAUTOSCALERS,
)

#: Served by the API server's metrics provider (the metrics-server role), never stored: discovery
#: advertises them and the API client reaches them, while the store, the namespace controller and
#: OpenAPI, which walk RESOURCES, know nothing of them. Verbs as metrics-server publishes them.
NODE_METRICS = ResourceType("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", "", False, NodeMetrics,
                            verbs=("get", "list"))
POD_METRICS = ResourceType("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", "", True, PodMetrics,
                           verbs=("get", "list"))
METRICS_RESOURCES = (NODE_METRICS, POD_METRICS)


def by_kind(kind: str, api_version: str | None = None) -> ResourceType | None:
    for rt in RESOURCES:
        if rt.kind == kind and (api_version is None or rt.api_version == api_version):
            return rt
    return None


def by_plural(group: str, version: str, plural: str) -> ResourceType | None:
    for rt in RESOURCES:
        if rt.group == group and rt.version == version and rt.plural == plural:
            return rt
    return None


def by_model(model: type[TypedObject]) -> ResourceType:
    for rt in (*RESOURCES, *METRICS_RESOURCES):
        if rt.model is model:
            return rt
    raise KeyError(model.__name__)


def lookup(name: str) -> ResourceType | None:
    """Resolve what a user types: plural, singular, short name, kind, or ``plural.group``."""
    lowered = name.lower()
    for rt in RESOURCES:
        names = {rt.plural, rt.singular, rt.kind.lower(), *rt.short_names, rt.group_resource}
        if rt.group:
            names |= {f"{rt.singular}.{rt.group}", f"{rt.plural}.{rt.version}.{rt.group}"}
        if lowered in names:
            return rt
    return None


def group_versions(types: tuple[ResourceType, ...] = RESOURCES) -> list[tuple[str, str]]:
    """Served (group, version) pairs in a stable order, core first."""
    seen: list[tuple[str, str]] = []
    for rt in types:
        if (rt.group, rt.version) not in seen:
            seen.append((rt.group, rt.version))
    return seen


def advertised_group_versions() -> list[tuple[str, str]]:
    """What discovery and the OpenAPI index name: the stored kinds' and the metrics API's."""
    return group_versions((*RESOURCES, *METRICS_RESOURCES))
