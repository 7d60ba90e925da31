"""The in-memory latest state both stores serve current gets and lists from."""

from __future__ import annotations

from apiserver.store.base import KeyValue
from apiserver.store.live import LiveState


def kv(key: str, rev: int = 1) -> KeyValue:
    return KeyValue(key, {"metadata": {"name": key.rsplit("/", 1)[-1]}}, rev, rev)


def keys(page: tuple[list[KeyValue], bool]) -> tuple[list[str], bool]:
    return [item.key for item in page[0]], page[1]


def filled() -> LiveState:
    live = LiveState()
    for key in ("/registry/pods/b/x", "/registry/pods/a/y", "/registry/pods/ab/z", "/registry/pods/a/x",
                "/registry/services/a/x", "/registry/pods/c/w"):
        live.put(kv(key))
    return live


def test_a_namespace_lists_only_its_own_keys_in_order() -> None:
    live = filled()
    assert keys(live.page("/registry/pods/a/")) == (["/registry/pods/a/x", "/registry/pods/a/y"], False)
    assert keys(live.page("/registry/pods/")) == (
        ["/registry/pods/a/x", "/registry/pods/a/y", "/registry/pods/ab/z", "/registry/pods/b/x", "/registry/pods/c/w"],
        False)
    assert live.count("/registry/pods/") == 5 and live.count("/registry/pods/a/") == 2
    assert keys(live.page("/registry/nodes/")) == ([], False)


def test_pages_continue_after_the_last_key() -> None:
    live = filled()
    assert keys(live.page("/registry/pods/", limit=2)) == (["/registry/pods/a/x", "/registry/pods/a/y"], True)
    assert keys(live.page("/registry/pods/", start_after="/registry/pods/a/y", limit=2)) == (
        ["/registry/pods/ab/z", "/registry/pods/b/x"], True)
    assert keys(live.page("/registry/pods/", start_after="/registry/pods/b/x", limit=2)) == (["/registry/pods/c/w"], False)
    assert keys(live.page("/registry/pods/b/", start_after="/registry/pods/a/x")) == (["/registry/pods/b/x"], False)
    assert keys(live.page("/registry/pods/a/", start_after="/registry/pods/z")) == ([], False)


def test_updates_replace_and_removals_forget() -> None:
    live = filled()
    live.put(kv("/registry/pods/a/x", rev=7))
    live.remove("/registry/pods/a/y")
    live.remove("/registry/pods/a/missing")
    page, _ = live.page("/registry/pods/a/")
    assert [(item.key, item.mod_revision) for item in page] == [("/registry/pods/a/x", 7)]
    live.put(kv("/registry/pods/a/y", rev=8))
    assert keys(live.page("/registry/pods/a/")) == (["/registry/pods/a/x", "/registry/pods/a/y"], False)
    assert live.get("/registry/pods/a/y") is not None and live.get("/registry/pods/q/q") is None
