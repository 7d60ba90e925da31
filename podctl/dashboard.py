"""``podctl dashboard``: where the web dashboard of the current cluster is, and how to log in.

The dashboard is served by the API server itself at ``/ui/`` and logs in with a bearer token,
so the URL comes from the kubeconfig's server and the token is the kubeconfig user's own (for
the admin, the ``admin.token`` file next to a server-written ``admin.kubeconfig``).
"""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from apimachinery.kubeconfig import load_kubeconfig, resolve_path
from podctl.errors import PodctlError

UI_PATH = "/ui/"
ADMIN_TOKEN_FILE = "admin.token"


def dashboard_url(server: str) -> str:
    if not server.startswith(("https://", "http://")):
        raise PodctlError(f"the kubeconfig's server {server!r} is not an HTTP(S) address a browser can open")
    return server.rstrip("/") + UI_PATH


def token_hint(kubeconfig: Path) -> str:
    token_file = kubeconfig.parent / ADMIN_TOKEN_FILE
    if token_file.is_file():
        return f"log in with the token in {token_file}"
    return f"log in with the bearer token of your kubeconfig user (podctl config view --raw --kubeconfig {kubeconfig})"


def show(*, kubeconfig: Path | None, context: str | None, open_browser: bool) -> int:
    """Print the URL and the login hint; with ``open_browser``, open it if a browser is there."""
    path = resolve_path(kubeconfig)
    url = dashboard_url(load_kubeconfig(path, context).server)
    click.echo(url)
    click.echo(token_hint(path), err=True)
    if open_browser and not _open(url):
        click.echo("no browser found here: open the URL yourself", err=True)
    return 0


def _open(url: str) -> bool:
    try:
        return webbrowser.open(url, new=2)
    except webbrowser.Error:
        return False
