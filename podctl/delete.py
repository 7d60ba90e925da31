"""``podctl delete``: by name, ``-l``, ``--all`` or ``-f``, then wait until the objects are gone.

A deletion is only a request: a pod stays (with ``deletionTimestamp``) until its kubelet has
stopped its containers, an object with finalizers until they are cleared. Like kubectl, podctl
waits for the objects to disappear unless ``--wait=false``, and unlike kubectl it says what it
is waiting for. Objects from ``-f`` are deleted in the reverse of their file order, so a
directory applied as namespace -> config -> workload is torn down workload first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from apimachinery.errors import ApiError
from apimachinery.resources import ResourceType
from podctl.errors import PodctlError, TimeoutExceeded, format_api_error
from podctl.resolve import Selection, kind_ref, object_ref
from podctl.session import Session

POLL_SECONDS = 0.25
REPORT_EVERY = 5.0
CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan", "true": "Background",
           "false": "Orphan"}


@dataclass(frozen=True)
class Target:
    rt: ResourceType
    name: str
    namespace: str | None


@dataclass(frozen=True)
class DeleteOptions:
    wait: bool = True
    timeout: float = 0.0  # 0: no limit
    grace_period: int | None = None
    cascade: str = "background"
    ignore_not_found: bool = False


@dataclass
class Pending:
    """An object that was asked to go and may still be there."""

    target: Target
    uid: str
    reason: str


def check_cascade(value: str) -> str:
    if value.lower() not in CASCADE:
        raise PodctlError(f'invalid cascade value ({value}). Must be "background", "foreground", or "orphan".')
    return CASCADE[value.lower()]


async def targets_for(session: Session, selections: list[Selection], *, label_selector: str | None,
                      delete_all: bool) -> list[Target]:
    """Named objects, or every object a selector (or ``--all``) picks, of each type."""
    found: list[Target] = []
    for selection in selections:
        rt = selection.rt
        if selection.names:
            found.extend(Target(rt, name, session.ns(rt)) for name in selection.names)
            continue
        if not label_selector and not delete_all:
            raise PodctlError("resource(s) were provided, but no name was specified")
        items, _ = await session.client.list_raw(rt, session.ns(rt), label_selector=label_selector)
        found.extend(Target(rt, item["metadata"]["name"], session.ns(rt)) for item in items)
    return found


def still_there_reason(obj: dict[str, Any]) -> str:
    """Why a deleted object has not gone yet, in words."""
    meta = obj.get("metadata") or {}
    finalizers = meta.get("finalizers") or []
    if finalizers:
        return "finalizers " + ", ".join(finalizers)
    if obj.get("kind") == "Pod" and (obj.get("spec") or {}).get("nodeName"):
        grace = meta.get("deletionGracePeriodSeconds")
        return f"containers stopping on {obj['spec']['nodeName']}" + (f", grace period {grace}s" if grace else "")
    return "terminating"


async def delete_one(session: Session, target: Target, opts: DeleteOptions) -> Pending | None:
    """Send the DELETE; returns what to wait for, None when nothing is left to wait for."""
    result = await session.client.delete_raw(target.rt, target.name, target.namespace,
                                             grace_period=opts.grace_period,
                                             propagation=check_cascade(opts.cascade))
    session.output.line(f'{kind_ref(target.rt)} "{target.name}" deleted')
    if result.get("kind") == "Status" or not (result.get("metadata") or {}).get("deletionTimestamp"):
        return Pending(target, str((result.get("metadata") or {}).get("uid") or ""), "terminating")
    return Pending(target, str(result["metadata"].get("uid") or ""), still_there_reason(result))


async def delete_targets(session: Session, targets: list[Target], opts: DeleteOptions) -> int:
    failed = False
    pending: list[Pending] = []
    for target in targets:
        try:
            waiting = await delete_one(session, target, opts)
        except ApiError as err:
            if err.code == 404 and opts.ignore_not_found:
                continue
            failed = True
            session.output.error(format_api_error(err))
            continue
        if waiting is not None:
            pending.append(waiting)
    if opts.wait and pending:
        await wait_for_deletion(session, pending, timeout=opts.timeout)
    return 1 if failed else 0


async def _gone(session: Session, item: Pending) -> tuple[bool, str]:
    try:
        obj = await session.get(item.target.rt, item.target.name, item.target.namespace)
    except ApiError as err:
        if err.code == 404:
            return True, ""
        raise
    if item.uid and (obj.get("metadata") or {}).get("uid") != item.uid:
        return True, ""  # a new object of the same name: ours is gone
    return False, still_there_reason(obj)


async def wait_for_deletion(session: Session, pending: list[Pending], *, timeout: float) -> None:
    """Poll until every object is gone, telling the user what is still there and why."""
    clock = session.clock
    start = clock.monotonic()
    last_report = -REPORT_EVERY
    remaining = list(pending)
    while True:
        still: list[Pending] = []
        for item in remaining:
            gone, reason = await _gone(session, item)
            if not gone:
                item.reason = reason
                still.append(item)
        remaining = still
        if not remaining:
            return
        elapsed = clock.monotonic() - start
        if elapsed - last_report >= REPORT_EVERY:
            last_report = elapsed
            session.output.progress(_waiting_line(remaining))
        if timeout and elapsed >= timeout:
            names = ", ".join(object_ref(p.target.rt, p.target.name) for p in remaining)
            raise TimeoutExceeded(f"timed out waiting for the deletion of {names}")
        await asyncio.sleep(POLL_SECONDS)


def _waiting_line(remaining: list[Pending]) -> str:
    shown = "; ".join(f"{object_ref(p.target.rt, p.target.name)} ({p.reason})" for p in remaining[:5])
    more = f" and {len(remaining) - 5} more" if len(remaining) > 5 else ""
    return f"waiting for {len(remaining)} object(s) to be deleted: {shown}{more}"
