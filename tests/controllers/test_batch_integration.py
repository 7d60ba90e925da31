"""ReplicationControllers and CronJobs against the real apiserver (in-process, temp SQLite).

The RC runs under the whole controller manager with the stand-in kubelet of
``test_integration``. The CronJob controller runs alone on a fake clock, its informers on the
real server, so a schedule of minutes passes in milliseconds while every write goes over the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.informer import Informer
from apimachinery.models.batch import CronJob
from apimachinery.models.core import Pod, ReplicationController
from apimachinery.resources import JOBS
from apimachinery.testing import RecordingRecorder
from apimachinery.timeutil import FakeClock, parse_time
from controllers.base import ControllerContext, add_standard_indexers
from controllers.cronjob import CronJobController
from controllers.manager import build_informers
from tests.controllers.objects import NS
from tests.controllers.test_integration import api, api_url, eventually  # noqa: F401 (fixtures)

LABELS = {"app": "legacy"}


def rc_body(replicas: int) -> ReplicationController:
    return ReplicationController.model_validate({
        "metadata": {"name": "legacy"},
        "spec": {"replicas": replicas, "template": {"metadata": {"labels": LABELS}, "spec": {
            "containers": [{"name": "c", "image": "busybox:1"}]}}},
    })


async def test_a_replication_controller_runs_scales_and_takes_its_pods_with_it(api: ApiClient) -> None:  # noqa: F811
    made = await api.create(rc_body(2), NS)
    assert made.spec.selector == LABELS and made.metadata.labels == LABELS  # defaulted from the template

    async def ready(n: int) -> Any:
        rc = await api.get(ReplicationController, "legacy", NS)
        pods, _ = await api.list(Pod, NS)
        return rc.status and rc.status.ready_replicas == n and rc.status.replicas == n and len(pods) == n

    await eventually("2 ready", lambda: ready(2))
    scale = "/api/v1/namespaces/default/replicationcontrollers/legacy/scale"
    got = await api.request("GET", scale)
    assert got["status"]["selector"] == "app=legacy"
    await api.request("PATCH", scale, body={"spec": {"replicas": 3}}, content_type="application/merge-patch+json")
    await eventually("3 ready", lambda: ready(3))
    await api.delete(ReplicationController, "legacy", NS, propagation="Background")

    async def pods_gone() -> bool:
        return not (await api.list(Pod, NS))[0]

    await eventually("pods garbage-collected", pods_gone)


async def test_an_invalid_replication_controller_is_refused_naming_the_field(api: ApiClient) -> None:  # noqa: F811
    body = rc_body(1)
    body.spec.selector = {"app": "other"}
    with pytest.raises(ApiError) as caught:
        await api.create(body, NS)
    assert caught.value.code == 422
    assert "spec.template.metadata.labels" in caught.value.message


# --- CronJob on a fake clock ---------------------------------------------------------------------


@pytest.fixture
async def client(api_url: str) -> AsyncIterator[ApiClient]:  # noqa: F811
    own = ApiClient(api_url)
    try:
        yield own
    finally:
        await own.close()


async def test_cronjob_controller_on_a_fake_clock_against_the_real_server(client: ApiClient) -> None:
    made = await client.create(CronJob.model_validate({
        "metadata": {"name": "tick"},
        "spec": {"schedule": "*/1 * * * *", "concurrencyPolicy": "Forbid", "jobTemplate": {"spec": {"template": {
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1"}]}}}}},
    }), NS)
    assert (made.spec.successful_jobs_history_limit, made.spec.failed_jobs_history_limit) == (3, 1)
    created = parse_time(made.metadata.creation_timestamp or "")
    clock = FakeClock(start=created.timestamp() - created.second + 61)  # just after the next minute
    cronjobs = Informer(client, CronJob)
    add_standard_indexers(cronjobs)
    informers = build_informers(client)[0]
    jobs = informers.jobs
    assert isinstance(jobs, Informer)
    recorder = RecordingRecorder()
    ctx = ControllerContext(client=client, informers=informers, recorder_for=lambda _: recorder, clock=clock)
    controller = CronJobController(ctx, cronjobs, queue=_NoQueue())
    tasks = [asyncio.create_task(cache.run()) for cache in (cronjobs, jobs)]
    try:
        await asyncio.gather(*(cache.wait_synced(10) for cache in (cronjobs, jobs)))
        await controller.sync(f"{NS}/tick")
        listed, _ = await client.list(JOBS.model, NS)
        (job,) = listed
        minute = int(clock.time()) // 60
        assert job.metadata.name == f"tick-{minute}"
        stored = await client.get(CronJob, "tick", NS)
        assert stored.status is not None and [r.name for r in stored.status.active or []] == [job.metadata.name]
        assert stored.status.last_schedule_time == datetime.fromtimestamp(minute * 60, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")

        async def seen() -> bool:
            cached = cronjobs.get(f"{NS}/tick")
            return bool(cached and cached.status and cached.status.active) and len(jobs.list()) == 1

        await eventually("caches caught up", seen)
        await controller.sync(f"{NS}/tick")  # the same minute again: nothing new
        clock.advance(60)
        await controller.sync(f"{NS}/tick")  # next minute, one still running: Forbid skips
        assert len((await client.list(JOBS.model, NS))[0]) == 1
        assert "JobAlreadyActive" in recorder.reasons()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _NoQueue:
    def add(self, key: str) -> None:
        pass

    def add_after(self, key: str, delay: float) -> None:
        pass
