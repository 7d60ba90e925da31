"""Server-side defaults: what a real apiserver fills in, and what it leaves alone."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from apiserver.defaults import image_pull_policy_for
from apiserver.strategies import apply_defaults

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "initContainers": [{"name": "init", "image": "busybox"}],
        "containers": [
            {
                "name": "web",
                "image": "nginx:1.27",
                "ports": [{"containerPort": 80}],
                "livenessProbe": {"httpGet": {"port": 80}},
                "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 0},
                "lifecycle": {"preStop": {"httpGet": {"port": 80}}},
                "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m"}},
            }
        ],
        "volumes": [
            {"name": "scratch"},
            {"name": "config", "configMap": {"name": "web-config"}},
            {"name": "logs", "hostPath": {"path": "/var/log"}},
        ],
    },
}

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "nginx", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {
                "containers": [
                    {
                        "name": "nginx",
                        "image": "nginx",
                        "resources": {"limits": {"cpu": "1"}},
                        "readinessProbe": {"tcpSocket": {"port": 80}},
                    }
                ]
            },
        },
    },
}

REPLICASET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "metadata": {"name": "nginx-6d4cf56db6", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
        },
    },
}

SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "selector": {"app": "web"},
        "ports": [{"port": 80}, {"name": "admin", "port": 9000, "targetPort": "admin"}],
    },
}

NAMESPACE: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
SECRET: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "s", "namespace": "default"},
}
NODE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {"name": "node-1"},
    "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
}
CONFIGMAP: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "default"},
    "data": {"k": "v"},
}
LEASE: dict[str, Any] = {
    "apiVersion": "coordination.k8s.io/v1",
    "kind": "Lease",
    "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
    "spec": {"holderIdentity": "node-1"},
}
EVENT: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": {"name": "web.1", "namespace": "default"},
    "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
    "reason": "Scheduled",
}

ALL = [POD, DEPLOYMENT, REPLICASET, SERVICE, NAMESPACE, SECRET, NODE, CONFIGMAP, LEASE, EVENT]

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def at(obj: Any, path: str) -> Any:
    """The value at a JSON path such as ``spec.containers[0].ports[0].protocol``."""
    for name, index in _STEP.findall(path):
        obj = obj[int(index)] if index else obj[name]
    return obj


def edited(obj: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` with each dotted path (``spec.strategy.type``) set to its value."""
    out = copy.deepcopy(obj)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = out
        for step in parents:
            target = target.setdefault(step, {})
        target[last] = value
    return out


# --- what gets filled in -------------------------------------------------------------------------

FILLED = [
    ("pod-restart-policy", POD, "spec.restartPolicy", "Always"),
    ("pod-grace-period", POD, "spec.terminationGracePeriodSeconds", 30),
    ("pod-dns-policy", POD, "spec.dnsPolicy", "ClusterFirst"),
    ("pod-scheduler", POD, "spec.schedulerName", "default-scheduler"),
    ("pod-security-context", POD, "spec.securityContext", {}),
    ("pod-service-links", POD, "spec.enableServiceLinks", True),
    ("pod-priority", POD, "spec.priority", 0),
    ("pod-preemption", POD, "spec.preemptionPolicy", "PreemptLowerPriority"),
    ("pull-policy-tagged", POD, "spec.containers[0].imagePullPolicy", "IfNotPresent"),
    ("pull-policy-untagged-init", POD, "spec.initContainers[0].imagePullPolicy", "Always"),
    ("termination-path", POD, "spec.containers[0].terminationMessagePath", "/dev/termination-log"),
    ("termination-policy", POD, "spec.initContainers[0].terminationMessagePolicy", "File"),
    ("resources-empty", POD, "spec.initContainers[0].resources", {}),
    ("port-protocol", POD, "spec.containers[0].ports[0].protocol", "TCP"),
    ("probe-timeout", POD, "spec.containers[0].livenessProbe.timeoutSeconds", 1),
    ("probe-period", POD, "spec.containers[0].livenessProbe.periodSeconds", 10),
    ("probe-period-zero", POD, "spec.containers[0].readinessProbe.periodSeconds", 10),
    ("probe-success", POD, "spec.containers[0].livenessProbe.successThreshold", 1),
    ("probe-failure", POD, "spec.containers[0].livenessProbe.failureThreshold", 3),
    ("probe-http-path", POD, "spec.containers[0].livenessProbe.httpGet.path", "/"),
    ("probe-http-scheme", POD, "spec.containers[0].livenessProbe.httpGet.scheme", "HTTP"),
    ("hook-http-scheme", POD, "spec.containers[0].lifecycle.preStop.httpGet.scheme", "HTTP"),
    ("env-field-ref", POD, "spec.containers[0].env[0].valueFrom.fieldRef.apiVersion", "v1"),
    (
        "requests-from-limits",
        POD,
        "spec.containers[0].resources.requests",
        {"cpu": "250m", "memory": "128Mi"},
    ),
    ("volume-empty-dir", POD, "spec.volumes[0].emptyDir", {}),
    ("volume-default-mode", POD, "spec.volumes[1].configMap.defaultMode", 420),
    ("volume-host-path-type", POD, "spec.volumes[2].hostPath.type", ""),
    ("deploy-replicas", DEPLOYMENT, "spec.replicas", 1),
    ("deploy-strategy", DEPLOYMENT, "spec.strategy.type", "RollingUpdate"),
    ("deploy-max-unavailable", DEPLOYMENT, "spec.strategy.rollingUpdate.maxUnavailable", "25%"),
    ("deploy-max-surge", DEPLOYMENT, "spec.strategy.rollingUpdate.maxSurge", "25%"),
    ("deploy-history", DEPLOYMENT, "spec.revisionHistoryLimit", 10),
    ("deploy-deadline", DEPLOYMENT, "spec.progressDeadlineSeconds", 600),
    ("template-restart-policy", DEPLOYMENT, "spec.template.spec.restartPolicy", "Always"),
    ("template-grace-period", DEPLOYMENT, "spec.template.spec.terminationGracePeriodSeconds", 30),
    ("template-pull-policy", DEPLOYMENT, "spec.template.spec.containers[0].imagePullPolicy", "Always"),
    ("template-probe", DEPLOYMENT, "spec.template.spec.containers[0].readinessProbe.failureThreshold", 3),
    ("rs-replicas", REPLICASET, "spec.replicas", 1),
    ("rs-template-dns", REPLICASET, "spec.template.spec.dnsPolicy", "ClusterFirst"),
    ("svc-type", SERVICE, "spec.type", "ClusterIP"),
    ("svc-affinity", SERVICE, "spec.sessionAffinity", "None"),
    ("svc-protocol", SERVICE, "spec.ports[0].protocol", "TCP"),
    ("svc-target-port", SERVICE, "spec.ports[0].targetPort", 80),
    ("svc-named-target-port", SERVICE, "spec.ports[1].targetPort", "admin"),
    ("svc-ip-families", SERVICE, "spec.ipFamilies", ["IPv4"]),
    ("svc-ip-family-policy", SERVICE, "spec.ipFamilyPolicy", "SingleStack"),
    ("svc-internal-policy", SERVICE, "spec.internalTrafficPolicy", "Cluster"),
    ("ns-finalizers", NAMESPACE, "spec.finalizers", ["kubernetes"]),
    ("ns-phase", NAMESPACE, "status.phase", "Active"),
    ("ns-name-label", NAMESPACE, "metadata.labels", {"kubernetes.io/metadata.name": "team-a"}),
    ("secret-type", SECRET, "type", "Opaque"),
    ("node-allocatable", NODE, "status.allocatable", {"cpu": "4", "memory": "8Gi", "pods": "110"}),
]


@pytest.mark.parametrize(("obj", "path", "expected"), [c[1:] for c in FILLED], ids=[c[0] for c in FILLED])
def test_fills_in_what_kubernetes_fills_in(obj: dict[str, Any], path: str, expected: Any) -> None:
    assert at(apply_defaults(obj["kind"], obj), path) == expected


@pytest.mark.parametrize(
    ("obj", "path", "expected"),
    [
        (edited(SERVICE, {"spec.type": "NodePort"}), "spec.externalTrafficPolicy", "Cluster"),
        (edited(SERVICE, {"spec.type": "LoadBalancer"}), "spec.allocateLoadBalancerNodePorts", True),
        (edited(POD, {"spec.hostNetwork": True}), "spec.containers[0].ports[0].hostPort", 80),
        (edited(POD, {"spec.priorityClassName": "system-node-critical"}), "spec.priority", 2000001000),
    ],
    ids=["nodeport-external-policy", "lb-node-ports", "host-network-host-port", "system-priority"],
)
def test_fills_in_what_depends_on_other_fields(obj: dict[str, Any], path: str, expected: Any) -> None:
    assert at(apply_defaults(obj["kind"], obj), path) == expected


# --- what is kept or left out --------------------------------------------------------------------

KEPT = [
    ("replicas-zero", edited(DEPLOYMENT, {"spec.replicas": 0}), "spec.replicas", 0),
    ("history-zero", edited(DEPLOYMENT, {"spec.revisionHistoryLimit": 0}), "spec.revisionHistoryLimit", 0),
    (
        "max-surge-int",
        edited(DEPLOYMENT, {"spec.strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}),
        "spec.strategy.rollingUpdate",
        {"maxSurge": 1, "maxUnavailable": "25%"},
    ),
    (
        "recreate-no-rolling-update",
        edited(DEPLOYMENT, {"spec.strategy": {"type": "Recreate"}}),
        "spec.strategy",
        {"type": "Recreate"},
    ),
    ("restart-never", edited(POD, {"spec.restartPolicy": "Never"}), "spec.restartPolicy", "Never"),
    (
        "grace-zero",
        edited(POD, {"spec.terminationGracePeriodSeconds": 0}),
        "spec.terminationGracePeriodSeconds",
        0,
    ),
    (
        "service-links-off",
        edited(POD, {"spec.enableServiceLinks": False}),
        "spec.enableServiceLinks",
        False,
    ),
    ("svc-headless-ip", edited(SERVICE, {"spec.clusterIP": "None"}), "spec.clusterIP", "None"),
    ("secret-tls", edited(SECRET, {"type": "kubernetes.io/tls"}), "type", "kubernetes.io/tls"),
    ("ns-finalizers-empty", edited(NAMESPACE, {"spec.finalizers": []}), "spec.finalizers", []),
]


@pytest.mark.parametrize(("obj", "path", "expected"), [c[1:] for c in KEPT], ids=[c[0] for c in KEPT])
def test_keeps_what_the_client_set(obj: dict[str, Any], path: str, expected: Any) -> None:
    assert at(apply_defaults(obj["kind"], obj), path) == expected


@pytest.mark.parametrize(
    "field", ["tolerations", "priority", "enableServiceLinks", "preemptionPolicy"], ids=lambda f: f
)
def test_pod_only_defaults_stay_out_of_templates(field: str) -> None:
    template_spec = apply_defaults("Deployment", DEPLOYMENT)["spec"]["template"]["spec"]
    assert field not in template_spec


def test_template_requests_are_not_copied_from_limits() -> None:
    container = apply_defaults("Deployment", DEPLOYMENT)["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"limits": {"cpu": "1"}}


def test_missing_selector_is_not_invented() -> None:
    obj = copy.deepcopy(DEPLOYMENT)
    del obj["spec"]["selector"]
    assert "selector" not in apply_defaults("Deployment", obj)["spec"]


def test_external_name_service_gets_no_ip_families() -> None:
    spec = apply_defaults("Service", edited(SERVICE, {"spec.type": "ExternalName"}))["spec"]
    assert "ipFamilies" not in spec and "internalTrafficPolicy" not in spec


@pytest.mark.parametrize("obj", [CONFIGMAP, LEASE, EVENT], ids=lambda o: o["kind"])
def test_kinds_without_defaults_are_unchanged(obj: dict[str, Any]) -> None:
    assert apply_defaults(obj["kind"], obj) == obj


# --- DefaultTolerationSeconds --------------------------------------------------------------------

NOT_READY = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}


@pytest.mark.parametrize(
    ("existing", "added"),
    [
        ([], [NOT_READY, UNREACHABLE]),
        ([{**NOT_READY, "tolerationSeconds": 5}], [UNREACHABLE]),
        ([{"operator": "Exists"}], []),
        ([{"operator": "Exists", "effect": "NoExecute"}], []),
        ([{**NOT_READY, "effect": "NoSchedule"}], [NOT_READY, UNREACHABLE]),
        (
            [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
            [NOT_READY, UNREACHABLE],
        ),
    ],
    ids=["none", "not-ready-present", "wildcard", "wildcard-no-execute", "other-effect", "unrelated"],
)
def test_default_tolerations_are_added_unless_already_tolerated(
    existing: list[dict[str, Any]], added: list[dict[str, Any]]
) -> None:
    pod = edited(POD, {"spec.tolerations": existing})
    tolerations = apply_defaults("Pod", pod, toleration_seconds=120)["spec"]["tolerations"]
    assert tolerations == existing + [{**t, "tolerationSeconds": 120} for t in added]


def test_default_toleration_seconds_is_300() -> None:
    tolerations = apply_defaults("Pod", POD)["spec"]["tolerations"]
    assert [t["tolerationSeconds"] for t in tolerations] == [300, 300]


# --- purity --------------------------------------------------------------------------------------


@pytest.mark.parametrize("obj", ALL, ids=lambda o: o["kind"])
def test_input_is_never_mutated(obj: dict[str, Any]) -> None:
    before = copy.deepcopy(obj)
    out = apply_defaults(obj["kind"], obj)
    assert obj == before
    assert out is not obj


@pytest.mark.parametrize("obj", ALL, ids=lambda o: o["kind"])
def test_defaulting_twice_changes_nothing(obj: dict[str, Any]) -> None:
    once = apply_defaults(obj["kind"], obj)
    assert apply_defaults(obj["kind"], once) == once


def test_malformed_subtrees_are_left_for_validation() -> None:
    obj = {"kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": "nope", "tolerations": "nope"}}
    spec = apply_defaults("Pod", obj)["spec"]
    assert spec["containers"] == "nope" and spec["tolerations"] == "nope"


# --- image pull policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("docker.io/library/nginx:1.27-alpine", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("localhost:5000/app:v1", "IfNotPresent"),
        ("registry.example.com:443/team/app:latest", "Always"),
        ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("nginx:1.27@sha256:" + "a" * 64, "IfNotPresent"),
        ("", "IfNotPresent"),
    ],
    ids=[
        "untagged",
        "latest",
        "tagged",
        "qualified-tagged",
        "registry-port-untagged",
        "registry-port-tagged",
        "registry-port-latest",
        "digest",
        "latest-and-digest",
        "tag-and-digest",
        "empty",
    ],
)
def test_image_pull_policy_for(image: str, policy: str) -> None:
    assert image_pull_policy_for(image) == policy


def test_explicit_pull_policy_is_kept() -> None:
    pod = copy.deepcopy(POD)
    pod["spec"]["containers"][0]["imagePullPolicy"] = "Never"
    assert apply_defaults("Pod", pod)["spec"]["containers"][0]["imagePullPolicy"] == "Never"
