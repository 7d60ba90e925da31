"""Turning server-side Tables and objects into kubectl's output formats.

The server computes the cells (kubectl does not know how to print a Pod either); podctl picks the
columns (priority 1 only with ``-o wide``), adds NAMESPACE for ``-A`` and LABELS for
``--show-labels``, prefixes names with ``kind.group/`` when several types are printed, and aligns
like Go's tabwriter as kubectl configures it: every column but the last is padded to its widest
cell plus three spaces, and at least six characters. All pure functions of their inputs.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from podctl.style import cell_style, paint

MIN_WIDTH = 6
PADDING = 3
NONE = "<none>"


def cell_text(value: Any) -> str:
    """One cell as kubectl prints it: ``<none>`` for null, JSON-ish for structures."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def align(rows: list[list[str]]) -> list[list[str]]:
    """Pad every cell but each row's last to its column's width (tabwriter: minwidth 6, padding 3)."""
    widths: dict[int, int] = {}
    for row in rows:
        for index, cell in enumerate(row[:-1]):
            widths[index] = max(widths.get(index, 0), len(cell) + PADDING, MIN_WIDTH)
    return [[cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)] for row in rows]


def render(rows: list[list[str]], *, colour: bool = False, status_column: int | None = None) -> list[str]:
    """Aligned lines; on a terminal the status column is coloured after alignment."""
    lines = []
    for row in align(rows):
        if colour and status_column is not None and status_column < len(row):
            cell = row[status_column]
            plain = cell.rstrip()
            row = [*row[:status_column], paint(plain, cell_style(plain), enabled=True) + cell[len(plain):],
                   *row[status_column + 1:]]
        lines.append("".join(row).rstrip() if not colour else "".join(row))
    return lines


def labels_text(labels: dict[str, str] | None) -> str:
    """``app=web,tier=db`` sorted by key, or ``<none>``."""
    if not labels:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def table_rows(
    table: dict[str, Any],
    *,
    wide: bool = False,
    with_namespace: bool = False,
    show_labels: bool = False,
    kind_prefix: str = "",
    headers: bool = True,
) -> list[list[str]]:
    """A Table's header and rows as cell text, with kubectl's optional columns."""
    columns = table.get("columnDefinitions") or []
    shown = [i for i, c in enumerate(columns) if wide or int(c.get("priority") or 0) == 0]
    rows: list[list[str]] = []
    if headers:
        header = [str(columns[i].get("name", "")).upper() for i in shown]
        rows.append((["NAMESPACE"] if with_namespace else []) + header + (["LABELS"] if show_labels else []))
    for row in table.get("rows") or []:
        cells = row.get("cells") or []
        meta = (row.get("object") or {}).get("metadata") or {}
        texts = [cell_text(cells[i]) if i < len(cells) else "" for i in shown]
        if kind_prefix and shown and shown[0] == 0 and texts:
            texts[0] = f"{kind_prefix}/{texts[0]}"
        prefix = [str(meta.get("namespace") or "")] if with_namespace else []
        rows.append(prefix + texts + ([labels_text(meta.get("labels"))] if show_labels else []))
    return rows


def status_column(table: dict[str, Any], *, wide: bool, with_namespace: bool) -> int | None:
    """Where the STATUS column ends up after column selection, for colouring."""
    columns = table.get("columnDefinitions") or []
    shown = [c for c in columns if wide or int(c.get("priority") or 0) == 0]
    for index, column in enumerate(shown):
        if str(column.get("name", "")).lower() in ("status", "type"):
            return index + (1 if with_namespace else 0)
    return None


def to_yaml(obj: Any) -> str:
    """YAML as kubectl writes it: block style, keys in the object's order."""
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, allow_unicode=True)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=4, ensure_ascii=False)


def as_list(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Several objects print as one ``kind: List``, as kubectl does."""
    return {"apiVersion": "v1", "items": objects, "kind": "List", "metadata": {"resourceVersion": ""}}
