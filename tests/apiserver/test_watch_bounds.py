"""Bounded watches: a watcher that falls behind is cut off with a 410 ERROR event and must list
again, as the Kubernetes watch cache closes a watcher that cannot keep up; every event and every
current object is encoded once for all watchers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from apimachinery import resources as res
from apiserver import watch
from apiserver.routes.paths import Target
from apiserver.store.base import KeyValue, StoreEvent, WatchOverflowError
from apiserver.store.watch_queue import QueueWatch

PREFIX = "/registry/configmaps/default/"


def event(revision: int, size: int = 10) -> StoreEvent:
    obj = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": f"c{revision}", "namespace": "default"},
           "data": {"x": "a" * size}}
    return StoreEvent("ADDED", KeyValue(PREFIX + f"c{revision}", obj, revision, revision), None)


def bounded(*, max_events: int = 100, max_bytes: int = 0, backlog: list[StoreEvent] | None = None) -> tuple[
        QueueWatch, list[str]]:
    calls: list[str] = []
    watcher = QueueWatch(PREFIX, backlog or [], after=0, on_close=lambda w: calls.append("closed"))
    watcher.bound(max_events=max_events, max_bytes=max_bytes, size_of=lambda e: len(e.kv.value["data"]["x"]),
                  on_overflow=lambda: calls.append("overflow"))
    return watcher, calls


@pytest.mark.parametrize(
    ("max_events", "max_bytes", "sizes"),
    [
        (3, 0, [10, 10, 10, 10]),
        (100, 25, [10, 10, 10]),
        (100, 25, [30]),
    ],
    ids=["too-many-events", "too-many-bytes", "one-event-over-the-byte-bound"],
)
async def test_a_watcher_past_its_bound_is_cut_off_and_its_queue_released(
    max_events: int, max_bytes: int, sizes: list[int]
) -> None:
    """The last of ``sizes`` is the first event over the bound."""
    watcher, calls = bounded(max_events=max_events, max_bytes=max_bytes)
    for revision, size in enumerate(sizes[:-1], start=1):
        watcher.publish(event(revision, size))
    assert calls == []
    watcher.publish(event(len(sizes), sizes[-1]))
    assert calls == ["closed", "overflow"]
    assert watcher.pending_bytes == 0  # nothing held for a watcher that is gone
    with pytest.raises(WatchOverflowError):
        await watcher.next(1.0)
    watcher.publish(event(99))  # later events are not queued either
    assert watcher.pending_bytes == 0


async def test_taking_events_makes_room_again() -> None:
    watcher, calls = bounded(max_events=2, max_bytes=25)
    for revision in range(1, 11):
        watcher.publish(event(revision))
        taken = await watcher.next(1.0)
        assert taken is not None and taken.revision == revision
    assert calls == [] and watcher.pending_bytes == 0


async def test_the_replayed_history_does_not_count_against_the_bound() -> None:
    watcher, calls = bounded(max_events=2, backlog=[event(r) for r in range(1, 11)])
    watcher.publish(event(11))
    revisions = [(await watcher.next(1.0)).revision for _ in range(11)]  # type: ignore[union-attr]
    assert revisions == list(range(1, 12)) and calls == []


async def test_a_cut_off_watch_streams_a_410_expired_error_event() -> None:
    watcher, _ = bounded(max_events=1)
    watcher.publish(event(1))
    watcher.publish(event(2))
    opts = watch._Options(flt=watch.WatchFilter(None, None), rv=0, send_initial=False, initial_bookmark=False,
                          bookmarks=False, timeout=5.0, table_kind=None)
    target = Target(rt=res.CONFIGMAPS, namespace="default", name=None, subresource=None)
    lines = [json.loads(chunk) async for chunk in watch._live(watcher, target, opts, store=None, last=0)]
    assert [line["type"] for line in lines] == ["ERROR"]
    status = lines[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")


async def test_queued_events_go_out_together_in_one_chunk() -> None:
    watcher, _ = bounded()
    for revision in range(1, 6):
        watcher.publish(event(revision))
    first = await watcher.next(1.0)
    assert first is not None
    opts = watch._Options(flt=watch.WatchFilter(None, None), rv=0, send_initial=False, initial_bookmark=False,
                          bookmarks=False, timeout=5.0, table_kind=None)
    chunk, last = watch._drain(watcher, first, opts)
    assert last == 5 and [json.loads(line)["object"]["metadata"]["resourceVersion"]
                          for line in chunk.splitlines()] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("table_kind", [None, "ConfigMap"], ids=["json", "table"])
def test_an_event_is_encoded_once_for_every_watcher(table_kind: str | None) -> None:
    e = event(7)
    first = watch.event_line(e, "MODIFIED", table_kind)
    assert watch.event_line(e, "MODIFIED", table_kind) is first
    assert json.loads(first)["type"] == "MODIFIED"
    if table_kind:
        assert json.loads(first)["object"]["kind"] == "Table"


@pytest.mark.parametrize("table_kind", [None, "ConfigMap"], ids=["json", "table"])
def test_a_current_object_is_encoded_once_for_every_watch_that_starts_from_it(table_kind: str | None) -> None:
    shared = watch.SharedEncodings()
    kv = event(3, size=1_000_000).kv
    now = datetime.now(UTC)
    lines = {id(shared.added(kv, table_kind, now)) for _ in range(1000)}
    assert len(lines) == 1


def test_shared_encodings_are_bounded_in_bytes() -> None:
    shared = watch.SharedEncodings(max_bytes=3_000)
    now = datetime.now(UTC)
    for revision in range(1, 20):
        shared.added(event(revision, size=900).kv, None, now)
    assert shared._bytes <= 3_000 and len(shared._lines) == 2
