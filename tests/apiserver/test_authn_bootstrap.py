"""Bootstrap-token authentication: kubeadm's Secret format, every way a token can be refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apimachinery import bootstraptoken as bt
from apiserver.authn.bootstrap import BootstrapTokens
from apiserver.authn.user import AUTHENTICATED, BOOTSTRAPPERS

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TOKEN = bt.BootstrapToken("abcdef", "0123456789abcdef")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(**changes: Any) -> dict[str, Any]:
    """The Secret of TOKEN, valid for an hour; ``changes`` replace data fields (None removes one)."""
    body = bt.secret_for(TOKEN, now=NOW, ttl=timedelta(hours=1))
    for key, value in changes.items():
        key = key.replace("_", "-")
        if value is None:
            body["data"].pop(key, None)
        else:
            body["data"][key] = b64(value)
    return body


def authenticate(stored: dict[str, Any] | None, presented: str = str(TOKEN), now: datetime = NOW) -> Any:
    secrets = {} if stored is None else {(stored["metadata"]["namespace"], stored["metadata"]["name"]): stored}
    return BootstrapTokens(lambda ns, name: secrets.get((ns, name)), now=lambda: now).authenticate(presented)


def test_a_valid_token_is_its_bootstrap_user() -> None:
    user = authenticate(secret())
    assert user.name == "system:bootstrap:abcdef"
    assert user.groups == (BOOTSTRAPPERS, AUTHENTICATED)


def test_extra_groups_of_the_bootstrappers_family_are_added() -> None:
    user = authenticate(secret(auth_extra_groups="system:bootstrappers:kubeadm:default-node-token"))
    assert user.groups == (BOOTSTRAPPERS, "system:bootstrappers:kubeadm:default-node-token", AUTHENTICATED)


def test_a_token_without_expiration_never_expires() -> None:
    assert authenticate(secret(expiration=None), now=NOW + timedelta(days=3650)) is not None


def test_string_data_is_read_too() -> None:
    body = secret()
    body["stringData"] = {"token-secret": TOKEN.secret}
    body["data"].pop("token-secret")
    assert authenticate(body) is not None


def deleting(body: dict[str, Any]) -> dict[str, Any]:
    body["metadata"]["deletionTimestamp"] = "2026-12-02T11:00:00Z"
    return body


def typed(body: dict[str, Any], kind: str) -> dict[str, Any]:
    body["type"] = kind
    return body


REFUSED = [
    ("expired", secret(), str(TOKEN), NOW + timedelta(hours=1)),
    ("expired-long-ago", secret(expiration="2020-01-01T00:00:00Z"), str(TOKEN), NOW),
    ("expiration-unparseable", secret(expiration="tomorrow"), str(TOKEN), NOW),
    ("expiration-without-zone", secret(expiration="2030-01-01T00:00:00"), str(TOKEN), NOW),
    ("wrong-secret", secret(), "abcdef.0123456789abcdee", NOW),
    ("deleted", None, str(TOKEN), NOW),
    ("being-deleted", deleting(secret()), str(TOKEN), NOW),
    ("usage-flag-off", secret(usage_bootstrap_authentication="false"), str(TOKEN), NOW),
    ("usage-flag-missing", secret(usage_bootstrap_authentication=None), str(TOKEN), NOW),
    ("wrong-secret-type", typed(secret(), "Opaque"), str(TOKEN), NOW),
    ("id-mismatch", secret(token_id="zzzzzz"), str(TOKEN), NOW),
    ("extra-group-outside-bootstrappers", secret(auth_extra_groups="system:masters"), str(TOKEN), NOW),
    ("not-the-format-uppercase", secret(), "ABCDEF.0123456789ABCDEF", NOW),
    ("not-the-format-short", secret(), "abcdef.0123", NOW),
    ("not-the-format-admin-like", secret(), "s3cr3t-admin-token", NOW),
]


@pytest.mark.parametrize(("stored", "presented", "now"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_tokens_decline(stored: dict[str, Any] | None, presented: str, now: datetime) -> None:
    assert authenticate(stored, presented, now) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("24h", timedelta(hours=24)), ("90m", timedelta(minutes=90)), ("1h30m", timedelta(minutes=90)),
    ("45s", timedelta(seconds=45)), ("0", None),
], ids=["hours", "minutes", "both", "seconds", "never"])
def test_ttl_parsing(text: str, expected: timedelta | None) -> None:
    assert bt.parse_ttl(text) == expected


def test_generated_tokens_have_the_format_and_differ() -> None:
    tokens = {str(bt.generate()) for _ in range(50)}
    assert len(tokens) == 50 and all(bt.parse(t) is not None for t in tokens)
