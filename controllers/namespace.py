"""Namespace lifecycle: a deleted namespace's content goes first, then the namespace.

Deleting a namespace only marks it ``Terminating`` (the apiserver keeps it while its
``spec.finalizers`` holds ``kubernetes``). This controller, as Kubernetes' namespace controller,
deletes every namespaced object in it, with Background propagation so owners and dependents go
their usual way and pods get their grace period on their kubelets. While anything remains it
records why in the namespace's conditions and looks again shortly; once nothing is left it
removes its finalizer through ``/finalize`` and the apiserver removes the namespace.

``sync`` reads the namespace from the informer and the content from the API (lists are cheap and
always current), so a restarted controller simply carries on where the last one stopped.
"""

from __future__ import annotations

import builtins
import logging
from typing import Any, Protocol

from apimachinery import resources as res
from apimachinery.conditions import FALSE, TRUE, set_condition
from apimachinery.errors import ApiError
from apimachinery.models.core import Namespace
from apimachinery.models.meta import Condition
from apimachinery.resources import ResourceType
from apimachinery.timeutil import now_rfc3339
from apimachinery.workqueue import WorkQueue
from controllers.base import Cache, ControllerContext, Queue

log = logging.getLogger(__name__)

FINALIZER = "kubernetes"
RECHECK_SECONDS = 1.0  # while content remains: pods finish their grace period meanwhile

CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
SOME_CONTENT_REMAINS = "SomeResourcesRemain"
SOME_FINALIZERS_REMAIN = "SomeFinalizersRemain"
CONTENT_DELETED = "ContentDeleted"
CONTENT_DELETION_FAILED = "ContentDeletionFailed"
CONTENT_HAS_NO_FINALIZERS = "ContentHasNoFinalizers"


class NamespaceClient(Protocol):
    """The raw calls this controller makes: it handles every namespaced kind alike."""

    async def list_raw(self, rt: ResourceType, namespace: str | None = None) -> tuple[list[dict[str, Any]], str]: ...

    async def delete_raw(
        self, rt: ResourceType, name: str, namespace: str | None = None, *, propagation: str | None = None
    ) -> dict[str, Any]: ...

    async def request(self, method: str, path: str, *, body: Any = None) -> Any: ...


class Remaining:
    """What a pass over a terminating namespace left behind, per resource."""

    def __init__(self) -> None:
        self.objects: dict[str, int] = {}
        self.finalizers: dict[str, int] = {}
        self.failures: builtins.list[str] = []

    def __bool__(self) -> bool:
        return bool(self.objects or self.failures)


def deletion_conditions(remaining: Remaining) -> builtins.list[Condition]:
    """The three conditions Kubernetes reports on a terminating namespace, from one pass."""
    content = ", ".join(f"{r} has {n} resource instances" for r, n in sorted(remaining.objects.items()))
    held = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(remaining.finalizers.items()))
    failed = "; ".join(remaining.failures)
    return [
        _condition(CONTENT_FAILURE, bool(failed), CONTENT_DELETION_FAILED if failed else CONTENT_DELETED,
                   f"Failed to delete all resource types: {failed}" if failed
                   else "All content successfully deleted, may be waiting on finalization"),
        _condition(CONTENT_REMAINING, bool(content), SOME_CONTENT_REMAINS if content else CONTENT_DELETED,
                   f"Some resources are remaining: {content}" if content else "All content successfully removed"),
        _condition(FINALIZERS_REMAINING, bool(held), SOME_FINALIZERS_REMAIN if held else CONTENT_HAS_NO_FINALIZERS,
                   f"Some content in the namespace has finalizers remaining: {held}" if held
                   else "All content-preserving finalizers finished"),
    ]


def _condition(type_: str, true: bool, reason: str, message: str) -> Condition:
    return Condition(type=type_, status=TRUE if true else FALSE, reason=reason, message=message)


class NamespaceController:
    name = "namespace-controller"
    workers = 2

    def __init__(self, ctx: ControllerContext, *, queue: Queue | None = None) -> None:
        self.client: NamespaceClient = ctx.client  # type: ignore[assignment]
        self.clock = ctx.clock
        self.namespaces: Cache[Namespace] = ctx.informers.namespaces
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self.namespaces.add_handler(self._on_namespace, lambda old, new: self._on_namespace(new))

    def _on_namespace(self, ns: Namespace) -> None:
        if ns.metadata.deletion_timestamp is not None:
            self.queue.add(ns.metadata.name or "")

    async def sync(self, key: str) -> None:
        """Delete a terminating namespace's content; finalize it once nothing is left."""
        ns = self.namespaces.get(key)
        if ns is None or ns.metadata.deletion_timestamp is None:
            return
        if FINALIZER not in ((ns.spec.finalizers if ns.spec else None) or []):
            return  # ours is done; others' finalizers are theirs
        remaining = await self.delete_content(key)
        await self.update_conditions(ns, remaining)
        if remaining:
            self.queue.add_after(key, RECHECK_SECONDS)
            return
        await self.finalize(ns)

    async def delete_content(self, namespace: str) -> Remaining:
        remaining = Remaining()
        for rt in res.RESOURCES:
            if rt.namespaced and not rt.is_review:  # a review (LocalSubjectAccessReview) is never stored
                await self._delete_all(rt, namespace, remaining)
        return remaining

    async def _delete_all(self, rt: ResourceType, namespace: str, remaining: Remaining) -> None:
        try:
            items, _ = await self.client.list_raw(rt, namespace)
        except ApiError as err:
            remaining.failures.append(f"{rt.group_resource}: {err.message}")
            return
        for item in items:
            meta = item.get("metadata") or {}
            if meta.get("finalizers"):
                for finalizer in meta["finalizers"]:
                    remaining.finalizers[finalizer] = remaining.finalizers.get(finalizer, 0) + 1
            if meta.get("deletionTimestamp"):
                continue  # already going (a pod in its grace period, a finalizer pending)
            try:
                await self.client.delete_raw(rt, meta.get("name", ""), namespace, propagation="Background")
            except ApiError as err:
                if err.code not in (404, 409):
                    remaining.failures.append(f"{rt.group_resource}/{meta.get('name')}: {err.message}")
                    continue
        # Deleted at once or terminating: count again, what is left keeps the namespace.
        try:
            left, _ = await self.client.list_raw(rt, namespace)
        except ApiError as err:
            remaining.failures.append(f"{rt.group_resource}: {err.message}")
            return
        if left:
            remaining.objects[rt.group_resource] = len(left)

    async def update_conditions(self, ns: Namespace, remaining: Remaining) -> None:
        """Kubernetes' deletion conditions, written only when they change."""
        old = list(ns.status.conditions or []) if ns.status else []
        conditions = old
        now = now_rfc3339(self.clock)
        for new in deletion_conditions(remaining):
            conditions = set_condition(conditions, new, now=now)
        if conditions == old:
            return
        wire = ns.to_dict()
        wire.setdefault("status", {})["conditions"] = [c.to_dict() for c in conditions]
        await self._put(ns, "status", wire)

    async def finalize(self, ns: Namespace) -> None:
        wire = ns.to_dict()
        spec = wire.setdefault("spec", {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
        await self._put(ns, "finalize", wire)
        log.info("namespace %s: content deleted, finalized", ns.metadata.name)

    async def _put(self, ns: Namespace, subresource: str, wire: dict[str, Any]) -> None:
        # Without a resourceVersion: the last writer wins, as for Kubernetes' own finalize call
        # (only this controller writes these fields of a terminating namespace).
        wire.setdefault("metadata", {}).pop("resourceVersion", None)
        try:
            await self.client.request("PUT", res.NAMESPACES.path(None, ns.metadata.name, subresource), body=wire)
        except ApiError as err:
            if err.code != 404:  # gone already: nothing left to do
                raise
