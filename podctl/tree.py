"""``podctl tree``: the supervision tree of a Deployment or a Pod, drawn like ``kubectl tree``.

A Deployment supervises its ReplicaSets (one per revision), each ReplicaSet its Pods, each Pod
its containers: OTP's tree, carried by ownerReferences. At every supervisor the tree shows what
decides its next move: a pod's strategy (``supervision.podvisor.io/strategy``) and the restart
budget its kubelet reports in the ``RestartIntensity`` condition; a Deployment's own intensity
and auto-rollback and the reason of its Progressing condition. At every child it shows how it
fares: phase and reason of a pod, state, restarts and last exit of a container.

Building the tree (:func:`deployment_tree`, :func:`pod_tree`) is a pure function of wire
dicts, so it is table-tested without a server; :func:`render` draws it, :func:`as_json` gives
scripts the same tree as nested objects. Only :func:`tree` talks to the API.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from apimachinery import resources as res
from apimachinery import supervision as sv
from apimachinery.errors import ApiError
from apimachinery.selectors import selector_to_string
from podctl.errors import PodctlError
from podctl.resolve import resource_type
from podctl.rollout import revision_of
from podctl.session import Session
from podctl.style import cell_style, paint

UNLIMITED = "unlimited"
_BAD_WORDS = {sv.RESTART_INTENSITY_EXCEEDED, "CrashLoopBackOff", "Error", "Failed", "OOMKilled"}


@dataclass(frozen=True)
class Node:
    """One supervisor or child: its kind and name, what it reports, and what it supervises."""

    kind: str
    name: str
    info: dict[str, Any] = field(default_factory=dict)
    children: tuple[Node, ...] = ()


# --- building ------------------------------------------------------------------------------------


def deployment_tree(
    deployment: dict[str, Any], replicasets: list[dict[str, Any]], pods: list[dict[str, Any]]
) -> Node:
    """The Deployment, its ReplicaSets (newest revision first) and their Pods, by owner uid."""
    meta, spec, status = _parts(deployment)
    owned = sorted(_owned_by(meta, replicasets), key=lambda rs: (-revision_of(rs), _name(rs)))
    supervisor = sv.parse_deployment(meta.get("annotations"))
    info = {
        "namespace": meta.get("namespace"),
        "replicas": {
            "desired": _int(spec.get("replicas"), 1),
            "ready": _int(status.get("readyReplicas")),
            "updated": _int(status.get("updatedReplicas")),
            "available": _int(status.get("availableReplicas")),
        },
        "supervision": {
            "intensity": supervisor.intensity.restarts if supervisor.intensity else None,
            "period": supervisor.intensity.period if supervisor.intensity else None,
            "budget": _deployment_budget(supervisor.intensity),
            "autoRollback": supervisor.auto_rollback,
        },
        "progressing": _condition(status, "Progressing"),
    }
    return Node("Deployment", _name(deployment), info, tuple(replicaset_tree(rs, pods) for rs in owned))


def replicaset_tree(replicaset: dict[str, Any], pods: list[dict[str, Any]]) -> Node:
    meta, spec, status = _parts(replicaset)
    info = {
        "revision": revision_of(replicaset),
        "replicas": {"desired": _int(spec.get("replicas"), 1), "ready": _int(status.get("readyReplicas"))},
    }
    children = sorted(_owned_by(meta, pods), key=_name)
    return Node("ReplicaSet", _name(replicaset), info, tuple(pod_tree(p) for p in children))


def pod_tree(pod: dict[str, Any]) -> Node:
    """A Pod as a supervisor: its strategy, its budget, and its containers from status."""
    meta, spec, status = _parts(pod)
    supervisor = sv.parse_pod(meta.get("annotations"))
    intensity = _condition(status, sv.INTENSITY_CONDITION)
    info = {
        "namespace": meta.get("namespace"),
        "phase": status.get("phase") or "Pending",
        "node": spec.get("nodeName") or None,
        "reason": status.get("reason") or None,
        "message": status.get("message") or None,
        "supervision": {
            "strategy": str(supervisor.strategy),
            "budget": _pod_budget(supervisor.intensity, intensity),
            "withinIntensity": None if intensity is None else intensity["status"] == "True",
        },
    }
    return Node("Pod", _name(pod), info, tuple(container_nodes(spec, status)))


def container_nodes(spec: dict[str, Any], status: dict[str, Any]) -> list[Node]:
    """Init containers (sidecars marked), then app containers, in spec order, with their status."""
    nodes = []
    for list_name, statuses_name in (
        ("initContainers", "initContainerStatuses"),
        ("containers", "containerStatuses"),
    ):
        statuses = {s.get("name"): s for s in _dicts(status.get(statuses_name))}
        for container in _dicts(spec.get(list_name)):
            role = "app"
            if list_name == "initContainers":
                role = "sidecar" if container.get("restartPolicy") == "Always" else "init"
            name = str(container.get("name") or "")
            nodes.append(Node("Container", name, {"role": role, **container_status(statuses.get(name))}))
    return nodes


def container_status(status: dict[str, Any] | None) -> dict[str, Any]:
    """What a ContainerStatus says: state and its reason/message, restarts, the last exit."""
    if status is None:
        return {"state": "pending", "ready": False, "restartCount": 0}
    state_name, state = _state(status.get("state"))
    out: dict[str, Any] = {
        "state": state_name,
        "ready": bool(status.get("ready")),
        "restartCount": _int(status.get("restartCount")),
    }
    for key in ("reason", "message", "exitCode"):
        if state.get(key) not in (None, ""):
            out[key] = state[key]
    last_name, last = _state(status.get("lastState"))
    if last_name == "terminated":
        out["lastTermination"] = {"exitCode": last.get("exitCode"), "reason": last.get("reason") or None}
    return out


def _state(state: Any) -> tuple[str, dict[str, Any]]:
    for name in ("waiting", "running", "terminated"):
        if isinstance(state, dict) and isinstance(state.get(name), dict):
            return name, state[name]
    return "unknown", {}


def _pod_budget(intensity: sv.Intensity | None, condition: dict[str, Any] | None) -> str:
    """The kubelet's word on the budget; before it speaks, an unused budget (or unlimited)."""
    if condition is not None and condition.get("message"):
        return str(condition["message"])
    return intensity.describe(0) if intensity is not None else UNLIMITED


def _deployment_budget(intensity: sv.Intensity | None) -> str:
    if intensity is None:
        return UNLIMITED
    return f"{intensity.restarts} pod failures in {intensity.period}s"


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in _dicts(status.get("conditions")):
        if condition.get("type") == kind:
            return {k: condition.get(k) for k in ("status", "reason", "message")}
    return None


def _owned_by(owner_meta: dict[str, Any], objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    uid = owner_meta.get("uid")
    return [
        o
        for o in objects
        if uid and any(ref.get("uid") == uid for ref in _dicts(_parts(o)[0].get("ownerReferences")))
    ]


def _parts(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return (obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {})


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


# --- printing ------------------------------------------------------------------------------------


def as_json(node: Node) -> dict[str, Any]:
    """``{kind, name, ...info, children: [...]}``, nested: what ``-o json`` prints."""
    return {
        "kind": node.kind,
        "name": node.name,
        **node.info,
        "children": [as_json(c) for c in node.children],
    }


def render(node: Node, *, colour: bool = False) -> list[str]:
    """The tree drawn with box characters, one line per node, details after the name."""
    lines = [_line(node, colour=colour)]
    lines += _render_children(node.children, "", colour=colour)
    return lines


def _render_children(children: tuple[Node, ...], prefix: str, *, colour: bool) -> list[str]:
    lines: list[str] = []
    for i, child in enumerate(children):
        last = i == len(children) - 1
        lines.append(prefix + ("└─" if last else "├─") + _line(child, colour=colour))
        lines += _render_children(child.children, prefix + ("  " if last else "│ "), colour=colour)
    return lines


def _line(node: Node, *, colour: bool) -> str:
    label = paint(f"{node.kind}/", "dim", enabled=colour) + paint(node.name, "bold", enabled=colour)
    details = [_paint_word(d, colour=colour) for d in _details(node)]
    return "  ".join([label, *details])


def _paint_word(text: str, *, colour: bool) -> str:
    words = set(re.split(r"[\s:()]+", text))
    style = "red" if words & _BAD_WORDS else cell_style(text)
    if text.startswith(("strategy", "budget", "intensity", "auto-rollback")):
        style = style or "cyan"
    return paint(text, style, enabled=colour)


def _details(node: Node) -> list[str]:
    info = node.info
    match node.kind:
        case "Deployment":
            replicas, sup = info["replicas"], info["supervision"]
            out = [f"ready {replicas['ready']}/{replicas['desired']}", f"intensity: {sup['budget']}"]
            if sup["autoRollback"]:
                out.append("auto-rollback")
            progressing = info.get("progressing")
            if progressing and progressing.get("reason"):
                out.append(f"Progressing: {progressing['reason']}")
            return out
        case "ReplicaSet":
            replicas = info["replicas"]
            return [f"revision {info['revision']}", f"ready {replicas['ready']}/{replicas['desired']}"]
        case "Pod":
            sup = info["supervision"]
            out = [str(info["phase"])]
            if info.get("reason"):
                out.append(str(info["reason"]))
            if info.get("node"):
                out.append(f"node {info['node']}")
            return [*out, f"strategy: {sup['strategy']}", f"budget: {sup['budget']}"]
    return _container_details(info)


def _container_details(info: dict[str, Any]) -> list[str]:
    out = [f"({info['role']})"] if info["role"] != "app" else []
    state = str(info["state"])
    if info.get("reason"):
        state = f"{info['reason']}" if state == "waiting" else f"{state} {info['reason']}"
    if info["state"] == "terminated" and info.get("exitCode") is not None:
        state += f" exit {info['exitCode']}"
    out.append(state)
    out.append(f"restarts {info['restartCount']}")
    last = info.get("lastTermination")
    if last:
        reason = f" ({last['reason']})" if last.get("reason") else ""
        out.append(f"last exit {last['exitCode']}{reason}")
    if info.get("message"):
        out.append(str(info["message"]))
    return out


# --- the command ---------------------------------------------------------------------------------


def parse_target(target: str, name: str | None) -> tuple[res.ResourceType, str]:
    """``deploy/web``, ``pod/web-1`` or ``deployment web``; only Deployments and Pods have trees."""
    kind, sep, slash_name = target.partition("/")
    rt = resource_type(kind)
    resolved = slash_name if sep else name
    if not resolved:
        raise PodctlError("you must provide a resource name, e.g. deployment/web or pod/web-1")
    if rt not in (res.DEPLOYMENTS, res.PODS):
        raise PodctlError(f"no supervision tree for {rt.group_resource}: only deployments and pods")
    return rt, resolved


async def tree(session: Session, rt: res.ResourceType, name: str, *, output: str = "") -> int:
    if output not in ("", "json"):
        raise PodctlError(f"unable to match a printer suitable for the output format {output!r}: json")
    obj = await session.get(rt, name)
    if rt is res.PODS:
        node = pod_tree(obj)
    else:
        selector = _selector(obj)
        replicasets, _ = await session.client.list_raw(
            res.REPLICASETS, session.namespace, label_selector=selector
        )
        pods, _ = await session.client.list_raw(res.PODS, session.namespace, label_selector=selector)
        node = deployment_tree(obj, replicasets, pods)
    if output == "json":
        session.output.line(json.dumps(as_json(node), indent=2))
        return 0
    for line in render(node, colour=session.output.colour):
        session.output.line(line)
    return 0


def _selector(deployment: dict[str, Any]) -> str | None:
    """The Deployment's selector as a list filter (its children match it); None lists everything."""
    try:
        return selector_to_string(_parts(deployment)[1].get("selector")) or None
    except (ApiError, ValueError):
        return None
