"""The watch protocol: order, resumption, expiry, selectors, watch-list bookmarks."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

CM = "/api/v1/namespaces/default/configmaps"


def configmap(name: str, labels: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": {"v": "0"},
    }


def events(http: httpx.Client, path: str, params: dict[str, str], count: int) -> list[dict]:
    """Read ``count`` events from a watch (the server closes at timeoutSeconds)."""
    out: list[dict] = []
    with http.stream("GET", path, params={"watch": "true", "timeoutSeconds": "3", **params}) as response:
        assert response.status_code == 200, response.read()
        lines: Iterator[str] = response.iter_lines()
        for line in lines:
            if line.strip():
                out.append(json.loads(line))
            if len(out) >= count:
                break
    return out


def test_resume_from_last_seen_has_no_gaps_or_duplicates(http: httpx.Client) -> None:
    start = http.get(CM).json()["metadata"]["resourceVersion"]
    for i in range(6):
        http.post(CM, json=configmap(f"c{i}"))
    first = events(http, CM, {"resourceVersion": start}, 3)
    resume_from = first[-1]["object"]["metadata"]["resourceVersion"]
    for i in range(6, 8):
        http.post(CM, json=configmap(f"c{i}"))
    rest = events(http, CM, {"resourceVersion": resume_from}, 5)
    seen = [e["object"]["metadata"]["name"] for e in first + rest]
    assert seen == [f"c{i}" for i in range(8)]
    revisions = [int(e["object"]["metadata"]["resourceVersion"]) for e in first + rest]
    assert revisions == sorted(revisions) and len(set(revisions)) == len(revisions)


def test_modify_and_delete_events_in_revision_order(http: httpx.Client) -> None:
    start = http.get(CM).json()["metadata"]["resourceVersion"]
    obj = http.post(CM, json=configmap("x")).json()
    obj["data"] = {"v": "1"}
    http.put(f"{CM}/x", json=obj)
    http.delete(f"{CM}/x")
    got = events(http, CM, {"resourceVersion": start}, 3)
    assert [e["type"] for e in got] == ["ADDED", "MODIFIED", "DELETED"]
    assert got[1]["object"]["data"] == {"v": "1"}


def test_too_old_resource_version_is_410_expired(http: httpx.Client, server) -> None:
    start = http.get(CM).json()["metadata"]["resourceVersion"]
    for i in range(3):
        http.post(CM, json=configmap(f"c{i}"))
    server.store.compact(server.store.current_revision())
    got = events(http, CM, {"resourceVersion": start}, 1)
    assert got[0]["type"] == "ERROR"
    assert got[0]["object"]["code"] == 410 and got[0]["object"]["reason"] == "Expired"


def test_label_selector_turns_transitions_into_added_and_deleted(http: httpx.Client) -> None:
    start = http.get(CM).json()["metadata"]["resourceVersion"]
    obj = http.post(CM, json=configmap("sel", {"tier": "web"})).json()
    http.post(CM, json=configmap("other", {"tier": "db"}))
    obj["metadata"]["labels"] = {"tier": "db"}
    obj = http.put(f"{CM}/sel", json=obj).json()
    obj["metadata"]["labels"] = {"tier": "web"}
    http.put(f"{CM}/sel", json=obj)
    got = events(http, CM, {"resourceVersion": start, "labelSelector": "tier=web"}, 3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in got] == [
        ("ADDED", "sel"),
        ("DELETED", "sel"),
        ("ADDED", "sel"),
    ]


def test_field_selector_on_watch(http: httpx.Client) -> None:
    start = http.get(CM).json()["metadata"]["resourceVersion"]
    http.post(CM, json=configmap("a"))
    http.post(CM, json=configmap("b"))
    got = events(http, CM, {"resourceVersion": start, "fieldSelector": "metadata.name=b"}, 1)
    assert got[0]["object"]["metadata"]["name"] == "b"


@pytest.mark.parametrize("rv", ["", "0"], ids=["no-rv", "rv-0"])
def test_watch_without_resource_version_starts_with_current_state(http: httpx.Client, rv: str) -> None:
    http.post(CM, json=configmap("existing"))
    got = events(http, CM, {"resourceVersion": rv} if rv else {}, 1)
    assert got[0]["type"] == "ADDED" and got[0]["object"]["metadata"]["name"] == "existing"


def test_watch_list_sends_initial_events_then_the_end_bookmark(http: httpx.Client) -> None:
    http.post(CM, json=configmap("one"))
    http.post(CM, json=configmap("two"))
    params = {
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
        "fieldSelector": "metadata.name=two",
    }
    got = events(http, CM, params, 2)
    assert got[0]["type"] == "ADDED" and got[0]["object"]["metadata"]["name"] == "two"
    assert got[1]["type"] == "BOOKMARK"
    assert got[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert got[1]["object"]["kind"] == "ConfigMap"


def test_paging_with_limit_and_continue(http: httpx.Client) -> None:
    for i in range(7):
        http.post(CM, json=configmap(f"p{i}"))
    names: list[str] = []
    token = ""
    pages = 0
    while True:
        params = {"limit": "3", **({"continue": token} if token else {})}
        page = http.get(CM, params=params).json()
        names += [i["metadata"]["name"] for i in page["items"]]
        pages += 1
        token = page["metadata"].get("continue", "")
        if not token:
            break
    assert names == [f"p{i}" for i in range(7)] and pages == 3
