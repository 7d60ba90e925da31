"""The audit middleware around small ASGI apps: the cases a real route rarely produces.

WebSocket handshakes (accepted, refused), an app that raises, a client gone before the answer,
and the annotation hook written through the context by code that has no scope.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest

from apiserver.audit.annotations import POD_SECURITY_ENFORCE, annotate
from apiserver.audit.middleware import Audit
from apiserver.audit.policy import parse_policy
from apiserver.audit.sink import MemorySink
from apiserver.authn.user import AUTHENTICATED, UserInfo, set_user

ALICE = UserInfo("alice", groups=(AUTHENTICATED,))
EVERYTHING = parse_policy({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Metadata"}]},
                          source="test")
NOW = datetime(2026, 12, 2, 15, 0, 0, 1, tzinfo=UTC)


def scope(kind: str, path: str, method: str = "GET") -> dict[str, Any]:
    s: dict[str, Any] = {"type": kind, "path": path, "query_string": b"", "headers": [], "client": ("10.1.2.3", 5000)}
    if kind == "http":
        s["method"] = method
    return s


async def drive(app: Any, s: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sink = MemorySink()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"} if s["type"] == "websocket" else {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    middleware = Audit(app, sink=sink, policy=EVERYTHING, clock=lambda: NOW)
    with contextlib.suppress(RuntimeError):  # the panicking app's error, re-raised after its event
        await middleware(s, receive, send)
    return sink.events, sent


def authenticated(app: Any) -> Any:
    async def wrapper(s: Any, receive: Any, send: Any) -> None:
        set_user(s, ALICE)
        await app(s, receive, send)
    return wrapper


async def test_websocket_accepted_is_long_running() -> None:
    async def app(s: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000})

    events, sent = await drive(authenticated(app), scope("websocket", "/api/v1/namespaces/d/pods/p/exec"))
    assert [(e["stage"], e["responseStatus"]["code"]) for e in events if e["stage"] != "RequestReceived"] == [
        ("ResponseStarted", 101), ("ResponseComplete", 101)]
    assert events[-1]["objectRef"] == {"resource": "pods", "namespace": "d", "name": "p", "apiVersion": "v1",
                                       "subresource": "exec"}
    assert any(name == b"audit-id" for name, _ in sent[0]["headers"])


async def test_websocket_refused_by_authentication() -> None:
    async def app(s: Any, receive: Any, send: Any) -> None:
        await send({"type": "websocket.close", "code": 1008})

    events, _ = await drive(app, scope("websocket", "/api/v1/namespaces/d/pods/p/exec"))
    [event] = events
    assert (event["stage"], event["user"], event["responseStatus"]["code"]) == ("ResponseStarted", {}, 403)


async def test_an_app_that_raises_is_recorded_as_panic() -> None:
    async def app(s: Any, receive: Any, send: Any) -> None:
        await receive()
        raise RuntimeError("boom")

    events, _ = await drive(authenticated(app), scope("http", "/api/v1/namespaces/d/configmaps", "POST"))
    assert [e["stage"] for e in events] == ["RequestReceived", "Panic"]
    assert events[-1]["responseStatus"] == {"metadata": {}, "status": "Failure", "reason": "InternalError",
                                            "message": "APIServer panic'd: boom", "code": 500}


async def test_a_request_that_ends_without_an_answer() -> None:
    async def app(s: Any, receive: Any, send: Any) -> None:
        await receive()

    events, _ = await drive(authenticated(app), scope("http", "/api/v1/namespaces/d/pods", "GET"))
    assert events[-1]["stage"] == "ResponseComplete"
    assert events[-1]["responseStatus"]["message"] == "Connection closed early"


async def test_annotations_from_code_without_the_scope() -> None:
    async def app(s: Any, receive: Any, send: Any) -> None:
        await asyncio.to_thread(annotate, POD_SECURITY_ENFORCE, "baseline:latest")  # a sync handler's thread
        annotate(POD_SECURITY_ENFORCE, "restricted:latest")  # the first value stays
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    events, _ = await drive(authenticated(app), scope("http", "/api/v1/namespaces/d/pods", "POST"))
    assert events[-1]["annotations"] == {POD_SECURITY_ENFORCE: "baseline:latest"}
    assert events[-1]["stageTimestamp"] == "2026-12-02T15:00:00.000001Z"
    assert events[-1]["sourceIPs"] == ["10.1.2.3"]


def test_annotate_outside_a_request_is_harmless() -> None:
    annotate("x", "y")  # no request: nothing to write into, nothing raised


@pytest.mark.parametrize("path", ["/healthz", "/version"])
async def test_non_resource_requests_have_no_object_ref(path: str) -> None:
    async def app(s: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    events, _ = await drive(authenticated(app), scope("http", path))
    assert "objectRef" not in events[-1] and events[-1]["verb"] == "get"
