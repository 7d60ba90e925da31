"""``podctl logs``: a pod's (or a workload's pod's) container log, optionally followed.

``deploy/web`` and ``rs/web-abc`` pick one pod through the owner's selector, preferring pods
that are running and ready, then the newest, as kubectl does. The apiserver proxies the
request to the pod's kubelet and streams the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from apimachinery import resources as res
from apimachinery.selectors import selector_to_string
from podctl.errors import PodctlError
from podctl.resolve import kind_ref, resource_type
from podctl.session import Session

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class LogsOptions:
    container: str | None = None
    follow: bool = False
    previous: bool = False
    tail: int = -1
    since: str | None = None
    timestamps: bool = False


def parse_duration(text: str) -> float:
    """Go-style durations as kubectl takes them: ``30s``, ``5m``, ``1h30m``."""
    position, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise PodctlError(f'invalid duration "{text}": use a number with a unit, e.g. 30s, 5m, 1h30m')
    return total


def log_params(opts: LogsOptions, container: str) -> dict[str, Any]:
    params: dict[str, Any] = {"container": container}
    if opts.follow:
        params["follow"] = "true"
    if opts.previous:
        params["previous"] = "true"
    if opts.timestamps:
        params["timestamps"] = "true"
    if opts.tail >= 0:
        params["tailLines"] = opts.tail
    if opts.since:
        params["sinceSeconds"] = max(1, int(parse_duration(opts.since) + 0.999))
    return params


def _pod_rank(pod: dict[str, Any]) -> tuple[int, int, str]:
    """Higher is better: running, then ready, then newest."""
    status = pod.get("status") or {}
    running = status.get("phase") == "Running"
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    deleting = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    return (0 if deleting else 1, int(running) * 2 + int(ready), str(pod["metadata"].get("creationTimestamp", "")))


def choose_pod(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(pods, key=_pod_rank) if pods else None


async def find_pod(session: Session, target: str) -> dict[str, Any]:
    """The pod ``target`` names: ``NAME``, ``pod/NAME`` or ``TYPE/NAME`` of a pod owner."""
    kind, sep, name = target.partition("/")
    if not sep:
        return await session.get(res.PODS, target)
    rt = resource_type(kind)
    if rt is res.PODS:
        return await session.get(res.PODS, name)
    owner = await session.get(rt, name)
    selector = (owner.get("spec") or {}).get("selector")
    if not isinstance(selector, dict) or not selector:
        raise PodctlError(f"cannot get logs of {kind_ref(rt)}/{name}: it has no pod selector")
    pods, _ = await session.client.list_raw(res.PODS, session.namespace, label_selector=selector_to_string(selector))
    pod = choose_pod(pods)
    if pod is None:
        raise PodctlError(f"no pods found for {kind_ref(rt)}/{name} (selector {selector_to_string(selector)})")
    return pod


def pick_container(session: Session, pod: dict[str, Any], requested: str | None) -> str:
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    init = [c["name"] for c in spec.get("initContainers") or []]
    if requested:
        if requested not in names + init:
            raise PodctlError(f"container {requested} is not valid for pod {pod['metadata']['name']}: "
                              f"choose one of: {', '.join(names + init)}")
        return requested
    default = ((pod.get("metadata") or {}).get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    if default in names:
        return str(default)
    if len(names) > 1:
        session.output.progress(f'Defaulted container "{names[0]}" out of: {", ".join(names)}')
    if not names:
        raise PodctlError(f"pod {pod['metadata']['name']} has no containers")
    return names[0]


async def logs(session: Session, target: str, opts: LogsOptions) -> int:
    pod = await find_pod(session, target)
    name = pod["metadata"]["name"]
    container = pick_container(session, pod, opts.container)
    path = res.PODS.path(pod["metadata"].get("namespace") or session.namespace, name, "log")
    params = log_params(opts, container)
    if not opts.follow:
        text = await session.client.request("GET", path, params=params, headers={"Accept": "text/plain, */*"})
        session.output.write(text if isinstance(text, str) else str(text))
        return 0
    async for line in session.client.stream_lines(path, params=params, timeout=None):
        session.output.line(line.decode("utf-8", "replace"))
    return 0
