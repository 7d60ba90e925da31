"""Operational commands: rollout, cordon/uncordon/drain, version, api-resources, explain, config."""

from __future__ import annotations

from collections.abc import Awaitable

import click

from podctl import config, dashboard, nodes, rollout
from podctl import explain as explaining
from podctl.cli_common import connection, connection_flags, duration, execute, local
from podctl.errors import PodctlError
from podctl.resolve import resource_type
from podctl.session import Output, Session


def _rollout_group() -> click.Group:
    @click.group("rollout")
    @connection_flags
    def group() -> None:
        """Manage the rollout of a Deployment (status, history, undo, restart, pause, resume) or a DaemonSet (status, restart)."""

    @group.command("status")
    @click.argument("target")
    @click.argument("name", required=False)
    @click.option("--timeout", default="0", help="Give up after this long (0: wait forever).")
    @click.option("-w", "--watch", type=click.BOOL, default=True, is_flag=False, flag_value="true",
                  help="Wait for the rollout to finish (--watch=false: report once).")
    @connection_flags
    @click.pass_context
    def status(ctx: click.Context, target: str, name: str | None, timeout: str, watch: bool) -> None:
        """Show a rollout's progress until it completes; exit 1 if it fails or times out."""
        def command(session: Session) -> Awaitable[int]:
            rt, resolved = rollout.deployment_ref(session, target, name, kinds=rollout.STATUS_KINDS)
            return rollout.status(session, resolved, timeout=duration(timeout), watch=watch, rt=rt)

        execute(ctx, command)

    @group.command("history")
    @click.argument("target")
    @click.argument("name", required=False)
    @click.option("--revision", type=int, default=0, help="Show the pod template of this revision.")
    @connection_flags
    @click.pass_context
    def history(ctx: click.Context, target: str, name: str | None, revision: int) -> None:
        """List the revisions of a Deployment (its ReplicaSets)."""
        execute(ctx, lambda s: rollout.history(s, rollout.deployment_ref(s, target, name)[1], revision=revision))

    @group.command("undo")
    @click.argument("target")
    @click.argument("name", required=False)
    @click.option("--to-revision", type=int, default=0, help="Revision to go back to (default: the previous).")
    @connection_flags
    @click.pass_context
    def undo(ctx: click.Context, target: str, name: str | None, to_revision: int) -> None:
        """Roll a Deployment back to an earlier pod template."""
        execute(ctx, lambda s: rollout.undo(s, rollout.deployment_ref(s, target, name)[1], to_revision=to_revision))

    @group.command("restart")
    @click.argument("target")
    @click.argument("name", required=False)
    @connection_flags
    @click.pass_context
    def restart(ctx: click.Context, target: str, name: str | None) -> None:
        """Replace every pod of a Deployment or DaemonSet through a rolling update."""
        def command(session: Session) -> Awaitable[int]:
            rt, resolved = rollout.deployment_ref(session, target, name, kinds=rollout.STATUS_KINDS)
            return rollout.restart(session, resolved, rt=rt)

        execute(ctx, command)

    for verb, paused in (("pause", True), ("resume", False)):
        _pause_command(group, verb, paused)
    return group


def _pause_command(group: click.Group, verb: str, paused: bool) -> None:
    @group.command(verb, help=f"{verb.capitalize()} a Deployment's rollouts.")
    @click.argument("target")
    @click.argument("name", required=False)
    @connection_flags
    @click.pass_context
    def command(ctx: click.Context, target: str, name: str | None) -> None:
        execute(ctx, lambda s: rollout.set_paused(s, rollout.deployment_ref(s, target, name)[1], paused=paused))


def _node_commands(cli: click.Group) -> None:
    for verb, flag in (("cordon", True), ("uncordon", False)):
        @cli.command(verb, help=f"Mark a node as {'un' if flag else ''}schedulable.")
        @click.argument("node")
        @connection_flags
        @click.pass_context
        def command(ctx: click.Context, node: str, _flag: bool = flag) -> None:
            execute(ctx, lambda s: nodes.set_unschedulable(s, node, unschedulable=_flag))

    @cli.command()
    @click.argument("node")
    @click.option("--force", is_flag=True, help="Also delete pods no controller would recreate.")
    @click.option("--ignore-daemonsets", is_flag=True, help="Leave DaemonSet pods on the node.")
    @click.option("--grace-period", type=int, default=None, help="Seconds each pod gets to stop.")
    @click.option("--timeout", default="0", help="Give up waiting after this long (0: never).")
    @click.option("--delete-emptydir-data", is_flag=True, help="Accepted for kubectl compatibility.")
    @connection_flags
    @click.pass_context
    def drain(ctx: click.Context, node: str, force: bool, ignore_daemonsets: bool, grace_period: int | None,
              timeout: str, delete_emptydir_data: bool) -> None:
        """Cordon a node and evict its pods, waiting until they are gone."""
        opts = nodes.DrainOptions(force=force, ignore_daemonsets=ignore_daemonsets, grace_period=grace_period,
                                  timeout=duration(timeout))
        execute(ctx, lambda s: nodes.drain(s, node, opts))


def _config_group() -> click.Group:
    @click.group("config")
    @connection_flags
    def group() -> None:
        """Read and change the kubeconfig file."""

    @group.command("view")
    @click.option("--raw", is_flag=True, help="Show certificates and tokens.")
    @click.option("--minify", is_flag=True, help="Only the current context.")
    @connection_flags
    @click.pass_context
    def view(ctx: click.Context, raw: bool, minify: bool) -> None:
        """Print the kubeconfig, credentials redacted."""
        opts = connection(ctx)
        local(ctx, lambda: config.view(Output(), opts.kubeconfig, raw=raw, minify=minify, context=opts.context))

    @group.command("current-context")
    @connection_flags
    @click.pass_context
    def current(ctx: click.Context) -> None:
        """Print the current context's name."""
        local(ctx, lambda: config.current_context(Output(), connection(ctx).kubeconfig))

    @group.command("use-context")
    @click.argument("name")
    @connection_flags
    @click.pass_context
    def use(ctx: click.Context, name: str) -> None:
        """Make NAME the current context."""
        local(ctx, lambda: config.use_context(Output(), connection(ctx).kubeconfig, name))

    @group.command("get-contexts")
    @connection_flags
    @click.pass_context
    def contexts(ctx: click.Context) -> None:
        """List the contexts of the kubeconfig."""
        local(ctx, lambda: config.get_contexts(Output(), connection(ctx).kubeconfig))

    return group


def _set_group() -> click.Group:
    @click.group("set")
    def set_() -> None:
        """Change a field of a workload (image)."""

    @set_.command("image")
    @click.argument("target")
    @click.argument("images", nargs=-1, required=True)
    @connection_flags
    @click.pass_context
    def image(ctx: click.Context, target: str, images: tuple[str, ...]) -> None:
        """Set container images: TYPE/NAME CONTAINER=IMAGE ... (``*=IMAGE`` for all containers)."""
        def command(session: Session) -> Awaitable[int]:
            kind, sep, name = target.partition("/")
            if not sep or not name:
                raise PodctlError("expected TYPE/NAME, e.g. deployment/web")
            return rollout.set_image(session, resource_type(kind), name, rollout.parse_image_updates(images))

        execute(ctx, command)

    return set_


def register(cli: click.Group) -> None:
    """Add the operational commands to the ``podctl`` group."""
    cli.add_command(_rollout_group())
    cli.add_command(_set_group())
    cli.add_command(_config_group())
    _node_commands(cli)

    @cli.command("dashboard")
    @click.option("--open", "open_browser", is_flag=True, help="Also open the dashboard in a browser, if there is one.")
    @connection_flags
    @click.pass_context
    def dashboard_command(ctx: click.Context, open_browser: bool) -> None:
        """Print the URL of the web dashboard (served by the API server at /ui/) and how to log in."""
        opts = connection(ctx)
        local(ctx, lambda: dashboard.show(kubeconfig=opts.kubeconfig, context=opts.context, open_browser=open_browser))

    @cli.command()
    @click.option("--client", "client_only", is_flag=True, help="Only the client version.")
    @connection_flags
    @click.pass_context
    def version(ctx: click.Context, client_only: bool) -> None:
        """Print the client and server versions."""
        if client_only:
            from podctl import __version__

            local(ctx, lambda: click.echo(f"Client Version: v{__version__}"))
        execute(ctx, config.version)

    @cli.command("api-resources")
    @connection_flags
    @click.pass_context
    def api_resources(ctx: click.Context) -> None:
        """List the resource types the server serves."""
        execute(ctx, config.api_resources)

    @cli.command()
    @click.argument("target")
    @click.option("--recursive", is_flag=True, help="Print the fields of the fields, all the way down.")
    @click.option("--api-version", default=None, help="The group/version of the kind, e.g. apps/v1.")
    @connection_flags
    @click.pass_context
    def explain(ctx: click.Context, target: str, recursive: bool, api_version: str | None) -> None:
        """Describe a resource's fields from the server's schema (RESOURCE[.field.path])."""
        execute(ctx, lambda s: explaining.explain(s, target, recursive=recursive, api_version=api_version))
