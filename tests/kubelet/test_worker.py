"""Pod worker decisions on the fake runtime with a fake clock: no Docker, no apiserver, no sleeps."""

from __future__ import annotations

from typing import Any

import pytest

from kubelet import naming
from kubelet.probes import ProbeKind
from kubelet.runtime.base import ContainerState
from kubelet.worker import PodWorker
from tests.kubelet.harness import IMAGE, NODE, make_context, make_pod

UID = "11111111-2222-3333-4444-555555555555"


def worker_for(ctx: Any, pod: Any) -> PodWorker:
    return PodWorker(ctx, key=f"{pod.metadata.namespace}/{pod.metadata.name}", uid=pod.metadata.uid)


def app_containers(runtime: Any, name: str = "app") -> list[Any]:
    found = runtime.list_containers({naming.POD_UID: UID, naming.CONTAINER: name})
    return sorted(found, key=naming.attempt_of)


def status_of(api: Any, name: str = "web") -> Any:
    return api.pod(f"default/{name}").status


def container_status(api: Any, name: str = "app", *, init: bool = False) -> Any:
    status = status_of(api)
    statuses = status.init_container_statuses if init else status.container_statuses
    return next(s for s in statuses if s.name == name)


async def test_new_pod_gets_a_sandbox_and_its_container_running() -> None:
    ctx, runtime, api, _ = make_context()
    pod = api.put(make_pod())
    await worker_for(ctx, pod).sync()
    status = status_of(api)
    assert status.phase == "Running"
    assert status.pod_ip and status.host_ip == "127.0.0.1"
    cs = container_status(api)
    assert cs.ready and cs.started and cs.restart_count == 0 and cs.state.running is not None
    assert cs.container_id.startswith("fake://") and cs.image_id
    sandbox = runtime.list_containers({naming.POD_UID: UID, naming.CONTAINER: naming.SANDBOX_NAME})
    assert len(sandbox) == 1 and sandbox[0].labels[naming.NODE] == NODE
    app = app_containers(runtime)[0]
    assert app.name == "pv_web_default_11111111_app_0"
    assert {k: app.labels[k] for k in (naming.MANAGED, naming.ATTEMPT, naming.INIT)} == {
        naming.MANAGED: "true", naming.ATTEMPT: "0", naming.INIT: "false"}
    assert [r for r in api.reasons() if r in ("Created", "Started")] == ["Created", "Started"]


async def test_unchanged_pod_status_is_written_once() -> None:
    ctx, _, api, _ = make_context()
    pod = api.put(make_pod())
    worker = worker_for(ctx, pod)
    await worker.sync()
    writes = api.status_writes
    await worker.sync()
    await worker.sync()
    assert api.status_writes == writes


async def test_crash_waits_out_the_back_off_then_restarts() -> None:
    ctx, runtime, api, clock = make_context(backoff_initial=2.0)
    pod = api.put(make_pod())
    worker = worker_for(ctx, pod)
    await worker.sync()
    runtime.exit(app_containers(runtime)[0].id, 1)
    await worker.sync()
    cs = container_status(api)
    assert cs.state.waiting.reason == "CrashLoopBackOff"
    assert "back-off 2s restarting failed container=app" in cs.state.waiting.message
    assert cs.last_state.terminated.exit_code == 1 and cs.last_state.terminated.reason == "Error"
    assert worker.next_delay == pytest.approx(2.0)
    assert "BackOff" in api.reasons()
    clock.advance(1.0)
    await worker.sync()
    assert len(app_containers(runtime)) == 1
    clock.advance(1.0)
    await worker.sync()
    assert [c.state for c in app_containers(runtime)] == [ContainerState.EXITED, ContainerState.RUNNING]
    cs = container_status(api)
    assert cs.restart_count == 1 and cs.state.running is not None and cs.last_state.terminated.exit_code == 1


async def test_back_off_doubles_with_each_crash() -> None:
    ctx, runtime, api, clock = make_context(backoff_initial=1.0, backoff_max=4.0)
    worker = worker_for(ctx, api.put(make_pod()))
    await worker.sync()
    delays = []
    for _ in range(4):
        runtime.exit(app_containers(runtime)[-1].id, 1)
        await worker.sync()
        delays.append(worker.next_delay)
        clock.advance(worker.next_delay or 0)
        await worker.sync()
    assert delays == pytest.approx([1.0, 2.0, 4.0, 4.0])


@pytest.mark.parametrize(
    ("policy", "exit_code", "phase", "restarts"),
    [
        ("Always", 0, "Running", 1),
        ("Always", 1, "Running", 1),
        ("OnFailure", 0, "Succeeded", 0),
        ("OnFailure", 1, "Running", 1),
        ("Never", 0, "Succeeded", 0),
        ("Never", 1, "Failed", 0),
    ],
    ids=lambda v: str(v),
)
async def test_restart_policy_table(policy: str, exit_code: int, phase: str, restarts: int) -> None:
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(make_pod(restart_policy=policy)))
    await worker.sync()
    runtime.exit(app_containers(runtime)[0].id, exit_code)
    await worker.sync()
    assert status_of(api).phase == phase
    assert container_status(api).restart_count == restarts
    if phase in ("Succeeded", "Failed"):
        sandbox = runtime.list_containers({naming.POD_UID: UID, naming.CONTAINER: naming.SANDBOX_NAME})[0]
        assert sandbox.state is ContainerState.EXITED
        terminated = container_status(api).state.terminated
        assert terminated.reason == ("Completed" if exit_code == 0 else "Error")


async def test_restarted_kubelet_adopts_without_restarting() -> None:
    ctx, runtime, api, clock = make_context(backoff_initial=0)
    pod = api.put(make_pod())
    await worker_for(ctx, pod).sync()
    runtime.exit(app_containers(runtime)[0].id, 1)
    first = worker_for(ctx, pod)
    await first.sync()
    before = [(c.id, c.state) for c in app_containers(runtime)]
    calls = len(runtime.calls)
    ctx2, _, _, _ = make_context(runtime=runtime, api=api, clock=clock)
    await worker_for(ctx2, api.pod("default/web")).sync()
    assert [(c.id, c.state) for c in app_containers(runtime)] == before
    assert not [op for op, _ in runtime.calls[calls:] if op in ("create_container", "start_container")]
    assert container_status(api).restart_count == 1


async def test_only_the_latest_and_previous_attempts_are_kept() -> None:
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(make_pod()))
    await worker.sync()
    for _ in range(4):
        runtime.exit(app_containers(runtime)[-1].id, 1)
        await worker.sync()
    await worker.sync()
    assert [naming.attempt_of(c) for c in app_containers(runtime)] == [3, 4]
    assert container_status(api).restart_count == 4


async def test_init_containers_run_in_order_before_app_containers() -> None:
    ctx, runtime, api, _ = make_context()
    inits = [{"name": "one", "image": IMAGE}, {"name": "two", "image": IMAGE}]
    worker = worker_for(ctx, api.put(make_pod(init_containers=inits)))
    await worker.sync()
    assert [c.name for c in runtime.list_containers({naming.POD_UID: UID, naming.INIT: "true"})] == [
        "pv_web_default_11111111_one_0"]
    assert not app_containers(runtime)
    status = status_of(api)
    assert status.phase == "Pending"
    assert container_status(api).state.waiting.reason == "PodInitializing"
    init = next(c for c in status.conditions if c.type == "Initialized")
    assert init.status == "False" and init.message == "containers with incomplete status: [one two]"
    runtime.exit(app_containers(runtime, "one")[0].id, 0)
    await worker.sync()
    assert not app_containers(runtime)
    runtime.exit(app_containers(runtime, "two")[0].id, 0)
    await worker.sync()
    assert status_of(api).phase == "Running"
    assert container_status(api, "one", init=True).state.terminated.reason == "Completed"


async def test_failed_init_container_fails_a_never_pod() -> None:
    ctx, runtime, api, _ = make_context()
    worker = worker_for(ctx, api.put(make_pod(restart_policy="Never", init_containers=[{"name": "one", "image": IMAGE}])))
    await worker.sync()
    runtime.exit(app_containers(runtime, "one")[0].id, 3)
    await worker.sync()
    assert status_of(api).phase == "Failed"
    assert not app_containers(runtime)


async def test_failed_init_container_is_retried_with_back_off() -> None:
    ctx, runtime, api, clock = make_context(backoff_initial=1.0)
    worker = worker_for(ctx, api.put(make_pod(init_containers=[{"name": "one", "image": IMAGE}])))
    await worker.sync()
    runtime.exit(app_containers(runtime, "one")[0].id, 3)
    await worker.sync()
    assert container_status(api, "one", init=True).state.waiting.reason == "CrashLoopBackOff"
    assert status_of(api).phase == "Pending"
    clock.advance(1.0)
    await worker.sync()
    assert len(app_containers(runtime, "one")) == 2


@pytest.mark.parametrize(
    ("policy", "reason"),
    [("IfNotPresent", "ErrImagePull"), ("Always", "ErrImagePull"), ("Never", "ErrImageNeverPull")],
)
async def test_missing_image_waits_with_the_kubernetes_reason(policy: str, reason: str) -> None:
    ctx, _, api, clock = make_context()
    containers = [{"name": "app", "image": "nowhere/missing:1", "imagePullPolicy": policy}]
    worker = worker_for(ctx, api.put(make_pod(containers=containers)))
    await worker.sync()
    waiting = container_status(api).state.waiting
    assert waiting.reason == reason and "nowhere/missing:1" in waiting.message
    assert status_of(api).phase == "Pending"
    if policy != "Never":
        await worker.sync()
        assert container_status(api).state.waiting.reason == "ImagePullBackOff"
        clock.advance(worker.next_delay or 0)
        await worker.sync()
        assert container_status(api).state.waiting.reason == "ErrImagePull"


async def test_always_policy_falls_back_to_the_local_image_with_a_warning() -> None:
    ctx, runtime, api, _ = make_context()
    worker = worker_for(ctx, api.put(make_pod(containers=[{"name": "app", "image": IMAGE, "imagePullPolicy": "Always"}])))
    await worker.sync()
    assert status_of(api).phase == "Running"
    assert ("pull_image", IMAGE) in runtime.calls
    warnings = api.recorder.messages(type_="Warning")
    assert any("using the image present on the node" in m for m in warnings)


async def test_deleted_pod_is_stopped_removed_and_deleted() -> None:
    ctx, runtime, api, _ = make_context()
    volumes = [{"name": "data", "emptyDir": {}}]
    containers = [{"name": "app", "image": IMAGE, "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]
    pod = api.put(make_pod(containers=containers, volumes=volumes))
    worker = worker_for(ctx, pod)
    await worker.sync()
    assert "pv-11111111-data" in runtime.volumes()
    doomed = pod.model_copy(deep=True)
    doomed.metadata.deletion_timestamp = "2026-01-01T00:00:00Z"
    doomed.metadata.deletion_grace_period_seconds = 7
    api.put(doomed)
    await worker.sync()
    assert worker.done
    assert runtime.list_containers({naming.POD_UID: UID}) == []
    assert "pv-11111111-data" not in runtime.volumes()
    assert api.deleted_uids() == [UID]
    assert api.pod("default/web") is None
    assert "Killing" in api.reasons()


async def test_vanished_pod_is_cleaned_up_without_an_api_delete() -> None:
    ctx, runtime, api, _ = make_context()
    worker = worker_for(ctx, api.put(make_pod()))
    await worker.sync()
    api.remove("default/web")
    await worker.sync()
    assert worker.done and runtime.list_containers({naming.POD_UID: UID}) == [] and api.deleted_uids() == []


async def test_failed_liveness_probe_kills_the_container_and_it_restarts() -> None:
    probe = {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(make_pod(containers=[{"name": "app", "image": IMAGE, "livenessProbe": probe}])))
    await worker.sync()
    first = app_containers(runtime)[0]
    worker.records["app"].on_probe(ProbeKind.LIVENESS, False, first.id)
    await worker.sync()
    assert "Killing" in api.reasons()
    await next(iter(worker.monitor.killing.values()))
    await worker.sync()
    assert [c.state for c in app_containers(runtime)] == [ContainerState.EXITED, ContainerState.RUNNING]
    assert container_status(api).restart_count == 1
    worker.monitor.stop()


async def test_readiness_gates_ready_without_restarting() -> None:
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 100}
    ctx, runtime, api, _ = make_context()
    worker = worker_for(ctx, api.put(make_pod(containers=[{"name": "app", "image": IMAGE, "readinessProbe": probe}])))
    await worker.sync()
    assert not container_status(api).ready
    cid = app_containers(runtime)[0].id
    worker.records["app"].on_probe(ProbeKind.READINESS, True, cid)
    await worker.sync()
    assert container_status(api).ready
    assert next(c for c in status_of(api).conditions if c.type == "Ready").status == "True"
    worker.records["app"].on_probe(ProbeKind.READINESS, False, cid)
    await worker.sync()
    ready = next(c for c in status_of(api).conditions if c.type == "Ready")
    assert ready.status == "False" and ready.reason == "ContainersNotReady"
    assert container_status(api).restart_count == 0 and len(app_containers(runtime)) == 1
    worker.monitor.stop()


async def test_dead_sandbox_is_recreated_and_containers_restart() -> None:
    ctx, runtime, api, _ = make_context(backoff_initial=0)
    worker = worker_for(ctx, api.put(make_pod()))
    await worker.sync()
    sandbox = runtime.list_containers({naming.POD_UID: UID, naming.CONTAINER: naming.SANDBOX_NAME})[0]
    runtime.kill_container(sandbox.id)
    await worker.sync()
    await worker.sync()
    sandboxes = runtime.list_containers({naming.POD_UID: UID, naming.CONTAINER: naming.SANDBOX_NAME})
    assert [naming.attempt_of(s) for s in sandboxes] == [1]
    assert "SandboxChanged" in api.reasons()
    assert status_of(api).phase == "Running" and container_status(api).restart_count == 1


async def test_status_write_conflict_is_retried_on_a_fresh_read() -> None:
    ctx, _, api, _ = make_context()
    pod = api.put(make_pod())
    api.put(pod)  # someone else wrote: the worker's copy is stale
    await worker_for(ctx, pod).sync()
    assert status_of(api).phase == "Running"
