"""The ``pods/ephemeralcontainers`` subresource (``podEphemeralContainersStrategy``).

An update through it changes ``spec.ephemeralContainers`` and nothing else; entries are added,
never changed or removed (the kubelet runs each one once, so there is no way to "change" one).
An ephemeral container is a debugging tool, not part of the application: it has no ports,
probes, resources, lifecycle hooks or restart policy, and its name is unique among all of the
pod's containers so that logs, exec and attach can name it. ``targetContainerName`` names the
container whose process namespace it joins.
"""

from __future__ import annotations

import copy

from apiserver.strategies.base import Cause, Obj
from apiserver.strategies.pod import PodStrategy
from apiserver.validation import (
    as_dict,
    as_dicts,
    duplicate,
    forbidden,
    not_found_value,
    validate_container,
    volume_names,
)

FIELD = "spec.ephemeralContainers"
#: Container fields Kubernetes refuses on an ephemeral container (everything outside its allow list).
_NOT_FOR_EPHEMERAL = (
    "ports", "resources", "resizePolicy", "lifecycle", "livenessProbe", "readinessProbe", "startupProbe",
    "restartPolicy", "restartPolicyRules",
)
_NOT_FOR_EPHEMERAL_MESSAGE = "cannot be set for an Ephemeral Container"


def ephemeral_containers(pod: Obj) -> list[Obj]:
    return as_dicts(as_dict(pod.get("spec")).get("ephemeralContainers"))


def validate_ephemeral_containers(spec: Obj) -> list[Cause]:
    """Each entry's fields, names unique across every container list, targets that exist."""
    targets = {str(c.get("name")) for key in ("containers", "initContainers") for c in as_dicts(spec.get(key))}
    seen = set(targets)
    volumes = volume_names(spec)
    causes: list[Cause] = []
    for i, container in enumerate(as_dicts(spec.get("ephemeralContainers"))):
        path = f"{FIELD}[{i}]"
        causes += validate_container(container, path, volumes)
        causes += [forbidden(f"{path}.{key}", _NOT_FOR_EPHEMERAL_MESSAGE)
                   for key in _NOT_FOR_EPHEMERAL if container.get(key) not in (None, {}, [], "")]
        causes += [forbidden(f"{path}.volumeMounts[{j}].subPath", _NOT_FOR_EPHEMERAL_MESSAGE)
                   for j, mount in enumerate(as_dicts(container.get("volumeMounts"))) if mount.get("subPath")]
        name = container.get("name")
        if name and name in seen:
            causes.append(duplicate(f"{path}.name", name))
        seen.add(str(name))
        target = container.get("targetContainerName")
        if target and target not in targets:
            causes.append(not_found_value(f"{path}.targetContainerName", target))
    return causes


def validate_ephemeral_update(new: Obj, old: Obj) -> list[Cause]:
    """Existing entries stay exactly as they were (matched by name: a patch may reorder them)."""
    by_name = {c.get("name"): c for c in ephemeral_containers(new)}
    causes: list[Cause] = []
    for existing in ephemeral_containers(old):
        name = existing.get("name")
        if name not in by_name:
            causes.append(forbidden(FIELD, f'existing ephemeral containers "{name}" may not be removed'))
        elif by_name[name] != existing:
            causes.append(forbidden(FIELD, f'existing ephemeral containers "{name}" may not be changed'))
    return causes


class EphemeralContainersStrategy(PodStrategy):
    """A pod's defaults and rules, but updates carry only ``spec.ephemeralContainers``."""

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """``new`` becomes ``old`` (metadata too) with ``new``'s ephemeral containers."""
        added = as_dict(new.get("spec")).get("ephemeralContainers")
        new.clear()
        new.update(copy.deepcopy(old))
        spec = new.setdefault("spec", {})
        if added is None:
            spec.pop("ephemeralContainers", None)
        else:
            spec["ephemeralContainers"] = added

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_ephemeral_containers(as_dict(obj.get("spec")))

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return validate_ephemeral_update(new, old)


STRATEGY = EphemeralContainersStrategy("Pod")
