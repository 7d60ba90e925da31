"""Stabilisation windows, scaling policies and the min/max clamp, driven by an explicit ``now``."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.autoscaling import HorizontalPodAutoscalerBehavior
from controllers.podautoscaler_behavior import Bounds, Decision, History, normalize, record_scale


def rules(window: int | None = None, select: str = "Max", *policies: tuple[str, int, int]) -> dict[str, Any]:
    out: dict[str, Any] = {"selectPolicy": select,
                           "policies": [{"type": t, "value": v, "periodSeconds": p} for t, v, p in policies]}
    if window is not None:
        out["stabilizationWindowSeconds"] = window
    return out


DEFAULT_UP = rules(0, "Max", ("Pods", 4, 15), ("Percent", 100, 15))
DEFAULT_DOWN = rules(None, "Max", ("Percent", 100, 15))


def behavior(up: dict[str, Any] | None = None, down: dict[str, Any] | None = None) -> HorizontalPodAutoscalerBehavior:
    return HorizontalPodAutoscalerBehavior.model_validate({"scaleUp": up or DEFAULT_UP, "scaleDown": down or DEFAULT_DOWN})


def step(history: History, spec: HorizontalPodAutoscalerBehavior | None, *, now: float, current: int, desired: int,
         minimum: int = 1, maximum: int = 10) -> Decision:
    return normalize(history, Bounds(current, desired, minimum, maximum), spec, now=now)


# --- stabilisation ------------------------------------------------------------------------------


def test_without_behavior_a_scale_down_waits_out_the_five_minute_window() -> None:
    history = History()
    assert step(history, None, now=0, current=3, desired=3).replicas == 3
    held = step(history, None, now=100, current=3, desired=1)
    assert (held.replicas, held.stabilized_reason) == (3, "ScaleDownStabilized")
    assert step(history, None, now=301, current=3, desired=1).replicas == 1


def test_a_short_scale_down_window_from_the_behavior() -> None:
    spec = behavior(down=rules(5, "Max", ("Percent", 100, 15)))
    history = History()
    step(history, spec, now=0, current=3, desired=3)
    assert step(history, spec, now=4, current=3, desired=1).replicas == 3
    done = step(history, spec, now=6, current=3, desired=1)
    assert (done.replicas, done.stabilized_reason, done.limited) == (1, "ReadyForNewScale", False)


def test_the_highest_recommendation_in_the_window_wins() -> None:
    spec = behavior(down=rules(60, "Max", ("Percent", 100, 15)))
    history = History()
    for now, desired in ((0, 5), (10, 2), (20, 4)):
        step(history, spec, now=now, current=5, desired=desired)
    assert step(history, spec, now=30, current=5, desired=1).replicas == 5
    assert step(history, spec, now=65, current=5, desired=1).replicas == 4  # the 5 left the window


def test_a_scale_up_window_takes_the_lowest_recommendation() -> None:
    spec = behavior(up=rules(60, "Max", ("Pods", 10, 15)))
    history = History()
    step(history, spec, now=0, current=2, desired=2)
    held = step(history, spec, now=30, current=2, desired=6)
    assert (held.replicas, held.stabilized_reason) == (2, "ScaleUpStabilized")
    assert step(history, spec, now=61, current=2, desired=6).replicas == 6


# --- policies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("up", "current", "desired", "replicas", "reason"),
    [
        pytest.param(DEFAULT_UP, 1, 10, 5, "ScaleUpLimit", id="default-four-pods-beat-doubling-at-one"),
        pytest.param(DEFAULT_UP, 6, 20, 10, "TooManyReplicas", id="default-doubling-then-max"),
        pytest.param(rules(0, "Min", ("Pods", 4, 15), ("Percent", 100, 15)), 1, 10, 2, "ScaleUpLimit",
                     id="select-min-takes-the-smaller-change"),
        pytest.param(rules(0, "Max", ("Pods", 1, 60)), 1, 3, 2, "ScaleUpLimit", id="one-pod-a-minute"),
        pytest.param(rules(0, "Disabled", ("Pods", 4, 15)), 2, 8, 2, "ScaleUpLimit", id="disabled"),
        pytest.param(rules(0, "Max", ("Percent", 50, 15)), 3, 4, 4, "DesiredWithinRange", id="percent-rounds-up"),
    ],
)
def test_scale_up_policies(up: dict[str, Any], current: int, desired: int, replicas: int, reason: str) -> None:
    decision = step(History(), behavior(up=up), now=0, current=current, desired=desired)
    assert (decision.replicas, decision.limited_reason) == (replicas, reason)
    assert decision.limited == (replicas != desired)


@pytest.mark.parametrize(
    ("down", "current", "desired", "replicas", "reason"),
    [
        pytest.param(rules(0, "Max", ("Percent", 50, 15)), 4, 1, 2, "ScaleDownLimit", id="half-per-period"),
        pytest.param(rules(0, "Max", ("Pods", 1, 15), ("Percent", 50, 15)), 4, 1, 2, "ScaleDownLimit",
                     id="max-takes-the-bigger-change"),
        pytest.param(rules(0, "Min", ("Pods", 1, 15), ("Percent", 50, 15)), 4, 1, 3, "ScaleDownLimit",
                     id="min-takes-the-smaller-change"),
        pytest.param(rules(0, "Disabled", ("Pods", 1, 15)), 4, 1, 4, "ScaleDownLimit", id="disabled"),
        pytest.param(rules(0, "Max", ("Percent", 100, 15)), 4, 0, 1, "TooFewReplicas", id="clamped-to-min"),
    ],
)
def test_scale_down_policies(down: dict[str, Any], current: int, desired: int, replicas: int, reason: str) -> None:
    decision = step(History(), behavior(down=down), now=0, current=current, desired=desired)
    assert (decision.replicas, decision.limited_reason, decision.limited) == (replicas, reason, True)


def test_a_policy_counts_the_scale_events_of_its_period() -> None:
    spec = behavior(up=rules(0, "Max", ("Pods", 1, 60)))
    history = History()
    first = step(history, spec, now=0, current=1, desired=3)
    record_scale(history, spec, previous=1, new=first.replicas, now=0)
    assert step(history, spec, now=30, current=2, desired=3).replicas == 2  # one pod this minute already
    assert step(history, spec, now=61, current=2, desired=3).replicas == 3


def test_without_behavior_scale_up_is_limited_to_double_or_four() -> None:
    decision = step(History(), None, now=0, current=1, desired=9, maximum=20)
    assert (decision.replicas, decision.limited_reason) == (4, "ScaleUpLimit")
    assert step(History(), None, now=0, current=5, desired=9, maximum=20).replicas == 9


@pytest.mark.parametrize(
    ("desired", "replicas", "reason", "limited"),
    [(12, 10, "TooManyReplicas", True), (0, 2, "TooFewReplicas", True), (5, 5, "DesiredWithinRange", False)],
    ids=["above-max", "below-min", "within"],
)
def test_the_clamp(desired: int, replicas: int, reason: str, limited: bool) -> None:
    decision = step(History(), behavior(), now=0, current=8 if desired > 8 else 4, desired=desired, minimum=2,
                    maximum=10)
    assert (decision.replicas, decision.limited_reason, decision.limited) == (replicas, reason, limited)
