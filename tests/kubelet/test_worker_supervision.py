"""The pod worker carrying out its supervisor's plans, on the fake runtime with a fake clock."""

from __future__ import annotations

import asyncio
from typing import Any

from apimachinery.supervision import (
    ALL_CONTAINERS_RESTARTING,
    INTENSITY,
    INTENSITY_CONDITION,
    PERIOD,
    RESTART_INTENSITY_EXCEEDED,
    STRATEGY,
)
from kubelet import naming
from kubelet.lifecycle import RESTARTS_LABEL
from kubelet.probes import ProbeKind
from kubelet.runtime.base import ContainerState
from kubelet.worker import PodWorker
from tests.kubelet.harness import IMAGE, make_context, make_pod

UID = "11111111-2222-3333-4444-555555555555"
RUNNING, EXITED = ContainerState.RUNNING, ContainerState.EXITED


def worker_for(ctx: Any, pod: Any) -> PodWorker:
    return PodWorker(ctx, key=f"{pod.metadata.namespace}/{pod.metadata.name}", uid=pod.metadata.uid)


def supervised_pod(
    annotations: dict[str, str], *, names: tuple[str, ...] = ("a", "b", "c"), **kwargs: Any
) -> Any:
    containers = kwargs.pop("containers", None) or [{"name": n, "image": IMAGE} for n in names]
    pod = make_pod(containers=containers, **kwargs)
    pod.metadata.annotations = annotations
    return pod


def attempts(runtime: Any, name: str) -> list[Any]:
    found = runtime.list_containers({naming.POD_UID: UID, naming.CONTAINER: name})
    return sorted(found, key=naming.attempt_of)


def latest(runtime: Any, name: str) -> Any:
    return attempts(runtime, name)[-1]


def status_of(api: Any) -> Any:
    return api.pod("default/web").status


def condition(api: Any, kind: str) -> Any:
    return next((c for c in status_of(api).conditions or [] if c.type == kind), None)


async def settle(worker: PodWorker, rounds: int = 6) -> None:
    """Sync until the background stops the supervisor asked for are done (the fake stops at once)."""
    runtime = worker.ctx.runtime
    for _ in range(rounds):
        before = len(runtime.calls)  # type: ignore[attr-defined]
        await worker.sync()
        tasks = [t for t in (worker.monitor.stopping, *worker.monitor.killing.values()) if t is not None]
        await asyncio.gather(*tasks)
        if len(runtime.calls) == before and not worker.monitor.busy:  # type: ignore[attr-defined]
            return


def starts(runtime: Any, since: int) -> list[str]:
    """The app containers started after call ``since``, by name and attempt."""
    ids = {
        c.id: f"{naming.container_of(c)}{naming.attempt_of(c)}"
        for c in runtime.list_containers({})
        if not naming.is_sandbox(c)
    }
    return [ids[target] for op, target in runtime.calls[since:] if op == "start_container" and target in ids]


def stops(runtime: Any, since: int) -> list[str]:
    ids = {c.id: naming.container_of(c) for c in runtime.list_containers({})}
    return [ids[target] for op, target in runtime.calls[since:] if op == "stop_container" and target in ids]


async def test_rest_for_one_restarts_the_dead_child_and_those_after_it_in_order() -> None:
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(supervised_pod({STRATEGY: "rest_for_one"})))
    await settle(worker)
    mark = len(runtime.calls)

    runtime.exit(latest(runtime, "b").id, 1)
    await settle(worker)

    assert stops(runtime, mark) == ["c"]
    assert starts(runtime, mark) == ["b1", "c1"]
    assert [naming.attempt_of(latest(runtime, n)) for n in "abc"] == [0, 1, 1]
    assert all(latest(runtime, n).state is RUNNING for n in "abc")
    assert [s.restart_count for s in status_of(api).container_statuses] == [0, 1, 1]


async def test_one_for_all_restarts_every_child_in_place() -> None:
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(supervised_pod({STRATEGY: "one_for_all"})))
    await settle(worker)
    ip, sandbox = status_of(api).pod_ip, latest(runtime, naming.SANDBOX_NAME).id
    mark = len(runtime.calls)

    runtime.exit(latest(runtime, "b").id, 1)
    await settle(worker)

    assert stops(runtime, mark) == ["c", "a"]
    assert starts(runtime, mark) == ["a1", "b1", "c1"]
    assert status_of(api).pod_ip == ip and latest(runtime, naming.SANDBOX_NAME).id == sandbox
    assert [s.restart_count for s in status_of(api).container_statuses] == [1, 1, 1]
    assert "Restarting" in api.reasons()


async def test_ordered_strategy_starts_each_child_after_the_one_before_has_started() -> None:
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 1}
    containers = [{"name": "a", "image": IMAGE, "startupProbe": probe}, {"name": "b", "image": IMAGE}]
    ctx, runtime, api, _ = make_context()
    worker = worker_for(ctx, api.put(supervised_pod({STRATEGY: "one_for_all"}, containers=containers)))

    await worker.sync()
    assert attempts(runtime, "b") == []
    assert not next(s for s in status_of(api).container_statuses if s.name == "a").started

    worker.records["a"].on_probe(ProbeKind.STARTUP, True, latest(runtime, "a").id)
    await worker.sync()
    await worker.sync()
    assert latest(runtime, "b").state is RUNNING
    worker.monitor.stop()


async def test_exceeding_the_intensity_fails_the_pod_and_stops_everything() -> None:
    ctx, runtime, api, clock = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(supervised_pod({INTENSITY: "1", PERIOD: "60"}, names=("a", "b"))))
    await settle(worker)

    runtime.exit(latest(runtime, "a").id, 1)
    await settle(worker)
    budget = condition(api, INTENSITY_CONDITION)
    assert budget.status == "True" and budget.message == "1/1 restarts in 60s"
    clock.advance(5)
    runtime.exit(latest(runtime, "a").id, 1)
    await settle(worker)

    status = status_of(api)
    assert status.phase == "Failed" and status.reason == RESTART_INTENSITY_EXCEEDED
    assert "2 restarts in 60s" in status.message
    assert condition(api, INTENSITY_CONDITION).status == "False"
    assert all(c.state is EXITED for c in runtime.list_containers({naming.POD_UID: UID}))
    assert RESTART_INTENSITY_EXCEEDED in api.reasons()


async def test_the_budget_survives_a_kubelet_restart_in_the_labels() -> None:
    ctx, runtime, api, clock = make_context(backoff_initial=0)
    pod = api.put(supervised_pod({INTENSITY: "1", PERIOD: "60"}, names=("a",)))
    worker = worker_for(ctx, pod)
    await settle(worker)
    runtime.exit(latest(runtime, "a").id, 1)
    await settle(worker)
    assert latest(runtime, "a").labels[RESTARTS_LABEL]
    worker.monitor.stop()

    clock.advance(5)
    fresh = worker_for(ctx, api.pod("default/web"))  # a restarted kubelet: nothing in memory
    await settle(fresh)
    assert condition(api, INTENSITY_CONDITION).message == "1/1 restarts in 60s"
    runtime.exit(latest(runtime, "a").id, 1)
    await settle(fresh)

    assert status_of(api).phase == "Failed" and status_of(api).reason == RESTART_INTENSITY_EXCEEDED


async def test_a_sidecar_starts_first_outlives_a_restarting_app_and_stops_last() -> None:
    init = [{"name": "proxy", "image": IMAGE, "restartPolicy": "Always"}]
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(make_pod(restart_policy="OnFailure", init_containers=init)))
    mark = len(runtime.calls)
    await settle(worker)
    assert starts(runtime, mark)[:1] == ["proxy0"]
    assert latest(runtime, "app").state is RUNNING

    runtime.exit(latest(runtime, "app").id, 1)
    await settle(worker)
    assert naming.attempt_of(latest(runtime, "app")) == 1
    assert naming.attempt_of(latest(runtime, "proxy")) == 0 and latest(runtime, "proxy").state is RUNNING

    mark = len(runtime.calls)
    runtime.exit(latest(runtime, "app").id, 0)
    await settle(worker)
    status = status_of(api)
    assert status.phase == "Succeeded"
    assert stops(runtime, mark) == ["proxy"] and latest(runtime, "proxy").state is EXITED


async def test_a_crashed_sidecar_is_restarted_beside_the_running_app() -> None:
    init = [{"name": "proxy", "image": IMAGE, "restartPolicy": "Always"}]
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(make_pod(init_containers=init)))
    await settle(worker)

    runtime.exit(latest(runtime, "proxy").id, 2)
    await settle(worker)

    assert naming.attempt_of(latest(runtime, "proxy")) == 1 and latest(runtime, "proxy").state is RUNNING
    assert naming.attempt_of(latest(runtime, "app")) == 0 and latest(runtime, "app").state is RUNNING
    assert status_of(api).phase == "Running"


async def test_a_failed_startup_probe_kills_the_container_and_liveness_waits_for_it() -> None:
    startup = {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 2}
    liveness = {"exec": {"command": ["true"]}, "periodSeconds": 1}
    containers = [{"name": "app", "image": IMAGE, "startupProbe": startup, "livenessProbe": liveness}]
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(make_pod(containers=containers)))
    await worker.sync()
    assert len(worker.records["app"].probers) == 1 and worker.records["app"].probing_startup
    assert not status_of(api).container_statuses[0].started

    worker.records["app"].on_probe(ProbeKind.STARTUP, False, latest(runtime, "app").id)
    await settle(worker)

    assert "Killing" in api.reasons()
    assert naming.attempt_of(latest(runtime, "app")) == 1 and latest(runtime, "app").state is RUNNING
    worker.records["app"].on_probe(ProbeKind.STARTUP, True, latest(runtime, "app").id)
    await worker.sync()
    assert not worker.records["app"].probing_startup and status_of(api).container_statuses[0].started
    worker.monitor.stop()


async def test_restart_all_containers_runs_init_again_in_the_same_sandbox() -> None:
    rules = [{"action": "RestartAllContainers", "exitCodes": {"operator": "In", "values": [3]}}]
    containers = [
        {"name": "app", "image": IMAGE, "restartPolicy": "Never", "restartPolicyRules": rules},
        {"name": "web", "image": IMAGE},
    ]
    init = [{"name": "setup", "image": IMAGE}]
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(make_pod(containers=containers, init_containers=init)))
    await settle(worker)
    runtime.exit(latest(runtime, "setup").id, 0)
    await settle(worker)
    sandbox = latest(runtime, naming.SANDBOX_NAME).id
    mark = len(runtime.calls)

    runtime.exit(latest(runtime, "app").id, 3)
    await settle(worker)
    assert condition(api, ALL_CONTAINERS_RESTARTING).status == "True"
    assert starts(runtime, mark) == ["setup1"] and stops(runtime, mark) == ["web"]
    runtime.exit(latest(runtime, "setup").id, 0)
    await settle(worker)

    assert starts(runtime, mark) == ["setup1", "app1", "web1"]
    assert latest(runtime, naming.SANDBOX_NAME).id == sandbox
    assert condition(api, ALL_CONTAINERS_RESTARTING).status == "False"
    assert status_of(api).phase == "Running"


async def test_auto_shutdown_any_completes_the_pod_when_a_significant_child_exits_normally() -> None:
    annotations = {"supervision.podvisor.io/significant": "a", "supervision.podvisor.io/auto-shutdown": "any"}
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(supervised_pod(annotations, names=("a", "b"))))
    await settle(worker)

    runtime.exit(latest(runtime, "a").id, 0)
    await settle(worker)

    status = status_of(api)
    assert status.phase == "Succeeded" and status.reason == "AutoShutdown"
    assert latest(runtime, "b").state is EXITED and naming.attempt_of(latest(runtime, "a")) == 0


async def test_without_annotations_a_crash_restarts_only_that_container() -> None:
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(supervised_pod({})))
    await settle(worker)
    mark = len(runtime.calls)

    runtime.exit(latest(runtime, "b").id, 1)
    await settle(worker)

    assert stops(runtime, mark) == [] and starts(runtime, mark) == ["b1"]
    assert condition(api, INTENSITY_CONDITION) is None
