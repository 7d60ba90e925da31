"""The ``podctl`` command line: flags and wiring only; the behaviour lives in the modules.

This module holds the group and the object commands (apply, get, events, describe, delete,
logs, scale, tree, debug); :mod:`podctl.cli_ops` adds rollout, node, config and discovery commands;
:mod:`podctl.cli_streams` adds exec, cp and port-forward.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable

import click

from podctl import __version__, cli_ops, cli_streams, cli_top, rollout, tree
from podctl import apply as applying
from podctl import debug as debugging
from podctl import delete as deleting
from podctl import describe as describing
from podctl import get as getting
from podctl import logs as logging_
from podctl.cli_common import connection, connection_flags, duration, execute
from podctl.errors import PodctlError
from podctl.manifests import read_manifests
from podctl.resolve import Selection, parse_args, resource_type
from podctl.session import Session


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--client-version", prog_name="podctl")
@connection_flags
def cli() -> None:
    """podctl controls a podvisor (or Kubernetes) cluster, the way kubectl does."""


@cli.command()
@click.option("-f", "--filename", "files", multiple=True, required=True, help="File, directory or - (stdin).")
@click.option("-R", "--recursive", is_flag=True, help="Also read manifests in sub-directories.")
@click.option("--dry-run", default="none", is_flag=False, flag_value="client", help="none, client or server.")
@click.option("--server-side", is_flag=True, help="Let the server merge (apply patch, field manager podctl).")
@click.option("--force-conflicts", is_flag=True, help="With --server-side: take over fields other managers own.")
@click.option("--field-manager", default="podctl", help="Field manager name for --server-side.")
@connection_flags
@click.pass_context
def apply(ctx: click.Context, files: tuple[str, ...], recursive: bool, dry_run: str, server_side: bool,
          force_conflicts: bool, field_manager: str) -> None:
    """Create or update objects from manifests (multi-document YAML or JSON)."""
    def command(session: Session) -> Awaitable[int]:
        opts = applying.ApplyOptions(dry_run=applying.check_dry_run(dry_run), server_side=server_side,
                                     force_conflicts=force_conflicts, field_manager=field_manager)
        return applying.apply_all(session, read_manifests(list(files), recursive=recursive), opts)

    execute(ctx, command)


@cli.command()
@click.argument("args", nargs=-1)
@click.option("-o", "--output", default="", help="wide, yaml, json, name or jsonpath=TEMPLATE.")
@click.option("-l", "--selector", default=None, help="Label selector, e.g. app=web,tier!=db.")
@click.option("--field-selector", default=None, help="Field selector, e.g. status.phase=Running.")
@click.option("-A", "--all-namespaces", is_flag=True, help="List across all namespaces.")
@click.option("-w", "--watch", is_flag=True, help="After listing, print changes as they happen.")
@click.option("--show-labels", is_flag=True, help="Add a LABELS column.")
@click.option("--no-headers", is_flag=True, help="Omit the header row.")
@click.option("--show-managed-fields", is_flag=True, help="Keep metadata.managedFields in json/yaml output.")
@connection_flags
@click.pass_context
def get(ctx: click.Context, args: tuple[str, ...], output: str, selector: str | None, field_selector: str | None,
        all_namespaces: bool, watch: bool, show_labels: bool, no_headers: bool, show_managed_fields: bool) -> None:
    """Display one or many resources (TYPE [NAME...] | TYPE/NAME... | all)."""
    seconds = int(connection(ctx).request_timeout or 1800)
    opts = getting.GetOptions(output=output, label_selector=selector, field_selector=field_selector,
                              all_namespaces=all_namespaces, show_labels=show_labels, watch=watch,
                              no_headers=no_headers, watch_seconds=seconds, show_managed_fields=show_managed_fields)
    execute(ctx, lambda session: getting.get(session, args, opts))


@cli.command()
@click.option("-A", "--all-namespaces", is_flag=True, help="Events of every namespace.")
@click.option("--for", "for_object", default=None, help="Only events about TYPE/NAME.")
@click.option("-w", "--watch", is_flag=True)
@connection_flags
@click.pass_context
def events(ctx: click.Context, all_namespaces: bool, for_object: str | None, watch: bool) -> None:
    """List events, oldest first."""
    fields = None
    if for_object:
        kind, _, name = for_object.partition("/")
        fields = f"involvedObject.kind={resource_type(kind).kind},involvedObject.name={name}"
    opts = getting.GetOptions(all_namespaces=all_namespaces, field_selector=fields, watch=watch,
                              watch_seconds=int(connection(ctx).request_timeout or 1800))
    execute(ctx, lambda session: getting.get(session, ("events",), opts))


@cli.command()
@click.argument("args", nargs=-1, required=True)
@click.option("-l", "--selector", default=None)
@connection_flags
@click.pass_context
def describe(ctx: click.Context, args: tuple[str, ...], selector: str | None) -> None:
    """Show details of objects and their events."""
    execute(ctx, lambda session: describing.describe(session, args, label_selector=selector))


@cli.command()
@click.argument("args", nargs=-1)
@click.option("-f", "--filename", "files", multiple=True, help="Delete the objects of these manifests.")
@click.option("-R", "--recursive", is_flag=True)
@click.option("-l", "--selector", default=None)
@click.option("--all", "delete_all", is_flag=True, help="Every object of the type(s) in the namespace.")
@click.option("--wait", type=click.BOOL, default=True, is_flag=False, flag_value="true",
              help="Wait until the objects are gone (--wait=false: return at once).")
@click.option("--timeout", default="0", help="Give up waiting after this long (0: never).")
@click.option("--grace-period", type=int, default=None, help="Seconds pods get to stop (0 with --force).")
@click.option("--now", is_flag=True, help="Same as --grace-period=1.")
@click.option("--force", is_flag=True, help="With --grace-period=0: remove at once.")
@click.option("--cascade", default="background", help="background, foreground or orphan.")
@click.option("--ignore-not-found", is_flag=True)
@connection_flags
@click.pass_context
def delete(ctx: click.Context, args: tuple[str, ...], files: tuple[str, ...], recursive: bool,
           selector: str | None, delete_all: bool, wait: bool, timeout: str, grace_period: int | None,
           now: bool, force: bool, cascade: str, ignore_not_found: bool) -> None:
    """Delete objects by name, selector, --all or manifest, and wait until they are gone."""
    if now:
        grace_period = 1
    if force and grace_period is None:
        grace_period = 0
    opts = deleting.DeleteOptions(wait=wait, timeout=duration(timeout), grace_period=grace_period,
                                  cascade=cascade, ignore_not_found=ignore_not_found)

    async def command(session: Session) -> int:
        deleting.check_cascade(cascade)
        if files:
            manifests = read_manifests(list(files), recursive=recursive)
            targets = [deleting.Target(m.rt, m.name, applying.target_namespace(session, m))
                       for m in reversed(manifests)]
        else:
            selections: list[Selection] = parse_args(args) if args else []
            if not selections:
                raise PodctlError("You must provide one or more resources by argument or filename.")
            targets = await deleting.targets_for(session, selections, label_selector=selector,
                                                 delete_all=delete_all)
            if not targets and (selector or delete_all):
                session.output.progress(f"No resources found in {session.namespace} namespace.")
        return await deleting.delete_targets(session, targets, opts)

    execute(ctx, command)


@cli.command()
@click.argument("target")
@click.argument("container_arg", required=False)
@click.option("-c", "--container", default=None)
@click.option("-f", "--follow", is_flag=True, help="Stream the log as it grows.")
@click.option("-p", "--previous", is_flag=True, help="The previous (crashed) container's log.")
@click.option("--tail", type=int, default=-1, help="Only the last N lines.")
@click.option("--since", default=None, help="Only lines newer than a duration, e.g. 5m.")
@click.option("--timestamps", is_flag=True)
@connection_flags
@click.pass_context
def logs(ctx: click.Context, target: str, container_arg: str | None, container: str | None, follow: bool,
         previous: bool, tail: int, since: str | None, timestamps: bool) -> None:
    """Print a container's log: POD, pod/POD, deploy/NAME or rs/NAME."""
    opts = logging_.LogsOptions(container=container or container_arg, follow=follow, previous=previous, tail=tail,
                                since=since, timestamps=timestamps)
    execute(ctx, lambda session: logging_.logs(session, target, opts))


@cli.command()
@click.argument("target")
@click.argument("name", required=False)
@click.option("--replicas", type=int, required=True)
@connection_flags
@click.pass_context
def scale(ctx: click.Context, target: str, name: str | None, replicas: int) -> None:
    """Set the replica count of a Deployment or ReplicaSet (TYPE NAME or TYPE/NAME)."""
    def command(session: Session) -> Awaitable[int]:
        kind, sep, slash = target.partition("/")
        if not (slash if sep else name):
            raise PodctlError("you must specify the name of the resource to scale")
        return rollout.scale(session, resource_type(kind), slash if sep else str(name), replicas=replicas)

    execute(ctx, command)


@cli.command("tree")
@click.argument("target")
@click.argument("name", required=False)
@click.option("-o", "--output", default="", help="json: the tree as nested objects.")
@connection_flags
@click.pass_context
def tree_(ctx: click.Context, target: str, name: str | None, output: str) -> None:
    """Show the supervision tree of a Deployment or Pod (deploy/NAME, pod/NAME)."""
    def command(session: Session) -> Awaitable[int]:
        rt, resolved = tree.parse_target(target, name)
        return tree.tree(session, rt, resolved, output=output)

    execute(ctx, command)


@cli.command()
@click.argument("target")
@click.argument("command", nargs=-1)
@click.option("--image", required=True, help="The debug container's image.")
@click.option("--target", "target_container", default=None, help="Share this container's process namespace.")
@click.option("-c", "--container", default=None, help="The debug container's name (default: debugger-xxxxx).")
@click.option("-i", "--stdin", is_flag=True, help="Keep stdin open and attach to the container.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a TTY for the container and attach to it.")
@click.option("--image-pull-policy", default=None, type=click.Choice(["Always", "IfNotPresent", "Never"]))
@connection_flags
@click.pass_context
def debug(ctx: click.Context, target: str, command: tuple[str, ...], image: str, target_container: str | None,
          container: str | None, stdin: bool, tty: bool, image_pull_policy: str | None) -> None:
    """Add an ephemeral debug container to a running pod: POD --image=IMAGE [--target=C] -- COMMAND."""
    opts = debugging.DebugOptions(image=image, command=command, target=target_container, container=container,
                                  stdin=stdin, tty=tty, image_pull_policy=image_pull_policy)
    execute(ctx, lambda session: debugging.debug(session, target, opts))


cli_ops.register(cli)
cli_streams.register(cli)
cli_top.register(cli)


def main() -> None:
    """The console script: kubectl's exit codes (usage errors exit 1, not click's 2)."""
    try:
        code = cli.main(prog_name="podctl", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(1)
    except click.exceptions.Abort:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
