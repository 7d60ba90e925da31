"""Resolve a Kubernetes REST path to (resource type, namespace, name, subresource)."""

from __future__ import annotations

from dataclasses import dataclass

from apimachinery import resources as res
from apimachinery.errors import route_not_found
from apimachinery.resources import ResourceType


@dataclass(frozen=True)
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def resolve(group: str, version: str, segments: list[str], path: str) -> Target:
    """Segments after ``/api/v1`` or ``/apis/{group}/{version}``, as Kubernetes' router reads them."""
    namespace: str | None = None
    if len(segments) >= 3 and segments[0] == "namespaces" and segments[2] not in ("status", "finalize"):
        namespace, segments = segments[1], segments[2:]
    if not segments or len(segments) > 3 or any(not s for s in segments):
        raise route_not_found()
    rt = res.by_plural(group, version, segments[0])
    if rt is None:
        raise route_not_found()
    if namespace is not None and not rt.namespaced:
        raise route_not_found()
    name = segments[1] if len(segments) > 1 else None
    sub = segments[2] if len(segments) > 2 else None
    if sub is not None and sub not in rt.subresources:
        raise route_not_found()
    return Target(rt, namespace, name, sub)
