"""ObjectMeta, ListMeta, OwnerReference, Status, conditions and selectors: meta.k8s.io/v1 shapes."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from apimachinery.models.base import AnyDict, Int64, K8sModel


class OwnerReference(K8sModel):
    """An object this object depends on; when every owner is gone the garbage collector deletes it."""

    api_version: str
    """The owner's API version."""
    kind: str
    """The owner's kind."""
    name: str
    """The owner's name."""
    uid: str
    """The owner's UID: a new object with the same name is a different owner."""
    controller: bool | None = None
    """True for the one owner that manages this object."""
    block_owner_deletion: bool | None = None
    """With foreground deletion, the owner is not removed until this object is."""


class ManagedFieldsEntry(K8sModel):
    """The fields one manager set through one operation."""

    manager: str | None = None
    operation: str | None = None
    api_version: str | None = None
    time: str | None = None
    fields_type: str | None = None
    fields_v1: AnyDict | None = Field(default=None, alias="fieldsV1")
    subresource: str | None = None


class ObjectMeta(K8sModel):
    """Metadata every persisted object has: name, namespace, labels, ownership, versions."""

    name: str | None = None
    """Unique within a namespace (or the cluster for cluster-scoped kinds). Cannot be updated."""
    generate_name: str | None = None
    """A prefix the server completes with a random suffix when name is empty."""
    namespace: str | None = None
    """The namespace the object lives in; empty for cluster-scoped kinds."""
    uid: str | None = None
    """Unique across time and space; set by the server."""
    resource_version: str | None = None
    """An opaque version for optimistic concurrency and watches; set by the server."""
    generation: Int64 | None = None
    """Increases with every change to the desired state; set by the server."""
    creation_timestamp: str | None = None
    """When the object was created (RFC 3339); set by the server."""
    deletion_timestamp: str | None = None
    """When graceful deletion was requested; the object goes away once its finalizers are done."""
    deletion_grace_period_seconds: Int64 | None = None
    """Seconds the object was given to stop when deletion was requested."""
    labels: dict[str, str] | None = None
    """Key/value pairs that selectors match on."""
    annotations: dict[str, str] | None = None
    """Key/value pairs for tools; not used for selection."""
    owner_references: list[OwnerReference] | None = None
    """Objects this one depends on, for garbage collection."""
    finalizers: list[str] | None = None
    managed_fields: list[ManagedFieldsEntry] | None = None
    self_link: str | None = None

    def controller_ref(self) -> OwnerReference | None:
        for ref in self.owner_references or []:
            if ref.controller:
                return ref
        return None


class ListMeta(K8sModel):
    """Metadata of a list: its resource version and the token to continue a paginated list."""

    resource_version: str | None = None
    continue_: str | None = Field(default=None, alias="continue")
    remaining_item_count: Int64 | None = None


class LabelSelectorRequirement(K8sModel):
    """One condition on a label: key, operator (In, NotIn, Exists, DoesNotExist) and values."""

    key: str
    """The label key."""
    operator: str
    """In, NotIn, Exists or DoesNotExist."""
    values: list[str] | None = None
    """The values for In and NotIn; empty for Exists and DoesNotExist."""


class LabelSelector(K8sModel):
    """Selects objects by labels; all conditions must hold. An empty selector matches everything."""

    match_labels: dict[str, str] | None = None
    """Labels that must be present with exactly these values."""
    match_expressions: list[LabelSelectorRequirement] | None = None
    """More conditions on labels."""


class StatusCause(K8sModel):
    """One reason a request failed, with the field at fault."""

    reason: str | None = None
    message: str | None = None
    field: str | None = None


class StatusDetails(K8sModel):
    """Which object a failure is about and why."""

    name: str | None = None
    group: str | None = None
    kind: str | None = None
    uid: str | None = None
    causes: list[StatusCause] | None = None
    retry_after_seconds: int | None = None


class Status(K8sModel):
    """The result of a request that returns no object, and the body of every error."""

    api_version: str = "v1"
    kind: str = "Status"
    metadata: ListMeta = Field(default_factory=ListMeta)
    status: str | None = None
    message: str | None = None
    reason: str | None = None
    details: StatusDetails | None = None
    code: int | None = None


class Condition(K8sModel):
    """One aspect of an object's state: a type, whether it holds, why, and since when."""

    type: str
    """What the condition is about (Ready, Available, Progressing, ...)."""
    status: str
    """True, False or Unknown."""
    reason: str | None = None
    """A CamelCase word saying why."""
    message: str | None = None
    """A sentence for humans saying why."""
    last_transition_time: str | None = None
    """When the status last changed."""
    last_update_time: str | None = None
    last_probe_time: str | None = None
    last_heartbeat_time: str | None = None
    observed_generation: Int64 | None = None


class DeleteOptions(K8sModel):
    """How an object is deleted: grace period, preconditions, and what happens to its dependents."""

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
