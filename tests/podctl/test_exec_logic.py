"""podctl exec/cp decisions without a cluster: which container, which side is the pod."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podctl.exec import PodPath, parse_location, pick_container


def pod(*names: str, default: str | None = None) -> dict[str, Any]:
    annotations = {"kubectl.kubernetes.io/default-container": default} if default else {}
    return {"metadata": {"name": "p", "annotations": annotations}, "spec": {"containers": [{"name": n} for n in names]}}


@pytest.mark.parametrize(("obj", "requested", "chosen", "note"), [
    (pod("a"), None, "a", None),
    (pod("a", "b"), None, "a", 'Defaulted container "a" out of: a, b'),
    (pod("a", "b", default="b"), None, "b", None),
    (pod("a", "b"), "b", "b", None),
    (pod("a", "b", default="gone"), None, "a", 'Defaulted container "a" out of: a, b'),
], ids=["only-one", "first-of-two", "annotated", "named", "annotation-names-no-container"])
def test_pick_container(obj: dict[str, Any], requested: str | None, chosen: str, note: str | None) -> None:
    assert pick_container(obj, requested) == (chosen, note)


@pytest.mark.parametrize(("text", "where"), [
    ("web:/tmp/x", PodPath(None, "web", "/tmp/x")),
    ("team/web:/tmp/x", PodPath("team", "web", "/tmp/x")),
    ("./local/dir", None),
    ("web:", None),
    (":/tmp", None),
], ids=["pod", "namespaced-pod", "local", "no-path", "no-pod"])
def test_parse_location(text: str, where: PodPath | None) -> None:
    assert parse_location(text) == where


def test_an_existing_local_file_with_a_colon_is_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a:b").write_text("x")
    assert parse_location("a:b") is None
