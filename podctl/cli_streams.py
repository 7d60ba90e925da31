"""Streaming commands: ``exec`` and ``cp`` (:mod:`podctl.exec`), with kubectl's flags."""

from __future__ import annotations

import click

from podctl import exec as execing
from podctl.cli_common import connection_flags, execute
from podctl.errors import PodctlError


def register(cli: click.Group) -> None:
    """Add ``exec`` and ``cp`` to the ``podctl`` group."""

    @cli.command("exec", context_settings={"ignore_unknown_options": True})
    @click.argument("target")
    @click.argument("command", nargs=-1, type=click.UNPROCESSED)
    @click.option("-c", "--container", default=None, help="The container (default: the pod's default or first).")
    @click.option("-i", "--stdin", is_flag=True, help="Pass stdin to the container.")
    @click.option("-t", "--tty", is_flag=True, help="Stdin is a terminal.")
    @click.option("-q", "--quiet", is_flag=True, help="Only print what the remote command prints.")
    @connection_flags
    @click.pass_context
    def exec_(ctx: click.Context, target: str, command: tuple[str, ...], container: str | None, stdin: bool,
              tty: bool, quiet: bool) -> None:
        """Run a command in a container: podctl exec [-i] [-t] POD [-c CONTAINER] -- COMMAND [args...]."""
        if not command:
            raise PodctlError("you must specify at least one command for the container")
        opts = execing.ExecOptions(container=container, stdin=stdin, tty=tty, quiet=quiet)
        execute(ctx, lambda session: execing.exec_(session, target, list(command), opts))

    @cli.command("cp")
    @click.argument("source")
    @click.argument("destination")
    @click.option("-c", "--container", default=None, help="The container (default: the pod's default or first).")
    @connection_flags
    @click.pass_context
    def cp(ctx: click.Context, source: str, destination: str, container: str | None) -> None:
        """Copy files and directories to and from containers: [NAMESPACE/]POD:PATH on one side."""
        execute(ctx, lambda session: execing.cp(session, source, destination, container=container))
