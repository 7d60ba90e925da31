"""``podctl rollout status|history|undo|restart|pause|resume`` and ``podctl scale``.

:func:`rollout_status` is kubectl's ``DeploymentStatusViewer`` as a pure function: a rollout is
done when the controller has observed the latest generation, every replica is updated, no old
replica is left, and every updated replica is available; a Progressing condition with reason
``ProgressDeadlineExceeded`` is a failure. ``status`` re-evaluates it on every watch event and
prints each new progress line, so a long rollout shows replicas coming up.

History is the Deployment's ReplicaSets ordered by their ``deployment.kubernetes.io/revision``
annotation; ``undo`` copies an older ReplicaSet's pod template (minus ``pod-template-hash``)
back into the Deployment.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apimachinery.resources import ResourceType
from apimachinery.timeutil import now_rfc3339
from podctl.errors import PodctlError, TimeoutExceeded
from podctl.merge import same
from podctl.printing import render
from podctl.resolve import object_ref, resource_type
from podctl.session import Session

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
POD_TEMPLATE_HASH = "pod-template-hash"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"


@dataclass(frozen=True)
class RolloutState:
    message: str
    done: bool
    failed: bool = False


def rollout_status(deployment: dict[str, Any]) -> RolloutState:
    """Where a Deployment's rollout stands, worded exactly as kubectl prints it."""
    name = deployment["metadata"]["name"]
    meta, spec, status = deployment["metadata"], deployment.get("spec") or {}, deployment.get("status") or {}
    if int(meta.get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return RolloutState("Waiting for deployment spec update to be observed...", False)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == TIMED_OUT_REASON:
            return RolloutState(f'deployment "{name}" exceeded its progress deadline', False, failed=True)
    wanted = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    replicas = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < wanted:
        return RolloutState(f'Waiting for deployment "{name}" rollout to finish: {updated} out of {wanted} '
                            "new replicas have been updated...", False)
    if replicas > updated:
        return RolloutState(f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} old '
                            "replicas are pending termination...", False)
    if available < updated:
        return RolloutState(f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} '
                            "updated replicas are available...", False)
    return RolloutState(f'deployment "{name}" successfully rolled out', True)


def daemonset_rollout_status(daemonset: dict[str, Any]) -> RolloutState:
    """kubectl's ``DaemonSetStatusViewer``: counted in nodes, for the RollingUpdate strategy only."""
    name = daemonset["metadata"]["name"]
    meta, spec, status = daemonset["metadata"], daemonset.get("spec") or {}, daemonset.get("status") or {}
    if ((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate") != "RollingUpdate":
        raise PodctlError("rollout status is only available for RollingUpdate strategy type")
    if int(meta.get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return RolloutState("Waiting for daemon set spec update to be observed...", False)
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    if updated < desired:
        return RolloutState(f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} '
                            "new pods have been updated...", False)
    if available < desired:
        return RolloutState(f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} '
                            "updated pods are available...", False)
    return RolloutState(f'daemon set "{name}" successfully rolled out', True)


_VIEWERS = {"Deployment": rollout_status, "DaemonSet": daemonset_rollout_status}


def deployment_ref(session: Session, target: str, name: str | None, *,
                   kinds: tuple[ResourceType, ...] = (res.DEPLOYMENTS,)) -> tuple[ResourceType, str]:
    """``deploy/web`` or ``deployment web`` -> (type, name); only ``kinds`` roll out here."""
    kind, sep, slash_name = target.partition("/")
    rt = resource_type(kind)
    resolved = slash_name if sep else name
    if not resolved:
        raise PodctlError("you must provide a resource name, e.g. deployment/web")
    if rt not in kinds:
        names = " and ".join(k.group_resource for k in kinds)
        raise PodctlError(f"no rollout support for {rt.group_resource}: only {names} roll out")
    return rt, resolved


#: What ``rollout status`` and ``rollout restart`` accept (history and undo need Deployments).
STATUS_KINDS = (res.DEPLOYMENTS, res.DAEMONSETS)


async def status(session: Session, name: str, *, timeout: float, watch: bool = True,
                 rt: ResourceType = res.DEPLOYMENTS) -> int:
    """Print progress lines until the rollout is done (0) or failed or timed out (1)."""
    viewer = _VIEWERS[rt.kind]
    deadline = session.clock.monotonic() + timeout if timeout > 0 else None
    last = ""
    while True:
        deployment = await session.get(rt, name)
        state = viewer(deployment)
        if state.failed:
            raise PodctlError(state.message)
        if state.message != last:
            session.output.line(state.message)
            last = state.message
        if state.done or not watch:
            return 0
        remaining = None if deadline is None else deadline - session.clock.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimeoutExceeded("timed out waiting for the condition")
        await _next_change(session, rt, name, deployment["metadata"]["resourceVersion"], remaining)


async def _next_change(session: Session, rt: ResourceType, name: str, resource_version: str,
                       remaining: float | None) -> None:
    """Return at the next event for the object, or when ``remaining`` runs out."""
    seconds = int(min(remaining if remaining is not None else 300, 300)) + 1

    async def first_event() -> None:
        async for event in session.client.watch_raw(rt, session.namespace, resource_version=resource_version,
                                                    field_selector=f"metadata.name={name}", timeout_seconds=seconds):
            if event.type in ("ADDED", "MODIFIED", "DELETED", "ERROR"):
                return

    try:
        await asyncio.wait_for(first_event(), timeout=remaining)
    except TimeoutError:
        return
    except ApiError as err:
        if err.code != 410:
            raise


async def owned_replicasets(session: Session, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """The Deployment's ReplicaSets (controller ownerReference uid), oldest revision first."""
    uid = deployment["metadata"]["uid"]
    items, _ = await session.client.list_raw(res.REPLICASETS, session.namespace)
    owned = [rs for rs in items if any(ref.get("uid") == uid and ref.get("controller")
                                       for ref in rs["metadata"].get("ownerReferences") or [])]
    return sorted(owned, key=revision_of)


def revision_of(rs: dict[str, Any]) -> int:
    try:
        return int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION) or 0)
    except ValueError:
        return 0


def history_rows(replicasets: list[dict[str, Any]]) -> list[list[str]]:
    rows = [["REVISION", "CHANGE-CAUSE"]]
    for rs in replicasets:
        cause = (rs["metadata"].get("annotations") or {}).get(CHANGE_CAUSE) or "<none>"
        rows.append([str(revision_of(rs)), cause])
    return rows


def template_without_hash(rs: dict[str, Any]) -> dict[str, Any]:
    """A ReplicaSet's pod template as its Deployment would hold it."""
    template = json.loads(json.dumps((rs.get("spec") or {}).get("template") or {}))
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    return template


async def history(session: Session, name: str, *, revision: int = 0) -> int:
    deployment = await session.get(res.DEPLOYMENTS, name)
    replicasets = await owned_replicasets(session, deployment)
    if revision:
        rs = next((r for r in replicasets if revision_of(r) == revision), None)
        if rs is None:
            raise PodctlError(f"unable to find the specified revision {revision}")
        from podctl.printing import to_yaml

        session.output.line(f"{object_ref(res.DEPLOYMENTS, name)} with revision #{revision}")
        session.output.write(to_yaml({"Pod Template": template_without_hash(rs)}))
        return 0
    session.output.line(object_ref(res.DEPLOYMENTS, name))
    for line in render(history_rows(replicasets)):
        session.output.line(line)
    return 0


def undo_target(replicasets: list[dict[str, Any]], to_revision: int) -> dict[str, Any]:
    """The ReplicaSet to roll back to: ``to_revision``, or the one before the newest."""
    if to_revision:
        found = next((r for r in replicasets if revision_of(r) == to_revision), None)
        if found is None:
            raise PodctlError(f"unable to find specified revision {to_revision} in history")
        return found
    ordered = sorted(replicasets, key=revision_of)
    if len(ordered) < 2:
        raise PodctlError("no rollout history found for deployment: there is no previous revision to go back to")
    return ordered[-2]


async def undo(session: Session, name: str, *, to_revision: int = 0) -> int:
    deployment = await session.get(res.DEPLOYMENTS, name)
    target = undo_target(await owned_replicasets(session, deployment), to_revision)
    template = template_without_hash(target)
    ref = object_ref(res.DEPLOYMENTS, name)
    if same(template, (deployment.get("spec") or {}).get("template")):
        session.output.line(f"{ref} skipped rollback (current template already matches revision "
                            f"{revision_of(target)})")
        return 0
    patch = [{"op": "replace", "path": "/spec/template", "value": template}]
    await session.patch(res.DEPLOYMENTS, name, session.namespace, patch, patch_type="json")
    session.output.line(f"{ref} rolled back")
    return 0


async def restart(session: Session, name: str, *, rt: ResourceType = res.DEPLOYMENTS) -> int:
    deployment = await session.get(rt, name)
    if (deployment.get("spec") or {}).get("paused"):
        raise PodctlError(f"deployments/{name} can't restart paused deployment (run rollout resume first)")
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now_rfc3339(session.clock)}}}}}
    await session.patch(rt, name, session.namespace, patch, patch_type="strategic")
    session.output.line(f"{object_ref(rt, name)} restarted")
    return 0


async def set_paused(session: Session, name: str, *, paused: bool) -> int:
    deployment = await session.get(res.DEPLOYMENTS, name)
    ref = object_ref(res.DEPLOYMENTS, name)
    word = "paused" if paused else "resumed"
    if bool((deployment.get("spec") or {}).get("paused")) == paused:
        raise PodctlError(f"{ref} is not paused" if not paused else f"{ref} is already paused")
    body = {"spec": {"paused": True if paused else None}}
    await session.patch(res.DEPLOYMENTS, name, session.namespace, body, patch_type="merge")
    session.output.line(f"{ref} {word}")
    return 0


async def scale(session: Session, rt: ResourceType, name: str, *, replicas: int) -> int:
    """PATCH the ``scale`` subresource, as kubectl does."""
    if "scale" not in rt.subresources:
        raise PodctlError(f"{rt.group_resource} cannot be scaled: it has no scale subresource")
    if replicas < 0:
        raise PodctlError("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    await session.patch(rt, name, session.ns(rt), {"spec": {"replicas": replicas}}, patch_type="merge",
                        subresource="scale")
    session.output.line(f"{object_ref(rt, name)} scaled")
    return 0


def parse_image_updates(pairs: tuple[str, ...]) -> dict[str, str]:
    """``name=image`` pairs as ``set image`` takes them (``*=image`` sets every container)."""
    updates: dict[str, str] = {}
    for pair in pairs:
        name, sep, image = pair.partition("=")
        if not sep or not name or not image:
            raise PodctlError(f"expected CONTAINER=IMAGE, got {pair!r}")
        updates[name] = image
    if not updates:
        raise PodctlError("at least one image update is required, e.g. web=podvisor/busybox:v2")
    return updates


async def set_image(session: Session, rt: ResourceType, name: str, updates: dict[str, str]) -> int:
    """Change container images of a workload's pod template with a strategic merge patch."""
    obj = await session.get(rt, name)
    spec = (obj.get("spec") or {}).get("template", {}).get("spec") if rt.kind != "Pod" else obj.get("spec")
    containers = [c["name"] for c in (spec or {}).get("containers") or []]
    unknown = [c for c in updates if c != "*" and c not in containers]
    if unknown:
        raise PodctlError(f"unable to find container named {unknown[0]!r} in {object_ref(rt, name)}")
    patched = [{"name": c, "image": updates.get(c, updates.get("*"))} for c in containers
               if c in updates or "*" in updates]
    body: dict[str, Any] = {"spec": {"containers": patched}}
    if rt.kind != "Pod":
        body = {"spec": {"template": body}}
    await session.patch(rt, name, session.ns(rt), body, patch_type="strategic")
    session.output.line(f"{object_ref(rt, name)} image updated")
    return 0
