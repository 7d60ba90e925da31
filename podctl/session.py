"""One command's connection to the API server, and the raw calls podctl makes through it.

Every command is an ``async`` function of a :class:`Session`; :func:`run` loads the kubeconfig,
opens the shared :class:`ApiClient`, runs the command in a fresh event loop and closes the
client. Commands work on wire dicts rather than models: they print and patch arbitrary objects
and must not drop fields a model does not know.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import click

from apimachinery.client import PATCH_CONTENT_TYPES, ApiClient
from apimachinery.kubeconfig import load_kubeconfig
from apimachinery.resources import ResourceType
from apimachinery.timeutil import Clock, SystemClock
from podctl import __version__
from podctl.style import paint, use_colour

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
FIELD_MANAGER = "podctl"


@dataclass(frozen=True)
class ConnectionOptions:
    """The global flags: which kubeconfig, context and namespace a command uses."""

    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str | None = None
    request_timeout: float | None = None


@dataclass
class Output:
    """stdout for results, stderr for progress and warnings; colour only on terminals."""

    out: TextIO = field(default_factory=lambda: click.get_text_stream("stdout"))
    err: TextIO = field(default_factory=lambda: click.get_text_stream("stderr"))

    def __post_init__(self) -> None:
        self.colour = use_colour(self.out)
        self.err_colour = use_colour(self.err)

    def line(self, text: str = "") -> None:
        click.echo(text, file=self.out)

    def write(self, text: str) -> None:
        click.echo(text, file=self.out, nl=False)

    def progress(self, text: str) -> None:
        click.echo(paint(text, "cyan", enabled=self.err_colour), file=self.err)

    def error(self, text: str) -> None:
        click.echo(paint(text, "red", enabled=self.err_colour), file=self.err)

    def warn(self, text: str) -> None:
        click.echo(paint(f"Warning: {text}", "yellow", enabled=self.err_colour), file=self.err)


class Session:
    """An API client bound to a default namespace, with the raw calls commands share."""

    def __init__(self, client: ApiClient, *, namespace: str, namespace_explicit: bool = False,
                 output: Output | None = None, clock: Clock | None = None) -> None:
        self.client = client
        self.namespace = namespace
        self.namespace_explicit = namespace_explicit
        self.output = output or Output()
        self.clock = clock or SystemClock()

    def ns(self, rt: ResourceType, given: str | None = None) -> str | None:
        """The namespace a request for ``rt`` goes to: none for cluster-scoped kinds."""
        return (given or self.namespace) if rt.namespaced else None

    async def get(self, rt: ResourceType, name: str, namespace: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self.client.request("GET", rt.path(self.ns(rt, namespace), name))
        return result

    async def table(self, rt: ResourceType, namespace: str | None, *, name: str | None = None,
                    params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A server-side Table of one object or a list (``namespace=None``: all namespaces)."""
        path = rt.path(namespace if rt.namespaced else None, name)
        result: dict[str, Any] = await self.client.request("GET", path, params=params,
                                                           headers={"Accept": TABLE_ACCEPT})
        return result

    async def create(self, rt: ResourceType, body: dict[str, Any], namespace: str | None, *,
                     params: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self.client.request("POST", rt.path(namespace), params=params, body=body)
        return result

    async def patch(self, rt: ResourceType, name: str, namespace: str | None, body: Any, *,
                    patch_type: str = "strategic", subresource: str | None = None,
                    params: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self.client.request(
            "PATCH", rt.path(namespace, name, subresource), params=params, body=body,
            content_type=PATCH_CONTENT_TYPES[patch_type])
        return result


def run(options: ConnectionOptions, command: Callable[[Session], Awaitable[int | None]], *,
        output: Output | None = None) -> int:
    """Run one command against the cluster the kubeconfig names; returns the exit code."""
    config = load_kubeconfig(options.kubeconfig, options.context)

    async def main() -> int:
        client = ApiClient(config.server, token=config.token, ca_data=config.ca_data, insecure=config.insecure,
                           timeout=options.request_timeout or 30.0, user_agent=f"podctl/{__version__}")
        try:
            session = Session(client, namespace=options.namespace or config.namespace,
                              namespace_explicit=bool(options.namespace), output=output)
            return await command(session) or 0
        finally:
            await client.close()

    return asyncio.run(main())
