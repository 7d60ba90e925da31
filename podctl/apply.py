"""``podctl apply``: create-or-update from manifests, client-side (3-way merge) or server-side.

Client-side apply keeps the applied configuration in the ``last-applied-configuration``
annotation and sends the three-way strategic merge patch from :mod:`podctl.merge`; an empty
patch means ``unchanged`` and nothing is written. ``--server-side`` sends the manifest as an
apply patch and lets the server's field manager merge. ``--dry-run=client`` talks to the
server only to read; ``--dry-run=server`` sends ``dryRun=All`` so admission and validation run
but nothing is stored.

A failure on one object does not stop the others (kubectl's behaviour); the exit code is 1 if
any failed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from apimachinery.errors import ApiError
from podctl.errors import PodctlError, format_api_error
from podctl.manifests import Manifest
from podctl.merge import read_last_applied, three_way_patch, with_last_applied
from podctl.resolve import object_ref
from podctl.session import FIELD_MANAGER, Session

DRY_RUN_VALUES = ("none", "client", "server")
CLIENT_SIDE_MANAGER = "podctl-client-side-apply"


@dataclass(frozen=True)
class ApplyOptions:
    dry_run: str = "none"
    server_side: bool = False
    force_conflicts: bool = False
    field_manager: str = FIELD_MANAGER


def check_dry_run(value: str) -> str:
    if value not in DRY_RUN_VALUES:
        raise PodctlError(f'Invalid dry-run value ({value}). Must be "none", "server", or "client".')
    return value


def suffix(opts: ApplyOptions) -> str:
    return {"client": " (dry run)", "server": " (server dry run)"}.get(opts.dry_run, "")


def target_namespace(session: Session, manifest: Manifest) -> str | None:
    """The manifest's namespace, refusing one that contradicts an explicit ``-n``."""
    namespace = manifest.namespace(session.namespace)
    declared = manifest.obj["metadata"].get("namespace")
    if session.namespace_explicit and declared and declared != session.namespace and manifest.rt.namespaced:
        raise PodctlError(f'the namespace from the provided object "{declared}" does not match the namespace '
                          f'"{session.namespace}". You must pass \'--namespace={declared}\' to perform this operation.')
    return namespace


def prepared(manifest: Manifest, namespace: str | None) -> dict[str, Any]:
    """The object as sent: the manifest with its namespace filled in."""
    body = copy.deepcopy(manifest.obj)
    if namespace:
        body["metadata"]["namespace"] = namespace
    return body


async def apply_all(session: Session, manifests: list[Manifest], opts: ApplyOptions) -> int:
    failed = False
    for manifest in manifests:
        try:
            verb = await apply_one(session, manifest, opts)
        except ApiError as err:
            failed = True
            session.output.error(_contextual(err, manifest))
            continue
        session.output.line(f"{object_ref(manifest.rt, manifest.name)} {verb}{suffix(opts)}")
    return 1 if failed else 0


def _contextual(err: ApiError, manifest: Manifest) -> str:
    """kubectl's ``Error from server (Invalid): error when applying "web.yaml": ...``."""
    text = format_api_error(err)
    if text.startswith("error: "):
        return text  # never reached the server: the manifest is not at fault
    head, sep, message = text.partition(": ")
    where = f'error when applying "{manifest.source}" (document {manifest.document})'
    return f"{head}: {where}: {message}" if sep else text


def _params(opts: ApplyOptions, manager: str) -> dict[str, Any]:
    return {"fieldManager": manager, "fieldValidation": "Strict",
            "dryRun": "All" if opts.dry_run == "server" else None}


async def apply_one(session: Session, manifest: Manifest, opts: ApplyOptions) -> str:
    """Apply one object; returns what happened (created, configured, unchanged, ...)."""
    namespace = target_namespace(session, manifest)
    body = prepared(manifest, namespace)
    if opts.server_side:
        return await _server_side(session, manifest, body, namespace, opts)
    modified = with_last_applied(body)
    try:
        live = await session.get(manifest.rt, manifest.name, namespace)
    except ApiError as err:
        if err.code != 404:
            raise
        if opts.dry_run != "client":
            await session.create(manifest.rt, modified, namespace, params=_params(opts, CLIENT_SIDE_MANAGER))
        return "created"
    patch = three_way_patch(original=read_last_applied(live), modified=modified, current=live,
                            kind=manifest.rt.kind)
    if not patch:
        return "unchanged"
    if opts.dry_run != "client":
        await session.patch(manifest.rt, manifest.name, namespace, patch, patch_type="strategic",
                            params=_params(opts, CLIENT_SIDE_MANAGER))
    return "configured"


async def _server_side(session: Session, manifest: Manifest, body: dict[str, Any], namespace: str | None,
                       opts: ApplyOptions) -> str:
    if opts.dry_run == "client":
        raise PodctlError("--dry-run=client doesn't work with --server-side (did you mean --dry-run=server instead?)")
    params = {**_params(opts, opts.field_manager), "force": "true" if opts.force_conflicts else "false"}
    await session.patch(manifest.rt, manifest.name, namespace, body, patch_type="apply", params=params)
    return "serverside-applied"
