"""The real RBAC authorizer leaves its decision in the audit event, as Kubernetes' does:
``authorization.k8s.io/decision`` (allow or forbid) and ``authorization.k8s.io/reason``."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from apiserver.audit.annotations import DECISION, REASON
from apiserver.audit.middleware import AuditSettings
from apiserver.audit.policy import DEFAULT_POLICY
from apiserver.audit.sink import MemorySink
from apiserver.store.sqlite import SqliteStore
from tests.apiserver.authz_cluster import headers, populate, settings
from tests.apiserver.conftest import RunningServer

CONFIGMAPS = "/api/v1/namespaces/team/configmaps"


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def server(tmp_path: Path, sink: MemorySink) -> Iterator[RunningServer]:
    audited = dataclasses.replace(settings(), audit=AuditSettings(sink=sink, policy=DEFAULT_POLICY))
    srv = RunningServer(SqliteStore(tmp_path / "state.db"), audited)
    populate(srv.app.state.registry)
    srv.start()
    yield srv
    srv.stop()


def event_of(sink: MemorySink, audit_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [e for e in sink.events if e["auditID"] == audit_id and e["stage"] == "ResponseComplete"]
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no audit event for {audit_id}")


def post_configmap(server: RunningServer, who: str, name: str) -> httpx.Response:
    body = {"metadata": {"name": name}, "data": {"k": "v"}}
    with httpx.Client(base_url=server.url, headers=headers(who), timeout=10) as http:
        return http.post(CONFIGMAPS, json=body)


def test_an_allowed_write_records_allow_and_the_binding_that_allowed_it(server: RunningServer, sink: MemorySink) -> None:
    response = post_configmap(server, "edit", "allowed")
    assert response.status_code == 201
    annotations = event_of(sink, response.headers["audit-id"])["annotations"]
    assert annotations[DECISION] == "allow"
    assert "edit-binding" in annotations[REASON]


def test_a_forbidden_write_records_forbid_and_changes_nothing(server: RunningServer, sink: MemorySink) -> None:
    response = post_configmap(server, "view", "refused")
    assert response.status_code == 403
    assert event_of(sink, response.headers["audit-id"])["annotations"][DECISION] == "forbid"
    with httpx.Client(base_url=server.url, headers=headers("admin"), timeout=10) as http:
        assert http.get(f"{CONFIGMAPS}/refused").status_code == 404
