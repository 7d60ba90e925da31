"""The default roles and bindings: Kubernetes' ``rbac/bootstrappolicy``, for what podvisor serves.

``cluster-admin``, the user-facing ``admin``/``edit``/``view`` (aggregated from their
``system:aggregate-to-*`` parts, with Kubernetes' resource lists: kinds podvisor does not serve
yet are listed as Kubernetes lists them, since a grant on an absent kind grants nothing), the
discovery, basic-user, public-info-viewer and monitoring roles, the node bootstrapper, and the
two control-plane components' roles, sized to what podvisor's controllers and scheduler call
(read from ``controllers/`` and ``scheduler/``). ``system:node`` exists with no bindings: nodes
are authorized by the Node authorizer, as in Kubernetes since 1.8.
"""

from __future__ import annotations

from typing import Any

from apiserver.authn.user import AUTHENTICATED, BOOTSTRAPPERS, SYSTEM_MASTERS, UNAUTHENTICATED
from apiserver.authz.node import STATIC_RULES

Obj = dict[str, Any]
RBAC = "rbac.authorization.k8s.io"
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAPPING = "kubernetes.io/bootstrapping"
AGGREGATE_TO = f"{RBAC}/aggregate-to-"
MONITORING = "system:monitoring"
CONTROLLER_MANAGER = "system:kube-controller-manager"
SCHEDULER = "system:kube-scheduler"
#: metrics-server's role for the metrics API, aggregated into view, edit and admin as there
METRICS_READER = "system:aggregated-metrics-reader"

READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
READ_WRITE = [*READ, *WRITE]


def rule(verbs: list[str], groups: list[str] | None = None, resources: list[str] | None = None, *,
         names: list[str] | None = None, urls: list[str] | None = None) -> Obj:
    out: Obj = {"verbs": verbs}
    if urls:
        return {**out, "nonResourceURLs": urls}
    out["apiGroups"] = groups or [""]
    out["resources"] = resources or []
    if names:
        out["resourceNames"] = names
    return out


def _role(name: str, rules: list[Obj], *, labels: dict[str, str] | None = None, aggregate: str = "") -> Obj:
    role: Obj = {
        "apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {BOOTSTRAPPING: "rbac-defaults", **(labels or {})},
                     "annotations": {AUTOUPDATE: "true"}},
        "rules": rules,
    }
    if aggregate:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {f"{AGGREGATE_TO}{aggregate}": "true"}}]}
    return role


def _binding(role: str, *, groups: tuple[str, ...] = (), users: tuple[str, ...] = (), name: str = "") -> Obj:
    subjects = [{"apiGroup": RBAC, "kind": "Group", "name": g} for g in groups]
    subjects += [{"apiGroup": RBAC, "kind": "User", "name": u} for u in users]
    binding: Obj = {
        "apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name or role, "labels": {BOOTSTRAPPING: "rbac-defaults"},
                     "annotations": {AUTOUPDATE: "true"}},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
    }
    if subjects:  # system:node has none: the Node authorizer decides for nodes
        binding["subjects"] = subjects
    return binding


_VIEW = [
    rule(READ, [""], ["pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                      "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status",
                      "configmaps"]),
    rule(READ, [""], ["limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status",
                      "namespaces/status", "replicationcontrollers/status", "pods/log"]),
    rule(READ, [""], ["namespaces"]),
    rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
    rule(READ, ["apps"], ["controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
                          "daemonsets", "daemonsets/status", "deployments", "deployments/status", "deployments/scale",
                          "replicasets", "replicasets/status", "replicasets/scale"]),
    rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    rule(READ, ["batch"], ["jobs", "cronjobs", "cronjobs/status", "jobs/status"]),
    rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    rule(READ, ["networking.k8s.io"], ["networkpolicies", "ingresses", "ingresses/status"]),
]
_EDIT = [
    rule(READ, [""], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"]),
    rule(["impersonate"], [""], ["serviceaccounts"]),
    rule(WRITE, [""], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
    rule(["create"], [""], ["pods/eviction"]),
    rule(WRITE, [""], ["replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                       "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events"]),
    rule(["create"], [""], ["serviceaccounts/token"]),
    rule(WRITE, ["apps"], ["statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
                           "deployments/rollback", "replicasets", "replicasets/scale"]),
    rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
    rule(WRITE, ["batch"], ["jobs", "cronjobs"]),
    rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
    rule(WRITE, ["networking.k8s.io"], ["networkpolicies", "ingresses"]),
    rule(READ_WRITE, ["coordination.k8s.io"], ["leases"]),
]
_ADMIN = [
    rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    rule(READ_WRITE, [RBAC], ["roles", "rolebindings"]),
]
_DISCOVERY_URLS = ["/livez", "/readyz", "/healthz", "/version", "/version/", "/api", "/api/*", "/apis", "/apis/*",
                   "/openapi", "/openapi/*"]
_PUBLIC_URLS = ["/livez", "/readyz", "/healthz", "/version", "/version/"]
_MONITORING_URLS = ["/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*"]
_EVENTS = rule(["create", "patch", "update"], ["", "events.k8s.io"], ["events"])

#: What podvisor's controller manager calls: informers on every kind, the garbage collector
#: (get/patch/update/delete of any owner or dependent), the namespace controller (list and
#: delete every kind, finalize), the workload controllers (create ReplicaSets and Pods, write
#: status), node lifecycle (taints, Ready conditions), the ServiceAccount and root-CA publishers
#: (create ServiceAccounts and ConfigMaps), events, and its leader-election Lease.
_CONTROLLER_MANAGER = [
    _EVENTS,
    rule(["get", "list", "watch", "patch", "update", "delete", "deletecollection"], ["*"], ["*"]),
    rule(["create"], [""], ["pods", "serviceaccounts", "configmaps"]),  # and each namespace's default
    rule(["create"], [""], ["persistentvolumeclaims"]),                   # a StatefulSet's claims
    rule(["create"], ["apps"], ["replicasets", "controllerrevisions"]),   # ServiceAccount and root CA
    rule(["create"], ["batch"], ["jobs"]),                                # the CronJob controller
    rule(["create"], [""], ["endpoints"]),                                # the endpoints controllers
    rule(["create"], ["discovery.k8s.io"], ["endpointslices"]),
    rule(["update", "patch"], [""], ["pods/status", "nodes/status", "namespaces/status", "namespaces/finalize"]),
    rule(["update", "patch"], ["apps"], ["deployments/status", "replicasets/status", "statefulsets/status",
                                         "daemonsets/status"]),
    rule(["update", "patch"], ["policy"], ["poddisruptionbudgets/status"]),
    rule(["update", "patch"], [""], ["replicationcontrollers/status"]),
    rule(["update", "patch"], ["batch"], ["cronjobs/status"]),
    rule(["update", "patch"], ["autoscaling"], ["horizontalpodautoscalers/status"]),  # the pod autoscaler
    rule(["create"], ["coordination.k8s.io"], ["leases"]),
    rule(["create"], [""], ["persistentvolumes"]),                        # the local-path provisioner
    rule(["update", "patch"], [""], ["persistentvolumes/status", "persistentvolumeclaims/status"]),
]
#: What podvisor's scheduler calls: pod and node informers, bindings, the PodScheduled
#: condition, events, and its leader-election Lease.
_SCHEDULER = [
    _EVENTS,
    rule(READ, [""], ["pods", "nodes", "persistentvolumeclaims", "persistentvolumes"]),
    rule(READ, ["storage.k8s.io"], ["storageclasses"]),
    rule(["patch", "update"], [""], ["persistentvolumeclaims"]),  # the selected-node annotation
    rule(["create"], [""], ["bindings", "pods/binding"]),
    rule(["patch", "update"], [""], ["pods/status"]),
    rule(["create"], ["coordination.k8s.io"], ["leases"]),
    rule(["get", "update", "patch"], ["coordination.k8s.io"], ["leases"], names=["podvisor-scheduler"]),
]

#: Kubernetes' full access to the kubelet API (bound to nobody by default, as there)
_KUBELET_API_ADMIN = [
    rule(READ, [""], ["nodes"]),
    rule(["proxy"], [""], ["nodes"]),
    rule(["*"], [""], ["nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"]),
]


def cluster_roles() -> list[Obj]:
    return [
        _role("cluster-admin", [rule(["*"], ["*"], ["*"]), rule(["*"], urls=["*"])]),
        _role("system:discovery", [rule(["get"], urls=_DISCOVERY_URLS)]),
        _role("system:monitoring", [rule(["get"], urls=_MONITORING_URLS)]),
        _role("system:basic-user", [
            rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
        ]),
        _role("system:public-info-viewer", [rule(["get"], urls=_PUBLIC_URLS)]),
        _role("admin", [], aggregate="admin"),
        _role("edit", [], labels={f"{AGGREGATE_TO}admin": "true"}, aggregate="edit"),
        _role("view", [], labels={f"{AGGREGATE_TO}edit": "true"}, aggregate="view"),
        _role("system:aggregate-to-admin", _ADMIN, labels={f"{AGGREGATE_TO}admin": "true"}),
        _role("system:aggregate-to-edit", _EDIT, labels={f"{AGGREGATE_TO}edit": "true"}),
        _role("system:aggregate-to-view", _VIEW, labels={f"{AGGREGATE_TO}view": "true"}),
        _role("system:node-bootstrapper", [
            rule(["create", "get", "list", "watch"], ["certificates.k8s.io"], ["certificatesigningrequests"]),
            rule(["create"], ["node.podvisor.io"], ["nodecredentialrequests"]),  # podvisor's node join
        ]),
        _role("system:node", [r.to_wire() for r in STATIC_RULES]),
        _role(CONTROLLER_MANAGER, _CONTROLLER_MANAGER),
        _role(SCHEDULER, _SCHEDULER),
        _role("system:kubelet-api-admin", _KUBELET_API_ADMIN),
        _role(METRICS_READER, [rule(READ, ["metrics.k8s.io"], ["pods", "nodes"])],
              labels={f"{AGGREGATE_TO}{r}": "true" for r in ("view", "edit", "admin")}),
    ]


def cluster_role_bindings() -> list[Obj]:
    everyone = (AUTHENTICATED, UNAUTHENTICATED)
    return [
        _binding("cluster-admin", groups=(SYSTEM_MASTERS,)),
        _binding("system:discovery", groups=(AUTHENTICATED,)),
        _binding("system:monitoring", groups=(MONITORING,)),
        _binding("system:basic-user", groups=(AUTHENTICATED,)),
        _binding("system:public-info-viewer", groups=everyone),
        _binding("system:node-bootstrapper", groups=(BOOTSTRAPPERS,)),
        _binding("system:node", name="system:node"),
        _binding(CONTROLLER_MANAGER, users=(CONTROLLER_MANAGER,)),
        _binding(SCHEDULER, users=(SCHEDULER,)),
    ]
