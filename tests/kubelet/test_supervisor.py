"""PodSupervisor as a specification: strategy x restart type x intensity -> plan, on a fake clock."""

from __future__ import annotations

import pytest

from apimachinery.supervision import (
    AUTO_SHUTDOWN_REASON,
    RESTART_INTENSITY_EXCEEDED,
    AutoShutdown,
    Intensity,
    PodSupervisorSpec,
    Strategy,
)
from apimachinery.timeutil import FakeClock
from kubelet.restart import Backoff, RestartPolicy
from kubelet.supervisor import (
    Child,
    ChildKind,
    Escalate,
    ExitRule,
    Leave,
    PodSupervisor,
    Restart,
    RuleAction,
    Shutdown,
    children_of,
    exit_action,
)
from tests.kubelet.harness import make_pod

ALWAYS, ON_FAILURE, NEVER = RestartPolicy.ALWAYS, RestartPolicy.ON_FAILURE, RestartPolicy.NEVER
APPS = ("a", "b", "c")


def app(name: str, policy: RestartPolicy = ALWAYS, *rules: ExitRule) -> Child:
    return Child(name=name, kind=ChildKind.APP, policy=policy, rules=rules)


def supervisor(
    strategy: Strategy = Strategy.ONE_FOR_ONE,
    *,
    intensity: Intensity | None = None,
    children: list[Child] | None = None,
    clock: FakeClock | None = None,
    backoff: Backoff = Backoff(initial=0),
    significant: frozenset[str] = frozenset(),
    auto_shutdown: AutoShutdown = AutoShutdown.NEVER,
) -> PodSupervisor:
    spec = PodSupervisorSpec(
        strategy=strategy, intensity=intensity, significant=significant, auto_shutdown=auto_shutdown
    )
    sup = PodSupervisor(children or [app(n) for n in APPS], spec, clock=clock or FakeClock(), backoff=backoff)
    for child in sup.children:
        sup.on_start(child.name)
    return sup


@pytest.mark.parametrize(
    ("strategy", "dies", "start", "stop"),
    [
        pytest.param(Strategy.ONE_FOR_ONE, "a", ("a",), (), id="one_for_one-first"),
        pytest.param(Strategy.ONE_FOR_ONE, "b", ("b",), (), id="one_for_one-middle"),
        pytest.param(Strategy.ONE_FOR_ALL, "a", APPS, ("c", "b"), id="one_for_all-first"),
        pytest.param(Strategy.ONE_FOR_ALL, "b", APPS, ("c", "a"), id="one_for_all-middle"),
        pytest.param(Strategy.ONE_FOR_ALL, "c", APPS, ("b", "a"), id="one_for_all-last"),
        pytest.param(Strategy.REST_FOR_ONE, "a", APPS, ("c", "b"), id="rest_for_one-first"),
        pytest.param(Strategy.REST_FOR_ONE, "b", ("b", "c"), ("c",), id="rest_for_one-middle"),
        pytest.param(Strategy.REST_FOR_ONE, "c", ("c",), (), id="rest_for_one-last"),
    ],
)
def test_strategy_picks_the_group_in_start_order_and_stops_it_in_reverse(
    strategy: Strategy, dies: str, start: tuple[str, ...], stop: tuple[str, ...]
) -> None:
    plan = supervisor(strategy).on_exit(dies, 1)

    assert plan == Restart(start=start, stop=stop, delay=0.0)


@pytest.mark.parametrize(
    ("policy", "code", "restarts"),
    [
        pytest.param(ALWAYS, 0, True, id="always-success"),
        pytest.param(ALWAYS, 1, True, id="always-failure"),
        pytest.param(ON_FAILURE, 0, False, id="onfailure-success"),
        pytest.param(ON_FAILURE, 2, True, id="onfailure-failure"),
        pytest.param(NEVER, 0, False, id="never-success"),
        pytest.param(NEVER, 9, False, id="never-failure"),
    ],
)
@pytest.mark.parametrize("strategy", list(Strategy), ids=str)
def test_restart_type_decides_whether_the_exit_restarts_anything(
    strategy: Strategy, policy: RestartPolicy, code: int, restarts: bool
) -> None:
    sup = supervisor(strategy, children=[app("a", policy), app("b"), app("c")])

    plan = sup.on_exit("a", code)

    assert isinstance(plan, Restart) is restarts
    if not restarts:
        assert plan == Leave()


@pytest.mark.parametrize(
    ("rules", "policy", "code", "expected"),
    [
        pytest.param(
            (ExitRule(RuleAction.RESTART, "In", frozenset({42})),),
            NEVER,
            42,
            RuleAction.RESTART,
            id="rule-in-overrides-never",
        ),
        pytest.param(
            (ExitRule(RuleAction.RESTART, "In", frozenset({42})),),
            NEVER,
            1,
            None,
            id="no-match-falls-back-to-policy",
        ),
        pytest.param(
            (ExitRule(RuleAction.RESTART, "NotIn", frozenset({0, 1})),),
            NEVER,
            3,
            RuleAction.RESTART,
            id="notin-matches-others",
        ),
        pytest.param(
            (ExitRule(RuleAction.RESTART, "NotIn", frozenset({0, 1})),),
            ALWAYS,
            1,
            RuleAction.RESTART,
            id="notin-no-match-policy-always",
        ),
        pytest.param(
            (
                ExitRule(RuleAction.RESTART_ALL, "In", frozenset({7})),
                ExitRule(RuleAction.RESTART, "In", frozenset({7})),
            ),
            NEVER,
            7,
            RuleAction.RESTART_ALL,
            id="first-match-wins",
        ),
    ],
)
def test_restart_rules_first_match_wins_then_the_policy(
    rules: tuple[ExitRule, ...], policy: RestartPolicy, code: int, expected: RuleAction | None
) -> None:
    assert exit_action(app("a", policy, *rules), code) is expected


@pytest.mark.parametrize("strategy", list(Strategy), ids=str)
@pytest.mark.parametrize(
    ("restarts", "period", "crashes", "gap", "escalates_at"),
    [
        pytest.param(3, 60, 4, 1.0, 4, id="fourth-in-window-escalates"),
        pytest.param(3, 60, 3, 1.0, None, id="exactly-intensity-is-fine"),
        pytest.param(3, 10, 8, 6.0, None, id="spread-out-never-escalates"),
        pytest.param(0, 5, 1, 1.0, 1, id="zero-intensity-first-crash-escalates"),
        pytest.param(1, 5, 2, 4.0, 2, id="second-within-period"),
        pytest.param(100, 3600, 101, 1.0, 101, id="largest-intensity-is-counted-in-full"),
    ],
)
def test_intensity_allows_restarts_within_the_period_then_escalates(
    strategy: Strategy, restarts: int, period: int, crashes: int, gap: float, escalates_at: int | None
) -> None:
    clock = FakeClock()
    sup = supervisor(strategy, intensity=Intensity(restarts, period), clock=clock)
    plans = []
    for _ in range(crashes):
        plan = sup.on_exit("b", 1)
        plans.append(plan)
        if isinstance(plan, Escalate):
            break
        for name in plan.start:  # type: ignore[union-attr]
            sup.on_start(name, by_supervisor=name != "b")
        clock.advance(gap)

    escalated = [i + 1 for i, p in enumerate(plans) if isinstance(p, Escalate)]
    assert escalated == ([escalates_at] if escalates_at else [])
    if escalates_at:
        plan = plans[-1]
        assert isinstance(plan, Escalate) and plan.reason == RESTART_INTENSITY_EXCEEDED
        assert f"{restarts + 1 if restarts else 1} restarts in {period}s" in plan.message


def test_a_group_restart_costs_one_and_the_budget_says_so() -> None:
    clock = FakeClock()
    sup = supervisor(Strategy.ONE_FOR_ALL, intensity=Intensity(5, 60), clock=clock)

    plan = sup.on_exit("a", 1)

    assert isinstance(plan, Restart) and len(plan.start) == 3
    assert sup.budget() == (1, "1/5 restarts in 60s")
    clock.advance(61)
    assert sup.budget() == (0, "0/5 restarts in 60s")


def test_budget_survives_a_new_supervisor_through_the_history() -> None:
    clock = FakeClock()
    first = supervisor(intensity=Intensity(2, 60), clock=clock)
    first.on_exit("a", 1)
    first.on_start("a")
    clock.advance(1)
    first.on_exit("a", 1)

    spec = PodSupervisorSpec(intensity=Intensity(2, 60))
    second = PodSupervisor([app(n) for n in APPS], spec, clock=clock, history=first.history())
    second.on_start("a")

    assert second.budget() == (2, "2/2 restarts in 60s")
    assert isinstance(second.on_exit("a", 1), Escalate)


def test_siblings_restarted_by_the_supervisor_do_not_advance_their_back_off() -> None:
    clock = FakeClock()
    sup = supervisor(Strategy.ONE_FOR_ALL, backoff=Backoff(initial=1, maximum=60), clock=clock)
    for _ in range(3):  # a crashes three times; b and c restart along each time
        plan = sup.on_exit("a", 1)
        assert isinstance(plan, Restart)
        clock.advance(plan.delay)
        for name in plan.start:
            sup.on_start(name, by_supervisor=name != "a")

    assert plan.delay == 4.0  # a's own curve: 1, 2, 4
    b_plan = sup.on_exit("b", 1)
    assert isinstance(b_plan, Restart) and b_plan.delay == 1.0  # b's first crash of its own
    assert sup.trackers["b"].restart_count == 3


def test_an_exit_of_a_child_already_restarting_with_its_group_is_the_same_event() -> None:
    sup = supervisor(Strategy.ONE_FOR_ALL, intensity=Intensity(1, 60))

    assert isinstance(sup.on_exit("a", 1), Restart)
    assert sup.on_exit("b", 1) == Restart(start=())
    assert sup.budget() == (1, "1/1 restarts in 60s")


def test_restart_all_containers_restarts_init_sidecars_and_apps_in_start_order() -> None:
    children = [
        Child("init", ChildKind.INIT, ON_FAILURE),
        Child("proxy", ChildKind.SIDECAR, ALWAYS),
        app("a"),
        app("b", NEVER, ExitRule(RuleAction.RESTART_ALL, "In", frozenset({3}))),
    ]
    sup = supervisor(children=children)

    plan = sup.on_exit("b", 3)

    assert plan == Restart(
        start=("init", "proxy", "a", "b"), stop=("a", "proxy", "init"), all_containers=True
    )


@pytest.mark.parametrize("strategy", [Strategy.ONE_FOR_ALL, Strategy.REST_FOR_ONE], ids=str)
def test_sidecars_and_init_containers_restart_one_for_one(strategy: Strategy) -> None:
    children = [Child("proxy", ChildKind.SIDECAR, ALWAYS), app("a"), app("b")]
    sup = supervisor(strategy, children=children)

    assert sup.on_exit("proxy", 1) == Restart(start=("proxy",))


@pytest.mark.parametrize(
    ("mode", "exits", "expected"),
    [
        pytest.param(AutoShutdown.ANY, [("a", 0)], "shutdown", id="any-first-normal-exit"),
        pytest.param(AutoShutdown.ALL, [("a", 0)], "leave", id="all-waits-for-the-rest"),
        pytest.param(AutoShutdown.ALL, [("a", 0), ("b", 0)], "shutdown", id="all-after-every-one"),
        pytest.param(AutoShutdown.ANY, [("a", 1)], "restart", id="abnormal-exit-restarts"),
        pytest.param(AutoShutdown.ANY, [("c", 0)], "restart", id="insignificant-child-restarts"),
    ],
)
def test_significant_children_end_the_pod_by_auto_shutdown(
    mode: AutoShutdown, exits: list[tuple[str, int]], expected: str
) -> None:
    sup = supervisor(significant=frozenset({"a", "b"}), auto_shutdown=mode)

    plan = None
    for name, code in exits:
        plan = sup.on_exit(name, code)

    kinds = {Shutdown: "shutdown", Leave: "leave", Restart: "restart"}
    assert kinds[type(plan)] == expected
    if isinstance(plan, Shutdown):
        assert plan.reason == AUTO_SHUTDOWN_REASON


def test_children_of_a_pod_follow_kubernetes_policies() -> None:
    pod = make_pod(
        restart_policy="Never",
        init_containers=[
            {"name": "setup", "image": "x"},
            {"name": "proxy", "image": "x", "restartPolicy": "Always"},
        ],
        containers=[
            {"name": "app", "image": "x"},
            {
                "name": "job",
                "image": "x",
                "restartPolicy": "OnFailure",
                "restartPolicyRules": [
                    {"action": "Restart", "exitCodes": {"operator": "In", "values": [42]}}
                ],
            },
        ],
    )

    children = children_of(pod)

    assert [(c.name, c.kind, c.policy) for c in children] == [
        ("setup", ChildKind.INIT, NEVER),
        ("proxy", ChildKind.SIDECAR, ALWAYS),
        ("app", ChildKind.APP, NEVER),
        ("job", ChildKind.APP, ON_FAILURE),
    ]
    assert children[3].rules == (ExitRule(RuleAction.RESTART, "In", frozenset({42})),)
