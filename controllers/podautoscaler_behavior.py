"""How fast the pod autoscaler may move: stabilisation windows and scaling policies.

Kubernetes' ``normalizeDesiredReplicas[WithBehaviors]`` (``pkg/controller/podautoscaler/horizontal.go``),
pure over an in-memory :class:`History` per autoscaler and an injected ``now``:

1. **Stabilise.** Every recommendation is remembered. Scaling up takes the lowest recommendation
   of the scale-up window (default 0 s: none), scaling down the highest of the scale-down window
   (default 300 s, ``--horizontal-pod-autoscaler-downscale-stabilization``), so a brief dip does
   not shed pods that the next spike needs.
2. **Limit the rate.** With a ``behavior``, each policy (``Pods``: N pods, ``Percent``: N% of the
   replicas at the start of the period) caps the change per ``periodSeconds``, counting the
   scale events already made in that period; ``selectPolicy`` Max takes the policy allowing the
   most change, Min the least, Disabled none. Without one, scaling up is limited to
   ``max(2 * current, 4)`` per step, as Kubernetes' controller does.
3. **Clamp** to ``[minReplicas, maxReplicas]``.

The conditions' reasons and messages are Kubernetes' own, so ``kubectl describe hpa`` reads the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from apimachinery.models.autoscaling import (
    DESIRED_WITHIN_RANGE,
    POLICY_PERCENT,
    POLICY_PODS,
    READY_FOR_NEW_SCALE,
    SCALE_DOWN_LIMIT,
    SCALE_DOWN_STABILIZED,
    SCALE_UP_LIMIT,
    SCALE_UP_STABILIZED,
    SELECT_DISABLED,
    SELECT_MIN,
    TOO_FEW_REPLICAS,
    TOO_MANY_REPLICAS,
    HorizontalPodAutoscalerBehavior,
    HPAScalingRules,
)

DOWNSCALE_STABILIZATION = 300.0  # seconds
SCALE_UP_LIMIT_FACTOR, SCALE_UP_LIMIT_MINIMUM = 2.0, 4.0
READY_MESSAGE = "recommended size matches current size"
UP_STABILIZED_MESSAGE = "recent recommendations were lower than current one, applying the lowest recent recommendation"
DOWN_STABILIZED_MESSAGE = ("recent recommendations were higher than current one, "
                           "applying the highest recent recommendation")
UP_LIMIT_MESSAGE = "the desired replica count is increasing faster than the maximum scale rate"
DOWN_LIMIT_MESSAGE = "the desired replica count is decreasing faster than the maximum scale rate"
TOO_MANY_MESSAGE = "the desired replica count is more than the maximum replica count"
TOO_FEW_MESSAGE = "the desired replica count is less than the minimum replica count"
WITHIN_RANGE_MESSAGE = "the desired count is within the acceptable range"


@dataclass(frozen=True)
class Policy:
    type: str  # Pods or Percent
    value: int
    period: int  # seconds


@dataclass(frozen=True)
class Rules:
    """One direction's rules with the defaults filled in."""

    window: float
    select: str = "Max"
    policies: tuple[Policy, ...] = ()

    @classmethod
    def of(cls, rules: HPAScalingRules | None, *, window: float) -> Rules:
        """``window`` applies when the rules name none (the controller's default for the direction)."""
        if rules is None:
            return cls(window)
        policies = tuple(Policy(p.type, p.value, p.period_seconds) for p in rules.policies or [])
        stabilization = rules.stabilization_window_seconds
        return cls(float(window if stabilization is None else stabilization), rules.select_policy or "Max", policies)


@dataclass(frozen=True)
class Event:
    at: float
    change: int  # pods added (scale up) or removed (scale down), positive


@dataclass
class History:
    """What one autoscaler has recommended and done lately (kept in memory, as Kubernetes does)."""

    recommendations: list[tuple[float, int]] = field(default_factory=list)
    ups: list[Event] = field(default_factory=list)
    downs: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    replicas: int
    stabilized_reason: str  # the AbleToScale reason
    stabilized_message: str
    limited: bool  # ScalingLimited status
    limited_reason: str
    limited_message: str


@dataclass(frozen=True)
class Bounds:
    current: int
    desired: int  # the metrics' proposal
    minimum: int
    maximum: int


def normalize(history: History, bounds: Bounds, behavior: HorizontalPodAutoscalerBehavior | None, *, now: float,
              downscale_window: float = DOWNSCALE_STABILIZATION) -> Decision:
    """The replica count to set now, and why (the AbleToScale and ScalingLimited conditions)."""
    up = Rules.of(behavior.scale_up if behavior else None, window=0.0)
    down = Rules.of(behavior.scale_down if behavior else None, window=downscale_window)
    stable = _stabilize(history, bounds, up=up, down=down, now=now)
    if stable != bounds.desired:
        up_or_down = bounds.desired >= bounds.current and behavior is not None
        reason, message = ((SCALE_UP_STABILIZED, UP_STABILIZED_MESSAGE) if up_or_down
                           else (SCALE_DOWN_STABILIZED, DOWN_STABILIZED_MESSAGE))
    else:
        reason, message = READY_FOR_NEW_SCALE, READY_MESSAGE
    step = Bounds(bounds.current, stable, bounds.minimum, bounds.maximum)
    if behavior is None:
        replicas, why, text = _limit_without_behavior(step)
    else:
        replicas, why, text = _limit_with_rules(history, step, up=up, down=down, now=now)
    return Decision(replicas, reason, message, replicas != stable, why, text)


def _stabilize(history: History, bounds: Bounds, *, up: Rules, down: Rules, now: float) -> int:
    """Keep the recommendation between the lowest of the up window and the highest of the down window."""
    upper = lower = bounds.desired
    for at, replicas in history.recommendations:
        if at > now - up.window:
            lower = min(lower, replicas)
        if at > now - down.window:
            upper = max(upper, replicas)
    oldest = now - max(up.window, down.window)
    history.recommendations = [(at, r) for at, r in history.recommendations if at >= oldest]
    history.recommendations.append((now, bounds.desired))
    return min(max(bounds.current, lower), upper)


def _limit_without_behavior(step: Bounds) -> tuple[int, str, str]:
    limit = int(max(SCALE_UP_LIMIT_FACTOR * step.current, SCALE_UP_LIMIT_MINIMUM))
    if step.maximum > limit:
        maximum, why, text = limit, SCALE_UP_LIMIT, UP_LIMIT_MESSAGE
    else:
        maximum, why, text = step.maximum, TOO_MANY_REPLICAS, TOO_MANY_MESSAGE
    if step.desired < step.minimum:
        return step.minimum, TOO_FEW_REPLICAS, TOO_FEW_MESSAGE
    if step.desired > maximum:
        return maximum, why, text
    return step.desired, DESIRED_WITHIN_RANGE, WITHIN_RANGE_MESSAGE


def _limit_with_rules(history: History, step: Bounds, *, up: Rules, down: Rules, now: float) -> tuple[int, str, str]:
    if step.desired > step.current:
        limit = max(_policy_limit(history, step.current, up, now, up=True), step.current)
        if step.maximum > limit:
            maximum, why, text = limit, SCALE_UP_LIMIT, UP_LIMIT_MESSAGE
        else:
            maximum, why, text = step.maximum, TOO_MANY_REPLICAS, TOO_MANY_MESSAGE
        if step.desired > maximum:
            return maximum, why, text
    elif step.desired < step.current:
        limit = min(_policy_limit(history, step.current, down, now, up=False), step.current)
        if step.minimum < limit:
            minimum, why, text = limit, SCALE_DOWN_LIMIT, DOWN_LIMIT_MESSAGE
        else:
            minimum, why, text = step.minimum, TOO_FEW_REPLICAS, TOO_FEW_MESSAGE
        if step.desired < minimum:
            return minimum, why, text
    return step.desired, DESIRED_WITHIN_RANGE, WITHIN_RANGE_MESSAGE


def _changed_in(events: list[Event], period: int, now: float) -> int:
    return sum(e.change for e in events if e.at > now - period)


def _period_start(history: History, current: int, policy: Policy, now: float) -> int:
    """The replicas at the start of the policy's period: undo what was added and removed since."""
    return current - _changed_in(history.ups, policy.period, now) + _changed_in(history.downs, policy.period, now)


def _policy_limit(history: History, current: int, rules: Rules, now: float, *, up: bool) -> int:
    """The furthest the policies let the target move this period; ``Max`` picks the policy that
    allows the most change (the highest bound up, the lowest down), ``Min`` the least."""
    if rules.select == SELECT_DISABLED:
        return current
    proposals = []
    for policy in rules.policies:
        start = _period_start(history, current, policy, now)
        if policy.type == POLICY_PODS:
            proposals.append(start + policy.value if up else start - policy.value)
        elif policy.type == POLICY_PERCENT:  # up rounds up, or a small target could never grow
            factor = 1 + policy.value / 100 if up else 1 - policy.value / 100
            proposals.append(math.ceil(start * factor) if up else int(start * factor))
    if not proposals:
        return current
    most_change = max if up else min
    least_change = min if up else max
    return least_change(proposals) if rules.select == SELECT_MIN else most_change(proposals)


def record_scale(history: History, behavior: HorizontalPodAutoscalerBehavior | None, *, previous: int, new: int,
                 now: float) -> None:
    """Remember a rescale so the policies count it; events older than the longest period are dropped."""
    if behavior is None or new == previous:
        return
    rules = behavior.scale_up if new > previous else behavior.scale_down
    longest = max((p.period_seconds for p in (rules.policies if rules else None) or []), default=0)
    events = history.ups if new > previous else history.downs
    events[:] = [e for e in events if e.at > now - longest]
    events.append(Event(now, abs(new - previous)))
