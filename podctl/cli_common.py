"""Flags and plumbing every podctl command shares.

Every command takes the connection flags (``--kubeconfig``, ``--context``, ``-n``,
``--request-timeout``) both before and after its name, as kubectl users type them
(``podctl get pods -n kube-system``). Failures are printed the kubectl way by :func:`guarded`
and exit 1; success exits 0.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from apimachinery.errors import ApiError
from apimachinery.kubeconfig import KubeconfigError
from apimachinery.yamlsafe import ManifestError
from podctl.errors import PodctlError, format_api_error
from podctl.logs import parse_duration
from podctl.session import ConnectionOptions, Session, run

Command = Callable[[Session], Awaitable[int | None]]


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and param.name:
        ctx.ensure_object(dict)[param.name] = value
    return value


def connection_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """The global flags, accepted by the group and by every command."""
    flags = [
        click.option("--kubeconfig", type=click.Path(path_type=Path), expose_value=False, callback=_remember,
                     help="Path to the kubeconfig file (default: $KUBECONFIG, ~/.podvisor/admin.kubeconfig)."),
        click.option("--context", expose_value=False, callback=_remember, help="The kubeconfig context to use."),
        click.option("-n", "--namespace", expose_value=False, callback=_remember, help="The namespace to use."),
        click.option("--request-timeout", type=float, expose_value=False, callback=_remember,
                     help="Seconds to wait for one server response (a watch ends after this long)."),
    ]
    for flag in reversed(flags):
        func = flag(func)
    return func


def connection(ctx: click.Context) -> ConnectionOptions:
    obj = ctx.ensure_object(dict)
    return ConnectionOptions(kubeconfig=obj.get("kubeconfig"), context=obj.get("context"),
                             namespace=obj.get("namespace"), request_timeout=obj.get("request_timeout"))


def guarded(action: Callable[[], int | None]) -> int:
    """Run ``action`` and turn failures into kubectl-style messages and exit codes."""
    try:
        return action() or 0
    except ApiError as err:
        click.echo(format_api_error(err), err=True)
    except (PodctlError, KubeconfigError, ManifestError) as err:
        click.echo(f"error: {err}", err=True)
    except KeyboardInterrupt:
        return 130
    return 1


def execute(ctx: click.Context, command: Command) -> None:
    ctx.exit(guarded(lambda: run(connection(ctx), command)))


def local(ctx: click.Context, action: Callable[[], int | None]) -> None:
    ctx.exit(guarded(action))


def duration(text: str) -> float:
    """``--timeout`` values: ``0`` (no limit), seconds, or a Go duration like ``90s`` / ``5m``."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_duration(text)
    except PodctlError as err:
        raise click.BadParameter(str(err), param_hint="'--timeout'") from None


