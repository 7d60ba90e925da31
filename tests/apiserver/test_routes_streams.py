"""Which container a pods/exec or pods/attach request means, by kube-apiserver's rules."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import ApiError
from apiserver.routes.streams import Refusals, container_of


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


def test_a_refusal_is_given_once_to_the_same_request_while_recent() -> None:
    now = [0.0]
    refusals = Refusals(ttl=10.0, size=2, clock=lambda: now[0])
    error = ApiError(503, "ServiceUnavailable", "down")
    key = ("alice", "/api/v1/namespaces/d/pods/p/exec", "command=true")
    refusals.remember(key, error)
    assert refusals.recall(("bob", *key[1:])) is None
    assert refusals.recall(key) is error
    assert refusals.recall(key) is None
    refusals.remember(key, error)
    now[0] = 11.0
    assert refusals.recall(key) is None


def test_refusals_keep_only_the_newest() -> None:
    refusals = Refusals(ttl=10.0, size=2, clock=lambda: 0.0)
    errors = [ApiError(503, "ServiceUnavailable", str(i)) for i in range(3)]
    for i, error in enumerate(errors):
        refusals.remember(("u", str(i), ""), error)
    assert [refusals.recall(("u", str(i), "")) for i in range(3)] == [None, errors[1], errors[2]]
