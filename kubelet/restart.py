"""The restart decision for one container: policy plus crash-loop back-off.

A small pure object with an injected clock (Nomad's restart tracker is the
model): the pod worker tells it what happened (``on_start``, ``on_exit``) and
asks what to do (``decide``); it does no I/O and never sleeps, so the whole
curve is table-tested with a fake clock. The worker maps the states to
container status in one ``match`` (RESTART_AFTER -> waiting/CrashLoopBackOff,
NO_RESTART -> terminated).

The back-off: the n-th consecutive restart (n from 0) waits
``min(initial * 2**n, maximum)`` seconds, counted from the exit. A container
that ran for ``reset_after`` seconds before exiting starts the curve again.
``initial = 0`` restarts immediately every time, as an OTP supervisor does.
Defaults are KEP-4603's 1 s -> 60 s (reset after 10 min); classic Kubernetes
uses 10 s -> 300 s. Unlike the kubelet, the first restart also waits
``initial``: a container that crashes at once costs one second, not zero.

Restart intensity, strategies and significant children sit above this class, in
:mod:`kubelet.supervisor`, which keeps one tracker per container: a sibling restarted along
with the container that died is started with ``on_restarted_by_supervisor`` and so does not
advance its own back-off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum

# Container status reasons (Kubernetes' own strings).
CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
CREATE_CONTAINER_ERROR = "CreateContainerError"
RUN_CONTAINER_ERROR = "RunContainerError"
START_ERROR = "StartError"
COMPLETED = "Completed"
ERROR = "Error"
OOM_KILLED = "OOMKilled"


class RestartPolicy(StrEnum):
    ALWAYS = "Always"
    ON_FAILURE = "OnFailure"
    NEVER = "Never"


@dataclass(frozen=True)
class Backoff:
    """Crash-loop back-off: seconds before the first restart, the cap, and the reset period."""

    initial: float = 1.0
    maximum: float = 60.0
    reset_after: float = 600.0

    def delay(self, attempt: int) -> float:
        """The wait before the ``attempt``-th consecutive restart (from 0)."""
        if self.initial <= 0:
            return 0.0
        # Compare exponents rather than computing 2**attempt for huge attempts.
        if attempt >= 64 or self.initial * 2.0**attempt >= self.maximum:
            return self.maximum
        return self.initial * 2.0**attempt


#: Kubernetes' classic kubelet curve, for comparison and configuration.
CLASSIC_BACKOFF = Backoff(initial=10.0, maximum=300.0, reset_after=600.0)


class RestartState(Enum):
    RESTART_NOW = "RestartNow"
    RESTART_AFTER = "RestartAfter"  # in back-off; the second value of decide() is the wait
    NO_RESTART = "NoRestart"  # the policy says the container is done


def exit_reason(exit_code: int, *, oom_killed: bool = False) -> str:
    """The terminated-state reason Kubernetes reports for an exit."""
    if oom_killed:
        return OOM_KILLED
    return COMPLETED if exit_code == 0 else ERROR


class RestartTracker:
    """Tracks one container's starts and exits and decides whether and when to restart it."""

    def __init__(
        self,
        policy: RestartPolicy,
        backoff: Backoff = Backoff(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.backoff = backoff
        self._clock = clock
        self._restart_count = 0
        self._attempt = 0  # consecutive restarts since the back-off was last reset
        self._started_at: float | None = None
        self._exited_at: float | None = None
        self._last_exit_code: int | None = None
        self._delay = 0.0

    @property
    def restart_count(self) -> int:
        """Restarts so far (Kubernetes' ``restartCount``): starts after the first."""
        return self._restart_count

    @property
    def last_exit_code(self) -> int | None:
        return self._last_exit_code

    def on_start(self) -> RestartTracker:
        """The container started now. A start after an exit is a restart."""
        if self._exited_at is not None:
            self._restart_count += 1
            self._attempt += 1
        self._started_at = self._clock()
        self._exited_at = None
        return self

    def on_restarted_by_supervisor(self) -> RestartTracker:
        """Started again because a sibling died: a restart, but not a step of this one's back-off."""
        if self._exited_at is not None or self._started_at is not None:
            self._restart_count += 1
        self._started_at = self._clock()
        self._exited_at = None
        return self

    def on_exit(self, exit_code: int) -> RestartTracker:
        """The container exited now with ``exit_code``."""
        now = self._clock()
        ran_for = now - self._started_at if self._started_at is not None else 0.0
        if ran_for >= self.backoff.reset_after:
            self._attempt = 0
        self._exited_at = now
        self._last_exit_code = exit_code
        self._delay = self.backoff.delay(self._attempt)
        return self

    def decide(self) -> tuple[RestartState, float]:
        """What to do about the last exit: (state, seconds left to wait; 0 unless RESTART_AFTER)."""
        if self._exited_at is None or self._last_exit_code is None:
            raise RuntimeError("decide() needs an exit: the container is running or never started")
        match self.policy:
            case RestartPolicy.NEVER:
                return RestartState.NO_RESTART, 0.0
            case RestartPolicy.ON_FAILURE if self._last_exit_code == 0:
                return RestartState.NO_RESTART, 0.0
        return self.decide_restart()

    def decide_restart(self) -> tuple[RestartState, float]:
        """When to restart, the decision to restart being made (by restart rules): back-off only."""
        if self._exited_at is None:
            raise RuntimeError("decide_restart() needs an exit")
        remaining = self._exited_at + self._delay - self._clock()
        if remaining <= 0:
            return RestartState.RESTART_NOW, 0.0
        return RestartState.RESTART_AFTER, remaining
