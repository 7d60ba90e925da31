"""TokenRequest (``serviceaccounts/<name>/token``) and TokenReview, as Kubernetes answers them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.apiserver.serviceaccount_app import App, serviceaccount_app

TOKEN_PATH = "/api/v1/namespaces/default/serviceaccounts/default/token"
POD = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    with serviceaccount_app(tmp_path) as app:
        app.post("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "default"}})
        app.post("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "robot"}})
        assert app.post("/api/v1/namespaces/default/pods", POD).status_code == 201
        yield app


def claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_defaults(app: App) -> None:
    response = app.post(TOKEN_PATH, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest"})
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "TokenRequest" and body["metadata"]["name"] == "default"
    assert body["spec"]["expirationSeconds"] == 3600
    assert body["spec"]["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
    token = claims(body["status"]["token"])
    assert token["exp"] - token["iat"] == 3600
    assert body["status"]["expirationTimestamp"].endswith("Z")


def test_audiences_and_duration_as_asked(app: App) -> None:
    body = app.post(TOKEN_PATH, {"spec": {"audiences": ["vault"], "expirationSeconds": 7200}}).json()
    token = claims(body["status"]["token"])
    assert token["aud"] == ["vault"] and token["exp"] - token["iat"] == 7200
    # a token for another audience does not authenticate to the API
    assert app.get("/api/v1/namespaces/default/pods", token=body["status"]["token"]).status_code == 401


def test_duration_is_capped_at_48_hours_with_a_warning(app: App) -> None:
    response = app.post(TOKEN_PATH, {"spec": {"expirationSeconds": 10 * 24 * 3600}})
    assert response.status_code == 201
    assert response.json()["spec"]["expirationSeconds"] == 48 * 3600
    assert "shortened to 172800 seconds" in response.headers["warning"]


def test_bound_to_a_pod(app: App) -> None:
    uid = app.get("/api/v1/namespaces/default/pods/web").json()["metadata"]["uid"]
    body = app.post(TOKEN_PATH, {"spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web"}}}).json()
    assert body["spec"]["boundObjectRef"] == {"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": uid}
    assert claims(body["status"]["token"])["kubernetes.io"]["pod"] == {"name": "web", "uid": uid}


REFUSED = [
    pytest.param({"expirationSeconds": 599}, 422, "spec.expirationSeconds",
                 "may not specify a duration less than 10 minutes", id="under-ten-minutes"),
    pytest.param({"expirationSeconds": 2**32 + 1}, 422, "spec.expirationSeconds",
                 "may not specify a duration larger than 2^32 seconds", id="over-2^32"),
    pytest.param({"expirationSeconds": "1h"}, 422, "spec.expirationSeconds", "must be an integer", id="not-a-number"),
    pytest.param({"audiences": [""]}, 422, "spec.audiences", "non-empty", id="empty-audience"),
    pytest.param({"boundObjectRef": {"kind": "Pod"}}, 422, "spec.boundObjectRef.name", "Required value",
                 id="bound-without-name"),
    pytest.param({"boundObjectRef": {"kind": "ConfigMap", "apiVersion": "v1", "name": "x"}}, 400, None,
                 "cannot bind token to object of type /v1, Kind=ConfigMap", id="unbindable-kind"),
    pytest.param({"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "nope"}}, 404, None,
                 'pods "nope" not found', id="bound-pod-missing"),
    pytest.param({"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": "stale"}}, 409, None,
                 "does not match the UID in record", id="bound-pod-uid-stale"),
]


@pytest.mark.parametrize(("spec", "code", "field", "message"), REFUSED)
def test_refused(app: App, spec: dict[str, Any], code: int, field: str | None, message: str) -> None:
    response = app.post(TOKEN_PATH, {"spec": spec})
    assert response.status_code == code, response.text
    status = response.json()
    assert status["kind"] == "Status" and message in status["message"]
    if field is not None:
        assert [c["field"] for c in status["details"]["causes"]] == [field]
        assert status["message"].startswith('TokenRequest.authentication.k8s.io "default" is invalid: ')


def test_pod_of_another_service_account_is_refused(app: App) -> None:
    response = app.post("/api/v1/namespaces/default/serviceaccounts/robot/token",
                        {"spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web"}}})
    assert response.status_code == 400
    assert 'cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name.' in (
        response.json()["message"])


def test_missing_service_account_is_404(app: App) -> None:
    response = app.post("/api/v1/namespaces/default/serviceaccounts/ghost/token", {})
    assert response.status_code == 404 and response.json()["message"] == 'serviceaccounts "ghost" not found'


def test_only_post(app: App) -> None:
    assert app.get(TOKEN_PATH).status_code == 405


# --- TokenReview -------------------------------------------------------------------------------

REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"


def review(app: App, token: str, audiences: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"token": token}
    if audiences is not None:
        spec["audiences"] = audiences
    response = app.post(REVIEWS, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec})
    assert response.status_code == 201, response.text
    return dict(response.json()["status"])


def test_token_review_of_a_service_account_token(app: App) -> None:
    status = review(app, app.token())
    assert status["authenticated"] is True
    assert status["user"]["username"] == "system:serviceaccount:default:default"
    assert status["audiences"] == ["https://kubernetes.default.svc.cluster.local",]


def test_token_review_for_another_audience(app: App) -> None:
    vault = app.token(audiences=["vault"])
    assert review(app, vault, ["vault"])["authenticated"] is True
    assert "authenticated" not in review(app, vault)  # not for the API's audience
    assert "authenticated" not in review(app, "admin-token-for-tests", ["vault"])  # static tokens have no audience


def test_token_review_of_garbage(app: App) -> None:
    status = review(app, "garbage")
    assert status == {"user": {}, "error": "invalid bearer token"}


def test_token_review_needs_a_token(app: App) -> None:
    response = app.post(REVIEWS, {"spec": {}})
    assert response.status_code == 400
    assert response.json()["message"] == "token is required for TokenReview in authentication"


HOSTILE = [
    pytest.param([], id="not-an-object"),
    pytest.param({"kind": "Pod"}, id="wrong-kind"),
    pytest.param({"spec": {"expirationSeconds": True}}, id="bool-seconds"),
    pytest.param({"spec": {"expirationSeconds": 1e9}}, id="float-seconds"),
    pytest.param({"spec": {"audiences": "x"}}, id="audiences-string"),
    pytest.param({"spec": {"audiences": [1, None]}}, id="audiences-not-strings"),
    pytest.param({"spec": {"boundObjectRef": "pod"}}, id="ref-string"),
    pytest.param({"spec": {"boundObjectRef": {"kind": 5, "name": ["x"]}}}, id="ref-types"),
    pytest.param({"spec": {"boundObjectRef": {"kind": "Pod", "name": "web", "apiVersion": "v2"}}}, id="ref-version"),
    pytest.param({"spec": "x"}, id="spec-string"),
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_bodies_are_4xx_statuses(app: App, body: Any) -> None:
    response = app.post(TOKEN_PATH, body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["kind"] == "Status"


@pytest.mark.parametrize("body", [[], {"spec": {"token": 5}}, {"spec": {"token": "x", "audiences": "y"}},
                                  {"spec": "x"}, {"kind": "SelfSubjectReview"}])
def test_hostile_token_reviews_are_4xx_statuses(app: App, body: Any) -> None:
    response = app.post(REVIEWS, body)
    assert 400 <= response.status_code < 500, response.text
