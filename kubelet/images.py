"""Image pull policy: Always / IfNotPresent / Never, without a reachable registry.

One ``ImageManager`` per node. It answers "can this container's image be used now?" with the
image id or the waiting reason Kubernetes reports (ErrImagePull, ErrImageNeverPull), plus the
events to record. Concurrent pulls of one image share one runtime call.

``Always`` with the image present locally tries the pull and, when it fails, falls back to the
local image with a Warning event: no registry is reachable here, and an image that exists on
the node must still start. A failed pull is remembered for ``pull_failure_memory`` seconds so a
crash-looping container or a burst of pods does not ask the registry again on every start.
Back-off between failed pulls of a missing image (ImagePullBackOff) is the pod worker's: it is
per container, like the crash-loop back-off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from kubelet.restart import ERR_IMAGE_NEVER_PULL, ERR_IMAGE_PULL
from kubelet.runtime.base import ContainerRuntime, ContainerRuntimeError
from kubelet.status import Waiting
from kubelet.threads import Runner

ALWAYS, IF_NOT_PRESENT, NEVER = "Always", "IfNotPresent", "Never"
NORMAL, WARNING = "Normal", "Warning"


@dataclass
class ImageCheck:
    """The outcome for one container start: an image id to use, or why the container must wait."""

    image_id: str | None = None
    error: Waiting | None = None
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)
    pulled: float = 0.0  # seconds spent pulling (the pod start SLI leaves them out)


def default_policy(image: str) -> str:
    """Kubernetes' default: Always for ``:latest`` or no tag, IfNotPresent otherwise."""
    last = image.rsplit("/", 1)[-1]
    if "@" in image:
        return IF_NOT_PRESENT
    return ALWAYS if ":" not in last or last.endswith(":latest") else IF_NOT_PRESENT


class ImageManager:
    def __init__(
        self, *, runtime: ContainerRuntime, run: Runner, clock: Callable[[], float], pull_failure_memory: float
    ) -> None:
        self._runtime = runtime
        self._run = run
        self._clock = clock
        self._memory = pull_failure_memory
        self._failed: dict[str, tuple[float, str]] = {}  # image -> (when, why) of the last failed pull
        self._pulls: dict[str, asyncio.Future[str]] = {}

    async def ensure(self, image: str, policy: str | None) -> ImageCheck:
        policy = policy or default_policy(image)
        local = await self._run(self._runtime.image_id, image)
        if policy == NEVER:
            if local:
                return ImageCheck(local, events=[_present(image)])
            message = f'Container image "{image}" is not present with pull policy of Never'
            return ImageCheck(error=Waiting(ERR_IMAGE_NEVER_PULL, message), events=[(WARNING, "ErrImageNeverPull", message)])
        if local and policy == IF_NOT_PRESENT:
            return ImageCheck(local, events=[_present(image)])
        recent = self._recent_failure(image)
        if local and recent is not None:
            return ImageCheck(local, events=[_present(image)])
        return await self._pull(image, local)

    def _recent_failure(self, image: str) -> str | None:
        failed = self._failed.get(image)
        if failed is None or self._clock() - failed[0] > self._memory:
            return None
        return failed[1]

    async def _pull(self, image: str, local: str | None) -> ImageCheck:
        events = [(NORMAL, "Pulling", f'Pulling image "{image}"')]
        started = self._clock()
        try:
            image_id = await self._shared_pull(image)
        except ContainerRuntimeError as err:
            self._failed[image] = (self._clock(), str(err))
            if local:
                message = f'Failed to pull image "{image}": {err}; using the image present on the node'
                return ImageCheck(local, events=[*events, (WARNING, "Failed", message), _present(image)])
            message = f'Failed to pull image "{image}": {err}'
            return ImageCheck(
                error=Waiting(ERR_IMAGE_PULL, message),
                events=[*events, (WARNING, "Failed", message), (WARNING, "Failed", f"Error: {ERR_IMAGE_PULL}")],
            )
        self._failed.pop(image, None)
        took = self._clock() - started
        events.append((NORMAL, "Pulled", f'Successfully pulled image "{image}" in {took:.3f}s'))
        return ImageCheck(image_id, events=events, pulled=took)

    async def _shared_pull(self, image: str) -> str:
        pending = self._pulls.get(image)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pulls[image] = future
        try:
            image_id = await self._run(self._runtime.pull_image, image)
            future.set_result(image_id)
            return image_id
        except BaseException as err:
            future.set_exception(err)
            future.exception()  # mark retrieved: the waiters, if any, re-raise it
            raise
        finally:
            del self._pulls[image]


def _present(image: str) -> tuple[str, str, str]:
    return (NORMAL, "Pulled", f'Container image "{image}" already present on machine')
