"""Ephemeral containers in the pod worker (fake runtime, fake clock): started once, beside the supervisor."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.core import EphemeralContainer
from kubelet import naming
from kubelet.runtime.base import ContainerState
from kubelet.worker import PodWorker
from tests.kubelet.harness import IMAGE, make_context, make_pod

UID = "11111111-2222-3333-4444-555555555555"


def containers_named(runtime: Any, name: str) -> list[Any]:
    return sorted(runtime.list_containers({naming.POD_UID: UID, naming.CONTAINER: name}), key=naming.attempt_of)


def with_ephemeral(api: Any, **fields: Any) -> Any:
    pod = api.pod("default/web")
    debug = EphemeralContainer.model_validate({"name": "debugger", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                                               **fields})
    return api.put(pod.model_copy(update={"spec": pod.spec.model_copy(update={"ephemeral_containers": [debug]})}))


def ephemeral_status(api: Any) -> Any:
    return next(s for s in api.pod("default/web").status.ephemeral_container_statuses if s.name == "debugger")


async def test_it_joins_the_sandbox_and_the_target_pid_namespace_with_stdin_and_tty() -> None:
    ctx, runtime, api, _ = make_context()
    pod = api.put(make_pod())
    worker = PodWorker(ctx, key="default/web", uid=pod.metadata.uid)
    await worker.sync()
    with_ephemeral(api, targetContainerName="app", stdin=True, tty=True, command=["sh"])
    await worker.sync()
    [debugger] = containers_named(runtime, "debugger")
    [app] = containers_named(runtime, "app")
    [sandbox] = containers_named(runtime, naming.SANDBOX_NAME)
    spec = runtime.spec_of(debugger.id)
    assert spec.security.pid_namespace_of == app.id
    assert spec.network == f"container:{sandbox.name}"
    assert (spec.stdin, spec.stdin_once, spec.tty) == (True, False, True)
    status = ephemeral_status(api)
    assert status.state.running is not None and status.ready is False and status.restart_count == 0
    assert status.container_id == f"fake://{debugger.id}"


@pytest.mark.parametrize("code", [0, 1], ids=["success", "failure"])
async def test_an_exited_ephemeral_container_is_never_restarted(code: int) -> None:
    ctx, runtime, api, clock = make_context(backoff_initial=0.0)
    pod = api.put(make_pod())
    worker = PodWorker(ctx, key="default/web", uid=pod.metadata.uid)
    await worker.sync()
    with_ephemeral(api)
    await worker.sync()
    [debugger] = containers_named(runtime, "debugger")
    runtime.exit(debugger.id, code)
    for _ in range(3):
        clock.advance(5.0)
        await worker.sync()
    assert [c.id for c in containers_named(runtime, "debugger")] == [debugger.id]
    status = api.pod("default/web").status
    assert ephemeral_status(api).state.terminated.exit_code == code
    assert status.phase == "Running" and [c.ready for c in status.container_statuses] == [True]


async def test_it_waits_for_its_target_to_run() -> None:
    ctx, runtime, api, clock = make_context(backoff_initial=10.0)
    pod = api.put(make_pod())
    worker = PodWorker(ctx, key="default/web", uid=pod.metadata.uid)
    await worker.sync()
    [app] = containers_named(runtime, "app")
    runtime.exit(app.id, 1)
    await worker.sync()
    with_ephemeral(api, targetContainerName="app")
    await worker.sync()
    assert containers_named(runtime, "debugger") == []
    assert ephemeral_status(api).state.waiting.reason == "ContainerCreating"
    clock.advance(10.0)
    await worker.sync()
    await worker.sync()
    restarted = containers_named(runtime, "app")[-1]
    assert restarted.state is ContainerState.RUNNING
    [debugger] = containers_named(runtime, "debugger")
    assert runtime.spec_of(debugger.id).security.pid_namespace_of == restarted.id
