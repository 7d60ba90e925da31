"""The kubelet's Prometheus series move with what happens on the node (fake runtime, fake clock)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from apimachinery.supervision import INTENSITY, PERIOD
from kubelet.metrics import KubeletMetrics
from kubelet.podmanager import PodManager
from kubelet.runtime.base import ContainerRuntimeError
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.instrumented import instrument
from kubelet.worker import PodWorker
from tests.kubelet.harness import IMAGE, make_context, make_pod

UID = "11111111-2222-3333-4444-555555555555"


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text.decode()) for s in family.samples}


def value(text: bytes, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def node(**kwargs: Any) -> tuple[Any, FakeRuntime, Any, Any, KubeletMetrics, PodManager]:
    ctx, runtime, api, clock = make_context(**kwargs)
    metrics = KubeletMetrics()
    ctx.metrics = metrics
    ctx.runtime = instrument(runtime, metrics.runtime_call)
    manager = PodManager(ctx)
    metrics.watch_pods(manager.samples)
    return ctx, runtime, api, clock, metrics, manager


def worker_of(manager: PodManager, pod: Any) -> PodWorker:
    return manager.worker_for(f"{pod.metadata.namespace}/{pod.metadata.name}", pod.metadata.uid)


def latest(runtime: FakeRuntime, name: str) -> Any:
    from kubelet import naming

    found = runtime.list_containers({naming.POD_UID: UID, naming.CONTAINER: name})
    return max(found, key=naming.attempt_of)


def test_the_instrumented_runtime_counts_calls_and_errors() -> None:
    metrics = KubeletMetrics()
    runtime = instrument(FakeRuntime(images=[IMAGE]), metrics.runtime_call)
    runtime.version()
    with pytest.raises(ContainerRuntimeError):
        runtime.start_container("no-such-container")
    text = metrics.render()
    assert value(text, "kubelet_runtime_operations_total", operation_type="version") == 1
    assert value(text, "kubelet_runtime_operations_total", operation_type="start_container") == 1
    assert value(text, "kubelet_runtime_operations_errors_total", operation_type="start_container") == 1
    assert value(text, "kubelet_runtime_operations_errors_total", operation_type="version") == 0
    assert value(text, "kubelet_runtime_operations_duration_seconds_count", operation_type="version") == 1


def test_two_nodes_in_one_process_have_registries_of_their_own() -> None:
    first, second = KubeletMetrics(), KubeletMetrics()
    first.runtime_call("version", 0.01, failed=False)
    assert value(first.render(), "kubelet_runtime_operations_total", operation_type="version") == 1
    assert value(second.render(), "kubelet_runtime_operations_total", operation_type="version") == 0


async def test_a_started_pod_moves_the_gauges_and_the_start_sli_once() -> None:
    ctx, runtime, api, clock, metrics, manager = node()
    pod = make_pod()
    pod.metadata.creation_timestamp = "1970-01-01T00:00:00Z"
    worker = worker_of(manager, api.put(pod))
    assert value(metrics.render(), "kubelet_running_pods") == 0
    clock.advance(3)
    await worker.sync()
    await worker.sync()
    text = metrics.render()
    assert value(text, "kubelet_running_pods") == 1
    assert value(text, "kubelet_running_containers", container_state="running") == 1
    assert value(text, "kubelet_pod_start_sli_duration_seconds_count") == 1
    assert value(text, "kubelet_pod_start_duration_seconds_count") == 1
    assert value(text, "kubelet_runtime_operations_total", operation_type="create_container") >= 2  # sandbox, app
    worker.monitor.stop()


async def test_an_adopted_running_pod_is_not_timed() -> None:
    ctx, runtime, api, _, metrics, manager = node()
    pod = api.put(make_pod())
    await worker_of(manager, pod).sync()
    adopter = PodWorker(ctx, key="default/web", uid=UID)  # a restarted kubelet's fresh worker
    await adopter.sync()
    before = value(metrics.render(), "kubelet_pod_start_sli_duration_seconds_count")
    await adopter.sync()
    assert value(metrics.render(), "kubelet_pod_start_sli_duration_seconds_count") == before == 1


async def test_restarts_by_reason_budget_gauges_and_escalation() -> None:
    ctx, runtime, api, clock, metrics, manager = node(backoff_initial=0)
    pod = make_pod()
    pod.metadata.annotations = {INTENSITY: "1", PERIOD: "60"}
    worker = worker_of(manager, api.put(pod))
    await worker.sync()
    runtime.exit(latest(runtime, "app").id, 137, oom_killed=True)
    await worker.sync()
    await worker.sync()
    text = metrics.render()
    assert value(text, "podvisor_container_restarts_total", reason="OOMKilled") == 1
    assert value(text, "podvisor_pod_restart_intensity_used", namespace="default", pod="web") == 1
    assert value(text, "podvisor_pod_restart_intensity_limit", namespace="default", pod="web") == 1
    assert value(text, "podvisor_pod_escalations_total") == 0
    clock.advance(1)
    runtime.exit(latest(runtime, "app").id, 1)
    await worker.sync()
    assert value(metrics.render(), "podvisor_pod_escalations_total") == 1
    worker.monitor.stop()


async def test_probe_results_are_counted_and_dropped_with_the_pod() -> None:
    ctx, runtime, api, _, metrics, manager = node()
    runtime.exec_handler = lambda _cid, _cmd: (1, b"")
    probe = {"exec": {"command": ["false"]}, "periodSeconds": 100, "failureThreshold": 3}
    pod = api.put(make_pod(containers=[{"name": "app", "image": IMAGE, "livenessProbe": probe}]))
    worker = worker_of(manager, pod)
    await worker.sync()
    labels = {"probe_type": "Liveness", "result": "failed", "container": "app", "pod": "web",
              "namespace": "default", "pod_uid": UID}
    for _ in range(50):
        if value(metrics.render_probes(), "prober_probe_total", **labels) >= 1:
            break
        await asyncio.sleep(0.01)
    assert value(metrics.render_probes(), "prober_probe_total", **labels) == 1
    api.remove()
    await worker.sync()
    assert worker.done
    assert value(metrics.render_probes(), "prober_probe_total", **labels) == 0
    text = metrics.render()
    assert value(text, "kubelet_running_pods") == 0
    assert ("podvisor_pod_restart_intensity_used", (("namespace", "default"), ("pod", "web"))) not in samples(text)
