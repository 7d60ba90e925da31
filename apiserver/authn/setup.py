"""The server's authentication, assembled: static tokens, ServiceAccount tokens, then any others.

:func:`build` gives the authenticator the middleware runs and :meth:`Authentication.install`
serves TokenRequest, TokenReview and SelfSubjectReview with the same keys and audiences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from apiserver.authn import satoken
from apiserver.authn.serviceaccount import ServiceAccountTokens, store_lookup
from apiserver.authn.tokens import Authenticator, StaticTokens, Union
from apiserver.authn.user import UserInfo
from apiserver.routes import authentication
from apiserver.store.base import Store


@dataclass(frozen=True)
class Authentication:
    static: StaticTokens
    service_accounts: ServiceAccountTokens
    issuer: satoken.TokenIssuer
    audiences: tuple[str, ...]
    extra: tuple[Authenticator, ...] = ()  # bootstrap tokens, node credentials

    @property
    def authenticator(self) -> Union:
        return Union([self.static, self.service_accounts, *self.extra])

    def review(self, token: str, audiences: Sequence[str]) -> UserInfo | None:
        """TokenReview: ServiceAccount tokens for the audiences asked; the other tokens, which
        carry no audience, only when the API server's own audiences are among them."""
        user = self.service_accounts.authenticate_for(token, audiences)
        if user is None and set(audiences) & set(self.audiences):
            user = Union([self.static, *self.extra]).authenticate(token)
        return user

    def install(self, app: FastAPI) -> None:
        authentication.install(app, issuer=self.issuer, review_authenticator=self.review, api_audiences=self.audiences)


def build(store: Store, data_dir: Path, users: Mapping[str, UserInfo], *, issuer: str = satoken.DEFAULT_ISSUER,
          audiences: Sequence[str] = satoken.DEFAULT_AUDIENCES, extra: Sequence[Authenticator] = ()) -> Authentication:
    """``users`` maps static tokens to users; the ServiceAccount key pair lives in ``data_dir``.

    The API accepts tokens for its audiences and for its issuer URL (as Kubernetes adds the
    issuer to the default audiences)."""
    key = satoken.ensure_signing_key(data_dir)
    accepted = tuple(dict.fromkeys([*audiences, issuer]))
    tokens = ServiceAccountTokens(key.public_key(), lookup=store_lookup(store), issuer=issuer, audiences=accepted)
    return Authentication(static=StaticTokens(users), service_accounts=tokens,
                          issuer=satoken.TokenIssuer(key, issuer=issuer), audiences=accepted, extra=tuple(extra))
