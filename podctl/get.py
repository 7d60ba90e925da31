"""``podctl get`` (and ``podctl events``): server-side Tables, object formats and watches.

Tables are what the server prints (``Accept: ...;as=Table``); podctl only picks columns and
aligns them. ``-o yaml|json|name|jsonpath=...`` fetch plain objects instead. ``-w`` prints the
current rows and then one row per watch event, aligned to the columns already printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apimachinery.resources import ResourceType
from podctl import jsonpath
from podctl.errors import PodctlError, format_api_error
from podctl.printing import (
    MIN_WIDTH,
    PADDING,
    as_list,
    render,
    status_column,
    table_rows,
    to_json,
    to_yaml,
)
from podctl.resolve import Selection, kind_ref, object_ref, parse_args
from podctl.session import TABLE_ACCEPT, Session
from podctl.watching import watch_with_accept

OBJECT_FORMATS = ("yaml", "json", "name")


@dataclass(frozen=True)
class GetOptions:
    output: str = ""
    label_selector: str | None = None
    field_selector: str | None = None
    all_namespaces: bool = False
    show_labels: bool = False
    watch: bool = False
    no_headers: bool = False
    watch_seconds: int = 1800
    show_managed_fields: bool = False


def check_output(output: str) -> None:
    """Refuse an unknown ``-o`` before any request is made."""
    if output in ("", "wide", *OBJECT_FORMATS) or output.startswith("jsonpath="):
        return
    raise PodctlError(f'unable to match a printer suitable for the output format "{output}", allowed formats '
                      "are: json,jsonpath,name,wide,yaml")


def event_time(event: dict[str, Any]) -> str:
    """The instant an event last happened, for sorting (series and eventTime included)."""
    series = event.get("series") or {}
    meta = event.get("metadata") or {}
    return str(event.get("lastTimestamp") or series.get("lastObservedTime") or event.get("eventTime")
               or event.get("firstTimestamp") or meta.get("creationTimestamp") or "")


def sort_event_rows(table: dict[str, Any]) -> dict[str, Any]:
    """A Table of events (fetched with ``includeObject=Object``) in time order, oldest first."""
    rows = sorted(table.get("rows") or [], key=lambda r: event_time(r.get("object") or {}))
    return {**table, "rows": rows}


def not_found_message(session: Session, opts: GetOptions, selections: list[Selection]) -> str:
    if opts.all_namespaces or all(not s.rt.namespaced for s in selections):
        return "No resources found"
    return f"No resources found in {session.namespace} namespace."


async def get(session: Session, args: tuple[str, ...], opts: GetOptions) -> int:
    """``podctl get``; returns the exit code (1 when any named object was missing)."""
    check_output(opts.output)
    selections = parse_args(args)
    if opts.all_namespaces and any(s.names for s in selections):
        raise PodctlError("a resource cannot be retrieved by name across all namespaces")
    if opts.watch and len(selections) != 1:
        raise PodctlError("you may only specify a single resource type when watching")
    if opts.watch:
        return await _watch(session, selections[0], opts)
    if opts.output in OBJECT_FORMATS or opts.output.startswith("jsonpath="):
        return await _print_objects(session, selections, opts)
    return await _print_tables(session, selections, opts)


def _list_namespace(session: Session, rt: ResourceType, opts: GetOptions) -> str | None:
    return None if opts.all_namespaces or not rt.namespaced else session.namespace


async def fetch_table(session: Session, selection: Selection, opts: GetOptions) -> tuple[dict[str, Any], list[str]]:
    """One type's Table (the named objects, or the selected list) and the errors met."""
    rt = selection.rt
    events = rt is res.EVENTS
    params = {"labelSelector": opts.label_selector, "fieldSelector": opts.field_selector,
              "includeObject": "Object" if events else None}
    if not selection.names:
        table = await session.table(rt, _list_namespace(session, rt, opts), params=params)
        return (sort_event_rows(table) if events else table), []
    merged: dict[str, Any] | None = None
    errors: list[str] = []
    for name in selection.names:
        try:
            table = await session.table(rt, session.ns(rt), name=name)
        except ApiError as err:
            errors.append(format_api_error(err))
            continue
        merged = table if merged is None else {**merged, "rows": merged["rows"] + table.get("rows", [])}
    return merged or {"columnDefinitions": [], "rows": []}, errors


async def _print_tables(session: Session, selections: list[Selection], opts: GetOptions) -> int:
    out = session.output
    printed = False
    all_errors: list[str] = []
    for selection in selections:
        table, errors = await fetch_table(session, selection, opts)
        all_errors.extend(errors)
        if not table.get("rows"):
            continue
        if printed:
            out.line()
        wide = opts.output == "wide"
        with_ns = opts.all_namespaces and selection.rt.namespaced
        rows = table_rows(table, wide=wide, with_namespace=with_ns, show_labels=opts.show_labels,
                          kind_prefix=kind_ref(selection.rt) if len(selections) > 1 else "",
                          headers=not opts.no_headers)
        for line in render(rows, colour=out.colour, status_column=status_column(table, wide=wide,
                                                                                  with_namespace=with_ns)):
            out.line(line)
        printed = True
    for message in all_errors:
        out.error(message)
    if not printed and not all_errors:
        out.progress(not_found_message(session, opts, selections))
    return 1 if all_errors else 0


async def fetch_objects(session: Session, selection: Selection, opts: GetOptions) -> tuple[list[dict[str, Any]], list[str]]:
    rt = selection.rt
    if not selection.names:
        items, _ = await session.client.list_raw(rt, _list_namespace(session, rt, opts),
                                                 label_selector=opts.label_selector,
                                                 field_selector=opts.field_selector)
        for item in items:
            item.setdefault("apiVersion", rt.api_version)
            item.setdefault("kind", rt.kind)
        return (sorted(items, key=event_time) if rt is res.EVENTS else items), []
    found, errors = [], []
    for name in selection.names:
        try:
            found.append(await session.get(rt, name))
        except ApiError as err:
            errors.append(format_api_error(err))
    return found, errors


def format_objects(objects: list[dict[str, Any]], output: str, *, single: bool,
                   managed_fields: bool = False) -> str:
    """Objects in a non-table format; one named object prints bare, anything else as a List.
    ``metadata.managedFields`` is left out unless asked for, as kubectl does."""
    if not managed_fields:
        objects = [_without_managed_fields(obj) for obj in objects]
    if output == "name":
        lines = []
        for obj in objects:
            rt = res.by_kind(str(obj.get("kind")), obj.get("apiVersion"))
            name = (obj.get("metadata") or {}).get("name", "")
            lines.append(object_ref(rt, name) if rt else f"{str(obj.get('kind')).lower()}/{name}")
        return "".join(line + "\n" for line in lines)
    data = objects[0] if single and objects else as_list(objects)
    if output == "yaml":
        return to_yaml(data)
    if output == "json":
        return to_json(data) + "\n"
    return jsonpath.execute(output[len("jsonpath="):], data)


def _without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return obj
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


async def _print_objects(session: Session, selections: list[Selection], opts: GetOptions) -> int:
    objects, errors = [], []
    for selection in selections:
        found, failed = await fetch_objects(session, selection, opts)
        objects.extend(found)
        errors.extend(failed)
    single = len(selections) == 1 and len(selections[0].names) == 1
    if objects or not errors:
        session.output.write(format_objects(objects, opts.output, single=single and bool(objects),
                                                  managed_fields=opts.show_managed_fields))
    for message in errors:
        session.output.error(message)
    return 1 if errors else 0


class Aligner:
    """Keeps the column widths of rows already printed so watch rows line up under them."""

    def __init__(self) -> None:
        self.widths: list[int] = []

    def seed(self, rows: list[list[str]]) -> list[str]:
        """Lines for a first batch of rows, aligned together."""
        for row in rows:
            self._widen(row)
        return [self._pad(row) for row in rows]

    def line(self, row: list[str]) -> str:
        self._widen(row)
        return self._pad(row)

    def _widen(self, row: list[str]) -> None:
        for index, cell in enumerate(row[:-1]):
            width = max(len(cell) + PADDING, MIN_WIDTH)
            if index >= len(self.widths):
                self.widths.append(width)
            else:
                self.widths[index] = max(self.widths[index], width)

    def _pad(self, row: list[str]) -> str:
        return "".join(c.ljust(self.widths[i]) if i < len(row) - 1 else c for i, c in enumerate(row)).rstrip()


def _watch_fields(selection: Selection, opts: GetOptions) -> str | None:
    if not selection.names:
        return opts.field_selector
    return ",".join(filter(None, [opts.field_selector, f"metadata.name={selection.names[0]}"]))


async def _watch(session: Session, selection: Selection, opts: GetOptions) -> int:
    """Print the current rows (or objects), then one per watch event until the watch times out."""
    rt = selection.rt
    namespace = _list_namespace(session, rt, opts)
    fields = _watch_fields(selection, opts)
    table_mode = not (opts.output in OBJECT_FORMATS or opts.output.startswith("jsonpath="))
    wide, with_ns = opts.output == "wide", opts.all_namespaces and rt.namespaced
    initial = await session.table(rt, namespace, params={"labelSelector": opts.label_selector, "fieldSelector": fields})
    aligner = Aligner()
    header_done = False
    if table_mode and initial.get("rows"):
        rows = table_rows(initial, wide=wide, with_namespace=with_ns, show_labels=opts.show_labels,
                          headers=not opts.no_headers)
        for line in aligner.seed(rows):
            session.output.line(line)
        header_done = True
    elif not table_mode:
        await _print_objects(session, [selection], opts)
    params = {"labelSelector": opts.label_selector, "fieldSelector": fields, "timeoutSeconds": opts.watch_seconds,
              "resourceVersion": (initial.get("metadata") or {}).get("resourceVersion")}
    accept = TABLE_ACCEPT if table_mode else "application/json"
    async for event in watch_with_accept(session.client, rt.path(namespace), accept=accept, params=params,
                                         timeout=opts.watch_seconds):
        if event.type == "ERROR":
            raise ApiError.from_status(int(event.object.get("code") or 500), event.object)
        if event.type == "BOOKMARK":
            continue
        if not table_mode:
            session.output.write(format_objects([event.object], opts.output, single=True,
                                                 managed_fields=opts.show_managed_fields)
                                 + ("---\n" if opts.output == "yaml" else ""))
            continue
        rows = table_rows(event.object, wide=wide, with_namespace=with_ns, show_labels=opts.show_labels,
                          headers=not header_done and not opts.no_headers)
        header_done = True
        for row in rows:
            session.output.line(aligner.line(row))
    return 0
