"""Informers over the fake API: list + watch into a cache, and objects that do not decode skipped.

An object the model refuses (a replica count beyond int32, stored before the server checked)
must cost only itself: the rest of the list loads, the watch goes on, the object keeps its last
good version in the cache, and a FailedToDecode Warning Event points at it.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from apimachinery.informer import FAILED_TO_DECODE, Informer
from apimachinery.models.apps import Deployment
from apimachinery.models.core import Pod
from apimachinery.resources import DEPLOYMENTS, PODS
from apimachinery.testing import FakeApi, RecordingRecorder

NS = "default"
TIMEOUT = 5.0


def deployment_wire(name: str, replicas: Any = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}


async def eventually(check: Callable[[], bool]) -> None:
    """A bounded poll: the informer applies the fake's writes on its own task."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def recorder() -> RecordingRecorder:
    return RecordingRecorder()


@pytest.fixture
async def informer(api: FakeApi, recorder: RecordingRecorder) -> AsyncIterator[Informer[Deployment]]:
    api.put_raw(DEPLOYMENTS, deployment_wire("good"))
    informer: Informer[Deployment] = Informer(api, Deployment, recorder=recorder)
    task = asyncio.create_task(informer.run())
    try:
        await informer.wait_synced(TIMEOUT)
        yield informer
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize(
    ("field", "value"),
    [pytest.param("replicas", 2**70, id="replicas-two-to-the-seventy"),
     pytest.param("replicas", 2**31, id="replicas-beyond-int32"),
     pytest.param("replicas", "three", id="replicas-not-a-number"),
     pytest.param("template", None, id="template-missing")],
)
async def test_a_list_with_an_undecodable_object_loads_the_rest(
        api: FakeApi, recorder: RecordingRecorder, field: str, value: Any) -> None:
    bad = deployment_wire("bad")
    bad["spec"][field] = value
    api.put_raw(DEPLOYMENTS, bad)
    api.put_raw(DEPLOYMENTS, deployment_wire("good"))
    informer: Informer[Deployment] = Informer(api, Deployment, recorder=recorder)
    task = asyncio.create_task(informer.run())
    try:
        await informer.wait_synced(TIMEOUT)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert informer.keys() == [f"{NS}/good"]
    assert informer.undecodable() == [f"{NS}/bad"]
    (event,) = recorder.events
    assert (event.key, event.type, event.reason) == (f"{NS}/bad", "Warning", FAILED_TO_DECODE)
    assert f"spec.{field}" in event.message


async def test_an_undecodable_object_on_the_watch_is_skipped_and_the_watch_goes_on(
        api: FakeApi, recorder: RecordingRecorder, informer: Informer[Deployment]) -> None:
    api.put_raw(DEPLOYMENTS, deployment_wire("bad", 2**70))
    api.put_raw(DEPLOYMENTS, deployment_wire("later"))
    await eventually(lambda: informer.get(f"{NS}/later") is not None)
    assert sorted(informer.keys()) == [f"{NS}/good", f"{NS}/later"]
    assert recorder.reasons(f"{NS}/bad") == [FAILED_TO_DECODE]


async def test_a_cached_object_keeps_its_last_good_version_when_an_update_does_not_decode(
        api: FakeApi, informer: Informer[Deployment]) -> None:
    updates: list[str] = []
    informer.add_handler(on_update=lambda old, new: updates.append(new.metadata.name))
    api.put_raw(DEPLOYMENTS, deployment_wire("good", 2**70))
    api.put_raw(DEPLOYMENTS, deployment_wire("marker"))
    await eventually(lambda: informer.get(f"{NS}/marker") is not None)
    cached = informer.get(f"{NS}/good")
    assert cached is not None and cached.spec.replicas == 1
    assert updates == [] and informer.undecodable() == [f"{NS}/good"]


async def test_an_undecodable_objects_deletion_still_reaches_the_cache(
        api: FakeApi, informer: Informer[Deployment]) -> None:
    deleted: list[str] = []
    informer.add_handler(on_delete=lambda obj: deleted.append(obj.metadata.name))
    api.put_raw(DEPLOYMENTS, deployment_wire("good", 2**70))
    api.remove(Deployment, "good", NS)
    await eventually(lambda: informer.get(f"{NS}/good") is None)
    assert deleted == ["good"] and informer.undecodable() == []


async def test_a_fixed_object_joins_the_cache(api: FakeApi, informer: Informer[Deployment]) -> None:
    api.put_raw(DEPLOYMENTS, deployment_wire("bad", 2**70))
    api.put_raw(DEPLOYMENTS, deployment_wire("bad", 2))
    await eventually(lambda: informer.get(f"{NS}/bad") is not None)
    assert informer.undecodable() == []


async def test_each_undecodable_version_is_reported_once_across_relists(recorder: RecordingRecorder) -> None:
    api = FakeApi()
    informer = api.informer(Deployment, recorder=recorder)
    bad = api.put_raw(DEPLOYMENTS, deployment_wire("bad", 2**70))
    informer.replace_raw([copy.deepcopy(bad)])
    informer.replace_raw([copy.deepcopy(bad)])
    assert recorder.reasons() == [FAILED_TO_DECODE]
    api.put_raw(DEPLOYMENTS, deployment_wire("bad", 2**71))
    assert recorder.reasons() == [FAILED_TO_DECODE, FAILED_TO_DECODE]


async def test_a_failing_recorder_does_not_stop_the_informer() -> None:
    class Broken:
        def event(self, obj: Any, type_: str, reason: str, message: str) -> None:
            raise RuntimeError("no events today")

    api = FakeApi()
    informer = api.informer(Deployment, recorder=Broken())
    api.put_raw(DEPLOYMENTS, deployment_wire("bad", 2**70))
    api.put_raw(DEPLOYMENTS, deployment_wire("good"))
    assert informer.keys() == [f"{NS}/good"]


async def test_an_undecodable_pod_grace_period_is_skipped_by_a_field_selected_informer() -> None:
    api = FakeApi()
    recorder = RecordingRecorder()
    informer = api.informer(Pod, field_selector="spec.nodeName=n1", recorder=recorder)
    pod = {"metadata": {"name": "p", "namespace": NS},
           "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 2**70, "containers": [{"name": "c", "image": "x"}]}}
    api.put_raw(PODS, pod)
    assert informer.keys() == [] and recorder.reasons(f"{NS}/p") == [FAILED_TO_DECODE]
    assert "terminationGracePeriodSeconds" in recorder.messages(f"{NS}/p")[0]


MANAGED = [{"manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}}}]


async def test_cached_objects_leave_out_managed_fields_from_list_and_watch(
        api: FakeApi, informer: Informer[Deployment]) -> None:
    listed = deployment_wire("listed")
    listed["metadata"]["managedFields"] = MANAGED
    api.put_raw(DEPLOYMENTS, listed)
    watched = deployment_wire("watched")
    watched["metadata"]["managedFields"] = MANAGED
    await informer._relist()  # the first through a list,
    api.put_raw(DEPLOYMENTS, watched)  # the second through the watch
    await eventually(lambda: informer.get(f"{NS}/watched") is not None)
    for name in ("listed", "watched"):
        cached = informer.get(f"{NS}/{name}")
        assert cached is not None and cached.metadata.managed_fields is None
        assert cached.metadata.uid == f"uid-{name}" and cached.spec.replicas == 1
    assert listed["metadata"]["managedFields"] == MANAGED  # the wire object is not changed


class NamedFake(FakeApi):
    """A fake server with an address, as an ApiClient has one."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url


async def test_informers_of_one_server_share_each_decoded_version() -> None:
    """Two caches of one server's objects hold one decoded object per version; another server's
    object with the same uid and resourceVersion is its own."""
    one, two = NamedFake("https://one"), NamedFake("https://two")
    for api in (one, two):
        api.put_raw(DEPLOYMENTS, deployment_wire("d"))
    first, second, other = (Informer(one, Deployment), Informer(one, Deployment), Informer(two, Deployment))
    tasks = [asyncio.create_task(i.run()) for i in (first, second, other)]
    key = f"{NS}/d"
    try:
        for informer in (first, second, other):
            await informer.wait_synced(TIMEOUT)
        shared, own = first.get(key), other.get(key)
        assert shared is not None and shared is second.get(key)
        assert own is not None and own is not shared and own.metadata.resource_version == shared.metadata.resource_version
        one.put_raw(DEPLOYMENTS, deployment_wire("d", replicas=2))
        await eventually(lambda: all((i.get(key) or shared).spec.replicas == 2 for i in (first, second)))
        assert first.get(key) is second.get(key) is not shared
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
