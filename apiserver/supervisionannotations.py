"""The ``supervision.podvisor.io/`` annotations, refused with a 422 when they do not parse.

The spec lives in annotations so that unmodified clients can write it; the API server is then
the one place that can tell a user, at write time, that ``intensity: "five"`` or a misspelt key
means nothing. What is valid is decided by :mod:`apimachinery.supervision` (the kubelet, the
controllers and podctl parse with the same rules); this module only turns each
:class:`~apimachinery.supervision.SpecError` into a Status cause naming the annotation, as
Kubernetes names a map entry: ``metadata.annotations[supervision.podvisor.io/strategy]``.

Pods and pod templates carry the pod keys; a Deployment's own metadata carries its keys. A
ReplicaSet's own metadata is not checked: the Deployment controller copies the Deployment's
annotations onto it.
"""

from __future__ import annotations

from collections.abc import Iterable

from apimachinery.supervision import SpecError, deployment_spec_errors, pod_spec_errors
from apiserver.validation import Cause, Obj, as_dict, as_dicts, invalid_value


def pod_annotation_causes(metadata: Obj, spec: Obj, path: str) -> list[Cause]:
    """Problems with a pod's (or a template's) supervision annotations; ``path``: its metadata's."""
    names = [str(c["name"]) for c in as_dicts(spec.get("containers")) if isinstance(c.get("name"), str)]
    return _causes(pod_spec_errors(_annotations(metadata), names), f"{path}.annotations")


def deployment_annotation_causes(metadata: Obj) -> list[Cause]:
    """Problems with a Deployment's own supervision annotations."""
    return _causes(deployment_spec_errors(_annotations(metadata)), "metadata.annotations")


def _annotations(metadata: Obj) -> dict[str, object]:
    return dict(as_dict(metadata.get("annotations")))


def _causes(errors: Iterable[SpecError], path: str) -> list[Cause]:
    return [invalid_value(f"{path}[{e.key}]", e.value, e.message) for e in errors]
