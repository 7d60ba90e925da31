"""``podctl top node`` and ``podctl top pod``: the flags; the behaviour is in :mod:`podctl.top`."""

from __future__ import annotations

import click

from podctl import top
from podctl.cli_common import connection_flags, execute

_SORT = click.Choice(top.SORT_KEYS)


def register(cli: click.Group) -> None:
    @cli.group("top")
    @connection_flags
    def group() -> None:
        """Show CPU and memory use of nodes or pods (from the metrics API, metrics.k8s.io)."""

    @group.command("node")
    @click.argument("name", required=False)
    @click.option("-l", "--selector", default=None, help="Label selector, e.g. zone=a.")
    @click.option("--sort-by", type=_SORT, default=None, help="Sort by cpu or memory, highest first.")
    @click.option("--no-headers", is_flag=True, help="Omit the header row.")
    @connection_flags
    @click.pass_context
    def node(ctx: click.Context, name: str | None, selector: str | None, sort_by: str | None,
             no_headers: bool) -> None:
        """CPU and memory of nodes, and their share of each node's allocatable."""
        opts = top.TopOptions(selector=selector, sort_by=sort_by or "", no_headers=no_headers)
        execute(ctx, lambda session: top.top_nodes(session, name, opts))

    @group.command("pod")
    @click.argument("name", required=False)
    @click.option("-l", "--selector", default=None, help="Label selector, e.g. app=web.")
    @click.option("-A", "--all-namespaces", is_flag=True, help="Pods of every namespace.")
    @click.option("--containers", is_flag=True, help="One row per container.")
    @click.option("--sort-by", type=_SORT, default=None, help="Sort by cpu or memory, highest first.")
    @click.option("--no-headers", is_flag=True, help="Omit the header row.")
    @connection_flags
    @click.pass_context
    def pod(ctx: click.Context, name: str | None, selector: str | None, all_namespaces: bool, containers: bool,
            sort_by: str | None, no_headers: bool) -> None:
        """CPU and memory of pods (the sum of their containers), or of each container."""
        opts = top.TopOptions(selector=selector, sort_by=sort_by or "", no_headers=no_headers)
        execute(ctx, lambda session: top.top_pods(session, name, opts, containers=containers,
                                                  all_namespaces=all_namespaces))
