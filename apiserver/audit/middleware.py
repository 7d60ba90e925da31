"""The audit middleware: pure ASGI, the outermost layer, recording each request as the policy says.

It wraps authentication rather than sitting inside it, so it sees the requests authentication
refuses (401), and it decides a request's level *lazily*, the first time the app below reads
the body or sends the response: by then authentication has left the user in the scope (or
failed), so the policy is evaluated with the user, as kube-apiserver's audit filter runs after
its authentication filter. A request authentication refused gets one event, stage
``ResponseStarted`` with the attempted methods as its message, and no user, as
kube-apiserver's failed-authentication audit writes it.

Stages as Kubernetes': ``RequestReceived`` (unless omitted), ``ResponseStarted`` for
long-running requests (watches, logs, exec: when the response starts), ``ResponseComplete``,
``Panic`` when the app raised. Every response carries the ``Audit-Id`` header: the client's
own ``Audit-ID`` when it sent one, else a new UUID.

Nothing is buffered on the way: messages pass through as they come; a copy of a body is kept
only when the event needs it (the request at ``Request`` and up, a create's body for the
object's name, the response at ``RequestResponse`` unless long-running, an error's ``Status``),
and only up to a bound.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apimachinery import jsonio
from apiserver.audit.annotations import annotations_of, begin
from apiserver.audit.events import (
    API_VERSION,
    authentication_failed,
    bodies_loggable,
    object_ref,
    response_status,
    source_ips,
    timestamp,
    user_agent,
    user_of_event,
    without_managed_fields,
)
from apiserver.audit.policy import (
    DEFAULT_POLICY,
    PANIC,
    REQUEST_RECEIVED,
    RESPONSE_COMPLETE,
    RESPONSE_STARTED,
    Decision,
    Level,
    Policy,
)
from apiserver.audit.sink import Sink
from apiserver.auth import ASGIApp, Message, Receive, Scope, Send
from apiserver.authn.user import UserInfo, user_of
from apiserver.limits import is_long_running
from apiserver.negotiation import MAX_BODY_BYTES, decode_body
from apiserver.requestinfo import request_info_of

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # a larger response is logged without its object
MAX_ERROR_BYTES = 64 * 1024  # enough for any Status
DENIED = (401, 403)

Clock = Callable[[], datetime]
_UNDECODED = object()

# A client's own Audit-ID is kept only if it looks like one (a UUID or a similar short token):
# anything else would be copied into every event of the request and echoed back.
_AUDIT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


@dataclass(frozen=True)
class AuditSettings:
    sink: Sink
    policy: Policy = DEFAULT_POLICY


class Audit:
    def __init__(self, app: ASGIApp, *, sink: Sink, policy: Policy, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.app = app
        self.sink = sink
        self.policy = policy
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        await _Exchange(scope, self).run(self.app, receive, send)


class _Body:
    """A bounded copy of a body passing through; ``None`` once it outgrew its bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] | None = []
        self.size = 0

    def add(self, chunk: bytes) -> None:
        if self.chunks is None or not chunk:
            return
        self.size += len(chunk)
        if self.size > self.limit:
            self.chunks = None
        else:
            self.chunks.append(chunk)

    def json(self, content_type: str) -> Any:
        """A JSON response body as data; None for anything else (a Table is JSON too)."""
        if not self.chunks:
            return None
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in ("application/json", "") and not media.endswith("+json"):
            return None
        try:
            return jsonio.loads(b"".join(self.chunks))
        except ValueError:
            return None

    def request(self, content_type: str) -> Any:
        """A request body decoded as the apiserver decodes it (JSON, YAML, kubectl's protobuf)."""
        if not self.chunks:
            return None
        try:
            return decode_body(b"".join(self.chunks), content_type, allow_patch=True)
        except Exception:  # noqa: BLE001 - a body the apiserver refuses is logged without its object
            return None


class _Exchange:
    """One request on its way through: what it asked, who asked, how it ended."""

    def __init__(self, scope: Scope, audit: Audit) -> None:
        self.scope = scope
        self.audit = audit
        self.received = audit.clock()
        headers = scope.get("headers") or []
        self.headers = headers
        given = next((v.decode("latin-1") for n, v in headers if n == b"audit-id"), "")
        self.audit_id = given if _AUDIT_ID.fullmatch(given) else str(uuid.uuid4())
        method = scope.get("method", "GET")
        query = scope.get("query_string", b"").decode("latin-1")
        self.query = query
        self.info = request_info_of(scope)
        self.method = method
        self.long_running = scope["type"] == "websocket" or is_long_running(scope)
        self.decision: Decision | None = None
        self.level = Level.NONE
        self.user: UserInfo | None = None
        self.status: int | None = None
        self.request: _Body | None = None
        self.decoded: Any = _UNDECODED
        self.response: _Body | None = None
        self.response_type = ""
        self.request_type = next((v.decode("latin-1") for n, v in headers if n == b"content-type"), "")
        self.finished = False  # the one event of a failed authentication is written
        self.started = False

    async def run(self, app: ASGIApp, receive: Receive, send: Send) -> None:
        begin(self.scope)

        async def receive_() -> Message:
            self.decide()
            message = await receive()
            if self.request is not None and message["type"] == "http.request":
                self.request.add(message.get("body", b""))
            return message

        async def send_(message: Message) -> None:
            await send(self.on_send(message))

        try:
            await app(self.scope, receive_, send_)
        except Exception as err:
            self.decide()
            if self.level and not self.finished:
                self.status = 500
                self.emit(PANIC, status={"metadata": {}, "status": "Failure", "reason": "InternalError",
                                         "message": f"APIServer panic'd: {err}", "code": 500})
                self.finished = True
            raise
        finally:
            self.complete()

    # -- deciding --------------------------------------------------------------------------

    def decide(self) -> None:
        if self.decision is not None:
            return
        self.user = user_of(self.scope)
        self.decision = self.audit.policy.decide(self.info, self.user)
        level = self.decision.level
        loggable = bodies_loggable(self.info)
        if level > Level.METADATA and not loggable:
            level = Level.METADATA  # credentials are never logged, whatever the policy says
        self.level = level
        if level == Level.NONE:
            return
        if (level >= Level.REQUEST and loggable) or (self.method == "POST" and self.info.is_resource_request):
            self.request = _Body(MAX_BODY_BYTES)  # a create's object names itself in the body
        self.emit(REQUEST_RECEIVED)

    # -- the response ----------------------------------------------------------------------

    def on_send(self, message: Message) -> Message:
        kind = message["type"]
        if kind in ("http.response.start", "websocket.http.response.start"):
            self.status = int(message["status"])
            self.response_type = next((v.decode("latin-1") for n, v in message.get("headers", [])
                                       if n == b"content-type"), "")
            self.on_start()
            return self.with_audit_id(message)
        if kind in ("http.response.body", "websocket.http.response.body") and self.response is not None:
            self.response.add(message.get("body", b""))
        elif kind == "websocket.accept":
            self.status = 101
            self.on_start()
            return self.with_audit_id(message)
        elif kind == "websocket.close" and self.status is None:
            self.status = 403  # closed before accept: the client's handshake is refused
            self.on_start()
        return message

    def on_start(self) -> None:
        refused = self.status == 401 or (self.status == 403 and self.scope["type"] == "websocket")
        if self.decision is None and refused and user_of(self.scope) is None:
            self.authentication_failed()
            return
        self.decide()
        assert self.status is not None
        if self.level == Level.NONE and self.audit.policy.log_denials and self.status in DENIED:
            self.level = Level.METADATA
        if self.level == Level.NONE:
            return
        if self.status >= 400:
            self.response = _Body(MAX_ERROR_BYTES)
        elif self.level == Level.REQUEST_RESPONSE and bodies_loggable(self.info) and not self.long_running:
            self.response = _Body(MAX_RESPONSE_BYTES)
        if self.long_running:
            self.started = True
            self.emit(RESPONSE_STARTED)

    def authentication_failed(self) -> None:
        """The one event of a request authentication refused, without a user."""
        self.decision = self.audit.policy.decide(self.info, None)
        self.level = min(self.decision.level, Level.METADATA)
        if self.level == Level.NONE and self.audit.policy.log_denials:
            self.level = Level.METADATA
        if self.level:
            self.emit(RESPONSE_STARTED, status={"metadata": {}, "message": authentication_failed(self.headers, self.query),
                                                "code": self.status})
        self.finished = True

    def with_audit_id(self, message: Message) -> Message:
        headers = list(message.get("headers", []))
        if not any(name == b"audit-id" for name, _ in headers):
            headers.append((b"audit-id", self.audit_id.encode("latin-1", "replace")))
        return {**message, "headers": headers}

    def complete(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.decide()
        if self.level == Level.NONE:
            return
        if self.status is None:  # the app ended without answering (the client went away)
            early = {"metadata": {}, "status": "Success", "message": "Connection closed early", "code": 200}
            if self.long_running and not self.started:
                self.emit(RESPONSE_STARTED, status=early)
            self.emit(RESPONSE_COMPLETE, status=early)
            return
        self.emit(RESPONSE_COMPLETE)

    # -- the event -------------------------------------------------------------------------

    def emit(self, stage: str, *, status: dict[str, Any] | None = None) -> None:
        """Hand the event of ``stage`` to the sink; a failure here is logged, never the request's."""
        assert self.decision is not None
        if stage in self.decision.omit_stages:
            return
        try:
            self.audit.sink.process(self.event(stage, status))
        except Exception:  # a bug in building the event must not fail the request it describes
            log.exception("building the audit event of %s %s failed", self.method, self.scope["path"])

    def event(self, stage: str, status: dict[str, Any] | None) -> dict[str, Any]:
        received = stage == REQUEST_RECEIVED
        body = self.request_object() if not received else None
        event: dict[str, Any] = {
            "kind": "Event",
            "apiVersion": API_VERSION,
            "level": self.level.wire,
            "auditID": self.audit_id,
            "stage": stage,
            "requestURI": self.request_uri(),
            "verb": self.info.verb,
            "user": user_of_event(self.user),
        }
        ips = source_ips(self.headers, self.scope.get("client"))
        if ips:
            event["sourceIPs"] = ips
        agent = user_agent(self.headers)
        if agent:
            event["userAgent"] = agent
        ref = object_ref(self.info, body)
        if ref is not None:
            event["objectRef"] = ref
        if status is not None:
            event["responseStatus"] = status
        elif self.status is not None and not received:
            error = self.response.json(self.response_type) if self.response is not None and self.status >= 400 else None
            event["responseStatus"] = response_status(self.status, error)
        self.add_objects(event, stage, body)
        event["requestReceivedTimestamp"] = timestamp(self.received)
        event["stageTimestamp"] = timestamp(self.received if received else self.audit.clock())
        notes = annotations_of(self.scope)
        if notes:
            event["annotations"] = dict(notes)
        return event

    def request_object(self) -> Any:
        """The request body as data (decoded once, when the first event after it needs it)."""
        if self.request is None:
            return None
        if self.decoded is _UNDECODED:
            self.decoded = self.request.request(self.request_type)
        return self.decoded

    def add_objects(self, event: dict[str, Any], stage: str, body: Any) -> None:
        assert self.decision is not None
        strip = self.decision.omit_managed_fields
        if self.level >= Level.REQUEST and body is not None and bodies_loggable(self.info):
            event["requestObject"] = without_managed_fields(body) if strip else body
        if (stage == RESPONSE_COMPLETE and self.level == Level.REQUEST_RESPONSE and self.response is not None
                and bodies_loggable(self.info)):
            obj = self.response.json(self.response_type)
            if obj is not None:
                event["responseObject"] = without_managed_fields(obj) if strip else obj

    def request_uri(self) -> str:
        raw = self.scope.get("raw_path")
        path = raw.decode("latin-1") if isinstance(raw, bytes) and raw else self.scope["path"]
        return f"{path}?{self.query}" if self.query else path
