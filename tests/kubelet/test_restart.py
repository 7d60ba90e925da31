"""RestartTracker as a specification: tables of (policy, back-off, history) -> decision, on a fake clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kubelet.restart import (
    CLASSIC_BACKOFF,
    COMPLETED,
    ERROR,
    OOM_KILLED,
    Backoff,
    RestartPolicy,
    RestartState,
    RestartTracker,
    exit_reason,
)

NOW = RestartState.RESTART_NOW
AFTER = RestartState.RESTART_AFTER
DONE = RestartState.NO_RESTART


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def crash_loop(tracker: RestartTracker, clock: FakeClock, *, exits: int, run_for: float = 0.5) -> None:
    """Start, run ``run_for`` seconds and exit with 1, ``exits`` times, restarting when allowed."""
    for n in range(exits):
        if n:
            state, delay = tracker.decide()
            assert state in (NOW, AFTER)
            clock.advance(delay)
        tracker.on_start()
        clock.advance(run_for)
        tracker.on_exit(1)


@pytest.mark.parametrize(
    ("policy", "exit_code", "expected"),
    [
        pytest.param(RestartPolicy.ALWAYS, 0, AFTER, id="always-restarts-success"),
        pytest.param(RestartPolicy.ALWAYS, 1, AFTER, id="always-restarts-failure"),
        pytest.param(RestartPolicy.ON_FAILURE, 0, DONE, id="onfailure-done-on-success"),
        pytest.param(RestartPolicy.ON_FAILURE, 137, AFTER, id="onfailure-restarts-failure"),
        pytest.param(RestartPolicy.NEVER, 0, DONE, id="never-done-on-success"),
        pytest.param(RestartPolicy.NEVER, 1, DONE, id="never-done-on-failure"),
    ],
)
def test_policy_decides_whether_to_restart(
    policy: RestartPolicy, exit_code: int, expected: RestartState
) -> None:
    clock = FakeClock()
    tracker = RestartTracker(policy, Backoff(), clock).on_start()
    clock.advance(5)

    state, delay = tracker.on_exit(exit_code).decide()

    assert state is expected
    assert delay == (1.0 if expected is AFTER else 0.0)
    assert tracker.last_exit_code == exit_code


@pytest.mark.parametrize(
    ("backoff", "exits", "expected_delay"),
    [
        pytest.param(Backoff(), 1, 1.0, id="first-restart-waits-initial"),
        pytest.param(Backoff(), 2, 2.0, id="doubles"),
        pytest.param(Backoff(), 4, 8.0, id="doubles-again"),
        pytest.param(Backoff(), 7, 60.0, id="capped-at-maximum"),
        pytest.param(Backoff(), 50, 60.0, id="stays-at-maximum"),
        pytest.param(CLASSIC_BACKOFF, 1, 10.0, id="classic-first"),
        pytest.param(CLASSIC_BACKOFF, 6, 300.0, id="classic-capped"),
        pytest.param(Backoff(initial=0.0), 1, 0.0, id="initial-zero-immediate"),
        pytest.param(Backoff(initial=0.0), 20, 0.0, id="initial-zero-always-immediate"),
        pytest.param(Backoff(initial=3.0, maximum=5.0), 2, 5.0, id="cap-below-double"),
    ],
)
def test_back_off_curve(backoff: Backoff, exits: int, expected_delay: float) -> None:
    clock = FakeClock()
    tracker = RestartTracker(RestartPolicy.ALWAYS, backoff, clock)

    crash_loop(tracker, clock, exits=exits)

    assert tracker.decide() == ((AFTER, expected_delay) if expected_delay else (NOW, 0.0))
    assert tracker.restart_count == exits - 1


@pytest.mark.parametrize(
    ("last_run", "expected_delay"),
    [
        pytest.param(599.0, 16.0, id="short-run-keeps-doubling"),
        pytest.param(600.0, 1.0, id="run-of-reset-after-resets"),
        pytest.param(3600.0, 1.0, id="long-run-resets"),
    ],
)
def test_long_run_resets_the_back_off(last_run: float, expected_delay: float) -> None:
    clock = FakeClock()
    tracker = RestartTracker(RestartPolicy.ALWAYS, Backoff(), clock)
    crash_loop(tracker, clock, exits=4)  # the next delay would be 8 s
    clock.advance(tracker.decide()[1])

    tracker.on_start()
    clock.advance(last_run)
    tracker.on_exit(1)

    assert tracker.decide() == (AFTER, expected_delay)
    assert tracker.restart_count == 4  # the count never resets


@pytest.mark.parametrize(
    ("waited", "expected"),
    [
        pytest.param(0.0, (AFTER, 8.0), id="right-after-exit"),
        pytest.param(2.5, (AFTER, 5.5), id="part-way"),
        pytest.param(8.0, (NOW, 0.0), id="elapsed-exactly"),
        pytest.param(100.0, (NOW, 0.0), id="long-elapsed"),
    ],
)
def test_decide_returns_the_remaining_wait(waited: float, expected: tuple[RestartState, float]) -> None:
    clock = FakeClock()
    tracker = RestartTracker(RestartPolicy.ON_FAILURE, Backoff(), clock)
    crash_loop(tracker, clock, exits=4)

    clock.advance(waited)

    assert tracker.decide() == expected


def test_decide_before_any_exit_is_a_usage_error() -> None:
    clock = FakeClock()
    tracker = RestartTracker(RestartPolicy.ALWAYS, Backoff(), clock)
    with pytest.raises(RuntimeError):
        tracker.decide()
    tracker.on_start()
    with pytest.raises(RuntimeError):
        tracker.decide()


def test_a_start_that_never_ran_counts_as_a_restart_attempt() -> None:
    clock = FakeClock()
    tracker = RestartTracker(RestartPolicy.ALWAYS, Backoff(), clock)
    tracker.on_exit(128)  # e.g. the start itself failed

    assert tracker.decide() == (AFTER, 1.0)
    clock.advance(1.0)
    tracker.on_start().on_exit(128)
    assert (tracker.restart_count, tracker.decide()) == (1, (AFTER, 2.0))


@pytest.mark.parametrize(
    ("exit_code", "oom_killed", "reason"),
    [
        pytest.param(0, False, COMPLETED, id="completed"),
        pytest.param(1, False, ERROR, id="error"),
        pytest.param(137, True, OOM_KILLED, id="oom"),
    ],
)
def test_exit_reason(exit_code: int, oom_killed: bool, reason: str) -> None:
    assert exit_reason(exit_code, oom_killed=oom_killed) == reason
