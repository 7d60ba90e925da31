"""Bearer-token authenticators: each maps a token to a user or declines; a chain asks each in turn.

As kube-apiserver's union authenticator: the first authenticator that recognises a token
decides. An authenticator declines (``None``) a token that is not its kind; one that is its
kind but invalid (expired, revoked, bad signature) declines too, so the answer is a plain 401
whatever the reason: a client learns nothing about which tokens exist.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Protocol

from apiserver.authn.user import UserInfo


class Authenticator(Protocol):
    def authenticate(self, token: str) -> UserInfo | None: ...


class StaticTokens:
    """Tokens from files in the data directory (admin, components), compared in constant time."""

    def __init__(self, tokens: Mapping[str, UserInfo]) -> None:
        self._tokens = [(token.encode(), user) for token, user in tokens.items()]

    def authenticate(self, token: str) -> UserInfo | None:
        given = token.encode()
        found = None
        for known, user in self._tokens:  # no early exit: every comparison costs the same
            if hmac.compare_digest(known, given):
                found = user
        return found


class Union:
    def __init__(self, authenticators: Sequence[Authenticator]) -> None:
        self.authenticators = tuple(authenticators)

    def authenticate(self, token: str) -> UserInfo | None:
        for authenticator in self.authenticators:
            user = authenticator.authenticate(token)
            if user is not None:
                return user
        return None
