"""The kubelet's ServiceAccount token manager: one token per pod and audience, renewed at 80 % of its life.

As Kubernetes' ``pkg/kubelet/token`` manager: a projected ``serviceAccountToken`` is requested
with TokenRequest, bound to the pod (so deleting the pod revokes it) and cached; it is
requested again once 80 % of its lifetime has passed (or after 24 hours, whichever comes
first), so a pod's token file never holds an expired token while the API server answers. If
a renewal fails the cached token is kept while it is still valid, and the renewal is retried
on the next look. Time is the injected clock's wall time (the expiry is the server's).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from apimachinery.errors import ApiError
from apimachinery.timeutil import Clock, parse_time

log = logging.getLogger(__name__)

RENEW_AT = 0.8  # of the lifetime
MAX_AGE = 24 * 3600.0  # Kubernetes renews any token older than a day


@dataclass(frozen=True)
class TokenKey:
    namespace: str
    service_account: str
    audiences: tuple[str, ...]
    seconds: int
    pod_name: str
    pod_uid: str


@dataclass(frozen=True)
class Token:
    value: str
    issued: float  # unix seconds, on the kubelet's clock
    expires: float  # unix seconds, as the server said

    def due(self, now: float) -> bool:
        """Whether it is time to request a new one."""
        lifetime = self.expires - self.issued
        return now >= self.issued + min(lifetime * RENEW_AT, MAX_AGE)

    def valid(self, now: float) -> bool:
        return now < self.expires


class TokenRequester(Protocol):
    async def request_token(self, key: TokenKey) -> tuple[str, datetime]:
        """POST ``serviceaccounts/<sa>/token`` bound to the pod; (token, expirationTimestamp)."""
        ...


class ClientTokenRequester:
    """TokenRequest over the kubelet's API client (as ``system:node:<name>`` once nodes have identities)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def request_token(self, key: TokenKey) -> tuple[str, datetime]:
        spec: dict[str, Any] = {
            "expirationSeconds": key.seconds,
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": key.pod_name, "uid": key.pod_uid},
        }
        if key.audiences:
            spec["audiences"] = list(key.audiences)
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        path = f"/api/v1/namespaces/{key.namespace}/serviceaccounts/{key.service_account}/token"
        answer = await self.client.request("POST", path, body=body)
        status = answer.get("status") or {}
        return str(status["token"]), parse_time(str(status["expirationTimestamp"]))


class TokenManager:
    def __init__(self, requester: TokenRequester, *, clock: Clock) -> None:
        self.requester = requester
        self.clock = clock
        self._tokens: dict[TokenKey, Token] = {}

    async def get(self, key: TokenKey) -> str:
        """The cached token, or a new one when it is due; ApiError if none can be had."""
        now = self.clock.time()
        cached = self._tokens.get(key)
        if cached is not None and not cached.due(now):
            return cached.value
        try:
            value, expires = await self.requester.request_token(key)
        except (ApiError, KeyError, ValueError) as err:
            if cached is not None and cached.valid(now):
                log.warning("cannot renew the token of pod %s/%s (keeping the current one): %s",
                            key.namespace, key.pod_name, err)
                return cached.value
            raise
        self._tokens[key] = Token(value, issued=now, expires=expires.timestamp())
        return value

    def due(self, key: TokenKey) -> bool:
        cached = self._tokens.get(key)
        return cached is None or cached.due(self.clock.time())

    def forget(self, pod_uid: str) -> None:
        for key in [k for k in self._tokens if k.pod_uid == pod_uid]:
            del self._tokens[key]

    def keys(self, pod_uid: str) -> Sequence[TokenKey]:
        return [k for k in self._tokens if k.pod_uid == pod_uid]
