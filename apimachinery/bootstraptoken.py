"""Bootstrap tokens in kubeadm's format: ``<id>.<secret>`` kept in a ``kube-system`` Secret.

A token is six then sixteen characters of ``[a-z0-9]``; its Secret is named
``bootstrap-token-<id>``, of type ``bootstrap.kubernetes.io/token``, and holds ``token-id``,
``token-secret``, an optional RFC 3339 ``expiration``, ``usage-bootstrap-authentication`` and
``auth-extra-groups`` (comma-separated, each ``system:bootstrappers:...``). The same shape as
kubeadm's, so ``kubeadm token``-style tools and habits carry over. Shared by the API server
(authentication) and ``podvisor token`` (creation, listing).
"""

from __future__ import annotations

import base64
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SECRET_TYPE = "bootstrap.kubernetes.io/token"
NAMESPACE = "kube-system"
NAME_PREFIX = "bootstrap-token-"
TOKEN_PATTERN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
EXTRA_GROUP_PATTERN = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")
ID_KEY, SECRET_KEY, EXPIRATION_KEY = "token-id", "token-secret", "expiration"
DESCRIPTION_KEY, EXTRA_GROUPS_KEY = "description", "auth-extra-groups"
USAGE_AUTHENTICATION = "usage-bootstrap-authentication"
USAGE_SIGNING = "usage-bootstrap-signing"
_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class BootstrapToken:
    id: str
    secret: str

    def __str__(self) -> str:
        return f"{self.id}.{self.secret}"

    @property
    def secret_name(self) -> str:
        return NAME_PREFIX + self.id


def parse(token: str) -> BootstrapToken | None:
    """The token's parts, or None when it is not in the bootstrap format."""
    match = TOKEN_PATTERN.match(token)
    return BootstrapToken(match.group(1), match.group(2)) if match else None


def generate() -> BootstrapToken:
    """A new random token (about 83 bits in the secret, as kubeadm's)."""
    pick = lambda n: "".join(secrets.choice(_ALPHABET) for _ in range(n))  # noqa: E731
    return BootstrapToken(pick(6), pick(16))


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def secret_for(token: BootstrapToken, *, now: datetime, ttl: timedelta | None, description: str = "",
               extra_groups: tuple[str, ...] = ()) -> dict[str, Any]:
    """The Secret that stores ``token`` (``ttl`` None: it never expires, as kubeadm's ``--ttl 0``)."""
    fields = {ID_KEY: token.id, SECRET_KEY: token.secret, USAGE_AUTHENTICATION: "true", USAGE_SIGNING: "true"}
    if ttl is not None:
        fields[EXPIRATION_KEY] = format_time(now + ttl)
    if description:
        fields[DESCRIPTION_KEY] = description
    if extra_groups:
        fields[EXTRA_GROUPS_KEY] = ",".join(extra_groups)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": token.secret_name, "namespace": NAMESPACE},
        "type": SECRET_TYPE,
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in fields.items()},
    }


def secret_fields(secret: dict[str, Any]) -> dict[str, str]:
    """A Secret's data decoded (``stringData`` too, which a client may have written instead)."""
    out: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(str(value), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            continue
    out.update({k: str(v) for k, v in (secret.get("stringData") or {}).items()})
    return out


def parse_ttl(text: str) -> timedelta | None:
    """``24h``, ``90m``, ``1h30m``, ``45s``; ``0`` means never expires (None)."""
    if text.strip() in ("0", "0s"):
        return None
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text.strip())
    if not match or not any(match.groups()):
        raise ValueError(f"invalid duration {text!r} (use e.g. 24h, 90m, 1h30m, 0 for never)")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)
