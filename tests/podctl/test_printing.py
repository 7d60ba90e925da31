"""Table alignment and object formats, as kubectl prints them."""

from __future__ import annotations

from typing import Any

import pytest

from podctl.get import Aligner, format_objects, sort_event_rows
from podctl.printing import align, cell_text, labels_text, render, status_column, table_rows
from podctl.style import paint

COLUMNS = [
    {"name": "Name", "priority": 0}, {"name": "Ready", "priority": 0}, {"name": "Status", "priority": 0},
    {"name": "Restarts", "priority": 0}, {"name": "Age", "priority": 0}, {"name": "IP", "priority": 1},
]


def pod_table(*rows: tuple[str, str, Any]) -> dict[str, Any]:
    return {"kind": "Table", "columnDefinitions": COLUMNS, "rows": [
        {"cells": [name, "1/1", status, restarts, "5s", "10.0.0.1"],
         "object": {"metadata": {"name": name, "namespace": "ns1", "labels": {"b": "2", "a": "1"}}}}
        for name, status, restarts in rows]}


def test_columns_are_padded_to_the_widest_cell_plus_three() -> None:
    lines = render(table_rows(pod_table(("web-1", "Running", 0), ("a-much-longer-name", "CrashLoopBackOff", 12))))
    assert lines == [
        "NAME                 READY   STATUS             RESTARTS   AGE",
        "web-1                1/1     Running            0          5s",
        "a-much-longer-name   1/1     CrashLoopBackOff   12         5s",
    ]


def test_short_columns_take_at_least_six_characters() -> None:
    assert align([["A", "B", "C"], ["x", "y", "z"]]) == [["A     ", "B     ", "C"], ["x     ", "y     ", "z"]]


def test_wide_adds_priority_one_columns() -> None:
    rows = table_rows(pod_table(("web", "Running", 0)), wide=True)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP"]


def test_all_namespaces_and_show_labels_add_columns() -> None:
    rows = table_rows(pod_table(("web", "Running", 0)), with_namespace=True, show_labels=True)
    assert rows[0][0] == "NAMESPACE" and rows[0][-1] == "LABELS"
    assert rows[1][0] == "ns1" and rows[1][-1] == "a=1,b=2"


def test_kind_prefix_when_several_types_print() -> None:
    rows = table_rows(pod_table(("web", "Running", 0)), kind_prefix="pod")
    assert rows[1][0] == "pod/web"


def test_no_headers() -> None:
    assert len(table_rows(pod_table(("web", "Running", 0)), headers=False)) == 1


@pytest.mark.parametrize(("value", "text"), [(None, "<none>"), (True, "true"), (3, "3"), ("x", "x"),
                                             ([1, 2], "[1,2]")], ids=["null", "bool", "int", "str", "list"])
def test_cell_text(value: Any, text: str) -> None:
    assert cell_text(value) == text


def test_labels_text() -> None:
    assert labels_text(None) == "<none>"
    assert labels_text({"z": "1", "a": "2"}) == "a=2,z=1"


def test_colour_is_added_after_alignment() -> None:
    table = pod_table(("web", "Running", 0), ("db", "CrashLoopBackOff", 1))
    plain = render(table_rows(table))
    coloured = render(table_rows(table), colour=True, status_column=status_column(table, wide=False,
                                                                                  with_namespace=False))
    assert "\x1b[" in coloured[1] and "\x1b[" not in plain[1]
    strip = [line.replace(paint("Running", "green", enabled=True), "Running")
             .replace(paint("CrashLoopBackOff", "red", enabled=True), "CrashLoopBackOff").rstrip()
             for line in coloured]
    assert strip == plain


def test_paint_is_a_no_op_when_disabled() -> None:
    assert paint("Running", "green", enabled=False) == "Running"


def test_watch_rows_align_under_the_first_batch() -> None:
    aligner = Aligner()
    first = aligner.seed([["NAME", "STATUS", "AGE"], ["web-123", "Running", "5s"]])
    later = aligner.line(["web-123", "Terminating", "6s"])
    assert first == ["NAME      STATUS    AGE", "web-123   Running   5s"]
    assert later == "web-123   Terminating   6s"


def test_events_sort_by_last_timestamp() -> None:
    table = {"columnDefinitions": [], "rows": [
        {"cells": ["b"], "object": {"lastTimestamp": "2026-01-01T00:00:05Z"}},
        {"cells": ["a"], "object": {"lastTimestamp": "2026-01-01T00:00:01Z"}},
        {"cells": ["c"], "object": {"eventTime": "2026-01-01T00:00:03.000000Z"}},
    ]}
    assert [r["cells"][0] for r in sort_event_rows(table)["rows"]] == ["a", "c", "b"]


def test_object_formats() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"}}
    assert format_objects([pod, deploy], "name", single=False) == "pod/web\ndeployment.apps/api\n"
    assert format_objects([pod], "yaml", single=True).startswith("apiVersion: v1\nkind: Pod\n")
    assert '"kind": "List"' in format_objects([pod, deploy], "json", single=False)
    assert format_objects([pod, deploy], "jsonpath={.items[*].metadata.name}", single=False) == "web api"


@pytest.mark.parametrize(
    "output",
    [
        pytest.param("yaml", id="yaml"),
        pytest.param("json", id="json"),
        pytest.param("jsonpath={.metadata.managedFields}", id="jsonpath"),
    ],
)
def test_managed_fields_are_left_out_unless_asked_for(output: str) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "c", "managedFields": [{"manager": "kubectl-create", "operation": "Update"}]}}
    assert "kubectl-create" not in format_objects([obj], output, single=True)
    assert "kubectl-create" in format_objects([obj], output, single=True, managed_fields=True)
    assert obj["metadata"]["managedFields"]  # the object itself is left as it was
