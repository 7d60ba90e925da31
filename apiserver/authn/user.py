"""The identity authentication establishes, as Kubernetes' ``user.Info``: name, uid, groups, extra.

The authentication middleware leaves it in ``scope["state"]["user"]`` and in
:data:`current_user`, so the authorizer, admission plugins and the audit log read one value
instead of re-parsing headers. Requests served without authentication (tests, in-process
callers) have no user: :func:`user_of` answers ``None`` and nothing downstream assumes one.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

SYSTEM_MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
NODES = "system:nodes"
NODE_PREFIX = "system:node:"
SERVICE_ACCOUNTS = "system:serviceaccounts"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
BOOTSTRAPPERS = "system:bootstrappers"
ANONYMOUS = "system:anonymous"


@dataclass(frozen=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def in_group(self, group: str) -> bool:
        return group in self.groups

    @property
    def node_name(self) -> str | None:
        """``system:node:<name>`` in ``system:nodes`` -> ``<name>``; anyone else -> None."""
        if self.name.startswith(NODE_PREFIX) and NODES in self.groups:
            return self.name.removeprefix(NODE_PREFIX) or None
        return None

    def as_review(self) -> dict[str, Any]:
        """The ``userInfo`` of a SelfSubjectReview / TokenReview / audit event."""
        out: dict[str, Any] = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            out["uid"] = self.uid
        if self.extra:
            out["extra"] = {key: list(values) for key, values in self.extra.items()}
        return out


#: The user of the request being served (set by the authentication middleware).
current_user: ContextVar[UserInfo | None] = ContextVar("current_user", default=None)


def user_of(scope: MutableMapping[str, Any]) -> UserInfo | None:
    user = scope.get("state", {}).get("user")
    return user if isinstance(user, UserInfo) else None


def set_user(scope: MutableMapping[str, Any], user: UserInfo) -> None:
    scope.setdefault("state", {})["user"] = user
    current_user.set(user)
