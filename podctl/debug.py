"""``podctl debug POD --image=IMAGE [--target=C] -- COMMAND``: an ephemeral container in a pod.

As ``kubectl debug`` does, the container is added through the ``pods/ephemeralcontainers``
subresource with a strategic merge patch naming only the new entry; its name defaults to
``debugger-`` and five random characters, unique among the pod's containers. ``--target`` joins
that container's process namespace. The container gets no extra capabilities (kubectl's
``general`` profile adds SYS_PTRACE, which Pod Security ``baseline`` refuses), so it runs in any
namespace that admits the pod itself. ``-i``/``-t`` would attach to it through ``pods/attach``;
until the server serves that, they are refused up front and nothing is changed.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apimachinery import resources as res
from podctl.errors import PodctlError
from podctl.session import Session

_NAME_CHARS = string.ascii_lowercase + string.digits
ATTACH_UNAVAILABLE = (
    "podctl debug -i/-t attaches to the debug container through pods/attach, which this podctl "
    "does not support yet; run it without -i/-t and read its output with podctl logs POD -c NAME"
)


@dataclass(frozen=True)
class DebugOptions:
    image: str
    command: tuple[str, ...] = ()
    target: str | None = None
    container: str | None = None
    stdin: bool = False
    tty: bool = False
    image_pull_policy: str | None = None


def pod_name(target: str) -> str:
    """``NAME`` or ``pod/NAME`` (``po``, ``pods`` too); other kinds cannot be debugged this way."""
    kind, sep, name = target.partition("/")
    if not sep:
        return target
    if res.lookup(kind) is not res.PODS or not name:
        raise PodctlError(f"podctl debug works on pods: {target!r} is not a pod")
    return name


def container_names(pod: dict[str, Any]) -> set[str]:
    spec = pod.get("spec") or {}
    return {str(c.get("name")) for key in ("containers", "initContainers", "ephemeralContainers")
            for c in spec.get(key) or []}


def debug_container(pod: dict[str, Any], opts: DebugOptions, *,
                    choice: Callable[[str], str] = random.choice) -> dict[str, Any]:
    """The ephemeral container to add: a free ``debugger-xxxxx`` name unless one is given."""
    taken = container_names(pod)
    name = opts.container
    while name is None or (name in taken and opts.container is None):
        name = "debugger-" + "".join(choice(_NAME_CHARS) for _ in range(5))
    if name in taken:
        raise PodctlError(f'container "{name}" already exists in pod {pod["metadata"]["name"]}')
    container: dict[str, Any] = {"name": name, "image": opts.image, "terminationMessagePolicy": "FallbackToLogsOnError"}
    if opts.command:
        container["command"] = list(opts.command)
    if opts.image_pull_policy:
        container["imagePullPolicy"] = opts.image_pull_policy
    if opts.target:
        container["targetContainerName"] = opts.target
    if opts.stdin:
        container["stdin"] = True
    if opts.tty:
        container["tty"] = True
    return container


async def debug(session: Session, target: str, opts: DebugOptions) -> int:
    if opts.stdin or opts.tty:
        raise PodctlError(ATTACH_UNAVAILABLE)
    name = pod_name(target)
    namespace = session.ns(res.PODS)
    pod = await session.get(res.PODS, name)
    container = debug_container(pod, opts)
    if opts.target:
        session.output.progress(f'Targeting container "{opts.target}". If you don\'t see processes from this '
                                "container it may be because the container runtime doesn't support this feature.")
    if opts.container is None:
        session.output.progress(f"Defaulting debug container name to {container['name']}.")
    await session.patch(res.PODS, name, namespace, {"spec": {"ephemeralContainers": [container]}},
                        subresource="ephemeralcontainers")
    session.output.line(f"pod/{name} ephemeral container {container['name']} added")
    return 0
