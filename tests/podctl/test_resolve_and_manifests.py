"""Command-line resource arguments and manifest reading, without a server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from apimachinery import resources as res
from apimachinery.yamlsafe import ManifestError
from podctl.errors import PodctlError
from podctl.manifests import read_manifests
from podctl.resolve import Selection, parse_args


@pytest.mark.parametrize(("args", "expected"), [
    (["pods"], [Selection(res.PODS)]),
    (["po", "a", "b"], [Selection(res.PODS, ("a", "b"))]),
    (["deploy,svc"], [Selection(res.DEPLOYMENTS), Selection(res.SERVICES)]),
    (["Deployment"], [Selection(res.DEPLOYMENTS)]),
    (["deployments.apps"], [Selection(res.DEPLOYMENTS)]),
    (["all"], [Selection(res.PODS), Selection(res.SERVICES), Selection(res.DEPLOYMENTS), Selection(res.REPLICASETS),
              Selection(res.JOBS)]),
    (["deploy/web", "pod/a", "deploy/api"], [Selection(res.DEPLOYMENTS, ("web", "api")), Selection(res.PODS, ("a",))]),
], ids=["plural", "short+names", "two-types", "kind", "group", "all", "slash"])
def test_parse_args(args: list[str], expected: list[Selection]) -> None:
    assert parse_args(args) == expected


@pytest.mark.parametrize(("args", "message"), [
    (["foos"], 'the server doesn\'t have a resource type "foos"'),
    (["pod/a", "b"], "resource/name form must have a single resource and name"),
    (["pods", "pod/a"], "no need to specify a resource type as a separate argument"),
    (["pods,deploy", "a"], "only specify a single resource type"),
    ([], "you must specify the type of resource"),
], ids=["unknown", "mixed-slash", "type-and-slash", "names-with-two-types", "empty"])
def test_parse_args_errors(args: list[str], message: str) -> None:
    with pytest.raises(PodctlError, match=message):
        parse_args(args)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def test_directory_is_read_in_name_order_and_recursively_with_R(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", CM.format(name="b"))
    write(tmp_path / "a.yml", CM.format(name="a") + "---\n" + CM.format(name="a2"))
    write(tmp_path / "notes.txt", "ignored")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "c.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}')
    assert [m.name for m in read_manifests([str(tmp_path)])] == ["a", "a2", "b"]
    assert [m.name for m in read_manifests([str(tmp_path)], recursive=True)] == ["a", "a2", "b", "c"]


def test_kind_list_is_expanded(tmp_path: Path) -> None:
    path = write(tmp_path / "l.yaml", "apiVersion: v1\nkind: List\nitems:\n- " + CM.format(name="x").replace("\n", "\n  "))
    assert [m.name for m in read_manifests([str(path)])] == ["x"]


@pytest.mark.parametrize(("text", "message"), [
    (CM.format(name="ok") + "---\nkind: ConfigMap\nmetadata: {name: x}\n", "document 2: apiVersion: Required value"),
    ("apiVersion: v1\nmetadata: {name: x}\n", "document 1: kind: Required value"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "document 1: metadata.name: Required value"),
    ("apiVersion: v9\nkind: ConfigMap\nmetadata: {name: x}\n", 'kind: no matches for kind "ConfigMap" in version "v9" '
                                                               '\\(did you mean apiVersion "v1"\\?\\)'),
    ("apiVersion: v1\nkind: Widget\nmetadata: {name: x}\n", 'no matches for kind "Widget"'),
], ids=["apiVersion", "kind", "name", "version", "unknown-kind"])
def test_invalid_documents_name_file_document_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "m.yaml", text)
    with pytest.raises(PodctlError, match=f"{path}: {message}" if "document" in message else message):
        read_manifests([str(path)])


def test_yaml_syntax_error_shows_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "m.yaml", CM.format(name="x") + "data:\n  a: [1\n")
    with pytest.raises(ManifestError, match=r"m\.yaml: document 1, line 7"):
        read_manifests([str(path)])


BILLION_LAUGHS = "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))


@pytest.mark.parametrize(("text", "message"), [
    (BILLION_LAUGHS, "anchors"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: !!python/object/apply:os.system ['true']\n", "!!python/object"),
], ids=["billion-laughs", "python-tag"])
def test_hostile_yaml_is_refused_at_once(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "evil.yaml", text)
    start = time.monotonic()
    with pytest.raises(ManifestError, match=message):
        read_manifests([str(path)])
    assert time.monotonic() - start < 0.1


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(PodctlError, match='the path ".*nope.yaml" does not exist'):
        read_manifests([str(tmp_path / "nope.yaml")])
