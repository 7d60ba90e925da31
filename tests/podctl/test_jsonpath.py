"""The jsonpath subset of ``-o jsonpath=...``."""

from __future__ import annotations

from typing import Any

import pytest

from podctl.errors import PodctlError
from podctl.jsonpath import execute

POD_LIST: dict[str, Any] = {"kind": "List", "items": [
    {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}},
     "spec": {"containers": [{"name": "c1", "image": "i1"}, {"name": "c2", "image": "i2"}]},
     "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Scheduled", "status": "True"}],
                "restarts": 3}},
    {"metadata": {"name": "b"}, "spec": {"containers": [{"name": "c3", "image": "i3"}]},
     "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
]}


@pytest.mark.parametrize(("template", "expected"), [
    ("{.kind}", "List"),
    ("{.items[0].metadata.name}", "a"),
    ("{.items[*].metadata.name}", "a b"),
    ("{.items[-1].metadata.name}", "b"),
    ("{.items[0:1].metadata.name}", "a"),
    ("{.items[*].spec.containers[*].image}", "i1 i2 i3"),
    ("{range .items[*]}{.metadata.name}{\"\\n\"}{end}", "a\nb\n"),
    ("{range .items[*]}[{.metadata.name}:{range .spec.containers[*]}{.name},{end}]{end}", "[a:c1,c2,][b:c3,]"),
    ('{.items[*].status.conditions[?(@.type=="Ready")].status}', "True False"),
    ("{.items[?(@.status.restarts)].metadata.name}", "a"),
    ("{.items[0].metadata.labels['app.kubernetes.io/name']}", "x"),
    ("{..image}", "i1 i2 i3"),
    ("{.items[0].status.restarts}", "3"),
    ("{.items[1].spec.containers[0]}", '{"name":"c3","image":"i3"}'),
    ("{.missing.field}", ""),
    ("name={.items[0].metadata.name} done", "name=a done"),
    ("{.items[5].metadata.name}", ""),
], ids=lambda v: str(v)[:40])
def test_templates(template: str, expected: str) -> None:
    assert execute(template, POD_LIST) == expected


@pytest.mark.parametrize("template", ["{range .items[*]}{.x}", "{end}", "{.items[x]}", "{.a b}"])
def test_malformed_templates_fail_clearly(template: str) -> None:
    with pytest.raises(PodctlError, match="jsonpath"):
        execute(template, POD_LIST)
