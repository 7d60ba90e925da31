"""Server-side defaulting of wire dicts, as the Kubernetes apiserver does it on create and update.

Clients such as ``kubectl describe`` and ``kubectl apply`` expect what a real server stores:
``strategy.rollingUpdate.maxSurge: 25%``, ``imagePullPolicy``, probe periods, the default
tolerations and so on. Filling them in here, once, also lets controllers and the kubelet read
those fields without repeating the fallbacks.

This module holds the defaulting shared by several kinds: the scheme defaulters of a pod spec
(``pkg/apis/core/v1/defaults.go``), which apply to a Pod *and* to the pod template of a Deployment
or ReplicaSet, and the small helpers every kind's defaulter uses. Each kind's own defaults (and
the Pod-only admission plugins, which never touch a template) are in its strategy
(:mod:`apiserver.strategies`); ``strategies.apply_defaults`` returns a defaulted deep copy.

The functions work in place on the camelCase JSON of a private copy. Values the client set are kept;
Go's zero values (``""``, and ``0`` for the non-pointer probe fields) count as unset, as they do
in Kubernetes. A subtree of the wrong JSON type is left alone for validation to report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Obj = dict[str, Any]

DEFAULT_TOLERATION_SECONDS = 300

# The built-in PriorityClasses every cluster has; other names are resolved by the Priority admission
# plugin against stored PriorityClass objects, which podvisor does not serve.
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
_MODE_DEFAULTED_VOLUMES = ("secret", "configMap", "downwardAPI", "projected")
_VOLUME_DEFAULT_MODE = 0o644  # 420, what Kubernetes shows as defaultMode


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


def sub(parent: Obj, key: str) -> Obj | None:
    """``parent[key]`` as a dict, created when absent or null; None when it holds something else."""
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    return value if isinstance(value, dict) else None


def dicts(parent: Obj, key: str) -> Iterator[Obj]:
    """The dict items of the list ``parent[key]`` (nothing when absent or malformed)."""
    items = parent.get(key)
    if isinstance(items, list):
        yield from (item for item in items if isinstance(item, dict))


def unset(d: Obj, key: str, value: Any) -> None:
    """Default a pointer or string field: absent, null and ``""`` count as unset."""
    if d.get(key) in (None, ""):
        d[key] = value


def unset_or_zero(d: Obj, key: str, value: Any) -> None:
    """Default a non-pointer int field: Kubernetes cannot tell ``0`` from unset."""
    if d.get(key) in (None, 0):
        d[key] = value


# --- pod spec: shared by Pods and pod templates --------------------------------------------------


def default_pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec plus the defaulters of everything a PodSpec contains."""
    unset(spec, "dnsPolicy", "ClusterFirst")
    unset(spec, "restartPolicy", "Always")
    unset(spec, "securityContext", {})
    unset(spec, "terminationGracePeriodSeconds", 30)
    unset(spec, "schedulerName", "default-scheduler")
    for list_name in _CONTAINER_LISTS:
        for container in dicts(spec, list_name):
            _default_container(container)
    for volume in dicts(spec, "volumes"):
        _default_volume(volume)


def _default_container(container: Obj) -> None:
    if container.get("imagePullPolicy") in (None, ""):
        container["imagePullPolicy"] = image_pull_policy_for(str(container.get("image") or ""))
    unset(container, "terminationMessagePath", "/dev/termination-log")
    unset(container, "terminationMessagePolicy", "File")
    if container.get("resources") is None:
        container["resources"] = {}
    for port in dicts(container, "ports"):
        unset(port, "protocol", "TCP")
    for probe_name in _PROBES:
        if isinstance(probe := container.get(probe_name), dict):
            _default_probe(probe)
    if isinstance(lifecycle := container.get("lifecycle"), dict):
        for hook in ("postStart", "preStop"):
            if isinstance(handler := lifecycle.get(hook), dict):
                _default_http_get(handler)
    for env in dicts(container, "env"):
        if isinstance(source := env.get("valueFrom"), dict):
            _default_field_ref(source)


def _default_probe(probe: Obj) -> None:
    for key, value in _PROBE_DEFAULTS.items():
        unset_or_zero(probe, key, value)
    _default_http_get(probe)


def _default_http_get(handler: Obj) -> None:
    if isinstance(http_get := handler.get("httpGet"), dict):
        unset(http_get, "path", "/")
        unset(http_get, "scheme", "HTTP")


def _default_field_ref(holder: Obj) -> None:
    if isinstance(field_ref := holder.get("fieldRef"), dict):
        unset(field_ref, "apiVersion", "v1")


def _default_volume(volume: Obj) -> None:
    """A volume without a source is an emptyDir; file-projecting sources get mode 0644."""
    if not any(key != "name" for key in volume):
        volume["emptyDir"] = {}
    for source_name in _MODE_DEFAULTED_VOLUMES:
        if isinstance(source := volume.get(source_name), dict):
            unset(source, "defaultMode", _VOLUME_DEFAULT_MODE)
    if isinstance(host_path := volume.get("hostPath"), dict) and host_path.get("type") is None:
        host_path["type"] = ""
    if isinstance(downward := volume.get("downwardAPI"), dict):
        for item in dicts(downward, "items"):
            _default_field_ref(item)


# --- Pod-only defaults and admission -------------------------------------------------------------


# --- other kinds ---------------------------------------------------------------------------------


