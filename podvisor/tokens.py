"""``podvisor token create|list|delete`` and ``podvisor node revoke``: joining, as ``kubeadm token``.

They are plain API clients (the admin kubeconfig by default): a bootstrap token is a Secret
``kube-system/bootstrap-token-<id>`` and a node's credential the Secret
``kube-system/node-credential-<name>``, so ``kubectl`` can do the same by hand.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from apimachinery import bootstraptoken as bt
from apimachinery.client import ApiClient
from apimachinery.errors import ApiError
from apimachinery.kubeconfig import KubeconfigError

DATA_DIR = Path("~/.podvisor")
SECRETS = f"/api/v1/namespaces/{bt.NAMESPACE}/secrets"
NODE_CREDENTIAL_PREFIX = "node-credential-"
KUBECONFIG_OPTION = typer.Option(DATA_DIR / "admin.kubeconfig", help="How to reach the API server as an admin.")

token_app = typer.Typer(no_args_is_help=True, help="Bootstrap tokens that let kubelets join (kubeadm's format).")
node_app = typer.Typer(no_args_is_help=True, help="Node identities.")


def _call(kubeconfig: Path, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
    async def go() -> Any:
        async with ApiClient.from_kubeconfig(kubeconfig.expanduser(), user_agent="podvisor-token") as client:
            return await client.request(method, path, body=body, params=params)

    try:
        return asyncio.run(go())
    except ApiError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from None
    except KubeconfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None


@token_app.command("create")
def create(
    ttl: str = typer.Option("24h", help="How long the token is valid (e.g. 24h, 90m); 0: it never expires."),
    description: str = typer.Option("", help="A human-readable note stored with the token."),
    groups: list[str] = typer.Option([], "--groups", help="Extra groups (system:bootstrappers:...)."),
    kubeconfig: Path = KUBECONFIG_OPTION,
) -> None:
    """Create a bootstrap token and print it."""
    try:
        lifetime = bt.parse_ttl(ttl)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    bad = [g for g in groups if not bt.EXTRA_GROUP_PATTERN.match(g)]
    if bad:
        raise typer.BadParameter(f"groups must match {bt.EXTRA_GROUP_PATTERN.pattern}: {', '.join(bad)}")
    token = bt.generate()
    secret = bt.secret_for(token, now=datetime.now(UTC), ttl=lifetime, description=description,
                           extra_groups=tuple(groups))
    _call(kubeconfig, "POST", SECRETS, body=secret)
    typer.echo(str(token))


@token_app.command("list")
def list_tokens(kubeconfig: Path = KUBECONFIG_OPTION) -> None:
    """List bootstrap tokens: id, time to live, expiry, usages, description."""
    found = _call(kubeconfig, "GET", SECRETS)
    rows = [("TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION")]
    now = datetime.now(UTC)
    for item in found.get("items") or []:
        if item.get("type") != bt.SECRET_TYPE:
            continue
        fields = bt.secret_fields(item)
        rows.append((f"{fields.get(bt.ID_KEY, '?')}.<secret>", _ttl(fields.get(bt.EXPIRATION_KEY, ""), now),
                     fields.get(bt.EXPIRATION_KEY, "<never>"), _usages(fields), fields.get(bt.DESCRIPTION_KEY, "")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _ttl(expiration: str, now: datetime) -> str:
    if not expiration:
        return "<forever>"
    try:
        left = datetime.fromisoformat(expiration.replace("Z", "+00:00")) - now
    except ValueError:
        return "<invalid>"
    if left.total_seconds() <= 0:
        return "<expired>"
    hours = int(left.total_seconds() // 3600)
    return f"{hours}h" if hours else f"{int(left.total_seconds() // 60)}m"


def _usages(fields: dict[str, str]) -> str:
    names = [k.removeprefix("usage-bootstrap-") for k, v in sorted(fields.items())
             if k.startswith("usage-bootstrap-") and v == "true"]
    return ",".join(names) or "<none>"


@token_app.command("delete")
def delete(token: list[str] = typer.Argument(..., help="Token ids or whole tokens."),
           kubeconfig: Path = KUBECONFIG_OPTION) -> None:
    """Delete bootstrap tokens: they stop authenticating at once."""
    for given in token:
        token_id = given.split(".", 1)[0]
        if not bt.TOKEN_PATTERN.match(f"{token_id}.{'0' * 16}"):
            raise typer.BadParameter(f"{given!r} is not a token id ([a-z0-9]{{6}}) or a token")
        _call(kubeconfig, "DELETE", f"{SECRETS}/{bt.NAME_PREFIX}{token_id}")
        typer.echo(f'bootstrap token "{token_id}" deleted')


@node_app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The node whose credential is revoked."),
           kubeconfig: Path = KUBECONFIG_OPTION) -> None:
    """Revoke a node's credential: its next request is refused with 401; it can join again only
    with a valid bootstrap token."""
    _call(kubeconfig, "DELETE", f"{SECRETS}/{NODE_CREDENTIAL_PREFIX}{name}")
    typer.echo(f'credential of node "{name}" revoked')
