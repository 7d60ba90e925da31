"""Per-node bearer credentials: issued once at join, stored hashed, revoked by deleting a Secret.

A node's token is ``pvnode.<node name>.<secret>`` (256 random bits). The API server keeps only
the SHA-256 of the secret, in the Secret ``kube-system/node-credential-<node name>`` of type
``podvisor.io/node-credential``; the token names its node so one Secret is read per request,
whatever the number of nodes. A match is the user ``system:node:<name>`` in ``system:nodes``,
the identity the Node authorizer and NodeRestriction key on. Deleting the Secret (``kubectl
delete secret -n kube-system node-credential-<name>`` or ``podvisor node revoke <name>``) makes
the next request of that node a 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from apiserver.authn.bootstrap import SecretLookup
from apiserver.authn.user import AUTHENTICATED, NODE_PREFIX, NODES, UserInfo

NAMESPACE = "kube-system"
NAME_PREFIX = "node-credential-"
SECRET_TYPE = "podvisor.io/node-credential"
TOKEN_PREFIX = "pvnode."
NODE_KEY, HASH_KEY = "node-name", "token-hash"


def secret_name(node: str) -> str:
    return NAME_PREFIX + node


def new_token(node: str) -> tuple[str, str]:
    """(the token handed to the node, the hash the server keeps)."""
    secret = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}{node}.{secret}", _digest(secret)


def credential_secret(node: str, digest: str) -> dict[str, Any]:
    data = {NODE_KEY: node, HASH_KEY: digest}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(node), "namespace": NAMESPACE,
                     "labels": {"podvisor.io/node-credential": "true"}},
        "type": SECRET_TYPE,
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _field(secret: dict[str, Any], key: str) -> str:
    try:
        return base64.b64decode(str((secret.get("data") or {}).get(key, "")), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


class NodeCredentials:
    def __init__(self, lookup: SecretLookup) -> None:
        self._lookup = lookup

    def authenticate(self, token: str) -> UserInfo | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        node, dot, secret = token[len(TOKEN_PREFIX):].rpartition(".")
        if not node or not dot or not secret:
            return None
        stored = self._lookup(NAMESPACE, secret_name(node))
        if stored is None or stored.get("type") != SECRET_TYPE or (stored.get("metadata") or {}).get("deletionTimestamp"):
            return None
        if _field(stored, NODE_KEY) != node:
            return None
        if not hmac.compare_digest(_field(stored, HASH_KEY).encode(), _digest(secret).encode()):
            return None
        return UserInfo(NODE_PREFIX + node, groups=(NODES, AUTHENTICATED))
