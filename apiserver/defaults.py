"""Server-side defaulting of wire dicts, as the Kubernetes apiserver does it on create and update.

Clients such as ``kubectl describe`` and ``kubectl apply`` expect what a real server stores:
``strategy.rollingUpdate.maxSurge: 25%``, ``imagePullPolicy``, probe periods, the default
tolerations and so on. Filling them in here, once, also lets controllers and the kubelet read
those fields without repeating the fallbacks.

Two layers are reproduced, because a real Pod shows the effect of both:

* the scheme defaulters (``pkg/apis/{core,apps}/v1/defaults.go``), which apply to a Pod *and*
  to the pod template of a Deployment or ReplicaSet;
* the admission plugins that run on every pod (``DefaultTolerationSeconds`` and ``Priority``)
  and the Pod-only defaulters (requests from limits, ``enableServiceLinks``), which never touch a
  template: a template shows exactly what a real ``kubectl get deploy -o yaml`` shows.

The functions work on the camelCase JSON as stored, never mutate their input and have no side
effects: :func:`apply_defaults` returns a defaulted deep copy. Values the client set are kept;
Go's zero values (``""``, and ``0`` for the non-pointer probe fields) count as unset, as they do
in Kubernetes. A subtree of the wrong JSON type is left alone for validation to report.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

Obj = dict[str, Any]

DEFAULT_TOLERATION_SECONDS = 300
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

# The built-in PriorityClasses every cluster has; other names are resolved by the Priority admission
# plugin against stored PriorityClass objects, which podvisor does not serve.
_SYSTEM_PRIORITIES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
_MODE_DEFAULTED_VOLUMES = ("secret", "configMap", "downwardAPI", "projected")
_VOLUME_DEFAULT_MODE = 0o644  # 420, what Kubernetes shows as defaultMode


def apply_defaults(kind: str, obj: Obj, *, toleration_seconds: int = DEFAULT_TOLERATION_SECONDS) -> Obj:
    """A defaulted deep copy of ``obj``; kinds Kubernetes does not default come back unchanged.

    ``toleration_seconds`` is the DefaultTolerationSeconds admission setting
    (``--default-not-ready-toleration-seconds`` / ``--default-unreachable-toleration-seconds``).
    """
    out = copy.deepcopy(obj)
    if kind == "Pod":
        _default_pod(out, toleration_seconds=toleration_seconds)
    elif (defaulter := _DEFAULTERS.get(kind)) is not None:
        defaulter(out)
    return out


def image_pull_policy_for(image: str) -> str:
    """``Always`` for ``:latest`` or an untagged, undigested image, else ``IfNotPresent``.

    Mirrors how Kubernetes parses the reference: a ``:`` before the last ``/`` is a registry port,
    not a tag, and a digest without a tag (``repo@sha256:...``) pins the image. An empty reference
    does not parse, which Kubernetes treats as "not latest".
    """
    if not image:
        return "IfNotPresent"
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    if not tag and not digest:
        tag = "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


# --- small in-place helpers for the private copy -------------------------------------------------


def _sub(parent: Obj, key: str) -> Obj | None:
    """``parent[key]`` as a dict, created when absent or null; None when it holds something else."""
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    return value if isinstance(value, dict) else None


def _dicts(parent: Obj, key: str) -> Iterator[Obj]:
    """The dict items of the list ``parent[key]`` (nothing when absent or malformed)."""
    items = parent.get(key)
    if isinstance(items, list):
        yield from (item for item in items if isinstance(item, dict))


def _unset(d: Obj, key: str, value: Any) -> None:
    """Default a pointer or string field: absent, null and ``""`` count as unset."""
    if d.get(key) in (None, ""):
        d[key] = value


def _unset_or_zero(d: Obj, key: str, value: Any) -> None:
    """Default a non-pointer int field: Kubernetes cannot tell ``0`` from unset."""
    if d.get(key) in (None, 0):
        d[key] = value


# --- pod spec: shared by Pods and pod templates --------------------------------------------------


def _default_pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec plus the defaulters of everything a PodSpec contains."""
    _unset(spec, "dnsPolicy", "ClusterFirst")
    _unset(spec, "restartPolicy", "Always")
    _unset(spec, "securityContext", {})
    _unset(spec, "terminationGracePeriodSeconds", 30)
    _unset(spec, "schedulerName", "default-scheduler")
    for list_name in _CONTAINER_LISTS:
        for container in _dicts(spec, list_name):
            _default_container(container)
    for volume in _dicts(spec, "volumes"):
        _default_volume(volume)


def _default_container(container: Obj) -> None:
    if container.get("imagePullPolicy") in (None, ""):
        container["imagePullPolicy"] = image_pull_policy_for(str(container.get("image") or ""))
    _unset(container, "terminationMessagePath", "/dev/termination-log")
    _unset(container, "terminationMessagePolicy", "File")
    if container.get("resources") is None:
        container["resources"] = {}
    for port in _dicts(container, "ports"):
        _unset(port, "protocol", "TCP")
    for probe_name in _PROBES:
        if isinstance(probe := container.get(probe_name), dict):
            _default_probe(probe)
    if isinstance(lifecycle := container.get("lifecycle"), dict):
        for hook in ("postStart", "preStop"):
            if isinstance(handler := lifecycle.get(hook), dict):
                _default_http_get(handler)
    for env in _dicts(container, "env"):
        if isinstance(source := env.get("valueFrom"), dict):
            _default_field_ref(source)


def _default_probe(probe: Obj) -> None:
    for key, value in _PROBE_DEFAULTS.items():
        _unset_or_zero(probe, key, value)
    _default_http_get(probe)


def _default_http_get(handler: Obj) -> None:
    if isinstance(http_get := handler.get("httpGet"), dict):
        _unset(http_get, "path", "/")
        _unset(http_get, "scheme", "HTTP")


def _default_field_ref(holder: Obj) -> None:
    if isinstance(field_ref := holder.get("fieldRef"), dict):
        _unset(field_ref, "apiVersion", "v1")


def _default_volume(volume: Obj) -> None:
    """A volume without a source is an emptyDir; file-projecting sources get mode 0644."""
    if not any(key != "name" for key in volume):
        volume["emptyDir"] = {}
    for source_name in _MODE_DEFAULTED_VOLUMES:
        if isinstance(source := volume.get(source_name), dict):
            _unset(source, "defaultMode", _VOLUME_DEFAULT_MODE)
    if isinstance(host_path := volume.get("hostPath"), dict) and host_path.get("type") is None:
        host_path["type"] = ""
    if isinstance(downward := volume.get("downwardAPI"), dict):
        for item in _dicts(downward, "items"):
            _default_field_ref(item)


# --- Pod-only defaults and admission -------------------------------------------------------------


def _default_pod(pod: Obj, *, toleration_seconds: int) -> None:
    spec = _sub(pod, "spec")
    if spec is None:
        return
    _default_pod_spec(spec)
    for list_name in ("initContainers", "containers"):
        for container in _dicts(spec, list_name):
            _requests_from_limits(container)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork") is True:
        _host_ports_from_container_ports(spec)
    _admit_priority(spec)
    _admit_default_tolerations(spec, seconds=toleration_seconds)


def _requests_from_limits(container: Obj) -> None:
    """A limit without a matching request makes the request equal to the limit (Pods only)."""
    resources = container.get("resources")
    if not isinstance(resources, dict) or not isinstance(limits := resources.get("limits"), dict):
        return
    requests = _sub(resources, "requests")
    if requests is not None:
        for name, quantity in limits.items():
            requests.setdefault(name, quantity)


def _host_ports_from_container_ports(spec: Obj) -> None:
    for list_name in ("initContainers", "containers"):
        for container in _dicts(spec, list_name):
            for port in _dicts(container, "ports"):
                if port.get("containerPort") is not None:
                    _unset_or_zero(port, "hostPort", port["containerPort"])


def _admit_priority(spec: Obj) -> None:
    """What the Priority admission plugin resolves when no global default PriorityClass exists."""
    class_name = spec.get("priorityClassName") or ""
    if spec.get("priority") is None and (not class_name or class_name in _SYSTEM_PRIORITIES):
        spec["priority"] = _SYSTEM_PRIORITIES.get(class_name, 0)
    if spec.get("priority") is not None:
        _unset(spec, "preemptionPolicy", "PreemptLowerPriority")


def _admit_default_tolerations(spec: Obj, *, seconds: int) -> None:
    """DefaultTolerationSeconds: tolerate not-ready/unreachable NoExecute taints for a while.

    A toleration counts when its key matches (or is empty, i.e. every key) and its effect is
    NoExecute (or empty, i.e. every effect); only the missing ones are added.
    """
    current = spec.get("tolerations")
    if current is not None and not isinstance(current, list):
        return
    tolerations: list[Any] = list(current or [])
    for taint in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        if not any(_tolerates_no_execute(t, taint) for t in tolerations):
            tolerations.append(
                {"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}
            )
    spec["tolerations"] = tolerations


def _tolerates_no_execute(toleration: Any, taint_key: str) -> bool:
    if not isinstance(toleration, dict):
        return False
    key_matches = toleration.get("key") in (None, "", taint_key)
    return key_matches and toleration.get("effect") in (None, "", "NoExecute")


# --- other kinds ---------------------------------------------------------------------------------


def _default_template(spec: Obj) -> None:
    template = _sub(spec, "template")
    if template is not None and (pod_spec := _sub(template, "spec")) is not None:
        _default_pod_spec(pod_spec)


def _default_deployment(deployment: Obj) -> None:
    """apps/v1 SetDefaults_Deployment; a missing selector stays missing (validation rejects it)."""
    spec = _sub(deployment, "spec")
    if spec is None:
        return
    _unset(spec, "replicas", 1)
    strategy = _sub(spec, "strategy")
    if strategy is not None:
        _unset(strategy, "type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate" and (rolling := _sub(strategy, "rollingUpdate")) is not None:
            _unset(rolling, "maxUnavailable", "25%")
            _unset(rolling, "maxSurge", "25%")
    _unset(spec, "revisionHistoryLimit", 10)
    _unset(spec, "progressDeadlineSeconds", 600)
    _default_template(spec)


def _default_replica_set(replica_set: Obj) -> None:
    spec = _sub(replica_set, "spec")
    if spec is not None:
        _unset(spec, "replicas", 1)
        _default_template(spec)


def _default_service(service: Obj) -> None:
    spec = _sub(service, "spec")
    if spec is None:
        return
    _unset(spec, "type", "ClusterIP")
    _unset(spec, "sessionAffinity", "None")
    for port in _dicts(spec, "ports"):
        _unset(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and port.get("port") is not None:
            port["targetPort"] = port["port"]
    service_type = spec["type"]
    if service_type in ("NodePort", "LoadBalancer") or spec.get("externalIPs"):
        _unset(spec, "externalTrafficPolicy", "Cluster")
    if service_type in ("ClusterIP", "NodePort", "LoadBalancer"):
        _unset(spec, "internalTrafficPolicy", "Cluster")
    if service_type == "LoadBalancer":
        _unset(spec, "allocateLoadBalancerNodePorts", True)
    if service_type != "ExternalName":
        # Set by the service registry of a single-stack IPv4 cluster, not by the scheme.
        _unset(spec, "ipFamilyPolicy", "SingleStack")
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]


def _default_namespace(namespace: Obj) -> None:
    metadata = _sub(namespace, "metadata")
    if metadata is not None and metadata.get("name") and (labels := _sub(metadata, "labels")) is not None:
        labels[NAMESPACE_NAME_LABEL] = metadata["name"]
    spec = _sub(namespace, "spec")
    if spec is not None and spec.get("finalizers") is None:
        spec["finalizers"] = ["kubernetes"]
    status = _sub(namespace, "status")
    if status is not None:
        _unset(status, "phase", "Active")


def _default_node(node: Obj) -> None:
    status = node.get("status")
    if isinstance(status, dict) and status.get("allocatable") is None and status.get("capacity") is not None:
        status["allocatable"] = copy.deepcopy(status["capacity"])


def _default_secret(secret: Obj) -> None:
    _unset(secret, "type", "Opaque")


_DEFAULTERS: dict[str, Callable[[Obj], None]] = {
    "Deployment": _default_deployment,
    "ReplicaSet": _default_replica_set,
    "Service": _default_service,
    "Namespace": _default_namespace,
    "Node": _default_node,
    "Secret": _default_secret,
}
