"""``podctl debug POD --image=IMAGE [--target=C] -- COMMAND``: an ephemeral container in a pod.

As ``kubectl debug`` does, the container is added through the ``pods/ephemeralcontainers``
subresource with a strategic merge patch naming only the new entry; its name defaults to
``debugger-`` and five random characters, unique among the pod's containers. ``--target`` joins
that container's process namespace. The container gets no extra capabilities (kubectl's
``general`` profile adds SYS_PTRACE, which Pod Security ``baseline`` refuses), so it runs in any
namespace that admits the pod itself. With ``-i``/``-t`` podctl waits for the container to run
and attaches to it through ``pods/attach``, as ``kubectl debug -it`` does, with the stream code
of ``podctl exec``: this terminal's input goes to the container's stdin, its output comes back.
"""

from __future__ import annotations

import asyncio
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apimachinery import remotecommand as rc
from apimachinery import resources as res
from podctl import remote
from podctl.errors import PodctlError
from podctl.session import Session

_NAME_CHARS = string.ascii_lowercase + string.digits
#: how long ``-i``/``-t`` wait for the debug container to start (kubectl's --pod-running-timeout)
RUNNING_TIMEOUT = 60.0
_POLL = 0.5


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
    if not (opts.stdin or opts.tty):
        session.output.line(f"pod/{name} ephemeral container {container['name']} added")
        return 0
    await wait_started(session, name, container["name"])
    return await attach(session, name, container["name"], opts)


def container_state(pod: dict[str, Any], container: str) -> dict[str, Any]:
    """The state of one ephemeral container as the pod's status reports it (empty if none yet)."""
    for status in (pod.get("status") or {}).get("ephemeralContainerStatuses") or []:
        if status.get("name") == container:
            return dict(status.get("state") or {})
    return {}


async def wait_started(session: Session, pod: str, container: str, *, timeout: float = RUNNING_TIMEOUT) -> None:
    """Until the debug container runs; an error if it ended first or never started in time."""
    deadline = time.monotonic() + timeout
    while True:
        state = container_state(await session.get(res.PODS, pod), container)
        if "running" in state:
            return
        if "terminated" in state:
            raise PodctlError(f"the debug container {container} ended before it could be attached "
                              f"(exit code {state['terminated'].get('exitCode')}); "
                              f"see podctl logs {pod} -c {container}")
        if time.monotonic() >= deadline:
            raise PodctlError(f"timed out waiting for the debug container {container} of pod {pod} to start")
        await asyncio.sleep(_POLL)


async def attach(session: Session, pod: str, container: str, opts: DebugOptions) -> int:
    """Attach this terminal to the running debug container through ``pods/attach``."""
    terminal = remote.local_terminal(wanted=opts.tty, session=session)
    if opts.stdin:
        session.output.progress("If you don't see a command prompt, try pressing enter.")
    options = rc.StreamOptions(stdin=opts.stdin, stdout=True, stderr=not terminal, tty=terminal,
                               container=container)
    return await remote.interact(session, pod, subresource="attach", options=options)
