"""Request limits: requests in flight and watches per identity, refused with 429 + Retry-After.

The middleware wraps a fake app whose requests stay in flight until the test releases them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from apiserver.limits import Limits, RequestLimits, identity_of, is_long_running

Message = dict[str, Any]


class HeldApp:
    """An ASGI app that answers 200 once ``release`` is set (or the client disconnects)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0
        self.fail = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.entered += 1
        if self.fail:
            raise RuntimeError("boom")
        if is_long_running(scope):
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def scope(path: str, method: str = "GET", *, role: str | None = "admin", query: str = "") -> dict[str, Any]:
    state = {"role": role} if role else {}
    return {"type": "http", "method": method, "path": path, "query_string": query.encode(), "headers": [],
            "state": state, "client": ("10.0.0.7", 5000)}


class Client:
    """One request through the middleware; ``disconnect()`` ends a long-running one."""

    def __init__(self, limits: RequestLimits, request: dict[str, Any]) -> None:
        self.sent: list[Message] = []
        self._gone = asyncio.Event()
        self._first = True
        self.task = asyncio.create_task(limits(request, self._receive, self._send))

    async def _receive(self) -> Message:
        if self._first:
            self._first = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        self.sent.append(message)

    def disconnect(self) -> None:
        self._gone.set()

    @property
    def status(self) -> int | None:
        return next((m["status"] for m in self.sent if m["type"] == "http.response.start"), None)

    def header(self, name: bytes) -> bytes | None:
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        return dict(start["headers"]).get(name)

    def body(self) -> dict[str, Any]:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body"))


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("path", "method", "capped_by"),
    [
        ("/api/v1/namespaces/default/configmaps", "GET", "read-only"),
        ("/api/v1/namespaces/default/configmaps", "POST", "mutating"),
        ("/apis/apps/v1/namespaces/default/deployments/web", "PATCH", "mutating"),
    ],
    ids=["list", "create", "patch"],
)
async def test_over_the_in_flight_cap_is_429_with_retry_after(path: str, method: str, capped_by: str) -> None:
    app = HeldApp()
    limits = RequestLimits(app, Limits(max_requests_inflight=2, max_mutating_requests_inflight=2))
    held = [Client(limits, scope(path, method)) for _ in range(2)]
    await settle()
    refused = Client(limits, scope(path, method))
    await refused.task
    assert refused.status == 429 and refused.header(b"retry-after") == b"1"
    body = refused.body()
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "TooManyRequests", 429)
    assert body["details"]["retryAfterSeconds"] == 1
    assert app.entered == 2, f"the {capped_by} request over the cap reached the app"
    app.release.set()
    await asyncio.gather(*(c.task for c in held))
    assert [c.status for c in held] == [200, 200]


async def test_read_only_and_mutating_requests_have_separate_caps() -> None:
    app = HeldApp()
    limits = RequestLimits(app, Limits(max_requests_inflight=1, max_mutating_requests_inflight=1))
    reads = [Client(limits, scope("/api/v1/pods")) for _ in range(2)]
    writes = [Client(limits, scope("/api/v1/namespaces/default/pods", "POST")) for _ in range(2)]
    await settle()
    assert app.entered == 2 and reads[1].status == 429 and writes[1].status == 429
    app.release.set()
    await asyncio.gather(reads[0].task, writes[0].task)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/livez", "/readyz/etcd"], ids=lambda p: p.strip("/"))
async def test_health_endpoints_are_never_limited(path: str) -> None:
    app = HeldApp()
    limits = RequestLimits(app, Limits(max_requests_inflight=1))
    held = Client(limits, scope("/api/v1/pods"))
    await settle()
    health = Client(limits, scope(path, role=None))
    await settle()
    assert app.entered == 2 and health.status is None  # reached the app, which holds it too
    app.release.set()
    await asyncio.gather(held.task, health.task)
    assert health.status == 200


async def test_a_finished_request_frees_its_slot() -> None:
    app = HeldApp()
    app.release.set()
    limits = RequestLimits(app, Limits(max_requests_inflight=1))
    for _ in range(3):
        client = Client(limits, scope("/api/v1/pods"))
        await client.task
        assert client.status == 200
    assert limits.read_only == 0


async def test_a_failed_request_frees_its_slot() -> None:
    app = HeldApp()
    app.fail = True
    limits = RequestLimits(app, Limits(max_mutating_requests_inflight=1))
    with pytest.raises(RuntimeError):
        await Client(limits, scope("/api/v1/namespaces/default/pods", "POST")).task
    assert limits.mutating == 0


async def test_watches_are_capped_per_identity_and_freed_on_disconnect() -> None:
    app = HeldApp()
    limits = RequestLimits(app, Limits(max_requests_inflight=1, max_watches_per_user=2))
    watch = "/api/v1/namespaces/default/pods"
    admin = [Client(limits, scope(watch, query="watch=true")) for _ in range(2)]
    node = Client(limits, scope(watch, role="node", query="watch=1"))
    await settle()
    refused = Client(limits, scope(watch, query="watch=true"))
    await refused.task
    assert refused.status == 429 and refused.header(b"retry-after") == b"1"
    assert "admin" in refused.body()["message"]
    assert node.status is None and limits.watches == {"admin": 2, "node": 1}
    # watches are not requests in flight: the one read-only slot is still free
    app.release.set()
    get = Client(limits, scope("/api/v1/pods"))
    await get.task
    assert get.status == 200
    admin[0].disconnect()
    await admin[0].task
    again = Client(limits, scope(watch, query="watch=true"))
    await settle()
    assert again.status is None and limits.watches["admin"] == 2
    for client in (admin[1], node, again):
        client.disconnect()
        await client.task
    assert not limits.watches


@pytest.mark.parametrize(
    ("path", "query", "long_running"),
    [
        ("/api/v1/namespaces/default/pods", "watch=true", True),
        ("/api/v1/namespaces/default/pods", "watch=1&labelSelector=a", True),
        ("/api/v1/namespaces/default/pods", "watch=false", False),
        ("/api/v1/watch/namespaces/default/pods", "", True),
        ("/apis/apps/v1/watch/deployments", "", True),
        ("/api/v1/namespaces/default/pods/web/log", "follow=true", True),
        ("/api/v1/namespaces/default/pods/web/exec", "", True),
        ("/api/v1/namespaces/watch/configmaps", "", False),
        ("/api/v1/namespaces/pods/configmaps/log", "", False),
        ("/api/v1/namespaces/default/configmaps/log", "", False),
        ("/api/v1/nodes", "", False),
    ],
    ids=["watch-param", "watch-1", "watch-false", "watch-path", "group-watch-path", "log", "exec",
         "namespace-named-watch", "object-named-log-in-namespace-pods", "configmap-named-log", "list"],
)
def test_long_running_requests(path: str, query: str, long_running: bool) -> None:
    assert is_long_running(scope(path, query=query)) is long_running


@pytest.mark.parametrize(
    ("state", "identity"),
    [
        ({"user": "alice", "role": "admin"}, "alice"),
        ({"role": "node"}, "node"),
        ({}, "anonymous@10.0.0.7"),
    ],
    ids=["user-first", "role", "no-authentication"],
)
def test_identity_is_the_most_specific_field_authentication_left(state: dict[str, str], identity: str) -> None:
    request = scope("/api/v1/pods", role=None)
    request["state"] = state
    assert identity_of(request) == identity
