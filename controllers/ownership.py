"""Claiming children: adopt matching orphans, release children whose labels no longer match.

Kubernetes' ControllerRefManager, reduced to a pure plan plus the patches that carry it out. An
object belongs to the owner its *controller* ownerReference names by uid; the selector only
decides what an owner may adopt (an orphan that matches) and what it must let go (a child that no
longer matches). Adoption first re-reads the owner from the API server, not the cache: an owner
that is already being deleted, or was replaced by a new object of the same name, must not adopt.

Both patches are strategic merges on ``metadata.ownerReferences`` keyed by uid, so they never
clobber references other writers hold and need no resourceVersion.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from apimachinery.errors import ApiError
from apimachinery.models.base import TypedObject
from apimachinery.selectors import LabelSelector
from controllers.base import Client, controller_ref_to

T = TypeVar("T", bound=TypedObject)


@dataclass
class ClaimPlan(Generic[T]):
    owned: list[T] = field(default_factory=list)  # controlled by the owner and matching
    adopt: list[T] = field(default_factory=list)  # orphans that match
    release: list[T] = field(default_factory=list)  # controlled by the owner but no longer matching


def plan_claims(owner: Any, selector: LabelSelector, objects: Iterable[T]) -> ClaimPlan[T]:
    """Sort candidate children into owned / to adopt / to release (pure)."""
    plan: ClaimPlan[T] = ClaimPlan()
    owner_deleting = owner.metadata.deletion_timestamp is not None
    for obj in objects:
        meta = obj.metadata  # type: ignore[attr-defined]
        matches = selector.matches(meta.labels)
        ref = meta.controller_ref()
        if ref is not None:
            if ref.uid != owner.metadata.uid:
                continue  # someone else's
            if matches:
                plan.owned.append(obj)
            elif not owner_deleting:
                plan.release.append(obj)
            continue
        if matches and not owner_deleting and meta.deletion_timestamp is None:
            plan.adopt.append(obj)
    return plan


async def claim(client: Client, owner: Any, plan: ClaimPlan[T]) -> list[T]:
    """Carry out ``plan``; returns the children the owner controls afterwards."""
    owned = list(plan.owned)
    for obj in plan.release:
        await _release(client, owner, obj)
    if plan.adopt and await _can_adopt(client, owner):
        for obj in plan.adopt:
            adopted = await _adopt(client, owner, obj)
            if adopted is not None:
                owned.append(adopted)
    return owned


async def _can_adopt(client: Client, owner: Any) -> bool:
    try:
        fresh = await client.get(type(owner), owner.metadata.name, owner.metadata.namespace)
    except ApiError as err:
        if err.code == 404:
            return False
        raise
    return fresh.metadata.uid == owner.metadata.uid and fresh.metadata.deletion_timestamp is None  # type: ignore[attr-defined]


async def _adopt(client: Client, owner: Any, obj: T) -> T | None:
    meta = obj.metadata  # type: ignore[attr-defined]
    # The resourceVersion makes this a compare-and-swap: only the orphan we saw is adopted, so two
    # owners racing for one object cannot both become its controller.
    patch = {"metadata": {"ownerReferences": [controller_ref_to(owner).to_dict()],
                          "resourceVersion": meta.resource_version}}
    try:
        return await client.patch(type(obj), meta.name, patch, meta.namespace, patch_type="strategic")
    except ApiError as err:
        if err.code == 404:
            return None  # gone meanwhile: nothing to adopt
        raise


async def _release(client: Client, owner: Any, obj: T) -> None:
    patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner.metadata.uid}]}}
    meta = obj.metadata  # type: ignore[attr-defined]
    try:
        await client.patch(type(obj), meta.name, patch, meta.namespace, patch_type="strategic")
    except ApiError as err:
        if err.code not in (404, 422):  # gone, or already released
            raise
