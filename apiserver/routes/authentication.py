"""authentication.k8s.io: TokenReview and SelfSubjectReview, and wiring ServiceAccount tokens in.

``SelfSubjectReview`` answers who the caller is (``kubectl auth whoami``). ``TokenReview`` asks
whether a token is valid and for whom, as a webhook authenticator or an aggregated server
would (Kubernetes requires ``create tokenreviews`` for it: the authorizer's business). A
token review names the audiences it wants; audience-unaware credentials (static tokens) count
only when those audiences include the API server's, as in Kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request

from apimachinery.errors import bad_request
from apiserver.authn.satoken import TokenIssuer
from apiserver.authn.user import ANONYMOUS, UNAUTHENTICATED, UserInfo, user_of

Obj = dict[str, Any]
#: (token, audiences) -> the user, or None
ReviewAuthenticator = Callable[[str, Sequence[str]], UserInfo | None]


def self_subject_review(request: Request, body: Obj) -> Obj:
    user = user_of(request.scope) or UserInfo(ANONYMOUS, groups=(UNAUTHENTICATED,))
    return {**body, "metadata": {"creationTimestamp": None}, "status": {"userInfo": user.as_review()}}


def token_reviewer(authenticate: ReviewAuthenticator, api_audiences: Sequence[str]) -> Callable[[Request, Obj], Obj]:
    def token_review(request: Request, body: Obj) -> Obj:
        spec = body["spec"] if isinstance(body.get("spec"), dict) else {}
        token = spec.get("token")
        if not isinstance(token, str) or not token:
            raise bad_request("token is required for TokenReview in authentication")
        wanted = spec.get("audiences") or list(api_audiences)
        if not isinstance(wanted, list) or not all(isinstance(a, str) for a in wanted):
            raise bad_request("spec.audiences must be a list of strings")
        user = authenticate(token, wanted)
        status: Obj = {"user": {}}
        if user is None:
            status["error"] = "invalid bearer token"
        else:
            status.update(authenticated=True, user=user.as_review(), audiences=wanted)
        return {**body, "metadata": {"creationTimestamp": None}, "status": status}

    return token_review


def install(app: FastAPI, *, issuer: TokenIssuer | None, review_authenticator: ReviewAuthenticator | None,
            api_audiences: Sequence[str]) -> None:
    """Serve TokenRequest (with ``issuer``), TokenReview and SelfSubjectReview on ``app``."""
    app.state.token_issuer = issuer
    app.state.api_audiences = tuple(api_audiences)
    app.state.reviews["SelfSubjectReview"] = self_subject_review
    if review_authenticator is not None:
        app.state.reviews["TokenReview"] = token_reviewer(review_authenticator, api_audiences)
