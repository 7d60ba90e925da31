"""The ServiceAccount token authenticator: a valid signature is not enough, the objects must live.

As Kubernetes' bound-token validator: after :func:`~apiserver.authn.satoken.verify` accepts the
token, the ServiceAccount it names must still exist with the uid in the token, and so must the
Pod, Secret or Node it is bound to. Deleting any of them revokes every token issued for it at
once (the next request is a 401), without a revocation list. A bound Pod whose graceful
deletion deadline has passed counts as deleted.

The user is ``system:serviceaccount:<ns>:<name>`` with the ServiceAccount's uid, the groups
``system:serviceaccounts``, ``system:serviceaccounts:<ns>`` and ``system:authenticated``, and
the ``authentication.kubernetes.io/*`` extra Kubernetes sets (credential id, bound pod, node).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from apimachinery import resources as res
from apimachinery.timeutil import parse_time
from apiserver.authn import satoken
from apiserver.authn.satoken import Claims, Clock, Ref
from apiserver.authn.user import AUTHENTICATED, SERVICE_ACCOUNT_PREFIX, SERVICE_ACCOUNTS, UserInfo
from apiserver.registry import object_key
from apiserver.store.base import Store

#: (kind, namespace, name) -> the stored object, or None
Lookup = Callable[[str, str, str], dict[str, Any] | None]

EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"
EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name"
EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid"
EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name"
EXTRA_NODE_UID = "authentication.kubernetes.io/node-uid"


def store_lookup(store: Store) -> Lookup:
    """Reads straight from the store (no cache): a deletion revokes on the very next request."""

    def lookup(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        rt = res.by_kind(kind)
        if rt is None:
            return None
        kv = store.get(object_key(rt, namespace if rt.namespaced else None, name))
        return kv.value if kv is not None else None

    return lookup


def service_account_user(claims: Claims) -> UserInfo:
    namespace, sa = claims.namespace, claims.service_account
    extra: dict[str, tuple[str, ...]] = {}
    if claims.jti:
        extra[EXTRA_CREDENTIAL_ID] = (f"JTI={claims.jti}",)
    if claims.pod is not None:
        extra[EXTRA_POD_NAME], extra[EXTRA_POD_UID] = (claims.pod.name,), (claims.pod.uid,)
    if claims.node is not None:
        extra[EXTRA_NODE_NAME], extra[EXTRA_NODE_UID] = (claims.node.name,), (claims.node.uid,)
    return UserInfo(
        f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{sa.name}", uid=sa.uid,
        groups=(SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{namespace}", AUTHENTICATED), extra=extra,
    )


class ServiceAccountTokens:
    """``Authenticator`` for tokens signed with the ServiceAccount key, for the API's audiences."""

    def __init__(self, public: ec.EllipticCurvePublicKey, *, lookup: Lookup, issuer: str = satoken.DEFAULT_ISSUER,
                 audiences: Sequence[str] = satoken.DEFAULT_AUDIENCES, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.public = public
        self.lookup = lookup
        self.issuer = issuer
        self.audiences = tuple(audiences)
        self.clock = clock

    def authenticate(self, token: str) -> UserInfo | None:
        return self.authenticate_for(token, self.audiences)

    def authenticate_for(self, token: str, audiences: Sequence[str]) -> UserInfo | None:
        """As :meth:`authenticate`, for a token meant for one of ``audiences`` (TokenReview)."""
        if token.count(".") != 2:
            return None  # not a JWT: spare the parse
        claims = satoken.verify(token, public=self.public, issuer=self.issuer, audiences=audiences, clock=self.clock)
        if claims is None or not self._alive(claims):
            return None
        return service_account_user(claims)

    def _alive(self, claims: Claims) -> bool:
        namespace = claims.namespace
        if not self._exists("ServiceAccount", namespace, claims.service_account):
            return False
        if claims.pod is not None and not self._exists("Pod", namespace, claims.pod):
            return False
        if claims.secret is not None and not self._exists("Secret", namespace, claims.secret):
            return False
        # A node named alongside a pod is informational; a token bound to the node alone needs it.
        return claims.pod is not None or claims.node is None or self._exists("Node", "", claims.node)

    def _exists(self, kind: str, namespace: str, ref: Ref) -> bool:
        obj = self.lookup(kind, namespace, ref.name)
        if obj is None:
            return False
        meta = obj.get("metadata") or {}
        if meta.get("uid") != ref.uid:
            return False  # deleted and re-created under the same name
        deleting = parse_time(str(meta["deletionTimestamp"])) if meta.get("deletionTimestamp") else None
        return deleting is None or deleting > self.clock()
