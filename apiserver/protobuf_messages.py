"""Field tables of the Kubernetes protobuf messages that ``kubectl create`` sends.

Besides the objects of ``kubectl create``, the request bodies client-go sends as protobuf when a
client is configured for it are covered too: DeleteOptions, Eviction and Binding.

Numbers and JSON names are those of Kubernetes' ``generated.proto`` files
(``k8s.io/api/core/v1``, ``k8s.io/api/apps/v1``, ``k8s.io/api/batch/v1``, ``k8s.io/apimachinery/pkg/apis/meta/v1``,
``.../util/intstr``, ``.../api/resource``). Protobuf field numbers never change once released,
so the tables stay valid as Kubernetes adds fields; a field missing here is skipped on decode.

``pointer`` marks Go pointer fields (``replicas *int32``): the Go encoder writes them only when
set, so a zero value on the wire is meaningful (``replicas: 0``). Every other scalar is written
even when empty, and is dropped when zero, as ``omitempty`` does in JSON.

Status messages are left out on purpose: a create resets status, so decoding it would be waste.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    STRING = "string"
    BYTES = "bytes"  # base64 in JSON
    INT = "int"  # int32 / int64 varint
    BOOL = "bool"
    MESSAGE = "message"
    INLINE = "inline"  # embedded message whose fields JSON puts in the parent (Probe.handler)
    MAP = "map"  # map<string, value>: repeated entries {1: key, 2: value}
    TIME = "time"  # meta.v1.Time {1: seconds, 2: nanos} -> RFC 3339
    QUANTITY = "quantity"  # resource.Quantity {1: string} -> "500m"
    INT_OR_STRING = "intorstr"  # intstr.IntOrString {1: type, 2: intVal, 3: strVal}


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind = Kind.STRING
    message: str = ""  # nested message name, for MESSAGE and INLINE
    repeated: bool = False
    pointer: bool = False
    value: Kind = Kind.STRING  # the value kind of a MAP


Table = dict[int, Field]


def string(name: str, *, pointer: bool = False) -> Field:
    return Field(name, Kind.STRING, pointer=pointer)


def strings(name: str) -> Field:
    return Field(name, Kind.STRING, repeated=True)


def integer(name: str, *, pointer: bool = False) -> Field:
    return Field(name, Kind.INT, pointer=pointer)


def integers(name: str) -> Field:
    return Field(name, Kind.INT, repeated=True)


def boolean(name: str, *, pointer: bool = False) -> Field:
    return Field(name, Kind.BOOL, pointer=pointer)


def message(name: str, of: str) -> Field:
    return Field(name, Kind.MESSAGE, of)


def messages(name: str, of: str) -> Field:
    return Field(name, Kind.MESSAGE, of, repeated=True)


def inline(of: str) -> Field:
    return Field("", Kind.INLINE, of)


def string_map(name: str) -> Field:
    return Field(name, Kind.MAP, value=Kind.STRING)


def bytes_map(name: str) -> Field:
    return Field(name, Kind.MAP, value=Kind.BYTES)


def quantity_map(name: str) -> Field:
    return Field(name, Kind.MAP, value=Kind.QUANTITY)


def timestamp(name: str) -> Field:
    return Field(name, Kind.TIME)


def quantity(name: str) -> Field:
    return Field(name, Kind.QUANTITY, pointer=True)


def int_or_string(name: str, *, pointer: bool = False) -> Field:
    return Field(name, Kind.INT_OR_STRING, pointer=pointer)


META: dict[str, Table] = {
    "ObjectMeta": {
        1: string("name"), 2: string("generateName"), 3: string("namespace"), 4: string("selfLink"),
        5: string("uid"), 6: string("resourceVersion"), 7: integer("generation"),
        8: timestamp("creationTimestamp"), 9: timestamp("deletionTimestamp"),
        10: integer("deletionGracePeriodSeconds", pointer=True), 11: string_map("labels"),
        12: string_map("annotations"), 13: messages("ownerReferences", "OwnerReference"),
        14: strings("finalizers"),
    },
    "OwnerReference": {
        5: string("apiVersion"), 1: string("kind"), 3: string("name"), 4: string("uid"),
        6: boolean("controller", pointer=True), 7: boolean("blockOwnerDeletion", pointer=True),
    },
    "LabelSelector": {1: string_map("matchLabels"), 2: messages("matchExpressions", "LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: string("key"), 2: string("operator"), 3: strings("values")},
    "DeleteOptions": {
        1: integer("gracePeriodSeconds", pointer=True), 2: message("preconditions", "Preconditions"),
        3: boolean("orphanDependents", pointer=True), 4: string("propagationPolicy", pointer=True),
        5: strings("dryRun"),
    },
    "Preconditions": {1: string("uid", pointer=True), 2: string("resourceVersion", pointer=True)},
}

CORE_OBJECTS: dict[str, Table] = {
    "Namespace": {1: message("metadata", "ObjectMeta"), 2: message("spec", "NamespaceSpec"),
                  3: message("status", "NamespaceStatus")},
    "NamespaceSpec": {1: strings("finalizers")},
    "NamespaceStatus": {1: string("phase")},
    "ConfigMap": {1: message("metadata", "ObjectMeta"), 2: string_map("data"), 3: bytes_map("binaryData"),
                  4: boolean("immutable", pointer=True)},
    "Secret": {1: message("metadata", "ObjectMeta"), 2: bytes_map("data"), 4: string_map("stringData"),
               3: string("type"), 5: boolean("immutable", pointer=True)},
    "Service": {1: message("metadata", "ObjectMeta"), 2: message("spec", "ServiceSpec")},
    "ServiceSpec": {
        1: messages("ports", "ServicePort"), 2: string_map("selector"), 3: string("clusterIP"),
        18: strings("clusterIPs"), 4: string("type"), 5: strings("externalIPs"), 7: string("sessionAffinity"),
        8: string("loadBalancerIP"), 9: strings("loadBalancerSourceRanges"), 10: string("externalName"),
        11: string("externalTrafficPolicy"), 12: integer("healthCheckNodePort"),
        13: boolean("publishNotReadyAddresses"), 19: strings("ipFamilies"),
        17: string("ipFamilyPolicy", pointer=True), 20: boolean("allocateLoadBalancerNodePorts", pointer=True),
        21: string("loadBalancerClass", pointer=True), 22: string("internalTrafficPolicy", pointer=True),
        23: string("trafficDistribution", pointer=True),
    },
    "ServicePort": {
        1: string("name"), 2: string("protocol"), 6: string("appProtocol", pointer=True), 3: integer("port"),
        4: int_or_string("targetPort"), 5: integer("nodePort"),
    },
    "Pod": {1: message("metadata", "ObjectMeta"), 2: message("spec", "PodSpec")},
    "Binding": {1: message("metadata", "ObjectMeta"), 2: message("target", "ObjectReference")},
    "ObjectReference": {1: string("kind"), 2: string("namespace"), 3: string("name"), 4: string("uid"),
                        5: string("apiVersion"), 6: string("resourceVersion"), 7: string("fieldPath")},
    "Eviction": {1: message("metadata", "ObjectMeta"), 2: message("deleteOptions", "DeleteOptions")},
    "PodTemplateSpec": {1: message("metadata", "ObjectMeta"), 2: message("spec", "PodSpec")},
}

POD_SPEC: dict[str, Table] = {
    "PodSpec": {
        1: messages("volumes", "Volume"), 20: messages("initContainers", "Container"),
        2: messages("containers", "Container"), 3: string("restartPolicy"),
        4: integer("terminationGracePeriodSeconds", pointer=True),
        5: integer("activeDeadlineSeconds", pointer=True), 6: string("dnsPolicy"), 7: string_map("nodeSelector"),
        8: string("serviceAccountName"), 9: string("serviceAccount"),
        21: boolean("automountServiceAccountToken", pointer=True), 10: string("nodeName"),
        11: boolean("hostNetwork"), 12: boolean("hostPID"), 13: boolean("hostIPC"),
        27: boolean("shareProcessNamespace", pointer=True), 14: message("securityContext", "PodSecurityContext"),
        15: messages("imagePullSecrets", "LocalObjectReference"), 16: string("hostname"),
        17: string("subdomain"), 19: string("schedulerName"), 22: messages("tolerations", "Toleration"),
        23: messages("hostAliases", "HostAlias"), 24: string("priorityClassName"),
        25: integer("priority", pointer=True), 26: message("dnsConfig", "PodDNSConfig"),
        28: messages("readinessGates", "PodReadinessGate"), 29: string("runtimeClassName", pointer=True),
        30: boolean("enableServiceLinks", pointer=True), 31: string("preemptionPolicy", pointer=True),
        32: quantity_map("overhead"), 35: boolean("setHostnameAsFQDN", pointer=True), 36: message("os", "PodOS"),
        37: boolean("hostUsers", pointer=True),
    },
    "Container": {
        1: string("name"), 2: string("image"), 3: strings("command"), 4: strings("args"), 5: string("workingDir"),
        6: messages("ports", "ContainerPort"), 19: messages("envFrom", "EnvFromSource"),
        7: messages("env", "EnvVar"), 8: message("resources", "ResourceRequirements"),
        23: messages("resizePolicy", "ContainerResizePolicy"), 24: string("restartPolicy", pointer=True),
        25: messages("restartPolicyRules", "ContainerRestartRule"),
        9: messages("volumeMounts", "VolumeMount"), 10: message("livenessProbe", "Probe"),
        11: message("readinessProbe", "Probe"), 22: message("startupProbe", "Probe"),
        12: message("lifecycle", "Lifecycle"), 13: string("terminationMessagePath"),
        20: string("terminationMessagePolicy"), 14: string("imagePullPolicy"),
        15: message("securityContext", "SecurityContext"), 16: boolean("stdin"), 17: boolean("stdinOnce"),
        18: boolean("tty"),
    },
    "ContainerPort": {1: string("name"), 2: integer("hostPort"), 3: integer("containerPort"),
                      4: string("protocol"), 5: string("hostIP")},
    "ContainerResizePolicy": {1: string("resourceName"), 2: string("restartPolicy")},
    "ContainerRestartRule": {1: string("action"), 2: message("exitCodes", "ContainerRestartRuleOnExitCodes")},
    "ContainerRestartRuleOnExitCodes": {1: string("operator"), 2: integers("values")},
    "EnvVar": {1: string("name"), 2: string("value"), 3: message("valueFrom", "EnvVarSource")},
    "EnvVarSource": {1: message("fieldRef", "ObjectFieldSelector"),
                     2: message("resourceFieldRef", "ResourceFieldSelector"),
                     3: message("configMapKeyRef", "ConfigMapKeySelector"),
                     4: message("secretKeyRef", "SecretKeySelector")},
    "ObjectFieldSelector": {1: string("apiVersion"), 2: string("fieldPath")},
    "ResourceFieldSelector": {1: string("containerName"), 2: string("resource"), 3: quantity("divisor")},
    "ConfigMapKeySelector": {1: inline("LocalObjectReference"), 2: string("key"),
                             3: boolean("optional", pointer=True)},
    "SecretKeySelector": {1: inline("LocalObjectReference"), 2: string("key"), 3: boolean("optional", pointer=True)},
    "EnvFromSource": {1: string("prefix"), 2: message("configMapRef", "ConfigMapEnvSource"),
                      3: message("secretRef", "SecretEnvSource")},
    "ConfigMapEnvSource": {1: inline("LocalObjectReference"), 2: boolean("optional", pointer=True)},
    "SecretEnvSource": {1: inline("LocalObjectReference"), 2: boolean("optional", pointer=True)},
    "LocalObjectReference": {1: string("name")},
    "ResourceRequirements": {1: quantity_map("limits"), 2: quantity_map("requests"),
                             3: messages("claims", "ResourceClaim")},
    "ResourceClaim": {1: string("name"), 2: string("request")},
    "VolumeMount": {1: string("name"), 2: boolean("readOnly"), 7: string("recursiveReadOnly", pointer=True),
                    3: string("mountPath"), 4: string("subPath"), 5: string("mountPropagation", pointer=True),
                    6: string("subPathExpr")},
    "Probe": {1: inline("ProbeHandler"), 2: integer("initialDelaySeconds"), 3: integer("timeoutSeconds"),
              4: integer("periodSeconds"), 5: integer("successThreshold"), 6: integer("failureThreshold"),
              7: integer("terminationGracePeriodSeconds", pointer=True)},
    "ProbeHandler": {1: message("exec", "ExecAction"), 2: message("httpGet", "HTTPGetAction"),
                     3: message("tcpSocket", "TCPSocketAction"), 4: message("grpc", "GRPCAction")},
    "Lifecycle": {1: message("postStart", "LifecycleHandler"), 2: message("preStop", "LifecycleHandler"),
                  3: string("stopSignal", pointer=True)},
    "LifecycleHandler": {1: message("exec", "ExecAction"), 2: message("httpGet", "HTTPGetAction"),
                         3: message("tcpSocket", "TCPSocketAction"), 4: message("sleep", "SleepAction")},
    "ExecAction": {1: strings("command")},
    "HTTPGetAction": {1: string("path"), 2: int_or_string("port"), 3: string("host"), 4: string("scheme"),
                      5: messages("httpHeaders", "HTTPHeader")},
    "HTTPHeader": {1: string("name"), 2: string("value")},
    "TCPSocketAction": {1: int_or_string("port"), 2: string("host")},
    "GRPCAction": {1: integer("port"), 2: string("service", pointer=True)},
    "SleepAction": {1: integer("seconds")},
    "SecurityContext": {
        1: message("capabilities", "Capabilities"), 2: boolean("privileged", pointer=True),
        4: integer("runAsUser", pointer=True), 8: integer("runAsGroup", pointer=True),
        5: boolean("runAsNonRoot", pointer=True), 6: boolean("readOnlyRootFilesystem", pointer=True),
        7: boolean("allowPrivilegeEscalation", pointer=True), 9: string("procMount", pointer=True),
    },
    "Capabilities": {1: strings("add"), 2: strings("drop")},
    "PodSecurityContext": {
        2: integer("runAsUser", pointer=True), 6: integer("runAsGroup", pointer=True),
        3: boolean("runAsNonRoot", pointer=True), 4: integers("supplementalGroups"),
        5: integer("fsGroup", pointer=True), 9: string("fsGroupChangePolicy", pointer=True),
    },
    "Toleration": {1: string("key"), 2: string("operator"), 3: string("value"), 4: string("effect"),
                   5: integer("tolerationSeconds", pointer=True)},
    "HostAlias": {1: string("ip"), 2: strings("hostnames")},
    "PodDNSConfig": {1: strings("nameservers"), 2: strings("searches"), 3: messages("options", "PodDNSConfigOption")},
    "PodDNSConfigOption": {1: string("name"), 2: string("value", pointer=True)},
    "PodReadinessGate": {1: string("conditionType")},
    "PodOS": {1: string("name")},
    "Volume": {1: string("name"), 2: inline("VolumeSource")},
    "VolumeSource": {1: message("hostPath", "HostPathVolumeSource"), 2: message("emptyDir", "EmptyDirVolumeSource"),
                     6: message("secret", "SecretVolumeSource"), 19: message("configMap", "ConfigMapVolumeSource"),
                     10: message("persistentVolumeClaim", "PersistentVolumeClaimVolumeSource")},
    "HostPathVolumeSource": {1: string("path"), 2: string("type", pointer=True)},
    "EmptyDirVolumeSource": {1: string("medium"), 2: quantity("sizeLimit")},
    "SecretVolumeSource": {1: string("secretName"), 2: messages("items", "KeyToPath"),
                           3: integer("defaultMode", pointer=True), 4: boolean("optional", pointer=True)},
    "ConfigMapVolumeSource": {1: inline("LocalObjectReference"), 2: messages("items", "KeyToPath"),
                              3: integer("defaultMode", pointer=True), 4: boolean("optional", pointer=True)},
    "KeyToPath": {1: string("key"), 2: string("path"), 3: integer("mode", pointer=True)},
    "PersistentVolumeClaimVolumeSource": {1: string("claimName"), 2: boolean("readOnly")},
}

APPS: dict[str, Table] = {
    "Deployment": {1: message("metadata", "ObjectMeta"), 2: message("spec", "DeploymentSpec")},
    "DeploymentSpec": {
        1: integer("replicas", pointer=True), 2: message("selector", "LabelSelector"),
        3: message("template", "PodTemplateSpec"), 4: message("strategy", "DeploymentStrategy"),
        5: integer("minReadySeconds"), 6: integer("revisionHistoryLimit", pointer=True), 7: boolean("paused"),
        9: integer("progressDeadlineSeconds", pointer=True),
    },
    "DeploymentStrategy": {1: string("type"), 2: message("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: int_or_string("maxUnavailable", pointer=True),
                                2: int_or_string("maxSurge", pointer=True)},
    "ReplicaSet": {1: message("metadata", "ObjectMeta"), 2: message("spec", "ReplicaSetSpec")},
    "ReplicaSetSpec": {1: integer("replicas", pointer=True), 4: integer("minReadySeconds"),
                       2: message("selector", "LabelSelector"), 3: message("template", "PodTemplateSpec")},
}

# k8s.io/api/batch/v1: ``kubectl create job`` (also ``--from=cronjob/x``) and ``kubectl create cronjob``
BATCH: dict[str, Table] = {
    "Job": {1: message("metadata", "ObjectMeta"), 2: message("spec", "JobSpec")},
    "JobSpec": {
        1: integer("parallelism", pointer=True), 2: integer("completions", pointer=True),
        3: integer("activeDeadlineSeconds", pointer=True), 4: message("selector", "LabelSelector"),
        5: boolean("manualSelector", pointer=True), 6: message("template", "PodTemplateSpec"),
        7: integer("backoffLimit", pointer=True), 8: integer("ttlSecondsAfterFinished", pointer=True),
        9: string("completionMode", pointer=True), 10: boolean("suspend", pointer=True),
        11: message("podFailurePolicy", "PodFailurePolicy"), 12: integer("backoffLimitPerIndex", pointer=True),
        13: integer("maxFailedIndexes", pointer=True), 14: string("podReplacementPolicy", pointer=True),
        15: string("managedBy", pointer=True), 16: message("successPolicy", "SuccessPolicy"),
    },
    "PodFailurePolicy": {1: messages("rules", "PodFailurePolicyRule")},
    "PodFailurePolicyRule": {1: string("action"), 2: message("onExitCodes", "PodFailurePolicyOnExitCodesRequirement"),
                             3: messages("onPodConditions", "PodFailurePolicyOnPodConditionsPattern")},
    "PodFailurePolicyOnExitCodesRequirement": {1: string("containerName", pointer=True), 2: string("operator"),
                                               3: integers("values")},
    "PodFailurePolicyOnPodConditionsPattern": {1: string("type"), 2: string("status")},
    "SuccessPolicy": {1: messages("rules", "SuccessPolicyRule")},
    "SuccessPolicyRule": {1: string("succeededIndexes", pointer=True), 2: integer("succeededCount", pointer=True)},
    "CronJob": {1: message("metadata", "ObjectMeta"), 2: message("spec", "CronJobSpec")},
    "CronJobSpec": {
        1: string("schedule"), 8: string("timeZone", pointer=True), 2: integer("startingDeadlineSeconds", pointer=True),
        3: string("concurrencyPolicy"), 4: boolean("suspend", pointer=True), 5: message("jobTemplate", "JobTemplateSpec"),
        6: integer("successfulJobsHistoryLimit", pointer=True), 7: integer("failedJobsHistoryLimit", pointer=True),
    },
    "JobTemplateSpec": {1: message("metadata", "ObjectMeta"), 2: message("spec", "JobSpec")},
    # core/v1, the legacy workload
    "ReplicationController": {1: message("metadata", "ObjectMeta"), 2: message("spec", "ReplicationControllerSpec")},
    "ReplicationControllerSpec": {1: integer("replicas", pointer=True), 4: integer("minReadySeconds"),
                                  2: string_map("selector"), 3: message("template", "PodTemplateSpec")},
}

# k8s.io/api/authentication/v1 (kubectl create token, kubectl auth whoami) and core/v1 ServiceAccount.
AUTHENTICATION: dict[str, Table] = {
    "ServiceAccount": {1: message("metadata", "ObjectMeta"), 2: messages("secrets", "ObjectReference"),
                       3: messages("imagePullSecrets", "LocalObjectReference"),
                       4: boolean("automountServiceAccountToken", pointer=True)},
    "TokenRequest": {1: message("metadata", "ObjectMeta"), 2: message("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {1: strings("audiences"), 4: integer("expirationSeconds", pointer=True),
                         3: message("boundObjectRef", "BoundObjectReference")},
    "BoundObjectReference": {1: string("kind"), 2: string("apiVersion"), 3: string("name"), 4: string("uid")},
    "TokenReview": {1: message("metadata", "ObjectMeta"), 2: message("spec", "TokenReviewSpec")},
    "TokenReviewSpec": {1: string("token"), 2: strings("audiences")},
    "SelfSubjectReview": {1: message("metadata", "ObjectMeta")},
}

# k8s.io/api/rbac/v1: what ``kubectl create role|clusterrole|rolebinding|clusterrolebinding`` sends
RBAC: dict[str, Table] = {
    "Role": {1: message("metadata", "ObjectMeta"), 2: messages("rules", "PolicyRule")},
    "ClusterRole": {1: message("metadata", "ObjectMeta"), 2: messages("rules", "PolicyRule"),
                    3: message("aggregationRule", "AggregationRule")},
    "PolicyRule": {1: strings("verbs"), 2: strings("apiGroups"), 3: strings("resources"), 4: strings("resourceNames"),
                   5: strings("nonResourceURLs")},
    "AggregationRule": {1: messages("clusterRoleSelectors", "LabelSelector")},
    "RoleBinding": {1: message("metadata", "ObjectMeta"), 2: messages("subjects", "Subject"),
                    3: message("roleRef", "RoleRef")},
    "Subject": {1: string("kind"), 2: string("apiGroup"), 3: string("name"), 4: string("namespace")},
    "RoleRef": {1: string("apiGroup"), 2: string("kind"), 3: string("name")},
}
# k8s.io/api/authorization/v1: what ``kubectl auth can-i`` sends
AUTHORIZATION: dict[str, Table] = {
    "SelfSubjectAccessReview": {1: message("metadata", "ObjectMeta"), 2: message("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {1: message("resourceAttributes", "ResourceAttributes"),
                                    2: message("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {1: string("namespace"), 2: string("verb"), 3: string("group"), 4: string("version"),
                           5: string("resource"), 6: string("subresource"), 7: string("name")},
    "NonResourceAttributes": {1: string("path"), 2: string("verb")},
    "SubjectAccessReview": {1: message("metadata", "ObjectMeta"), 2: message("spec", "SubjectAccessReviewSpec")},
    "SubjectAccessReviewSpec": {1: message("resourceAttributes", "ResourceAttributes"),
                                2: message("nonResourceAttributes", "NonResourceAttributes"), 3: string("user"),
                                4: strings("groups"), 6: string("uid")},
    "SelfSubjectRulesReview": {1: message("metadata", "ObjectMeta"), 2: message("spec", "SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: string("namespace")},
}

# k8s.io/api/autoscaling/v2: what ``kubectl autoscale`` sends (Resource metrics only are served)
AUTOSCALING: dict[str, Table] = {
    "HorizontalPodAutoscaler": {1: message("metadata", "ObjectMeta"), 2: message("spec", "HorizontalPodAutoscalerSpec")},
    "HorizontalPodAutoscalerSpec": {1: message("scaleTargetRef", "CrossVersionObjectReference"),
                                    2: integer("minReplicas", pointer=True), 3: integer("maxReplicas"),
                                    4: messages("metrics", "MetricSpec"),
                                    5: message("behavior", "HorizontalPodAutoscalerBehavior")},
    "CrossVersionObjectReference": {1: string("kind"), 2: string("name"), 3: string("apiVersion")},
    "MetricSpec": {1: string("type"), 4: message("resource", "ResourceMetricSource")},
    "ResourceMetricSource": {1: string("name"), 2: message("target", "MetricTarget")},
    "MetricTarget": {1: string("type"), 2: quantity("value"), 3: quantity("averageValue"),
                     4: integer("averageUtilization", pointer=True)},
    "HorizontalPodAutoscalerBehavior": {1: message("scaleUp", "HPAScalingRules"), 2: message("scaleDown", "HPAScalingRules")},
    "HPAScalingRules": {3: integer("stabilizationWindowSeconds", pointer=True), 1: string("selectPolicy", pointer=True),
                        2: messages("policies", "HPAScalingPolicy")},
    "HPAScalingPolicy": {1: string("type"), 2: integer("value"), 3: integer("periodSeconds")},
}

MESSAGES: dict[str, Table] = {**META, **CORE_OBJECTS, **POD_SPEC, **APPS, **BATCH, **AUTHENTICATION, **RBAC,
                              **AUTHORIZATION, **AUTOSCALING}

# (apiVersion, kind) of a request body -> its top-level message.
TOP_LEVEL: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "Service"): "Service",
    ("v1", "Pod"): "Pod",
    ("apps/v1", "Deployment"): "Deployment",
    ("apps/v1", "ReplicaSet"): "ReplicaSet",
    ("batch/v1", "Job"): "Job",
    ("batch/v1", "CronJob"): "CronJob",
    ("v1", "ReplicationController"): "ReplicationController",
    ("v1", "Binding"): "Binding",
    ("policy/v1", "Eviction"): "Eviction",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("authentication.k8s.io/v1", "TokenRequest"): "TokenRequest",
    ("authentication.k8s.io/v1", "TokenReview"): "TokenReview",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "SelfSubjectReview",
    **{("rbac.authorization.k8s.io/v1", kind): kind for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")},
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "RoleBinding",
    **{("authorization.k8s.io/v1", kind): kind for kind in ("SelfSubjectAccessReview", "SubjectAccessReview",
                                                            "SelfSubjectRulesReview")},
    ("authorization.k8s.io/v1", "LocalSubjectAccessReview"): "SubjectAccessReview",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "HorizontalPodAutoscaler",
}

# Kinds every group version registers: their body may name any apiVersion.
ANY_VERSION: dict[str, str] = {"DeleteOptions": "DeleteOptions"}
