"""``podctl debug``: the ephemeral container it adds, and its refusals."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from podctl.debug import DebugOptions, container_state, debug_container, pod_name, wait_started
from podctl.errors import PodctlError
from tests.podctl.conftest import Podctl

IMAGE = "podvisor/busybox:latest"
POD = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}], "initContainers": [{"name": "init"}],
                                           "ephemeralContainers": [{"name": "debugger-aaaaa"}]}}


def letters(*names: str) -> Any:
    """A ``random.choice`` that spells ``names`` one after the other (five characters each)."""
    chars = itertools.chain.from_iterable(n.removeprefix("debugger-") for n in names)
    return lambda _: next(chars)


@pytest.mark.parametrize(("opts", "expected"), [
    (DebugOptions(image=IMAGE), {"name": "debugger-bbbbb", "image": IMAGE,
                                 "terminationMessagePolicy": "FallbackToLogsOnError"}),
    (DebugOptions(image=IMAGE, command=("sleep", "1"), target="c", container="dbg", image_pull_policy="Never"),
     {"name": "dbg", "image": IMAGE, "terminationMessagePolicy": "FallbackToLogsOnError",
      "command": ["sleep", "1"], "imagePullPolicy": "Never", "targetContainerName": "c"}),
    (DebugOptions(image=IMAGE, container="x", stdin=True, tty=True),
     {"name": "x", "image": IMAGE, "terminationMessagePolicy": "FallbackToLogsOnError", "stdin": True, "tty": True}),
], ids=["defaults", "everything", "stdin-tty"])
def test_the_container_it_adds(opts: DebugOptions, expected: dict[str, Any]) -> None:
    assert debug_container(POD, opts, choice=letters("debugger-bbbbb")) == expected


def test_a_generated_name_never_clashes() -> None:
    got = debug_container(POD, DebugOptions(image=IMAGE), choice=letters("debugger-aaaaa", "debugger-ccccc"))
    assert got["name"] == "debugger-ccccc"


@pytest.mark.parametrize("name", ["c", "init", "debugger-aaaaa"])
def test_a_given_name_that_exists_is_refused(name: str) -> None:
    with pytest.raises(PodctlError, match=f'container "{name}" already exists'):
        debug_container(POD, DebugOptions(image=IMAGE, container=name))


@pytest.mark.parametrize(("target", "name"), [("web", "web"), ("pod/web", "web"), ("po/web", "web"),
                                              ("pods/web", "web")])
def test_pod_names(target: str, name: str) -> None:
    assert pod_name(target) == name


@pytest.mark.parametrize("target", ["deploy/web", "node/n1", "pod/"])
def test_only_pods_can_be_debugged(target: str) -> None:
    with pytest.raises(PodctlError, match="works on pods"):
        pod_name(target)


def make_pod(podctl: Podctl) -> None:
    with podctl.http() as client:
        created = client.post(f"/api/v1/namespaces/{podctl.namespace}/pods", json={
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "c", "image": IMAGE}]}})
        assert created.status_code == 201, created.text


def run(podctl: Podctl, *args: str) -> Any:
    return podctl("debug", *args[:1], "--kubeconfig", str(podctl.kubeconfig), "-n", podctl.namespace, *args[1:],
                  namespace=False)


def ephemeral(podctl: Podctl) -> list[dict[str, Any]]:
    return list(podctl.obj("v1/pods/web")["spec"].get("ephemeralContainers") or [])


def test_debug_adds_the_container_through_the_subresource(podctl: Podctl) -> None:
    make_pod(podctl)
    done = run(podctl, "pod/web", f"--image={IMAGE}", "--target=c", "--", "sleep", "3600")
    assert done.code == 0, done.err
    [added] = ephemeral(podctl)
    assert added["name"].startswith("debugger-") and added["targetContainerName"] == "c"
    assert added["command"] == ["sleep", "3600"]
    assert 'Targeting container "c"' in done.err and f"Defaulting debug container name to {added['name']}." in done.err
    assert done.out == f"pod/web ephemeral container {added['name']} added\n"


@pytest.mark.parametrize(("statuses", "state"), [
    ([], {}),
    ([{"name": "other", "state": {"running": {}}}], {}),
    ([{"name": "dbg", "state": {"waiting": {"reason": "ContainerCreating"}}}], {"waiting": {"reason": "ContainerCreating"}}),
    ([{"name": "dbg", "state": {"running": {"startedAt": "t"}}}], {"running": {"startedAt": "t"}}),
], ids=["no-status", "another-container", "waiting", "running"])
def test_the_state_it_waits_on(statuses: list[dict[str, Any]], state: dict[str, Any]) -> None:
    assert container_state({"status": {"ephemeralContainerStatuses": statuses}}, "dbg") == state


class PodAnswers:
    """A session whose ``get`` answers the pod with these ephemeral container states in turn."""

    def __init__(self, *states: dict[str, Any]) -> None:
        self.states = list(states)

    async def get(self, *_: Any) -> dict[str, Any]:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"status": {"ephemeralContainerStatuses": [{"name": "dbg", "state": state}]}}


@pytest.mark.parametrize(("states", "timeout", "error"), [
    (({"waiting": {}}, {"running": {}}), 5.0, None),
    (({"waiting": {}}, {"terminated": {"exitCode": 3}}), 5.0, "ended before it could be attached .exit code 3."),
    (({"waiting": {}},), 0.0, "timed out waiting for the debug container dbg"),
], ids=["starts", "ends-first", "never-starts"])
def test_waiting_for_the_container_to_run(states: tuple[dict[str, Any], ...], timeout: float,
                                          error: str | None) -> None:
    session: Any = PodAnswers(*states)
    waited = wait_started(session, "web", "dbg", timeout=timeout)
    if error is None:
        asyncio.run(waited)
    else:
        with pytest.raises(PodctlError, match=error):
            asyncio.run(waited)


@pytest.mark.parametrize(("args", "message"), [
    (("nope", f"--image={IMAGE}"), 'Error from server (NotFound): pods "nope" not found'),
    (("web", f"--image={IMAGE}", "--target=zz"),
     'Error from server (Invalid): Pod "web" is invalid: spec.ephemeralContainers[0].targetContainerName: '
     'Not found: "zz"'),
], ids=["missing-pod", "missing-target"])
def test_server_refusals_read_like_kubectl(podctl: Podctl, args: tuple[str, ...], message: str) -> None:
    make_pod(podctl)
    done = run(podctl, *args)
    assert (done.code, done.err.strip().splitlines()[-1]) == (1, message)

