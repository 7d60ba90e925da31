"""Streaming commands: ``exec`` and ``cp`` (:mod:`podctl.exec`) and ``port-forward``
(:mod:`podctl.portforward`), with kubectl's flags."""

from __future__ import annotations

from collections.abc import Awaitable

import click

from podctl import exec as execing
from podctl import portforward as forwarding
from podctl.cli_common import connection_flags, execute
from podctl.errors import PodctlError
from podctl.session import Session


def register(cli: click.Group) -> None:
    """Add ``exec``, ``cp`` and ``port-forward`` to the ``podctl`` group."""

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

    @cli.command("port-forward")
    @click.argument("target")
    @click.argument("ports", nargs=-1, required=True)
    @click.option("--address", default="127.0.0.1", show_default=True,
                  help="Addresses to listen on (comma separated); localhost means 127.0.0.1 and ::1.")
    @connection_flags
    @click.pass_context
    def port_forward(ctx: click.Context, target: str, ports: tuple[str, ...], address: str) -> None:
        """Forward local ports to a pod: [pod/]NAME or TYPE/NAME, then [LOCAL:]REMOTE ..."""
        def command(session: Session) -> Awaitable[int]:
            mappings = [forwarding.parse_mapping(p) for p in ports]
            return forwarding.port_forward(session, target, mappings, hosts=forwarding.listen_hosts(address))

        execute(ctx, command)
