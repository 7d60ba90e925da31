"""Create and update validation: real manifests pass, each mistake is named by its JSON path."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from apiserver import validation
from apiserver.strategies import apply_defaults, validate_object, validate_update

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
NOT_FOUND = "FieldValueNotFound"
TOO_LONG = "FieldValueTooLong"
DELETE = object()

NGINX_DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "nginx-deployment", "namespace": "default", "labels": {"app": "nginx"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {
            "metadata": {"labels": {"app": "nginx", "app.kubernetes.io/version": "1.27"}},
            "spec": {
                "containers": [
                    {
                        "name": "nginx",
                        "image": "nginx:1.27.0",
                        "ports": [{"containerPort": 80, "name": "http"}],
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "64Mi"},
                            "limits": {"memory": "128Mi"},
                        },
                    }
                ]
            },
        },
    },
}

APP_POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "app",
        "namespace": "default",
        "labels": {"app.kubernetes.io/name": "app", "tier": "backend"},
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
    },
    "spec": {
        "initContainers": [
            {
                "name": "migrate",
                "image": "app:2.1",
                "command": ["./migrate"],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            }
        ],
        "containers": [
            {
                "name": "app",
                "image": "registry.local:5000/team/app:2.1",
                "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 9090, "hostPort": 9090}],
                "env": [{"name": "MODE", "value": "a"}, {"name": "MODE", "value": "b"}],
                "resources": {
                    "requests": {"cpu": "0.5", "memory": "256Mi"},
                    "limits": {"cpu": "1", "memory": "1Gi"},
                },
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 5},
                "readinessProbe": {"tcpSocket": {"port": 8080}, "successThreshold": 2},
                "startupProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "failureThreshold": 30},
                "volumeMounts": [
                    {"name": "data", "mountPath": "/data"},
                    {"name": "config", "mountPath": "/etc/app", "readOnly": True},
                ],
            },
            {
                "name": "log-shipper",
                "image": "fluent-bit:3",
                "volumeMounts": [{"name": "data", "mountPath": "/logs"}],
            },
        ],
        "volumes": [
            {"name": "data", "emptyDir": {}},
            {"name": "config", "configMap": {"name": "app-config"}},
        ],
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
    },
}

REPLICASET: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "ReplicaSet",
    "metadata": {"name": "nginx-deployment-6d4cf56db6", "namespace": "default"},
    "spec": {
        "replicas": 3,
        "selector": {
            "matchLabels": {"app": "nginx"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}],
        },
        "template": {
            "metadata": {"labels": {"app": "nginx", "tier": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27.0"}]},
        },
    },
}

SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "selector": {"app": "nginx"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}, {"name": "metrics", "port": 9113}],
    },
}

OTHERS: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
    {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "worker-1.example.com", "labels": {"kubernetes.io/hostname": "worker-1"}},
        "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
    },
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "app-config", "namespace": "default"},
        "data": {"app.properties": "a=b", "LOG_LEVEL": "info"},
    },
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
        "data": {"password": "c2VjcmV0"},
        "stringData": {"user": "admin"},
    },
    {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "app.17a3", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "app", "namespace": "default"},
        "reason": "Scheduled",
    },
    {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "worker-1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "worker-1", "leaseDurationSeconds": 40},
    },
]

VALID = [NGINX_DEPLOYMENT, APP_POD, REPLICASET, SERVICE, *OTHERS]

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def edited(obj: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` with each JSON path set to its value (``DELETE`` removes it)."""
    out = copy.deepcopy(obj)
    for path, value in changes.items():
        steps = [int(i) if i else name for name, i in _STEP.findall(path)]
        target: Any = out
        for step in steps[:-1]:
            target = target[step] if isinstance(step, int) else target.setdefault(step, {})
        if value is DELETE:
            del target[steps[-1]]
        else:
            target[steps[-1]] = value
    return out


def stored(obj: dict[str, Any], changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the server validates: the (edited) manifest, defaulted."""
    return apply_defaults(obj["kind"], edited(obj, changes or {}))


def fields(causes: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted((c["field"], c["reason"]) for c in causes)


@pytest.mark.parametrize("obj", VALID, ids=lambda o: o["kind"])
def test_real_manifests_are_valid(obj: dict[str, Any]) -> None:
    assert validate_object(obj["kind"], stored(obj)) == []


# --- create: one mistake, its paths --------------------------------------------------------------

C0 = "spec.containers[0]"
T = "spec.template.spec"
RU = "spec.strategy.rollingUpdate"

POD_CASES = [
    ("name-underscore", {"metadata.name": "Foo_bar"}, [("metadata.name", INVALID)]),
    ("name-too-long", {"metadata.name": "a" * 254}, [("metadata.name", INVALID)]),
    ("name-missing", {"metadata.name": DELETE}, [("metadata.name", REQUIRED)]),
    ("generate-name-only", {"metadata.name": DELETE, "metadata.generateName": "app-"}, []),
    ("namespace-missing", {"metadata.namespace": DELETE}, [("metadata.namespace", REQUIRED)]),
    ("namespace-invalid", {"metadata.namespace": "my.ns"}, [("metadata.namespace", INVALID)]),
    ("label-key", {"metadata.labels": {"-app": "x"}}, [("metadata.labels", INVALID)]),
    ("label-key-prefix", {"metadata.labels": {"Example.com/app": "x"}}, [("metadata.labels", INVALID)]),
    ("label-value-long", {"metadata.labels": {"app": "x" * 64}}, [("metadata.labels", INVALID)]),
    ("label-value-chars", {"metadata.labels": {"app": "a b"}}, [("metadata.labels", INVALID)]),
    ("annotation-key", {"metadata.annotations": {"a/b/c": ""}}, [("metadata.annotations", INVALID)]),
    (
        "annotations-too-big",
        {"metadata.annotations": {"a": "x" * 262144}},
        [("metadata.annotations", TOO_LONG)],
    ),
    ("no-containers", {"spec.containers": []}, [("spec.containers", REQUIRED)]),
    ("container-name", {f"{C0}.name": "App"}, [(f"{C0}.name", INVALID)]),
    (
        "container-name-duplicate",
        {"spec.containers[1].name": "app"},
        [("spec.containers[1].name", DUPLICATE)],
    ),
    ("init-name-clash", {"spec.initContainers[0].name": "app"}, [("spec.initContainers[0].name", DUPLICATE)]),
    ("image-missing", {f"{C0}.image": DELETE}, [(f"{C0}.image", REQUIRED)]),
    ("pull-policy", {f"{C0}.imagePullPolicy": "Sometimes"}, [(f"{C0}.imagePullPolicy", NOT_SUPPORTED)]),
    (
        "container-port-zero",
        {f"{C0}.ports[0].containerPort": 0},
        [(f"{C0}.ports[0].containerPort", REQUIRED)],
    ),
    (
        "container-port-high",
        {f"{C0}.ports[0].containerPort": 70000},
        [(f"{C0}.ports[0].containerPort", INVALID)],
    ),
    ("host-port-high", {f"{C0}.ports[1].hostPort": 65536}, [(f"{C0}.ports[1].hostPort", INVALID)]),
    ("port-protocol", {f"{C0}.ports[0].protocol": "HTTP"}, [(f"{C0}.ports[0].protocol", NOT_SUPPORTED)]),
    ("port-name", {f"{C0}.ports[0].name": "http--alt"}, [(f"{C0}.ports[0].name", INVALID)]),
    ("port-name-duplicate", {f"{C0}.ports[1].name": "http"}, [(f"{C0}.ports[1].name", DUPLICATE)]),
    ("env-name-missing", {f"{C0}.env[0].name": ""}, [(f"{C0}.env[0].name", REQUIRED)]),
    ("env-name-equals", {f"{C0}.env[0].name": "A=B"}, [(f"{C0}.env[0].name", INVALID)]),
    (
        "env-value-and-source",
        {f"{C0}.env[0].valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        [(f"{C0}.env[0].valueFrom", INVALID)],
    ),
    ("restart-policy", {"spec.restartPolicy": "Sometimes"}, [("spec.restartPolicy", NOT_SUPPORTED)]),
    (
        "grace-negative",
        {"spec.terminationGracePeriodSeconds": -1},
        [("spec.terminationGracePeriodSeconds", INVALID)],
    ),
    ("deadline-zero", {"spec.activeDeadlineSeconds": 0}, [("spec.activeDeadlineSeconds", INVALID)]),
    (
        "volume-duplicate",
        {"spec.volumes[1].name": "data"},
        [("spec.volumes[1].name", DUPLICATE), (f"{C0}.volumeMounts[1].name", NOT_FOUND)],
    ),
    (
        "volume-name",
        {"spec.volumes": [{"name": "Data", "emptyDir": {}}, {"name": "config", "configMap": {"name": "c"}}]},
        [
            ("spec.volumes[0].name", INVALID),
            (f"{C0}.volumeMounts[0].name", NOT_FOUND),
            ("spec.containers[1].volumeMounts[0].name", NOT_FOUND),
            ("spec.initContainers[0].volumeMounts[0].name", NOT_FOUND),
        ],
    ),
    (
        "volume-two-sources",
        {"spec.volumes[0].hostPath": {"path": "/x"}},
        [("spec.volumes[0].hostPath", FORBIDDEN)],
    ),
    (
        "mount-unknown-volume",
        {f"{C0}.volumeMounts[1].name": "cache"},
        [(f"{C0}.volumeMounts[1].name", NOT_FOUND)],
    ),
    (
        "mount-path-missing",
        {f"{C0}.volumeMounts[1].mountPath": ""},
        [(f"{C0}.volumeMounts[1].mountPath", REQUIRED)],
    ),
    (
        "mount-path-repeated",
        {f"{C0}.volumeMounts[1].mountPath": "/data"},
        [(f"{C0}.volumeMounts[1].mountPath", INVALID)],
    ),
    ("quantity-syntax", {f"{C0}.resources.limits.cpu": "lots"}, [(f"{C0}.resources.limits[cpu]", INVALID)]),
    (
        "quantity-negative",
        {f"{C0}.resources.requests.cpu": "-1"},
        [(f"{C0}.resources.requests[cpu]", INVALID)],
    ),
    (
        "request-over-limit",
        {f"{C0}.resources.requests.memory": "2Gi"},
        [(f"{C0}.resources.requests[memory]", INVALID)],
    ),
    (
        "request-over-milli-limit",
        {f"{C0}.resources.requests.cpu": "1001m"},
        [(f"{C0}.resources.requests[cpu]", INVALID)],
    ),
    (
        "resource-name",
        {f"{C0}.resources.limits.gpu": "1"},
        [(f"{C0}.resources.limits[gpu]", INVALID), (f"{C0}.resources.requests[gpu]", INVALID)],
    ),
    ("probe-no-handler", {f"{C0}.livenessProbe": {"periodSeconds": 5}}, [(f"{C0}.livenessProbe", REQUIRED)]),
    (
        "probe-two-handlers",
        {f"{C0}.livenessProbe.tcpSocket": {"port": 8080}},
        [(f"{C0}.livenessProbe.tcpSocket", FORBIDDEN)],
    ),
    (
        "probe-threshold",
        {f"{C0}.startupProbe.failureThreshold": -1},
        [(f"{C0}.startupProbe.failureThreshold", INVALID)],
    ),
    (
        "probe-delay",
        {f"{C0}.livenessProbe.initialDelaySeconds": -5},
        [(f"{C0}.livenessProbe.initialDelaySeconds", INVALID)],
    ),
    (
        "liveness-success",
        {f"{C0}.livenessProbe.successThreshold": 2},
        [(f"{C0}.livenessProbe.successThreshold", INVALID)],
    ),
    (
        "probe-port",
        {f"{C0}.readinessProbe.tcpSocket.port": 0},
        [(f"{C0}.readinessProbe.tcpSocket.port", INVALID)],
    ),
    (
        "probe-scheme",
        {f"{C0}.livenessProbe.httpGet.scheme": "FTP"},
        [(f"{C0}.livenessProbe.httpGet.scheme", NOT_SUPPORTED)],
    ),
    (
        "init-probe",
        {"spec.initContainers[0].readinessProbe": {"exec": {"command": ["true"]}}},
        [("spec.initContainers[0].readinessProbe", FORBIDDEN)],
    ),
    (
        "sidecar-probe",
        {
            "spec.initContainers[0].restartPolicy": "Always",
            "spec.initContainers[0].readinessProbe": {"exec": {"command": ["true"]}},
        },
        [],
    ),
    (
        "toleration-effect",
        {"spec.tolerations[0].effect": "Sometimes"},
        [("spec.tolerations[0].effect", NOT_SUPPORTED)],
    ),
    (
        "toleration-seconds-effect",
        {"spec.tolerations[0].tolerationSeconds": 60},
        [("spec.tolerations[0].effect", INVALID)],
    ),
    ("node-selector", {"spec.nodeSelector": {"disk": "fast ssd"}}, [("spec.nodeSelector", INVALID)]),
]

WORKLOAD_CASES = [
    ("deploy-selector-missing", "Deployment", {"spec.selector": DELETE}, [("spec.selector", REQUIRED)]),
    ("deploy-selector-empty", "Deployment", {"spec.selector": {}}, [("spec.selector", INVALID)]),
    (
        "deploy-selector-mismatch",
        "Deployment",
        {"spec.selector.matchLabels.app": "web"},
        [("spec.template.metadata.labels", INVALID)],
    ),
    (
        "deploy-selector-operator",
        "Deployment",
        {"spec.selector.matchExpressions": [{"key": "app", "operator": "Like", "values": ["x"]}]},
        [("spec.selector.matchExpressions[0].operator", INVALID)],
    ),
    (
        "deploy-selector-in-no-values",
        "Deployment",
        {"spec.selector.matchExpressions": [{"key": "app", "operator": "In"}]},
        [("spec.selector.matchExpressions[0].values", REQUIRED)],
    ),
    ("deploy-replicas", "Deployment", {"spec.replicas": -1}, [("spec.replicas", INVALID)]),
    (
        "deploy-template-labels",
        "Deployment",
        {"spec.template.metadata.labels.tier": "a b"},
        [("spec.template.metadata.labels", INVALID)],
    ),
    (
        "deploy-restart-never",
        "Deployment",
        {f"{T}.restartPolicy": "Never"},
        [(f"{T}.restartPolicy", NOT_SUPPORTED)],
    ),
    (
        "deploy-image",
        "Deployment",
        {f"{T}.containers[0].image": ""},
        [(f"{T}.containers[0].image", REQUIRED)],
    ),
    ("deploy-no-containers", "Deployment", {f"{T}.containers": []}, [(f"{T}.containers", REQUIRED)]),
    (
        "deploy-deadline",
        "Deployment",
        {f"{T}.activeDeadlineSeconds": 30},
        [(f"{T}.activeDeadlineSeconds", FORBIDDEN)],
    ),
    (
        "deploy-strategy-type",
        "Deployment",
        {"spec.strategy": {"type": "BlueGreen"}},
        [("spec.strategy.type", NOT_SUPPORTED)],
    ),
    ("deploy-surge-string", "Deployment", {f"{RU}.maxSurge": "many"}, [(f"{RU}.maxSurge", INVALID)]),
    ("deploy-surge-negative", "Deployment", {f"{RU}.maxSurge": -1}, [(f"{RU}.maxSurge", INVALID)]),
    (
        "deploy-both-zero",
        "Deployment",
        {f"{RU}.maxSurge": 0, f"{RU}.maxUnavailable": 0},
        [(f"{RU}.maxUnavailable", INVALID)],
    ),
    (
        "deploy-both-zero-pct",
        "Deployment",
        {f"{RU}.maxSurge": "0%", f"{RU}.maxUnavailable": "0%"},
        [(f"{RU}.maxUnavailable", INVALID)],
    ),
    (
        "deploy-unavailable-150",
        "Deployment",
        {f"{RU}.maxUnavailable": "150%"},
        [(f"{RU}.maxUnavailable", INVALID)],
    ),
    ("deploy-surge-ok", "Deployment", {f"{RU}.maxSurge": 2, f"{RU}.maxUnavailable": 0}, []),
    (
        "deploy-recreate-rolling",
        "Deployment",
        {"spec.strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}},
        [("spec.strategy.rollingUpdate", FORBIDDEN)],
    ),
    ("deploy-recreate", "Deployment", {"spec.strategy": {"type": "Recreate"}}, []),
    (
        "deploy-history",
        "Deployment",
        {"spec.revisionHistoryLimit": -1},
        [("spec.revisionHistoryLimit", INVALID)],
    ),
    (
        "deploy-progress",
        "Deployment",
        {"spec.minReadySeconds": 600},
        [("spec.progressDeadlineSeconds", INVALID)],
    ),
    ("deploy-min-ready", "Deployment", {"spec.minReadySeconds": -1}, [("spec.minReadySeconds", INVALID)]),
    ("rs-selector-missing", "ReplicaSet", {"spec.selector": DELETE}, [("spec.selector", REQUIRED)]),
    ("rs-replicas", "ReplicaSet", {"spec.replicas": -3}, [("spec.replicas", INVALID)]),
    (
        "rs-expression-mismatch",
        "ReplicaSet",
        {"spec.template.metadata.labels.tier": "db"},
        [("spec.template.metadata.labels", INVALID)],
    ),
    (
        "rs-no-template",
        "ReplicaSet",
        {"spec.template": DELETE},
        [("spec.template.metadata.labels", INVALID), (f"{T}.containers", REQUIRED)],
    ),
]

OTHER_CASES = [
    ("svc-name-dots", SERVICE, {"metadata.name": "web.v1"}, [("metadata.name", INVALID)]),
    ("svc-name-digit", SERVICE, {"metadata.name": "1-web"}, []),
    ("svc-type", SERVICE, {"spec.type": "Ingress"}, [("spec.type", NOT_SUPPORTED)]),
    ("svc-no-ports", SERVICE, {"spec.ports": []}, [("spec.ports", REQUIRED)]),
    ("svc-headless-no-ports", SERVICE, {"spec.ports": [], "spec.clusterIP": "None"}, []),
    ("svc-port", SERVICE, {"spec.ports[0].port": 0}, [("spec.ports[0].port", INVALID)]),
    ("svc-port-name-missing", SERVICE, {"spec.ports[1].name": DELETE}, [("spec.ports[1].name", REQUIRED)]),
    ("svc-port-name-duplicate", SERVICE, {"spec.ports[1].name": "http"}, [("spec.ports[1].name", DUPLICATE)]),
    (
        "svc-target-port",
        SERVICE,
        {"spec.ports[0].targetPort": "web--http"},
        [("spec.ports[0].targetPort", INVALID)],
    ),
    (
        "svc-external-name",
        SERVICE,
        {"spec.type": "ExternalName", "spec.ports": []},
        [("spec.externalName", REQUIRED)],
    ),
    ("ns-name-dots", OTHERS[0], {"metadata.name": "team.a"}, [("metadata.name", INVALID)]),
    ("node-name", OTHERS[1], {"metadata.name": "Worker_1"}, [("metadata.name", INVALID)]),
    (
        "node-taint-effect",
        OTHERS[1],
        {"spec.taints[0].effect": "Evict"},
        [("spec.taints[0].effect", NOT_SUPPORTED)],
    ),
    ("cm-key", OTHERS[2], {"data": {"bad key": "v"}}, [("data[bad key]", INVALID)]),
    ("cm-key-dotdot", OTHERS[2], {"data": {"..data": "v"}}, [("data[..data]", INVALID)]),
    (
        "cm-duplicate-key",
        OTHERS[2],
        {"binaryData": {"LOG_LEVEL": "aW5mbw=="}},
        [("binaryData[LOG_LEVEL]", INVALID)],
    ),
    ("cm-too-big", OTHERS[2], {"data": {"big": "x" * (1024 * 1024 + 1)}}, [("data", TOO_LONG)]),
    ("secret-key", OTHERS[3], {"stringData": {"a/b": "x"}}, [("data[a/b]", INVALID)]),
    ("event-no-object", OTHERS[4], {"involvedObject": DELETE}, [("involvedObject", REQUIRED)]),
    (
        "event-other-namespace",
        OTHERS[4],
        {"involvedObject.namespace": "kube-system"},
        [("involvedObject.namespace", INVALID)],
    ),
    ("lease-duration", OTHERS[5], {"spec.leaseDurationSeconds": 0}, [("spec.leaseDurationSeconds", INVALID)]),
    ("lease-transitions", OTHERS[5], {"spec.leaseTransitions": -1}, [("spec.leaseTransitions", INVALID)]),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in POD_CASES], ids=[c[0] for c in POD_CASES])
def test_pod_mistakes(changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert fields(validate_object("Pod", stored(APP_POD, changes))) == sorted(expected)


@pytest.mark.parametrize(
    ("kind", "changes", "expected"), [c[1:] for c in WORKLOAD_CASES], ids=[c[0] for c in WORKLOAD_CASES]
)
def test_workload_mistakes(kind: str, changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    base = NGINX_DEPLOYMENT if kind == "Deployment" else REPLICASET
    assert fields(validate_object(kind, stored(base, changes))) == sorted(expected)


@pytest.mark.parametrize(
    ("base", "changes", "expected"), [c[1:] for c in OTHER_CASES], ids=[c[0] for c in OTHER_CASES]
)
def test_other_kind_mistakes(
    base: dict[str, Any], changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert fields(validate_object(base["kind"], stored(base, changes))) == sorted(expected)


# --- wording -------------------------------------------------------------------------------------

SUBDOMAIN_REGEX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"

MESSAGES = [
    (
        "subdomain",
        "Pod",
        {"metadata.name": "Foo_bar"},
        'Invalid value: "Foo_bar": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric '
        "characters, '-' or '.', and must start and end with an alphanumeric character "
        f"(e.g. 'example.com', regex used for validation is '{SUBDOMAIN_REGEX}')",
    ),
    (
        "too-long",
        "Pod",
        {"metadata.name": "a" * 254},
        f'Invalid value: "{"a" * 254}": must be no more than 253 characters',
    ),
    ("required", "Pod", {f"{C0}.image": DELETE}, "Required value"),
    (
        "unsupported",
        "Pod",
        {"spec.restartPolicy": "Sometimes"},
        'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ),
    ("duplicate", "Pod", {"spec.containers[1].name": "app"}, 'Duplicate value: "app"'),
    ("not-found", "Pod", {f"{C0}.volumeMounts[1].name": "cache"}, 'Not found: "cache"'),
    (
        "port-range",
        "Pod",
        {f"{C0}.ports[0].containerPort": 70000},
        "Invalid value: 70000: must be between 1 and 65535, inclusive",
    ),
    (
        "request-limit",
        "Pod",
        {f"{C0}.resources.requests.memory": "2Gi"},
        'Invalid value: "2Gi": must be less than or equal to memory limit of 1Gi',
    ),
    (
        "quantity",
        "Pod",
        {f"{C0}.resources.limits.cpu": "lots"},
        "Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ),
    (
        "negative",
        "Deployment",
        {"spec.replicas": -1},
        "Invalid value: -1: must be greater than or equal to 0",
    ),
    (
        "selector-mismatch",
        "Deployment",
        {"spec.selector.matchLabels.app": "web"},
        'Invalid value: {"app":"nginx","app.kubernetes.io/version":"1.27"}: `selector` does not match template `labels`',
    ),
    (
        "recreate",
        "Deployment",
        {"spec.strategy": {"type": "Recreate", "rollingUpdate": {}}},
        "Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ),
    (
        "percent",
        "Deployment",
        {f"{RU}.maxSurge": "many"},
        "Invalid value: \"many\": a valid percent string must be a numeric string followed by an ending '%' "
        "(e.g. '1%' or '93%', regex used for validation is '[0-9]+%')",
    ),
]


@pytest.mark.parametrize(
    ("kind", "changes", "message"), [c[1:] for c in MESSAGES], ids=[c[0] for c in MESSAGES]
)
def test_messages_are_worded_like_kubernetes(kind: str, changes: dict[str, Any], message: str) -> None:
    base = APP_POD if kind == "Pod" else NGINX_DEPLOYMENT
    assert [c["message"] for c in validate_object(kind, stored(base, changes))] == [message]


# --- updates -------------------------------------------------------------------------------------

UPDATE_CASES = [
    ("pod-unchanged", APP_POD, {}, []),
    ("pod-image", APP_POD, {f"{C0}.image": "app:2.2", "spec.initContainers[0].image": "app:2.2"}, []),
    ("pod-labels", APP_POD, {"metadata.labels.tier": "frontend"}, []),
    ("pod-port", APP_POD, {f"{C0}.ports[0].containerPort": 8081}, [("spec", FORBIDDEN)]),
    ("pod-env", APP_POD, {f"{C0}.env": []}, [("spec", FORBIDDEN)]),
    ("pod-node-name", APP_POD, {"spec.nodeName": "worker-2"}, [("spec", FORBIDDEN)]),
    ("pod-grace", APP_POD, {"spec.terminationGracePeriodSeconds": 5}, []),
    ("pod-toleration-added", APP_POD, {"spec.tolerations[1]": {"key": "gpu", "operator": "Exists"}}, []),
    ("pod-toleration-seconds", APP_POD, {"spec.tolerations[1].tolerationSeconds": 30}, []),
    (
        "pod-toleration-changed",
        APP_POD,
        {"spec.tolerations[0].value": "web"},
        [("spec.tolerations", FORBIDDEN)],
    ),
    ("pod-deadline-set", APP_POD, {"spec.activeDeadlineSeconds": 600}, []),
    ("ns-changed", APP_POD, {"metadata.namespace": "other"}, [("metadata.namespace", INVALID)]),
    ("uid-changed", APP_POD, {"metadata.uid": "0000"}, [("metadata.uid", INVALID)]),
    ("uid-omitted", APP_POD, {"metadata.uid": DELETE, "metadata.creationTimestamp": DELETE}, []),
    (
        "deploy-scale-and-image",
        NGINX_DEPLOYMENT,
        {"spec.replicas": 5, f"{T}.containers[0].image": "nginx:1.28"},
        [],
    ),
    (
        "deploy-selector",
        NGINX_DEPLOYMENT,
        {"spec.selector.matchLabels.app": "web", "spec.template.metadata.labels.app": "web"},
        [("spec.selector", INVALID)],
    ),
    ("rs-selector", REPLICASET, {"spec.selector.matchExpressions": DELETE}, [("spec.selector", INVALID)]),
    ("svc-cluster-ip", SERVICE, {"spec.clusterIP": "10.96.0.11", "spec.clusterIPs": ["10.96.0.11"]},
     [("spec.clusterIP", INVALID)]),
    ("secret-type", OTHERS[3], {"type": "kubernetes.io/basic-auth"}, [("type", INVALID)]),
    ("cm-data", OTHERS[2], {"data.LOG_LEVEL": "debug"}, []),
]


def _existing(obj: dict[str, Any]) -> dict[str, Any]:
    extra = {"metadata.uid": "2a1c", "metadata.creationTimestamp": "2025-01-01T00:00:00Z"}
    if obj["kind"] == "Service":
        extra["spec.clusterIP"] = "10.96.0.10"
    return stored(obj, extra)


@pytest.mark.parametrize(
    ("base", "changes", "expected"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES]
)
def test_update_immutability(
    base: dict[str, Any], changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    old = _existing(base)
    new = apply_defaults(base["kind"], edited(old, changes))
    assert fields(validate_update(base["kind"], new, old)) == sorted(expected)


def test_pod_update_message_names_what_changed() -> None:
    old = _existing(APP_POD)
    new = edited(old, {f"{C0}.ports[0].containerPort": 8081})
    [forbidden] = validate_update("Pod", new, old)
    assert forbidden["message"].startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    )
    assert "spec.containers[0].ports[0].containerPort" in forbidden["message"]


@pytest.mark.parametrize(
    ("old_deadline", "new_deadline", "expected"),
    [
        (600, 300, []),
        (600, 900, [("spec.activeDeadlineSeconds", INVALID)]),
        (600, DELETE, [("spec.activeDeadlineSeconds", INVALID)]),
    ],
    ids=["shortened", "lengthened", "removed"],
)
def test_active_deadline_may_only_shrink(
    old_deadline: int, new_deadline: Any, expected: list[tuple[str, str]]
) -> None:
    old = edited(_existing(APP_POD), {"spec.activeDeadlineSeconds": old_deadline})
    new = edited(old, {"spec.activeDeadlineSeconds": new_deadline})
    assert fields(validate_update("Pod", new, old)) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"data.LOG_LEVEL": "debug"}, [("data", FORBIDDEN)]),
        ({"immutable": False}, [("immutable", FORBIDDEN)]),
        ({"metadata.labels": {"team": "a"}}, []),
    ],
    ids=["data", "unset-immutable", "metadata"],
)
def test_immutable_config_maps_keep_their_data(
    changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    old = edited(_existing(OTHERS[2]), {"immutable": True})
    assert fields(validate_update("ConfigMap", edited(old, changes), old)) == expected


# --- helpers and purity --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "value", "problem"),
    [
        (validation.is_dns1123_subdomain, "example.com", None),
        (validation.is_dns1123_subdomain, "Example.com", "a lowercase RFC 1123 subdomain must"),
        (validation.is_dns1123_label, "team-a", None),
        (validation.is_dns1123_label, "team.a", "must not contain dots"),
        (validation.is_dns1123_label, "a" * 64, "must be no more than 63 characters"),
        (validation.is_label_key, "app.kubernetes.io/name", None),
        (validation.is_label_key, "a/b/c", "a valid label key must consist of"),
        (validation.is_label_key, "/name", "prefix part must be non-empty"),
        (validation.is_label_value, "", None),
        (validation.is_label_value, "-x", "a valid label must be an empty string or consist of"),
    ],
    ids=[
        "subdomain-ok",
        "subdomain-upper",
        "label-ok",
        "label-dots",
        "label-long",
        "key-prefixed",
        "key-two-slashes",
        "key-empty-prefix",
        "value-empty",
        "value-dash",
    ],
)
def test_public_name_checks(check: Any, value: str, problem: str | None) -> None:
    result = check(value)
    assert result is None if problem is None else result.startswith(problem)


@pytest.mark.parametrize("obj", VALID, ids=lambda o: o["kind"])
def test_validation_never_mutates(obj: dict[str, Any]) -> None:
    broken = stored(obj, {"metadata.name": "Bad_Name"})
    before = copy.deepcopy(broken)
    validate_update(obj["kind"], broken, _existing(obj))
    assert broken == before
