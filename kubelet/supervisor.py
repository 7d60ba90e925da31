"""The pod's supervisor: one pure object that decides what a container's exit leads to.

A pod is an OTP supervisor and its containers are its children. ``PodSupervisor`` knows the
children (init containers, native sidecars, app containers, in declaration order), the
supervisor spec (strategy, intensity, significant children: see
:mod:`apimachinery.supervision`) and one :class:`~kubelet.restart.RestartTracker` per child for
the crash-loop back-off. The pod worker tells it what happened (``on_start``, ``on_exit``);
``on_exit`` answers with a plan the worker carries out in one ``match``:

* :class:`Restart`: stop ``stop`` (reverse start order), then start ``start`` in order once
  ``delay`` seconds have passed; ``all_containers`` is KEP-5532's RestartAllContainers (init
  containers run again). An empty ``start``: the child already restarts with its group;
* :class:`Leave`: the child is done, per its restart policy;
* :class:`Escalate`: the restart intensity is exceeded; stop everything, the pod fails;
* :class:`Shutdown`: a significant child exited normally and ``auto-shutdown`` says the pod is
  complete; stop everything, the pod succeeds.

Which exits restart is Kubernetes': the container's ``restartPolicyRules`` in order (first
match wins), else its ``restartPolicy``, else the pod's. The strategy applies among the app
containers; init containers and sidecars are restarted one for one (RestartAllContainers aside).
Each restart event (one child, or a whole group) costs one unit of intensity; siblings restarted
with the child that died do not count toward their own back-off. No I/O, no sleeping: the clock
is injected and the history of restart events is exported for the container labels, so the
budget survives a kubelet restart.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum

from apimachinery.models.core import Container, Pod
from apimachinery.supervision import (
    AUTO_SHUTDOWN_REASON,
    MAX_INTENSITY,
    RESTART_INTENSITY_EXCEEDED,
    AutoShutdown,
    PodSupervisorSpec,
    Strategy,
    parse_pod,
)
from apimachinery.timeutil import Clock
from kubelet.restart import Backoff, RestartPolicy, RestartState, RestartTracker

_HISTORY_LIMIT = MAX_INTENSITY + 1  # restart times kept (and labelled): enough for any intensity


class ChildKind(Enum):
    INIT = "init"
    SIDECAR = "sidecar"
    APP = "app"


class RuleAction(StrEnum):
    RESTART = "Restart"
    RESTART_ALL = "RestartAllContainers"


@dataclass(frozen=True)
class ExitRule:
    """KEP-5307's rule: ``action`` when the exit code is (``In``) or is not (``NotIn``) in ``codes``."""

    action: RuleAction
    operator: str
    codes: frozenset[int]

    def matches(self, code: int) -> bool:
        return (code in self.codes) is (self.operator == "In")


@dataclass(frozen=True)
class Child:
    name: str
    kind: ChildKind
    policy: RestartPolicy
    rules: tuple[ExitRule, ...] = ()


@dataclass(frozen=True)
class Restart:
    start: tuple[str, ...]
    stop: tuple[str, ...] = ()
    delay: float = 0.0
    all_containers: bool = False


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class Escalate:
    reason: str
    message: str


@dataclass(frozen=True)
class Shutdown:
    reason: str
    message: str


Plan = Restart | Leave | Escalate | Shutdown


def children_of(pod: Pod) -> list[Child]:
    """The pod's children in start order: init containers (sidecars among them), then app containers."""
    pod_policy = RestartPolicy(pod.spec.restart_policy or "Always")
    out = []
    for container in pod.spec.init_containers or []:
        sidecar = container.restart_policy == "Always"
        kind = ChildKind.SIDECAR if sidecar else ChildKind.INIT
        out.append(_child(container, kind, _init_default(pod_policy)))
    out += [_child(c, ChildKind.APP, pod_policy) for c in pod.spec.containers]
    return out


def _init_default(pod_policy: RestartPolicy) -> RestartPolicy:
    """Init containers are retried on failure unless the pod says Never."""
    return RestartPolicy.NEVER if pod_policy is RestartPolicy.NEVER else RestartPolicy.ON_FAILURE


def _child(container: Container, kind: ChildKind, default: RestartPolicy) -> Child:
    try:
        policy = RestartPolicy(container.restart_policy) if container.restart_policy else default
    except ValueError:
        policy = default
    return Child(name=container.name, kind=kind, policy=policy, rules=tuple(_rules(container)))


def _rules(container: Container) -> Iterable[ExitRule]:
    for rule in container.restart_policy_rules or []:
        codes = rule.exit_codes
        if codes is None or codes.operator not in ("In", "NotIn"):
            continue
        try:
            action = RuleAction(rule.action)
        except ValueError:
            continue
        yield ExitRule(action=action, operator=codes.operator, codes=frozenset(codes.values or []))


def exit_action(child: Child, code: int) -> RuleAction | None:
    """What an exit with ``code`` asks for: the first matching rule, else the restart policy."""
    for rule in child.rules:
        if rule.matches(code):
            return rule.action
    match child.policy:
        case RestartPolicy.ALWAYS:
            return RuleAction.RESTART
        case RestartPolicy.ON_FAILURE if code != 0:
            return RuleAction.RESTART
    return None


class PodSupervisor:
    """Supervises one pod's children; see the module docstring."""

    def __init__(
        self,
        children: Sequence[Child],
        spec: PodSupervisorSpec = PodSupervisorSpec(),
        *,
        clock: Clock,
        backoff: Backoff = Backoff(),
        history: Iterable[float] = (),
    ) -> None:
        self.spec = spec
        self.children = list(children)
        self._by_name = {c.name: c for c in self.children}
        self._clock = clock
        self.trackers = {
            c.name: RestartTracker(c.policy, backoff, clock=clock.monotonic) for c in self.children
        }
        self._restarts: deque[float] = deque(sorted(set(history))[-_HISTORY_LIMIT:], maxlen=_HISTORY_LIMIT)
        self._pending: set[str] = set()  # planned for restart, not started yet
        self._normal_exits: set[str] = set()  # significant children that exited normally

    @classmethod
    def for_pod(
        cls, pod: Pod, *, clock: Clock, backoff: Backoff, history: Iterable[float] = ()
    ) -> PodSupervisor:
        spec = parse_pod(pod.metadata.annotations)
        return cls(children_of(pod), spec, clock=clock, backoff=backoff, history=history)

    # -- what happened ------------------------------------------------------------------------

    def on_start(self, name: str, *, by_supervisor: bool = False) -> None:
        """``name`` started. ``by_supervisor``: restarted along with a sibling, not for its own crash,
        so its back-off curve does not advance."""
        tracker = self.trackers[name]
        if by_supervisor:
            tracker.on_restarted_by_supervisor()
        else:
            tracker.on_start()
        self._pending.discard(name)
        self._normal_exits.discard(name)

    def on_exit(self, name: str, code: int) -> Plan:
        """``name`` exited with ``code`` (not stopped by the supervisor): the plan."""
        child = self._by_name[name]
        tracker = self.trackers[name].on_exit(code)
        if name in self._pending:
            return Restart(start=())  # already part of a planned group restart: the same event
        if self._significant_exit(child, code):
            return self._shutdown_or_leave(name)
        action = exit_action(child, code)
        if action is None:
            return Leave()
        if (exceeded := self._spend()) is not None:
            return exceeded
        state, delay = tracker.decide_restart()
        if state is RestartState.NO_RESTART:  # pragma: no cover - decide_restart never says so
            return Leave()
        plan = self._group(child, all_containers=action is RuleAction.RESTART_ALL, delay=delay)
        self._pending.update(plan.start)
        return plan

    # -- what is known ------------------------------------------------------------------------

    def budget(self) -> tuple[int, str] | None:
        """(restarts within the period, "3/5 restarts in 60s"), or None without an intensity."""
        intensity = self.spec.intensity
        if intensity is None:
            return None
        used = len(self._window())
        return used, intensity.describe(used)

    def history(self) -> list[float]:
        """The wall-clock times of recent restart events, for the next containers' labels."""
        return list(self._restarts)

    def pending(self, name: str) -> bool:
        return name in self._pending

    def child(self, name: str) -> Child | None:
        return self._by_name.get(name)

    def apps(self) -> list[str]:
        return [c.name for c in self.children if c.kind is ChildKind.APP]

    # -- deciding -----------------------------------------------------------------------------

    def _window(self) -> list[float]:
        intensity = self.spec.intensity
        if intensity is None:
            return list(self._restarts)
        since = self._clock.time() - intensity.period
        return [t for t in self._restarts if t > since]

    def _spend(self) -> Escalate | None:
        """Count one restart event; an Escalate if it is one more than the intensity allows."""
        intensity = self.spec.intensity
        now = self._clock.time()
        if intensity is not None:
            recent = self._window()
            if len(recent) + 1 > intensity.restarts:
                message = (
                    f"{len(recent) + 1} restarts in {intensity.period}s exceed the restart intensity "
                    f"of {intensity.restarts} in {intensity.period}s; the pod's supervisor gave up"
                )
                return Escalate(RESTART_INTENSITY_EXCEEDED, message)
        self._restarts.append(now)
        return None

    def _group(self, child: Child, *, all_containers: bool, delay: float) -> Restart:
        """The children that restart with ``child`` (in start order) and the running ones to stop first."""
        order = [c.name for c in self.children]
        if all_containers:
            group = order
        elif child.kind is not ChildKind.APP:
            group = [child.name]
        else:
            apps = self.apps()
            match self.spec.strategy:
                case Strategy.ONE_FOR_ALL:
                    group = apps
                case Strategy.REST_FOR_ONE:
                    group = apps[apps.index(child.name) :]
                case _:
                    group = [child.name]
        stop = tuple(reversed([n for n in group if n != child.name]))
        return Restart(start=tuple(group), stop=stop, delay=delay, all_containers=all_containers)

    def _significant_exit(self, child: Child, code: int) -> bool:
        return (
            code == 0
            and child.kind is ChildKind.APP
            and child.name in self.spec.significant
            and self.spec.auto_shutdown is not AutoShutdown.NEVER
        )

    def _shutdown_or_leave(self, name: str) -> Plan:
        self._normal_exits.add(name)
        if self.spec.auto_shutdown is AutoShutdown.ANY:
            return Shutdown(
                AUTO_SHUTDOWN_REASON, f"significant container {name} completed (auto-shutdown: any)"
            )
        if self.spec.significant <= self._normal_exits:
            names = ", ".join(sorted(self.spec.significant))
            return Shutdown(
                AUTO_SHUTDOWN_REASON, f"significant containers {names} completed (auto-shutdown: all)"
            )
        return Leave()
