"""ObjectMeta, ListMeta, OwnerReference, Status, conditions and selectors: meta.k8s.io/v1 shapes."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from apimachinery.models.base import AnyDict, Int64, K8sModel


class OwnerReference(K8sModel):
    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ManagedFieldsEntry(K8sModel):
    manager: str | None = None
    operation: str | None = None
    api_version: str | None = None
    time: str | None = None
    fields_type: str | None = None
    fields_v1: AnyDict | None = Field(default=None, alias="fieldsV1")
    subresource: str | None = None


class ObjectMeta(K8sModel):
    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: Int64 | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: Int64 | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None
    finalizers: list[str] | None = None
    managed_fields: list[ManagedFieldsEntry] | None = None
    self_link: str | None = None

    def controller_ref(self) -> OwnerReference | None:
        for ref in self.owner_references or []:
            if ref.controller:
                return ref
        return None


class ListMeta(K8sModel):
    resource_version: str | None = None
    continue_: str | None = Field(default=None, alias="continue")
    remaining_item_count: Int64 | None = None


class LabelSelectorRequirement(K8sModel):
    key: str
    operator: str
    values: list[str] | None = None


class LabelSelector(K8sModel):
    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None


class StatusCause(K8sModel):
    reason: str | None = None
    message: str | None = None
    field: str | None = None


class StatusDetails(K8sModel):
    name: str | None = None
    group: str | None = None
    kind: str | None = None
    uid: str | None = None
    causes: list[StatusCause] | None = None
    retry_after_seconds: int | None = None


class Status(K8sModel):
    api_version: str = "v1"
    kind: str = "Status"
    metadata: ListMeta = Field(default_factory=ListMeta)
    status: str | None = None
    message: str | None = None
    reason: str | None = None
    details: StatusDetails | None = None
    code: int | None = None


class Condition(K8sModel):
    """The one shape of every condition (pod, node, deployment, ...)."""

    type: str
    status: str
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None
    last_update_time: str | None = None
    last_probe_time: str | None = None
    last_heartbeat_time: str | None = None
    observed_generation: Int64 | None = None


class DeleteOptions(K8sModel):
    api_version: str | None = None
    kind: str | None = None
    grace_period_seconds: Int64 | None = None
    propagation_policy: str | None = None
    preconditions: AnyDict | None = None
    dry_run: list[str] | None = None
    orphan_dependents: bool | None = None


def meta_get(obj: dict[str, Any], *path: str) -> Any:
    """Read a nested key from a wire dict, None when any step is missing."""
    cur: Any = obj
    for step in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(step)
    return cur
