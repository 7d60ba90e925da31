"""Which container a pods/exec or pods/attach request means, by kube-apiserver's rules."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import ApiError
from apiserver.routes.streams import container_of


def pod(containers: list[str], init: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": n} for n in containers]}
    if init:
        spec["initContainers"] = [{"name": n} for n in init]
    return {"metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize(("obj", "requested", "chosen"), [
    (pod(["a"]), None, "a"),
    (pod(["a", "b"]), "b", "b"),
    (pod(["a"], init=["setup"]), "setup", "setup"),
], ids=["the-only-one", "named", "init-container"])
def test_container_of(obj: dict[str, Any], requested: str | None, chosen: str) -> None:
    assert container_of(obj, requested) == chosen


@pytest.mark.parametrize(("obj", "requested", "message"), [
    (pod(["a"]), "nope", "container nope is not valid for pod p"),
    (pod(["a", "b"]), None, "a container name must be specified for pod p, choose one of: [a b]"),
    (pod(["a", "b"], init=["i"]), None,
     "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]"),
], ids=["unknown", "ambiguous", "ambiguous-with-init"])
def test_container_of_refuses(obj: dict[str, Any], requested: str | None, message: str) -> None:
    with pytest.raises(ApiError) as refused:
        container_of(obj, requested)
    assert (refused.value.code, refused.value.reason, refused.value.message) == (400, "BadRequest", message)
