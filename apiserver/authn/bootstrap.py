"""Bootstrap-token authentication, as kube-apiserver's ``--enable-bootstrap-token-auth``.

A token ``<id>.<secret>`` whose Secret ``kube-system/bootstrap-token-<id>`` exists (not being
deleted), has type ``bootstrap.kubernetes.io/token``, the same id and secret, no past
``expiration`` and ``usage-bootstrap-authentication: "true"`` is the user
``system:bootstrap:<id>`` in ``system:bootstrappers`` plus its ``auth-extra-groups`` (each must
match ``system:bootstrappers:*``, or the token is refused, as Kubernetes does). Anything else
declines, so the client sees the same 401 whatever went wrong. The Secret is read on every
request: deleting it (``podvisor token delete``) takes effect at once.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apimachinery import bootstraptoken as bt
from apiserver.authn.user import AUTHENTICATED, BOOTSTRAPPERS, UserInfo

USER_PREFIX = "system:bootstrap:"

#: (namespace, name) -> the Secret as stored, or None
SecretLookup = Callable[[str, str], dict[str, Any] | None]


class BootstrapTokens:
    def __init__(self, lookup: SecretLookup, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._lookup = lookup
        self._now = now

    def authenticate(self, token: str) -> UserInfo | None:
        parsed = bt.parse(token)
        if parsed is None:
            return None
        secret = self._lookup(bt.NAMESPACE, parsed.secret_name)
        if secret is None or (secret.get("metadata") or {}).get("deletionTimestamp"):
            return None
        if secret.get("type") != bt.SECRET_TYPE:
            return None
        fields = bt.secret_fields(secret)
        if not hmac.compare_digest(fields.get(bt.SECRET_KEY, "").encode(), parsed.secret.encode()):
            return None
        if fields.get(bt.ID_KEY) != parsed.id or expired(fields, self._now()):
            return None
        if fields.get(bt.USAGE_AUTHENTICATION) != "true":
            return None
        extra = extra_groups(fields)
        if extra is None:
            return None
        return UserInfo(USER_PREFIX + parsed.id, groups=(BOOTSTRAPPERS, *extra, AUTHENTICATED))


def expired(fields: dict[str, str], now: datetime) -> bool:
    """Past its ``expiration``; an unparseable expiration counts as expired (fail closed)."""
    text = fields.get(bt.EXPIRATION_KEY, "")
    if not text:
        return False
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return True
    if moment.tzinfo is None:
        return True
    return now >= moment


def extra_groups(fields: dict[str, str]) -> tuple[str, ...] | None:
    """The ``auth-extra-groups``, or None when one of them is not a bootstrappers group."""
    raw = [g.strip() for g in fields.get(bt.EXTRA_GROUPS_KEY, "").split(",") if g.strip()]
    if any(not bt.EXTRA_GROUP_PATTERN.match(g) for g in raw):
        return None
    return tuple(dict.fromkeys(g for g in raw if g != BOOTSTRAPPERS))
