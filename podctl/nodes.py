"""``podctl cordon|uncordon|drain``: take a node out of scheduling and empty it.

``drain`` follows kubectl's filters: mirror pods (static pods the kubelet reports) are skipped
silently, DaemonSet pods need ``--ignore-daemonsets`` (and are then left alone, their controller
would recreate them), pods without a controller need ``--force`` (nothing recreates them),
finished pods are simply deleted. Pods are evicted through the ``eviction`` subresource and the
command waits until they are gone. An eviction a PodDisruptionBudget refuses (429) is retried
every 5 seconds, as kubectl does, until the budget allows it or ``--timeout`` runs out.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from apimachinery import resources as res
from apimachinery.errors import ApiError
from podctl.delete import Pending, Target, wait_for_deletion
from podctl.errors import PodctlError, TimeoutExceeded
from podctl.resolve import object_ref
from podctl.session import Session

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
#: kubectl's wait between evictions a disruption budget refused.
EVICTION_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class DrainOptions:
    force: bool = False
    ignore_daemonsets: bool = False
    grace_period: int | None = None
    timeout: float = 0.0


@dataclass
class DrainPlan:
    """What drain will do with each pod on the node."""

    evict: list[dict[str, Any]]
    ignored_daemonset: list[str]
    unmanaged: list[str]
    blocked: list[str]


def _controller(pod: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def _key(pod: dict[str, Any]) -> str:
    return f"{pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"


def plan_drain(pods: list[dict[str, Any]], opts: DrainOptions) -> DrainPlan:
    """Sort the node's pods into evict / ignore / refuse, as kubectl's drain filters do."""
    plan = DrainPlan([], [], [], [])
    for pod in pods:
        meta = pod["metadata"]
        if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            continue
        phase = (pod.get("status") or {}).get("phase")
        controller = _controller(pod)
        if phase in ("Succeeded", "Failed"):
            plan.evict.append(pod)
        elif controller is not None and controller.get("kind") == "DaemonSet":
            (plan.ignored_daemonset if opts.ignore_daemonsets else plan.blocked).append(_key(pod))
        elif controller is None:
            if opts.force:
                plan.unmanaged.append(_key(pod))
                plan.evict.append(pod)
            else:
                plan.blocked.append(_key(pod))
        else:
            plan.evict.append(pod)
    return plan


def blocked_message(pods: list[dict[str, Any]], opts: DrainOptions) -> str:
    """kubectl's explanation of why a drain cannot proceed."""
    parts = []
    daemon = [_key(p) for p in pods if (_controller(p) or {}).get("kind") == "DaemonSet"]
    bare = [_key(p) for p in pods if _controller(p) is None
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and MIRROR_ANNOTATION not in (p["metadata"].get("annotations") or {})]
    if bare and not opts.force:
        parts.append(f"cannot delete Pods that declare no controller (use --force to override): {', '.join(bare)}")
    if daemon and not opts.ignore_daemonsets:
        parts.append(f"cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): {', '.join(daemon)}")
    return "; ".join(parts)


async def set_unschedulable(session: Session, node: str, *, unschedulable: bool) -> int:
    live = await session.get(res.NODES, node)
    ref = object_ref(res.NODES, node)
    word = "cordoned" if unschedulable else "uncordoned"
    if bool((live.get("spec") or {}).get("unschedulable")) == unschedulable:
        session.output.line(f"{ref} already {word}")
        return 0
    body = {"spec": {"unschedulable": True if unschedulable else None}}
    await session.patch(res.NODES, node, None, body, patch_type="strategic")
    session.output.line(f"{ref} {word}")
    return 0


async def evict(session: Session, pod: dict[str, Any], opts: DrainOptions) -> None:
    """POST an Eviction; a server without the subresource gets a plain DELETE."""
    meta = pod["metadata"]
    body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction",
                            "metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
    if opts.grace_period is not None:
        body["deleteOptions"] = {"gracePeriodSeconds": opts.grace_period}
    path = res.PODS.path(meta["namespace"], meta["name"], "eviction")
    try:
        await session.client.request("POST", path, body=body)
    except ApiError as err:
        if err.code == 404 and err.name == meta["name"]:
            return  # already gone
        if err.code not in (404, 405):
            raise
        await session.client.delete_raw(res.PODS, meta["name"], meta["namespace"], grace_period=opts.grace_period)


async def evict_within_budget(session: Session, pod: dict[str, Any], opts: DrainOptions, *, start: float) -> None:
    """:func:`evict`, retried while a disruption budget answers 429 (until ``opts.timeout``)."""
    meta = pod["metadata"]
    while True:
        try:
            await evict(session, pod, opts)
            return
        except ApiError as err:
            if err.code != 429:
                raise
            if opts.timeout and session.clock.monotonic() - start >= opts.timeout:
                raise TimeoutExceeded(f"global timeout reached: {opts.timeout:g}s") from err
            session.output.warn(f'error when evicting pods/"{meta["name"]}" -n "{meta["namespace"]}" '
                                f"(will retry after 5s): {err.message}")
            await asyncio.sleep(EVICTION_RETRY_SECONDS)


async def drain(session: Session, node: str, opts: DrainOptions) -> int:
    await set_unschedulable(session, node, unschedulable=True)
    pods, _ = await session.client.list_raw(res.PODS, None, field_selector=f"spec.nodeName={node}")
    plan = plan_drain(pods, opts)
    if plan.blocked:
        raise PodctlError(f'unable to drain node "{node}" due to error: {blocked_message(pods, opts)}')
    if plan.ignored_daemonset:
        session.output.warn(f"ignoring DaemonSet-managed Pods: {', '.join(plan.ignored_daemonset)}")
    if plan.unmanaged:
        session.output.warn(f"deleting Pods that declare no controller: {', '.join(plan.unmanaged)}")
    pending = []
    start = session.clock.monotonic()
    for pod in plan.evict:
        meta = pod["metadata"]
        session.output.progress(f"evicting pod {meta['namespace']}/{meta['name']}")
        await evict_within_budget(session, pod, opts, start=start)
        pending.append(Pending(Target(res.PODS, meta["name"], meta["namespace"]), meta.get("uid", ""), "evicting"))
    await wait_for_deletion(session, pending, timeout=opts.timeout)
    for item in pending:
        session.output.line(f"pod/{item.target.name} evicted")
    session.output.line(f"{object_ref(res.NODES, node)} drained")
    return 0
