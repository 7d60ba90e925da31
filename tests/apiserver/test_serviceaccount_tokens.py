"""ServiceAccount tokens: what a token must be to authenticate, and what revokes it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from apiserver.authn import satoken
from apiserver.authn.satoken import Ref, TokenIssuer
from apiserver.authn.serviceaccount import ServiceAccountTokens
from tests.apiserver.serviceaccount_app import App, serviceaccount_app

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AUD = satoken.DEFAULT_AUDIENCES[0]
KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
SA = Ref("default", "sa-uid")


def issued(*, key: ec.EllipticCurvePrivateKey = KEY, issuer: str = satoken.DEFAULT_ISSUER,
           audiences: tuple[str, ...] = (AUD,), seconds: int = 3600) -> str:
    token, _ = TokenIssuer(key, issuer=issuer, clock=lambda: T0).issue(
        namespace="ns", service_account=SA, audiences=audiences, expiration_seconds=seconds)
    return token


def tampered() -> str:
    header, payload, signature = issued().split(".")
    claims = jwt.decode(issued(), options={"verify_signature": False})
    claims["sub"] = "system:serviceaccount:kube-system:default"
    forged = jwt.encode(claims, OTHER_KEY, algorithm="ES256").split(".")[1]
    return ".".join([header, forged, signature])


def none_algorithm() -> str:
    claims = jwt.decode(issued(), options={"verify_signature": False})
    return jwt.encode(claims, key="", algorithm="none")


VERIFY_CASES = [
    pytest.param(issued(), T0 + timedelta(seconds=10), True, id="fresh"),
    pytest.param(issued(), T0 + timedelta(seconds=3600 + 59), True, id="within-the-minute-of-leeway"),
    pytest.param(issued(), T0 + timedelta(seconds=3600 + 61), False, id="expired"),
    pytest.param(issued(), T0 - timedelta(seconds=120), False, id="not-yet-valid"),
    pytest.param(issued(audiences=("https://vault.example",)), T0, False, id="other-audience"),
    pytest.param(issued(audiences=("https://vault.example", AUD)), T0, True, id="one-audience-matches"),
    pytest.param(issued(issuer="https://other.issuer"), T0, False, id="other-issuer"),
    pytest.param(issued(key=OTHER_KEY), T0, False, id="signed-by-another-key"),
    pytest.param(tampered(), T0, False, id="payload-swapped"),
    pytest.param(none_algorithm(), T0, False, id="alg-none"),
    pytest.param("not-a-jwt", T0, False, id="static-token"),
]


@pytest.mark.parametrize(("token", "now", "valid"), VERIFY_CASES)
def test_verify(token: str, now: datetime, valid: bool) -> None:
    claims = satoken.verify(token, public=KEY.public_key(), issuer=satoken.DEFAULT_ISSUER, audiences=[AUD],
                            clock=lambda: now)
    assert (claims is not None) == valid
    if claims is not None:
        assert claims.subject == "system:serviceaccount:ns:default"
        assert claims.service_account == SA


def test_claims_are_kubernetes_bound_token_claims() -> None:
    token, _ = TokenIssuer(KEY, clock=lambda: T0).issue(
        namespace="ns", service_account=SA, audiences=[AUD], expiration_seconds=600,
        pod=Ref("web", "pod-uid"), node=Ref("n1", "node-uid"))
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "ES256" and header["kid"] == satoken.key_id(KEY.public_key())
    now = int(T0.timestamp())
    assert {k: claims[k] for k in ("iss", "sub", "aud", "iat", "nbf", "exp")} == {
        "iss": satoken.DEFAULT_ISSUER, "sub": "system:serviceaccount:ns:default", "aud": [AUD],
        "iat": now, "nbf": now, "exp": now + 600}
    assert claims["kubernetes.io"] == {"namespace": "ns", "serviceaccount": {"name": "default", "uid": "sa-uid"},
                                       "pod": {"name": "web", "uid": "pod-uid"},
                                       "node": {"name": "n1", "uid": "node-uid"}}
    assert claims["jti"]


def test_signing_key_is_created_once_and_private(tmp_path: Path) -> None:
    first = satoken.ensure_signing_key(tmp_path)
    again = satoken.ensure_signing_key(tmp_path)
    assert satoken.key_id(first.public_key()) == satoken.key_id(again.public_key())
    for name in ("sa.key", "sa.pub"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


# --- liveness of the objects a token names -----------------------------------------------------

OBJECTS = {
    ("ServiceAccount", "ns", "default"): {"metadata": {"uid": "sa-uid"}},
    ("Pod", "ns", "web"): {"metadata": {"uid": "pod-uid"}},
}


def authenticator(objects: dict[tuple[str, str, str], dict[str, object]]) -> ServiceAccountTokens:
    return ServiceAccountTokens(KEY.public_key(), lookup=lambda kind, ns, name: objects.get((kind, ns, name)),
                                clock=lambda: T0)


def pod_token() -> str:
    token, _ = TokenIssuer(KEY, clock=lambda: T0).issue(namespace="ns", service_account=SA, audiences=[AUD],
                                                        expiration_seconds=3600, pod=Ref("web", "pod-uid"))
    return token


LIVENESS_CASES = [
    pytest.param(OBJECTS, True, id="all-there"),
    pytest.param({k: v for k, v in OBJECTS.items() if k[0] != "ServiceAccount"}, False, id="sa-deleted"),
    pytest.param({**OBJECTS, ("ServiceAccount", "ns", "default"): {"metadata": {"uid": "new"}}}, False,
                 id="sa-recreated"),
    pytest.param({k: v for k, v in OBJECTS.items() if k[0] != "Pod"}, False, id="pod-deleted"),
    pytest.param({**OBJECTS, ("Pod", "ns", "web"): {"metadata": {"uid": "other"}}}, False, id="pod-recreated"),
    pytest.param({**OBJECTS, ("Pod", "ns", "web"): {"metadata": {"uid": "pod-uid",
                                                                  "deletionTimestamp": "2026-12-01T11:59:00Z"}}},
                 False, id="pod-past-its-grace-period"),
    pytest.param({**OBJECTS, ("Pod", "ns", "web"): {"metadata": {"uid": "pod-uid",
                                                                  "deletionTimestamp": "2026-12-01T12:00:30Z"}}},
                 True, id="pod-terminating-gracefully"),
]


@pytest.mark.parametrize(("objects", "valid"), LIVENESS_CASES)
def test_token_lives_only_as_long_as_its_objects(objects: dict[tuple[str, str, str], dict[str, object]],
                                                 valid: bool) -> None:
    user = authenticator(objects).authenticate(pod_token())
    assert (user is not None) == valid


def test_user_of_a_pod_bound_token() -> None:
    user = authenticator(OBJECTS).authenticate(pod_token())
    assert user is not None
    assert user.name == "system:serviceaccount:ns:default" and user.uid == "sa-uid"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated")
    assert user.extra["authentication.kubernetes.io/pod-name"] == ("web",)
    assert user.extra["authentication.kubernetes.io/pod-uid"] == ("pod-uid",)
    assert user.extra["authentication.kubernetes.io/credential-id"][0].startswith("JTI=")


# --- through the API ---------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    with serviceaccount_app(tmp_path) as app:
        app.post("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "default"}})
        yield app


def whoami(app: App, token: str) -> dict[str, object]:
    response = app.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, token=token)
    assert response.status_code == 201, response.text
    return dict(response.json()["status"]["userInfo"])


def test_a_requested_token_authenticates_as_the_service_account(app: App) -> None:
    token = app.token()
    listing = app.get("/api/v1/namespaces/default/pods", token=token)
    assert listing.status_code == 403  # authenticated as itself, and no role grants it this
    assert 'User "system:serviceaccount:default:default" cannot list resource "pods"' in listing.json()["message"]
    sa_uid = app.get("/api/v1/namespaces/default/serviceaccounts/default").json()["metadata"]["uid"]
    info = whoami(app, token)
    assert info["username"] == "system:serviceaccount:default:default" and info["uid"] == sa_uid
    assert info["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]


def test_deleting_the_service_account_revokes_its_tokens(app: App) -> None:
    token = app.token()
    assert app.delete("/api/v1/namespaces/default/serviceaccounts/default").status_code == 200
    response = app.get("/api/v1/namespaces/default/pods", token=token)
    assert response.status_code == 401 and response.json()["reason"] == "Unauthorized"
    app.post("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "default"}})
    assert app.get("/api/v1/namespaces/default/pods", token=token).status_code == 401  # a new uid


def test_deleting_the_bound_pod_revokes_its_token(app: App) -> None:
    pod = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    assert app.post("/api/v1/namespaces/default/pods", pod).status_code == 201
    token = app.token(boundObjectRef={"kind": "Pod", "apiVersion": "v1", "name": "web"})
    assert whoami(app, token)["extra"]["authentication.kubernetes.io/pod-name"] == ["web"]  # type: ignore[index]
    app.client.delete("/api/v1/namespaces/default/pods/web?gracePeriodSeconds=0", headers=app.as_admin())
    assert app.get("/api/v1/namespaces/default/pods", token=token).status_code == 401


def test_the_admin_is_admin(app: App) -> None:
    assert whoami(app, "admin-token-for-tests") == {"username": "admin",
                                                    "groups": ["system:masters", "system:authenticated"]}
