"""ServiceAccount tokens: signed JWTs with Kubernetes' bound-token claims, issued and verified.

The signing key pair (``sa.key`` / ``sa.pub``, EC P-256, ES256) is created in the data directory
at first start, both files 0600, and reused afterwards, so tokens outlive a server restart. The
claims are those of Kubernetes' bound tokens (``pkg/serviceaccount/claims.go``)::

    iss, sub = system:serviceaccount:<ns>:<name>, aud, exp, iat, nbf, jti,
    kubernetes.io: {namespace, serviceaccount: {name, uid}, pod?: {name, uid},
                    secret?: {name, uid}, node?: {name, uid}}

:func:`verify` checks only what the token itself says (signature, issuer, audience, time);
whether the ServiceAccount and the bound objects still exist is the authenticator's question
(:mod:`apiserver.authn.serviceaccount`). Time comes from an injected clock, so expiry is tested
without waiting.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from apimachinery.files import write_atomic

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_AUDIENCES = ("https://kubernetes.default.svc.cluster.local",)
ALGORITHM = "ES256"
#: Kubernetes accepts a token up to a minute past ``exp`` and before ``nbf`` (clock skew).
LEEWAY = 60
KEY_FILE, PUBLIC_FILE = "sa.key", "sa.pub"

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Ref:
    """A named object a token is about: the ServiceAccount, or the Pod/Secret/Node it is bound to."""

    name: str
    uid: str


@dataclass(frozen=True)
class Claims:
    """The private ``kubernetes.io`` claims plus the registered ones that vary per token."""

    namespace: str
    service_account: Ref
    audiences: tuple[str, ...]
    expires: int  # unix seconds
    issued: int
    jti: str = ""
    pod: Ref | None = None
    secret: Ref | None = None
    node: Ref | None = None

    @property
    def subject(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account.name}"


# --- keys ------------------------------------------------------------------------------------


def ensure_signing_key(data_dir: Path) -> ec.EllipticCurvePrivateKey:
    """``sa.key`` (PKCS#8) and ``sa.pub`` in ``data_dir``, created on first use, both 0600."""
    key_path, pub_path = data_dir / KEY_FILE, data_dir / PUBLIC_FILE
    key: ec.EllipticCurvePrivateKey | None = None
    try:
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        key = loaded if isinstance(loaded, ec.EllipticCurvePrivateKey) else None
    except (OSError, ValueError, TypeError):
        key = None
    if key is None:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        write_atomic(key_path, pem)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    if not pub_path.exists() or pub_path.read_bytes() != public:
        write_atomic(pub_path, public)
    key_path.chmod(0o600)
    pub_path.chmod(0o600)
    return key


def key_id(public: ec.EllipticCurvePublicKey) -> str:
    """Kubernetes' ``kid``: the unpadded URL-safe base64 of the SHA-256 of the DER public key."""
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


# --- issuing ---------------------------------------------------------------------------------


def _ref(ref: Ref | None) -> dict[str, str] | None:
    return {"name": ref.name, "uid": ref.uid} if ref is not None else None


def payload(claims: Claims, *, issuer: str) -> dict[str, Any]:
    private: dict[str, Any] = {"namespace": claims.namespace, "serviceaccount": _ref(claims.service_account)}
    for name, ref in (("pod", claims.pod), ("secret", claims.secret), ("node", claims.node)):
        if ref is not None:
            private[name] = _ref(ref)
    return {
        "aud": list(claims.audiences),
        "exp": claims.expires,
        "iat": claims.issued,
        "nbf": claims.issued,
        "iss": issuer,
        "jti": claims.jti,
        "sub": claims.subject,
        "kubernetes.io": private,
    }


class TokenIssuer:
    """Signs tokens with the ServiceAccount key: ``issue(...)`` -> (token, Claims)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, *, issuer: str = DEFAULT_ISSUER,
                 clock: Clock = _now) -> None:
        self.key = key
        self.issuer = issuer
        self.clock = clock
        self.kid = key_id(key.public_key())

    def issue(self, *, namespace: str, service_account: Ref, audiences: Sequence[str], expiration_seconds: int,
              pod: Ref | None = None, secret: Ref | None = None, node: Ref | None = None) -> tuple[str, Claims]:
        now = int(self.clock().timestamp())
        claims = Claims(namespace=namespace, service_account=service_account, audiences=tuple(audiences),
                        expires=now + expiration_seconds, issued=now, jti=str(uuid.uuid4()),
                        pod=pod, secret=secret, node=node)
        token = jwt.encode(payload(claims, issuer=self.issuer), self.key, algorithm=ALGORITHM,
                           headers={"kid": self.kid})
        return token, claims


# --- verifying -------------------------------------------------------------------------------


def _parse_ref(value: Any) -> Ref | None:
    if not isinstance(value, dict):
        return None
    name, uid = value.get("name"), value.get("uid")
    return Ref(name, uid) if isinstance(name, str) and isinstance(uid, str) and name else None


def verify(token: str, *, public: ec.EllipticCurvePublicKey, issuer: str, audiences: Sequence[str],
           clock: Clock = _now) -> Claims | None:
    """The claims of a token this server signed for one of ``audiences``, still in its lifetime;
    None for anything else (another issuer's JWT, a static token, a forged or expired one)."""
    try:
        data = jwt.decode(
            token, public, algorithms=[ALGORITHM], issuer=issuer, audience=list(audiences),
            options={"require": ["exp", "iat", "nbf", "iss", "sub", "aud"], "verify_exp": False,
                     "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        return None
    now = clock().timestamp()
    try:
        expires, issued, not_before = int(data["exp"]), int(data["iat"]), int(data["nbf"])
    except (TypeError, ValueError):
        return None
    if now > expires + LEEWAY or now < not_before - LEEWAY:
        return None
    private = data.get("kubernetes.io")
    if not isinstance(private, dict) or not isinstance(private.get("namespace"), str):
        return None
    service_account = _parse_ref(private.get("serviceaccount"))
    if service_account is None:
        return None
    aud = data["aud"]
    claims = Claims(namespace=private["namespace"], service_account=service_account,
                    audiences=tuple(aud if isinstance(aud, list) else [aud]), expires=expires, issued=issued,
                    jti=str(data.get("jti") or ""), pod=_parse_ref(private.get("pod")),
                    secret=_parse_ref(private.get("secret")), node=_parse_ref(private.get("node")))
    return claims if data["sub"] == claims.subject else None
