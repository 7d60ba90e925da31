"""Hostile request bodies for every kind: the server answers each with a Status, never a 5xx, and
a refused request changes nothing.

Mirrors Kubernetes' ``TestFieldValidation`` (``test/integration/apiserver/field_validation_test.go``:
unknown and duplicate fields under each ``fieldValidation``) and the apiserver's body fuzzing
(``k8s.io/apiserver/pkg/endpoints`` ``TestBadJSONRejection`` / ``TestDecodeLimits``), driven by
hypothesis: a valid object of the kind with one part replaced by something hostile (integers beyond
int32/int64, wrong JSON types, deep nesting, lone surrogates, huge strings, a key given twice),
sent as a create, a replace or a patch. Each example checks:

* no 5xx; every error is a ``Status`` whose ``code`` is the HTTP status;
* a 422 names the fields at fault; an integer beyond int64 or a lone surrogate is a 400 whose
  cause names exactly the path where it was put;
* a refused request leaves the store's revision where it was, and the server still answers.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from apimachinery.resources import ResourceType
from apiserver.store.sqlite import SqliteStore
from tests.faults.inprocess import collection_path, running_app, served_kinds, valid_body

EXAMPLES_PER_KIND = 100
INT64 = (-(2**63), 2**63 - 1)
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Duplicate:
    """An object that gives one key twice (the second value wins in Kubernetes)."""

    key: str
    first: Any
    second: Any


@dataclass(frozen=True)
class Hostile:
    kind: str  # what sort of hostility, for the counts and the assertions
    value: Any


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


HOSTILE = st.one_of(
    st.sampled_from([2**31, -(2**31) - 1, 2**63, 2**70, -(2**70), 10**30, -1, 2**31 - 1]).map(
        lambda n: Hostile("integer", n)
    ),
    st.integers().map(lambda n: Hostile("integer", n)),
    st.sampled_from([[], {}, "", "x", True, None, 1.5, 1e308, [1, "a"], {"a": {"b": []}}]).map(
        lambda v: Hostile("wrong-type", v)
    ),
    st.integers(min_value=60, max_value=160).map(lambda d: Hostile("deep", _nested(d))),
    st.sampled_from(["\ud800", "a\udfffb", "\udbff\ud800"]).map(lambda s: Hostile("surrogate", s)),
    st.sampled_from([70_000, 300_000, 1_700_000]).map(lambda n: Hostile("huge-string", "x" * n)),
    st.text(max_size=40).map(lambda s: Hostile("text", s)),
    st.tuples(st.sampled_from(["a", "name", "replicas"]), st.integers(-3, 3), st.text(max_size=5)).map(
        lambda t: Hostile("duplicate", Duplicate(t[0], t[1], t[2]))
    ),
)
METHODS = ("create", "replace", "merge-patch", "strategic-patch")


def _paths(value: Any, here: Path_ = ()) -> list[Path_]:
    """Every place in ``value`` a hostile part can go: each node, and a new key in each object."""
    found = [here] if here else []
    if isinstance(value, dict):
        found.append((*here, "hostileKey"))
        for key, item in value.items():
            if (*here, key) != ("metadata", "name"):
                found.extend(_paths(item, (*here, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_paths(item, (*here, i)))
    return found


def _put(body: Any, path: Path_, value: Any) -> None:
    for step in path[:-1]:
        body = body[step]
    if isinstance(body, list):
        body[int(path[-1])] = value
    else:
        body[path[-1]] = value


def _encode(value: Any) -> str:
    """JSON that keeps what ``json.dumps`` cannot say: a key given twice."""
    if isinstance(value, Duplicate):
        key = json.dumps(value.key)
        return f"{{{key}:{_encode(value.first)},{key}:{_encode(value.second)}}}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    return json.dumps(value)  # ensure_ascii: a lone surrogate goes out as a \\ud800 escape


def _dotted(path: Path_) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


class Probe:
    """Sends the examples of one kind and counts what came back."""

    def __init__(self, client: TestClient, store: SqliteStore, rt: ResourceType) -> None:
        self.client, self.store, self.rt = client, store, rt
        self.sent = 0
        self.codes: Counter[int] = Counter()
        self.kinds: Counter[str] = Counter()
        self.serial = 0
        created = client.post(collection_path(rt), json=valid_body(rt, "target"))
        assert created.status_code == 201, created.text

    def send(self, method: str, body: dict[str, Any]) -> Any:
        self.sent += 1
        raw = _encode(body).encode()
        item = f"{collection_path(self.rt)}/target"
        if method == "create":
            return self.client.post(collection_path(self.rt), content=raw, headers=_json("application/json"))
        if method == "replace":
            return self.client.put(item, content=raw, headers=_json("application/json"))
        kind = "merge-patch" if method == "merge-patch" else "strategic-merge-patch"
        return self.client.patch(item, content=raw, headers=_json(f"application/{kind}+json"))

    def unique_name(self) -> str:
        self.serial += 1
        return f"fuzz-{self.serial}"


def _json(content_type: str) -> dict[str, str]:
    return {"Content-Type": content_type}


def _check(probe: Probe, hostile: Hostile, path: Path_, response: Any, before: int) -> None:
    code = response.status_code
    probe.codes[code] += 1
    probe.kinds[hostile.kind] += 1
    assert code < 500, f"{hostile.kind} at {_dotted(path)}: {code} {response.text[:300]}"
    if code >= 400:
        status = response.json()
        assert status["kind"] == "Status" and status["code"] == code and status["reason"], status
        assert probe.store.current_revision() == before, f"refused request changed the store: {status}"
        if code == 422:
            causes = status.get("details", {}).get("causes") or []
            assert causes and all("field" in c for c in causes), status
    must_refuse = hostile.kind == "surrogate" or (
        hostile.kind == "integer" and not INT64[0] <= hostile.value <= INT64[1]
    )
    if must_refuse:
        assert code == 400, f"{hostile.kind} at {_dotted(path)} was accepted: {response.text[:300]}"
        fields = [c["field"] for c in response.json()["details"]["causes"]]
        assert _dotted(path) in fields, (path, response.json())
    alive = probe.client.get(collection_path(probe.rt), params={"limit": "1"})
    assert alive.status_code == 200, alive.text


@pytest.mark.timeout(120)  # a request that wedges the store would otherwise hang the suite
@pytest.mark.parametrize("rt", served_kinds(), ids=lambda rt: rt.kind)
def test_hostile_bodies_never_5xx_and_change_nothing_when_refused(rt: ResourceType, tmp_path: Path) -> None:
    base = valid_body(rt, "x")
    places = _paths(base)
    with running_app(tmp_path) as (client, store):
        probe = Probe(client, store, rt)

        @settings(
            max_examples=EXAMPLES_PER_KIND,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(path=st.sampled_from(places), hostile=HOSTILE, method=st.sampled_from(METHODS))
        def example(path: Path_, hostile: Hostile, method: str) -> None:
            body = valid_body(rt, probe.unique_name() if method == "create" else "target")
            _put(body, path, hostile.value)
            before = store.current_revision()
            _check(probe, hostile, path, probe.send(method, body), before)

        example()
    print(
        f"\n{rt.kind}: {probe.sent} hostile requests, codes {dict(sorted(probe.codes.items()))}, "
        f"by kind {dict(sorted(probe.kinds.items()))}"
    )
