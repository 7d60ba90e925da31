"""The audit log, through a real apiserver: which requests are recorded, at which level, in which shape.

Each request's events are found by the ``Audit-Id`` header of its response. Authorization is
a small test double between authentication and the app (it refuses the ``viewer`` anything but
reads, and leaves its decision in the audit annotations, as the real authorizer does).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.middleware import Middleware

from apimachinery.errors import ApiError
from apiserver.app import AppSettings
from apiserver.audit.annotations import DECISION, REASON, annotate, annotations_of
from apiserver.audit.logfile import LogFile
from apiserver.audit.middleware import AuditSettings
from apiserver.audit.policy import DEFAULT_POLICY, Policy, parse_policy
from apiserver.audit.sink import MemorySink
from apiserver.auth import ASGIApp, Receive, Scope, Send, send_status
from apiserver.authn.middleware import Authentication
from apiserver.authn.tokens import StaticTokens
from apiserver.authn.user import AUTHENTICATED, SYSTEM_MASTERS, UserInfo, user_of
from apiserver.requestinfo import request_info
from apiserver.store.sqlite import SqliteStore
from tests.apiserver.conftest import RunningServer

ADMIN = UserInfo("admin", uid="u-1", groups=(SYSTEM_MASTERS, AUTHENTICATED))
VIEWER = UserInfo("viewer", groups=(AUTHENTICATED,))
TOKENS = {"admin-token": ADMIN, "viewer-token": VIEWER}
READS = ("get", "list", "watch")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
SECRET_VALUE = "s3cr3t-never-in-the-log"


class StandInAuthorizer:
    """A stand-in authorizer: the viewer may only read; the decision goes to the audit event."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = user_of(scope)
        if scope["type"] == "http" and user is not None:
            info = request_info(scope["method"], scope["path"], scope.get("query_string", b""))
            if user.name == "viewer" and info.verb not in READS:
                annotations_of(scope)[DECISION] = "forbid"
                message = (f'{info.resource} is forbidden: User "viewer" cannot {info.verb} resource '
                           f'"{info.resource}" in API group "" in the namespace "{info.namespace}"')
                await send_status(send, ApiError(403, "Forbidden", message))
                return
            annotations_of(scope)[DECISION] = "allow"
            annotate(REASON, "test authorizer: allowed")  # through the context, as admission does
        await self.app(scope, receive, send)


def start(tmp_path: Path, policy: Policy, sink: Any) -> RunningServer:
    settings = AppSettings(authenticator=StaticTokens(TOKENS), compaction_interval=3600,
                           audit=AuditSettings(sink=sink, policy=policy))
    server = RunningServer(SqliteStore(tmp_path / "state.db"), settings)
    # just inside authentication, where the authorizer sits (user_middleware[0] is the outermost);
    # found by class, not by position: metrics or limits may sit between audit and authentication
    stack = server.app.user_middleware
    inside = next(i for i, m in enumerate(stack) if m.cls is Authentication) + 1
    stack.insert(inside, Middleware(StandInAuthorizer))
    server.start()
    return server


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def default_server(tmp_path: Path, sink: MemorySink) -> Iterator[RunningServer]:
    server = start(tmp_path, DEFAULT_POLICY, sink)
    yield server
    server.stop()


EVERYTHING = parse_policy({
    "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
    "rules": [{"level": "RequestResponse"}],
}, source="test")


@pytest.fixture
def everything_server(tmp_path: Path, sink: MemorySink) -> Iterator[RunningServer]:
    server = start(tmp_path, EVERYTHING, sink)
    yield server
    server.stop()


def client(server: RunningServer, token: str | None = "admin-token", **headers: str) -> httpx.Client:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    headers.setdefault("User-Agent", "audit-test/1.0")
    return httpx.Client(base_url=server.url, headers=headers, timeout=10)


def events_of(sink: MemorySink, audit_id: str, *, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The request's events, once ``count`` arrived (they are written as the response ends)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in sink.events if e["auditID"] == audit_id]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def configmap(name: str, namespace: str = "default", **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": data or {"k": "v"}}


CM = "/api/v1/namespaces/default/configmaps"


# --- the default policy: mutations and denials ---------------------------------------------------


def _setup_cm(http: httpx.Client) -> None:
    assert http.post(CM, json=configmap("existing")).status_code == 201


CASES = [
    # id, token, method, path, body, expected verb, code, objectRef
    ("create", "admin-token", "POST", CM, configmap("c1"), "create", 201,
     {"resource": "configmaps", "namespace": "default", "name": "c1", "apiVersion": "v1"}),
    ("update", "admin-token", "PUT", CM + "/existing", configmap("existing", k="v2"), "update", 200,
     {"resource": "configmaps", "namespace": "default", "name": "existing", "apiVersion": "v1"}),
    ("patch", "admin-token", "PATCH", CM + "/existing", {"data": {"k": "v3"}}, "patch", 200,
     {"resource": "configmaps", "namespace": "default", "name": "existing", "apiVersion": "v1"}),
    ("delete", "admin-token", "DELETE", CM + "/existing", None, "delete", 200,
     {"resource": "configmaps", "namespace": "default", "name": "existing", "apiVersion": "v1"}),
    ("deletecollection", "admin-token", "DELETE", CM, None, "deletecollection", 200,
     {"resource": "configmaps", "namespace": "default", "apiVersion": "v1"}),
    ("status-subresource", "admin-token", "PUT", "/api/v1/namespaces/default/status",
     None, "update", None, {"resource": "namespaces", "namespace": "default", "name": "default",
                            "apiVersion": "v1", "subresource": "status"}),
    ("forbidden-create", "viewer-token", "POST", CM, configmap("c2"), "create", 403,
     {"resource": "configmaps", "namespace": "default", "apiVersion": "v1"}),
    ("forbidden-delete", "viewer-token", "DELETE", CM + "/existing", None, "delete", 403,
     {"resource": "configmaps", "namespace": "default", "name": "existing", "apiVersion": "v1"}),
    ("apps-group", "admin-token", "DELETE", "/apis/apps/v1/namespaces/default/deployments/none", None,
     "delete", 404, {"resource": "deployments", "namespace": "default", "name": "none", "apiGroup": "apps",
                     "apiVersion": "v1"}),
]


@pytest.mark.parametrize(("token", "method", "path", "body", "verb", "code", "ref"),
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_default_policy_records_every_mutation_and_denial_at_metadata(
    default_server: RunningServer, sink: MemorySink, token: str, method: str, path: str, body: Any,
    verb: str, code: int | None, ref: dict[str, str],
) -> None:
    with client(default_server) as admin:
        _setup_cm(admin)
        if path.endswith("/status"):
            ns = admin.get("/api/v1/namespaces/default").json()
            body = ns
    with client(default_server, token) as http:
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        if method == "PATCH":
            kwargs = {"content": json.dumps(body), "headers": {"Content-Type": "application/merge-patch+json"}}
        response = http.request(method, path, **kwargs)
    code = code or response.status_code
    assert response.status_code == code, response.text
    audit_id = response.headers["audit-id"]
    [event] = events_of(sink, audit_id)
    user = ADMIN if token == "admin-token" else VIEWER
    assert event["kind"] == "Event" and event["apiVersion"] == "audit.k8s.io/v1"
    assert (event["level"], event["stage"], event["verb"]) == ("Metadata", "ResponseComplete", verb)
    assert event["requestURI"] == path
    assert event["user"] == user.as_review()
    assert event["sourceIPs"] == ["127.0.0.1"] and event["userAgent"] == "audit-test/1.0"
    assert event["objectRef"] == ref
    assert event["responseStatus"]["code"] == code
    assert "requestObject" not in event and "responseObject" not in event
    assert TIMESTAMP.match(event["requestReceivedTimestamp"]) and TIMESTAMP.match(event["stageTimestamp"])
    assert event["stageTimestamp"] >= event["requestReceivedTimestamp"]
    assert event["annotations"][DECISION] == ("forbid" if code == 403 else "allow")
    if code >= 400:
        status = response.json()
        assert event["responseStatus"] == {"metadata": {}, "status": "Failure", "message": status["message"],
                                           "reason": status["reason"], "code": code,
                                           **({"details": status["details"]} if status.get("details") else {})}


def test_default_policy_does_not_record_reads(default_server: RunningServer, sink: MemorySink) -> None:
    with client(default_server) as http:
        _setup_cm(http)
        reads = [http.get(CM + "/existing"), http.get(CM), http.get("/api/v1/namespaces"), http.get("/api")]
        barrier = http.post(CM, json=configmap("barrier"))
    assert events_of(sink, barrier.headers["audit-id"])
    read_ids = {r.headers["audit-id"] for r in reads}
    assert not [e for e in sink.events if e["auditID"] in read_ids]


def test_unauthenticated_request_is_recorded_without_a_user(default_server: RunningServer, sink: MemorySink) -> None:
    with client(default_server, "wrong-token") as http:
        bad_token = http.get(CM)
    with client(default_server, None) as http:
        no_token = http.get(CM)
    assert bad_token.status_code == no_token.status_code == 401
    [bad] = events_of(sink, bad_token.headers["audit-id"])
    [none] = events_of(sink, no_token.headers["audit-id"])
    for event in (bad, none):  # kube-apiserver's failed-authentication event
        assert (event["level"], event["stage"], event["verb"], event["user"]) == ("Metadata", "ResponseStarted", "list", {})
        assert event["objectRef"] == {"resource": "configmaps", "namespace": "default", "apiVersion": "v1"}
    assert bad["responseStatus"] == {"metadata": {}, "message": "Authentication failed, attempted: bearer", "code": 401}
    assert none["responseStatus"]["message"] == "Authentication failed, no credentials provided"


def test_the_clients_audit_id_is_kept_and_returned(default_server: RunningServer, sink: MemorySink) -> None:
    with client(default_server, **{"Audit-ID": "my-own-id-42"}) as http:
        response = http.post(CM, json=configmap("mine"))
    assert response.headers["audit-id"] == "my-own-id-42"
    assert events_of(sink, "my-own-id-42")[0]["objectRef"]["name"] == "mine"


@pytest.mark.parametrize("given", ["x" * 200_000, "<script>", "a b", "-leading"], ids=["huge", "markup", "space", "punctuation-first"])
def test_an_audit_id_that_is_not_one_is_replaced(default_server: RunningServer, sink: MemorySink, given: str) -> None:
    with client(default_server, **{"Audit-ID": given}) as http:
        response = http.post(CM, json=configmap(f"id-{len(given)}-{ord(given[0])}"))
    assigned = response.headers["audit-id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", assigned) and events_of(sink, assigned)
    with client(default_server) as http:
        ids = {http.get("/version").headers["audit-id"], http.get(CM).headers["audit-id"]}
    assert len(ids) == 2 and all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in ids)


def test_forwarded_addresses_come_first_in_source_ips(default_server: RunningServer, sink: MemorySink) -> None:
    with client(default_server, **{"X-Forwarded-For": "10.0.0.1, 10.0.0.2", "X-Real-Ip": "10.0.0.3",
                                   "User-Agent": "x" * 2000}) as http:
        response = http.post(CM, json=configmap("fwd"))
    [event] = events_of(sink, response.headers["audit-id"])
    # uvicorn trusts a loopback proxy and reports the last forwarded address as the peer: each once
    assert event["sourceIPs"] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert event["userAgent"] == "x" * 1024 + "...TRUNCATED"


# --- levels by policy -----------------------------------------------------------------------------


POLICY = {
    "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "None", "resources": [{"group": "", "resources": ["configmaps"], "resourceNames": ["quiet"]}]},
        {"level": "RequestResponse", "resources": [{"group": "", "resources": ["secrets"]}]},
        {"level": "Request", "verbs": ["create", "update"], "namespaces": ["team-a"]},
        {"level": "None", "nonResourceURLs": ["/version", "/api*"]},
        {"level": "RequestResponse", "users": ["admin"], "verbs": ["get", "create", "patch"],
         "omitStages": ["ResponseStarted"]},
        {"level": "Metadata", "userGroups": ["system:authenticated"]},
    ],
}


@pytest.fixture
def policy_server(tmp_path: Path, sink: MemorySink) -> Iterator[RunningServer]:
    server = start(tmp_path, parse_policy(POLICY, source="test"), sink)
    with client(server) as http:
        assert http.post("/api/v1/namespaces", json={"metadata": {"name": "team-a"}}).status_code == 201
    yield server
    server.stop()


LEVEL_CASES = [
    # id, token, method, path, body, level (None: no event)
    ("resource-name-none", "admin-token", "POST", CM, configmap("quiet"), "RequestResponse"),  # no name in path
    ("resource-name-none-get", "admin-token", "GET", CM + "/quiet", None, None),
    ("namespace-request", "admin-token", "POST", "/api/v1/namespaces/team-a/configmaps",
     configmap("c", "team-a"), "Request"),
    ("user-request-response", "admin-token", "GET", CM + "/quiet2", None, "RequestResponse"),
    ("group-metadata", "viewer-token", "GET", CM + "/quiet2", None, "Metadata"),
    ("list-by-group", "admin-token", "GET", CM, None, "Metadata"),
    ("watch-by-group", "admin-token", "GET", CM + "?watch=true&timeoutSeconds=1", None, "Metadata"),
    ("non-resource-none", "admin-token", "GET", "/version", None, None),
    ("non-resource-prefix-none", "admin-token", "GET", "/apis", None, None),
    ("non-resource-other", "viewer-token", "GET", "/openapi/v2", None, "Metadata"),
    ("secret-capped-at-metadata", "admin-token", "POST", "/api/v1/namespaces/default/secrets",
     {"metadata": {"name": "s"}, "stringData": {"password": SECRET_VALUE}}, "Metadata"),
]


@pytest.mark.parametrize(("token", "method", "path", "body", "level"), [pytest.param(*c[1:], id=c[0]) for c in LEVEL_CASES])
def test_the_first_matching_rule_sets_the_level(
    policy_server: RunningServer, sink: MemorySink, token: str, method: str, path: str, body: Any, level: str | None,
) -> None:
    with client(policy_server) as admin:
        admin.post(CM, json=configmap("quiet2"))
    with client(policy_server, token) as http:
        response = http.request(method, path, **({"json": body} if body is not None else {}))
    with client(policy_server) as admin:
        barrier = admin.post(CM, json=configmap("barrier"))
    assert response.status_code < 500
    assert events_of(sink, barrier.headers["audit-id"])
    found = [e for e in sink.events if e["auditID"] == response.headers["audit-id"]]
    assert {e["level"] for e in found} == ({level} if level else set())  # a watch has two events
    if level == "Request":
        assert found[0]["requestObject"] == body and "responseObject" not in found[0]
    if level == "RequestResponse" and method == "POST":
        assert found[0]["requestObject"] == body and found[0]["responseObject"]["metadata"]["name"] == "quiet"
    if level == "RequestResponse" and method == "GET":
        assert found[0]["responseObject"]["metadata"]["name"] == "quiet2"


def test_secret_data_is_never_logged_even_at_request_response(everything_server: RunningServer, sink: MemorySink) -> None:
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    secrets = "/api/v1/namespaces/default/secrets"
    with client(everything_server) as http:
        responses = [
            http.post(secrets, json={"metadata": {"name": "s"}, "data": {"password": encoded}}),
            http.get(secrets + "/s"),
            http.get(secrets),
            http.put(secrets + "/s", json={"metadata": {"name": "s"}, "stringData": {"password": SECRET_VALUE}}),
            http.delete(secrets + "/s"),
            http.post(CM, json=configmap("visible")),
        ]
    assert [r.status_code for r in responses] == [201, 200, 200, 200, 200, 201]
    events = [e for r in responses for e in events_of(sink, r.headers["audit-id"])]
    assert [e["level"] for e in events] == ["Metadata"] * 5 + ["RequestResponse"]
    assert events[0]["objectRef"] == {"resource": "secrets", "namespace": "default", "name": "s", "apiVersion": "v1"}
    dumped = json.dumps(sink.events)
    assert SECRET_VALUE not in dumped and encoded not in dumped
    assert events[-1]["responseObject"]["data"] == {"k": "v"}  # the same policy logs other objects


def test_omit_managed_fields_by_policy_and_by_rule(tmp_path: Path, sink: MemorySink) -> None:
    policy = parse_policy({
        "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"], "omitManagedFields": True,
        "rules": [{"level": "Request", "namespaces": ["kube-system"], "omitManagedFields": False}, {"level": "Request"}],
    }, source="test")
    server = start(tmp_path, policy, sink)
    managed = [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1"}]
    try:
        with client(server) as http:
            responses = [http.post(f"/api/v1/namespaces/{ns}/configmaps",
                                   json={**configmap("m", ns), "metadata": {"name": "m", "managedFields": managed}})
                         for ns in ("default", "kube-system")]
        stripped, kept = (events_of(sink, r.headers["audit-id"])[0] for r in responses)
    finally:
        server.stop()
    assert "managedFields" not in stripped["requestObject"]["metadata"]
    assert kept["requestObject"]["metadata"]["managedFields"] == managed


EVERYTHING_DOC = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
                  "rules": [{"level": "RequestResponse"}]}


# --- stages ---------------------------------------------------------------------------------------


def test_a_watch_is_recorded_when_it_starts_and_when_it_ends(everything_server: RunningServer, sink: MemorySink) -> None:
    with client(everything_server) as http, http.stream("GET", CM + "?watch=true&timeoutSeconds=1") as response:
        audit_id = response.headers["audit-id"]
        started = events_of(sink, audit_id)  # before the stream ends: written as the response starts
        assert [e["stage"] for e in started] == ["ResponseStarted"]
        http.post(CM, json=configmap("during-watch"))
        lines = list(response.iter_lines())
    assert any("during-watch" in line for line in lines)  # the stream was not held back
    events = events_of(sink, audit_id, count=2)
    assert [(e["stage"], e["verb"], e["responseStatus"]["code"]) for e in events] == [
        ("ResponseStarted", "watch", 200), ("ResponseComplete", "watch", 200)]
    assert all("responseObject" not in e for e in events)


def test_request_received_stage_unless_omitted(tmp_path: Path, sink: MemorySink) -> None:
    policy = parse_policy({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Request"}]},
                          source="test")
    server = start(tmp_path, policy, sink)
    try:
        with client(server) as http:
            response = http.post(CM, json=configmap("staged"))
        events = events_of(sink, response.headers["audit-id"], count=2)
    finally:
        server.stop()
    assert [e["stage"] for e in events] == ["RequestReceived", "ResponseComplete"]
    received, complete = events
    assert received["stageTimestamp"] == received["requestReceivedTimestamp"]
    assert "responseStatus" not in received and "requestObject" not in received
    assert complete["requestObject"] == configmap("staged")


# --- the file -------------------------------------------------------------------------------------


def test_the_log_file_holds_one_json_event_per_line(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "audit.log"
    log_file = LogFile(path)
    server = start(tmp_path, DEFAULT_POLICY, log_file)
    try:
        with client(server) as http:
            ids = [http.post(CM, json=configmap(f"f{i}")).headers["audit-id"] for i in range(3)]
    finally:
        server.stop()
        log_file.close()
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["auditID"] for e in events] == ids
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_an_unwritable_log_does_not_fail_requests(tmp_path: Path) -> None:
    """/dev/full: every write fails with ENOSPC, as on a full disk."""
    log_file = LogFile("/dev/full")
    server = start(tmp_path, DEFAULT_POLICY, log_file)
    try:
        with client(server) as http:
            codes = [http.post(CM, json=configmap(f"full-{i}")).status_code for i in range(20)]
    finally:
        server.stop()
        log_file.close()
    assert codes == [201] * 20
    assert log_file.dropped == 20 and log_file.written == 0
