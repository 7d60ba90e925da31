"""Field ownership (``metadata.managedFields``) and server-side apply, as Kubernetes keeps them.

The registry calls three things: :func:`manager_name` (who writes), :func:`prepare_apply` (the
object an apply asks for, and what it will own) and :func:`track` (the managedFields the write
leaves, or a 409 on apply conflicts). The set algebra lives in :mod:`.fieldpath`,
:mod:`.walk`, :mod:`.managed` and :mod:`.manager`, free of the registry and of HTTP.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apimachinery.errors import ApiError, bad_request
from apimachinery.patch import strategic_merge_patch
from apimachinery.resources import ResourceType
from apiserver.fieldmanager import managed, manager
from apiserver.fieldmanager.fieldpath import FieldSet
from apiserver.fieldmanager.managed import Entry
from apiserver.fieldmanager.manager import Scope, Writer

__all__ = ["ApplyRequest", "Writer", "manager_name", "patch_options", "prepare_apply", "track", "writer_for"]

MAX_MANAGER_LENGTH = 128
SERVER_MANAGER = "podvisor-apiserver"  # writes the server makes on its own behalf


def manager_name(field_manager: str | None, user_agent: str | None) -> str:
    """``fieldManager``, else what Kubernetes derives from the User-Agent: its part before ``/``."""
    if field_manager:
        return field_manager
    prefix = (user_agent or "").split("/", 1)[0]
    return "".join(ch for ch in prefix if ch.isprintable())[:MAX_MANAGER_LENGTH]


def patch_options(*, field_manager: str | None, force: str | None, apply: bool) -> bool:
    """Check a write's ``fieldManager`` (and a PATCH's ``force``: pass None for other verbs) as
    Kubernetes validates its options; returns whether the apply is forced."""
    causes = []
    if field_manager is not None and (len(field_manager) > MAX_MANAGER_LENGTH
                                      or not all(ch.isprintable() for ch in field_manager)):
        causes.append(("fieldManager", "FieldValueInvalid",
                       f'Invalid value: "{field_manager}": must be at most 128 printable characters'))
    if apply and not field_manager:
        causes.append(("fieldManager", "FieldValueRequired", "Required value: is required for apply patch"))
    forced = (force or "").lower() in ("true", "1")
    if force is not None and not apply:
        causes.append(("force", "FieldValueForbidden", "Forbidden: may not be specified for non-apply patch"))
    if causes:
        text = ", ".join(f"{f}: {m}" for f, _, m in causes)
        raise ApiError(422, "Invalid", f'PatchOptions.meta.k8s.io "" is invalid: {text}', name="",
                       group="meta.k8s.io", kind="PatchOptions",
                       causes=[{"reason": r, "message": m, "field": f} for f, r, m in causes])
    return forced


def writer_for(rt: ResourceType, field_manager: str | None, subresource: str | None) -> Writer:
    return Writer(manager=SERVER_MANAGER if field_manager is None else field_manager,
                  api_version=rt.api_version, subresource=subresource or "")


def _scope(rt: ResourceType, writer: Writer) -> Scope:
    return Scope(kind=rt.kind, status_split="status" in rt.subresources, status=writer.subresource == "status")


@dataclass(frozen=True)
class ApplyRequest:
    """A server-side apply on its way through the registry's update (or create)."""

    config: dict[str, Any]
    owned: FieldSet  # the fields the configuration sets: what the applier will own
    entries: list[Entry]  # the live entries, ``before-first-apply`` added where none were
    force: bool


def prepare_apply(live: dict[str, Any] | None, config: Any, *, rt: ResourceType, writer: Writer,
                  force: bool) -> tuple[dict[str, Any], ApplyRequest]:
    """The object an apply of ``config`` over ``live`` asks for (pruned), and the request to track."""
    if not isinstance(config, dict):
        raise bad_request("an apply patch must be a JSON or YAML object")
    if (config.get("metadata") or {}).get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")
    scope = _scope(rt, writer)
    owned = scope.owned(config)
    if live is None:
        return copy.deepcopy(config), ApplyRequest(config, owned, [], force)
    entries = manager.before_first_apply(live, _live_entries(live), writer=writer, scope=scope)
    merged = strategic_merge_patch(live, config, rt.kind)
    manager.prune(merged, entries=entries, applied=owned, writer=writer)
    return merged, ApplyRequest(config, owned, entries, force)


def track(old: Mapping[str, Any] | None, new: dict[str, Any], *, rt: ResourceType, writer: Writer,
          now: str, apply: ApplyRequest | None = None) -> None:
    """Set ``new``'s managedFields for this write (in place); 409 when an apply conflicts."""
    scope = _scope(rt, writer)
    meta = new.setdefault("metadata", {})
    if apply is not None:
        entries = manager.record_apply(old=old, new=new, entries=apply.entries, applied=apply.owned,
                                       writer=writer, scope=scope, now=now, force=apply.force)
        manager.sync_last_applied(new, apply.config, writer=writer)
    else:
        entries = manager.record_update(old=old, new=new, entries=_requested_entries(old, new, writer),
                                        writer=writer, scope=scope, now=now)
    encoded = managed.encode(entries)
    if encoded is None:
        meta.pop("managedFields", None)
    else:
        meta["managedFields"] = encoded


def _live_entries(obj: Mapping[str, Any] | None) -> list[Entry]:
    try:
        return managed.decode(((obj or {}).get("metadata") or {}).get("managedFields") or [], trusted=True)
    except ApiError:
        return []  # unreadable ownership is dropped, as Kubernetes resets it


def _requested_entries(old: Mapping[str, Any] | None, new: Mapping[str, Any], writer: Writer) -> list[Entry]:
    """Kubernetes' ``decodeLiveOrNew``: a write may replace ownership by sending managedFields
    (``[]`` or ``[{}]`` clears it); one that sends none, or sends garbage, keeps the live ones.
    Subresource writes never touch ownership of their own accord."""
    raw = (new.get("metadata") or {}).get("managedFields")
    if writer.subresource or raw is None or raw == ((old or {}).get("metadata") or {}).get("managedFields"):
        return _live_entries(old)  # (sending back what was read is the common case)
    if managed.is_reset(raw):
        return []
    try:
        return managed.decode(raw)
    except ApiError:
        return _live_entries(old)
