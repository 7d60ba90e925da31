"""A container's environment, built as Kubernetes' kubelet builds it (``makeEnvironmentVariables``).

Order: every ``envFrom`` source (ConfigMap or Secret, with its ``prefix``) first, then ``env``
in order, so an ``env`` entry overrides an ``envFrom`` key; each ``value`` expands ``$(VAR)`` of
the entries before it (and of the service variables). The service variables come last and fill
only the names nothing else set. ``envFrom`` keys that are not valid variable names are skipped
(the kubelet reports them in an ``InvalidEnvironmentVariableNames`` event).

Building is pure: the ConfigMaps and Secrets the container references are fetched first
(:func:`fetch`, through the kubelet's one :class:`~kubelet.configobjects.ConfigMapSource`) and handed
in; a missing object or key that is not ``optional`` raises :class:`EnvError` with Kubernetes'
message, which the container shows as ``CreateContainerConfigError`` until it appears.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from apimachinery.models.core import Container, EnvVar, Pod
from apimachinery.quantity import cpu_millis, memory_bytes
from kubelet.configobjects import ConfigMapSource

_MAP_ENTRY = re.compile(r"metadata\.(labels|annotations)\['[^']+'\]")
_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")  # Kubernetes' IsEnvVarName
INVALID_NAMES_REASON = "InvalidEnvironmentVariableNames"

Data = Mapping[str, str]


class EnvError(ValueError):
    """The environment cannot be built yet (a referenced object or key is missing) or at all."""


@dataclass(frozen=True)
class EnvObjects:
    """The ConfigMaps' and Secrets' (decoded) data a container references, by name; None: absent."""

    config_maps: Mapping[str, Data | None] = field(default_factory=dict)
    secrets: Mapping[str, Data | None] = field(default_factory=dict)


@dataclass(frozen=True)
class _Kind:
    label: str  # as Kubernetes' messages spell it
    lower: str
    event: str  # the word of the InvalidEnvironmentVariableNames event

    def data(self, objects: EnvObjects) -> Mapping[str, Data | None]:
        return objects.config_maps if self.lower == "configmap" else objects.secrets


CONFIG_MAP, SECRET = _Kind("ConfigMap", "configmap", "configMap"), _Kind("Secret", "secret", "secret")


def references(container: Container) -> tuple[set[str], set[str]]:
    """(ConfigMap names, Secret names) the container's env and envFrom read."""
    config_maps: set[str] = set()
    secrets: set[str] = set()
    for source in container.env_from or []:
        if name := (source.get("configMapRef") or {}).get("name"):
            config_maps.add(str(name))
        if name := (source.get("secretRef") or {}).get("name"):
            secrets.add(str(name))
    for var in container.env or []:
        value_from = var.value_from
        if value_from is None:
            continue
        if value_from.config_map_key_ref and value_from.config_map_key_ref.get("name"):
            config_maps.add(str(value_from.config_map_key_ref["name"]))
        if value_from.secret_key_ref and value_from.secret_key_ref.get("name"):
            secrets.add(str(value_from.secret_key_ref["name"]))
    return config_maps, secrets


async def fetch(source: ConfigMapSource, *, namespace: str, container: Container) -> EnvObjects:
    """Read every ConfigMap and Secret the container references (absent ones are None)."""
    config_maps, secrets = references(container)
    return EnvObjects(
        config_maps={name: await source.config_map(namespace, name) for name in sorted(config_maps)},
        secrets={name: await source.secret(namespace, name) for name in sorted(secrets)},
    )


def container_env(
    pod: Pod, container: Container, *, objects: EnvObjects, field_values: Mapping[str, str],
    allocatable: Mapping[str, str] | None = None, service_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The container's variables, in Kubernetes' order and precedence (see the module's docstring)."""
    namespace = pod.metadata.namespace or "default"
    env: dict[str, str] = {}
    for source in container.env_from or []:
        env.update(_env_from(source, namespace=namespace, objects=objects)[0])
    services = dict(service_env or {})
    for var in container.env or []:
        value = _value(var, pod=pod, container=container, namespace=namespace, objects=objects,
                       field_values=field_values, allocatable=allocatable or {}, known={**services, **env})
        if value is not None:  # None: an optional key or object that is absent sets nothing
            env[var.name] = value
    return {**services, **env}


def skipped_keys(pod: Pod, container: Container, *, objects: EnvObjects) -> list[str]:
    """The event messages for ``envFrom`` keys skipped as invalid variable names (Kubernetes' wording)."""
    namespace = pod.metadata.namespace or "default"
    messages = []
    for source in container.env_from or []:
        _, invalid, (kind, name) = _env_from(source, namespace=namespace, objects=objects)
        if invalid:
            messages.append(f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {kind.event} {namespace}/{name} "
                            "were skipped since they are considered invalid environment variable names.")
    return messages


def _env_from(source: Mapping[str, Any], *, namespace: str,
              objects: EnvObjects) -> tuple[dict[str, str], list[str], tuple[_Kind, str]]:
    kind, ref = (CONFIG_MAP, source.get("configMapRef")) if source.get("configMapRef") else (SECRET, source.get("secretRef"))
    ref = ref or {}
    name = str(ref.get("name") or "")
    data = kind.data(objects).get(name)
    if data is None:
        if ref.get("optional"):
            return {}, [], (kind, name)
        raise EnvError(f'{kind.lower} "{name}" not found')
    prefix = str(source.get("prefix") or "")
    values: dict[str, str] = {}
    invalid: list[str] = []
    for key, value in data.items():
        if _ENV_NAME.fullmatch(prefix + key):
            values[prefix + key] = value
        else:
            invalid.append(prefix + key)
    return values, invalid, (kind, name)


def _value(var: EnvVar, *, pod: Pod, container: Container, namespace: str, objects: EnvObjects,
           field_values: Mapping[str, str], allocatable: Mapping[str, str], known: Mapping[str, str]) -> str | None:
    source = var.value_from
    if source is None:
        return expand(var.value or "", known)
    if source.field_ref is not None:
        path = source.field_ref.field_path
        if path not in field_values and not _MAP_ENTRY.fullmatch(path):
            raise EnvError(f"env {var.name}: unsupported fieldRef {path!r}")
        return field_values.get(path, "")  # an absent label or annotation is empty, as Kubernetes
    if source.config_map_key_ref is not None:
        return _key(CONFIG_MAP, source.config_map_key_ref, namespace=namespace, objects=objects)
    if source.secret_key_ref is not None:
        return _key(SECRET, source.secret_key_ref, namespace=namespace, objects=objects)
    if source.resource_field_ref is not None:
        return resource_value(pod, container, source.resource_field_ref, allocatable=allocatable)
    raise EnvError(f"env {var.name}: unsupported valueFrom")


def _key(kind: _Kind, ref: Mapping[str, Any], *, namespace: str, objects: EnvObjects) -> str | None:
    name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
    data = kind.data(objects).get(name)
    if data is None:
        if ref.get("optional"):
            return None
        raise EnvError(f'{kind.lower} "{name}" not found')
    if key not in data:
        if ref.get("optional"):
            return None
        raise EnvError(f"couldn't find key {key} in {kind.label} {namespace}/{name}")
    return data[key]


def resource_value(pod: Pod, container: Container, ref: Mapping[str, Any], *, allocatable: Mapping[str, str]) -> str:
    """A ``resourceFieldRef``: the container's limit (the node's allocatable when it has none) or
    request, divided by ``divisor`` and rounded up, as Kubernetes' ``ExtractContainerResourceValue``."""
    target = _named_container(pod, str(ref.get("containerName") or "")) or container
    resource = str(ref.get("resource") or "")
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or not (name in ("cpu", "memory", "ephemeral-storage")
                                                   or name.startswith("hugepages-")):
        raise EnvError(f"unsupported container resource : {resource}")
    resources = target.resources
    limits = (resources.limits if resources else None) or {}
    requests = (resources.requests if resources else None) or {}
    if kind == "limits":
        amount = limits.get(name) or allocatable.get(name) or "0"
    else:
        amount = requests.get(name) or limits.get(name) or "0"
    divisor = str(ref.get("divisor") or "1")
    if name == "cpu":
        return str(math.ceil(cpu_millis(amount) / max(cpu_millis(divisor), 1)))
    return str(math.ceil(memory_bytes(amount) / max(memory_bytes(divisor), 1)))


def _named_container(pod: Pod, name: str) -> Container | None:
    if not name:
        return None
    return next((c for c in _all_containers(pod) if c.name == name), None)


def _all_containers(pod: Pod) -> Iterator[Container]:
    yield from pod.spec.init_containers or []
    yield from pod.spec.containers


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known names are replaced, ``$$`` escapes, others stay."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VAR_REF.sub(replace, text)

