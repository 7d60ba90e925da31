"""The Job controller against the real apiserver (in-process, temp SQLite), with a stand-in kubelet.

The unit tests pin the rules on the fake; these check the wire on the real server: the generated
selector, the status subresource, the strategic-merge patch that takes out the tracking
finalizer, garbage collection and the TTL's foreground deletion, and a controller manager
stopped and started again in the middle of a Job.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.models.batch import TRACKING_FINALIZER, Job
from apimachinery.models.core import Node, Pod
from controllers.manager import run_term
from tests.controllers.objects import NS
from tests.controllers.test_integration import NODE, api_url, eventually

__all__ = ["api_url"]


class StandInKubelet:
    """Binds pods and ends them: exit 0, or the code in the ``exit-code`` annotation; ``hold``
    keeps them running until released."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.hold = asyncio.Event()
        self.hold.set()
        self.disrupted = False  # the first pod annotated disrupt=once is evicted (DisruptionTarget)

    async def run(self) -> None:
        while True:
            pods, _ = await self.client.list(Pod, NS)
            for pod in pods:
                with contextlib.suppress(ApiError):
                    await self._step(pod)
            await asyncio.sleep(0.05)

    async def _step(self, pod: Pod) -> None:
        name = pod.metadata.name or ""
        phase = pod.status.phase if pod.status else None
        if pod.metadata.deletion_timestamp:
            await self.client.delete(Pod, name, NS, grace_period=0)
        elif not pod.spec.node_name:
            await self.client.bind(NS, name, NODE)
        elif phase == "Pending":
            await self._status(pod, "Running", None)
        elif phase == "Running" and self.hold.is_set():
            annotations = pod.metadata.annotations or {}
            code = int(annotations.get("exit-code", "0"))
            disrupted = annotations.get("disrupt") == "once" and not self.disrupted
            self.disrupted = self.disrupted or disrupted
            await self._status(pod, "Succeeded" if code == 0 and not disrupted else "Failed",
                               137 if disrupted else code, disrupted=disrupted)

    async def _status(self, pod: Pod, phase: str, code: int | None, *, disrupted: bool = False) -> None:
        wire = pod.to_dict()
        state: dict[str, Any] = {"running": {}} if code is None else {"terminated": {"exitCode": code}}
        conditions = [{"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
                       "message": "Eviction API: evicting"}] if disrupted else []
        wire["status"] = {"phase": phase, "conditions": conditions, "containerStatuses": [
            {"name": "c", "ready": code is None, "restartCount": 0, "image": "busybox", "imageID": "",
             "state": state}]}
        await self.client.replace_status(Pod.model_validate(wire))


@pytest.fixture
async def api(api_url: str) -> AsyncIterator[ApiClient]:
    client = ApiClient(api_url)
    await client.create(Node.model_validate({"metadata": {"name": NODE}, "status": {"conditions": [
        {"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-01-01T00:00:00Z"}]}}))
    yield client
    await client.close()


@contextlib.asynccontextmanager
async def running(*tasks: Any) -> AsyncIterator[list[asyncio.Task[Any]]]:
    started = [asyncio.create_task(t) for t in tasks]
    try:
        yield started
    finally:
        for task in started:
            task.cancel()
        await asyncio.gather(*started, return_exceptions=True)


def job(name: str, *, exit_code: int = 0, disrupt: bool = False, **spec: Any) -> Job:
    annotations = {"exit-code": str(exit_code), **({"disrupt": "once"} if disrupt else {})}
    template: dict[str, Any] = {"metadata": {"annotations": annotations},
                                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}
    return Job.model_validate({"metadata": {"name": name}, "spec": {**spec, "template": template}})


def condition(obj: Job, kind: str) -> str | None:
    for cond in (obj.status.conditions if obj.status else None) or []:
        if cond.type == kind and cond.status == "True":
            return cond.reason
    return None


async def test_job_runs_to_complete_and_lets_its_pods_go(api: ApiClient) -> None:
    kubelet = StandInKubelet(api)
    async with running(run_term(api, node_grace_period=3600), kubelet.run()):
        await api.create(job("pi", completions=3, parallelism=2), NS)

        async def complete() -> Job | None:
            got = await api.get(Job, "pi", NS)
            return got if condition(got, "Complete") else None

        done = await eventually("Complete", complete)
        status = done.status
        assert status is not None and (status.succeeded, status.failed, status.active) == (3, 0, 0)
        assert status.uncounted_terminated_pods is not None
        assert not status.uncounted_terminated_pods.succeeded and not status.uncounted_terminated_pods.failed
        pods, _ = await api.list(Pod, NS)
        assert len(pods) == 3
        assert all(TRACKING_FINALIZER not in (p.metadata.finalizers or []) for p in pods)
        assert all((p.metadata.labels or {})["batch.kubernetes.io/controller-uid"] == done.metadata.uid for p in pods)


async def test_a_failing_job_stops_at_its_backoff_limit(api: ApiClient) -> None:
    kubelet = StandInKubelet(api)
    async with running(run_term(api, node_grace_period=3600), kubelet.run()):
        await api.create(job("bad", exit_code=3, backoffLimit=0), NS)

        async def failed() -> str | None:
            return condition(await api.get(Job, "bad", NS), "Failed")

        assert await eventually("Failed", failed) == "BackoffLimitExceeded"
        assert len((await api.list(Pod, NS))[0]) == 1


async def test_a_disrupted_pod_is_ignored_by_the_failure_policy(api: ApiClient) -> None:
    kubelet = StandInKubelet(api)
    policy = {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}
    async with running(run_term(api, node_grace_period=3600), kubelet.run()):
        await api.create(job("evicted", disrupt=True, backoffLimit=0, podFailurePolicy=policy), NS)

        async def complete() -> Job | None:
            got = await api.get(Job, "evicted", NS)
            return got if condition(got, "Complete") else None

        done = await eventually("Complete", complete)
        assert done.status is not None and (done.status.succeeded, done.status.failed) == (1, 0)
        assert kubelet.disrupted and len((await api.list(Pod, NS))[0]) == 2


async def test_a_restarted_controller_manager_counts_every_pod_once(api: ApiClient) -> None:
    kubelet = StandInKubelet(api)
    kubelet.hold.clear()
    async with running(kubelet.run()):
        async with running(run_term(api, node_grace_period=3600)):
            await api.create(job("resume", completions=4, parallelism=2), NS)

            async def two_running() -> bool:
                pods, _ = await api.list(Pod, NS)
                return len(pods) == 2 and all(p.status and p.status.phase == "Running" for p in pods)

            await eventually("two pods running", two_running)
            kubelet.hold.set()  # they end while the controller manager goes down
            await asyncio.sleep(0.05)
        await eventually("first pods ended", lambda: _ended(api, 2))
        async with running(run_term(api, node_grace_period=3600)):

            async def complete() -> Job | None:
                got = await api.get(Job, "resume", NS)
                return got if condition(got, "Complete") else None

            done = await eventually("Complete", complete)
        assert done.status is not None and done.status.succeeded == 4 and not done.status.failed
        assert len((await api.list(Pod, NS))[0]) == 4  # not one pod more


async def _ended(api: ApiClient, count: int) -> bool:
    pods, _ = await api.list(Pod, NS)
    return sum(1 for p in pods if p.status and p.status.phase == "Succeeded") >= count


async def test_ttl_deletes_the_finished_job_and_its_pods(api: ApiClient) -> None:
    kubelet = StandInKubelet(api)
    async with running(run_term(api, node_grace_period=3600), kubelet.run()):
        await api.create(job("short", ttlSecondsAfterFinished=0), NS)

        async def gone() -> bool:
            jobs, _ = await api.list(Job, NS)
            pods, _ = await api.list(Pod, NS)
            return not jobs and not pods

        await eventually("Job and pods deleted", gone)
