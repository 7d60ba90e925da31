"""FakeRuntime's test hooks (the shared behaviour is covered by test_runtime_contract.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from kubelet.runtime.base import (
    ContainerRuntimeError,
    ContainerSpec,
    ContainerState,
    ImageNotFound,
    PortBinding,
)
from kubelet.runtime.fake import STOP_EXIT_CODE, FakeRuntime

IMAGE = "podvisor/busybox:latest"


def spec(name: str, **fields: Any) -> ContainerSpec:
    return ContainerSpec(name=name, image=IMAGE, labels={"app": "test"}, **fields)


def test_images_are_normalised_and_pulled_only_when_pullable() -> None:
    fake = FakeRuntime(images=["podvisor/busybox"], pullable=["other/app:2"])

    assert fake.image_id(IMAGE) == fake.image_id("podvisor/busybox")
    with pytest.raises(ImageNotFound):
        fake.pull_image(IMAGE)  # present, but a pull asks the registry
    assert fake.image_id("other/app:2") is None
    assert fake.pull_image("other/app:2") == fake.image_id("other/app:2")


@pytest.mark.parametrize(
    ("stop", "code"),
    [
        pytest.param(lambda f, c: f.stop_container(c, 10), STOP_EXIT_CODE, id="stop-honours-sigterm"),
        pytest.param(lambda f, c: f.kill_container(c), 137, id="kill"),
        pytest.param(lambda f, c: f.kill_container(c, "TERM"), 143, id="kill-term"),
        pytest.param(lambda f, c: f.exit(c, 7), 7, id="exit-hook"),
    ],
)
def test_exit_codes(stop: Callable[[FakeRuntime, str], None], code: int) -> None:
    fake = FakeRuntime(images=[IMAGE])
    container_id = fake.create_container(spec("app"))
    fake.start_container(container_id)

    stop(fake, container_id)

    info = fake.inspect_container(container_id)
    assert info is not None and (info.state, info.exit_code) == (ContainerState.EXITED, code)


def test_on_start_hook_makes_containers_crash() -> None:
    fake = FakeRuntime(images=[IMAGE], on_start=lambda s: 1 if s.name.startswith("crash") else None)
    crasher, sleeper = fake.create_container(spec("crash-1")), fake.create_container(spec("ok-1"))
    fake.start_container(crasher)
    fake.start_container(sleeper)

    states = {c.name: (c.state, c.exit_code) for c in fake.list_containers({"app": "test"})}
    assert states == {"crash-1": (ContainerState.EXITED, 1), "ok-1": (ContainerState.RUNNING, None)}


def test_oom_exit_reports_oom_and_emits_the_event() -> None:
    fake = FakeRuntime(images=[IMAGE])
    stop = threading.Event()
    events = fake.events({"app": "test"}, stop)
    container_id = fake.create_container(spec("app", memory_bytes=1 << 20))
    fake.start_container(container_id)

    fake.exit(container_id, 137, oom_killed=True)

    info = fake.inspect_container(container_id)
    assert info is not None and info.oom_killed
    actions = [next(events).action for _ in range(4)]
    stop.set()
    assert actions == ["create", "start", "oom", "die"]


def test_exec_handler_answers_probes() -> None:
    fake = FakeRuntime(images=[IMAGE])
    container_id = fake.create_container(spec("app"))
    fake.start_container(container_id)
    fake.exec_handler = lambda cid, command: (1, b"unhealthy\n") if command == ["check"] else (0, b"")

    assert fake.exec(container_id, ["check"], timeout=1) == (1, b"unhealthy\n")
    assert fake.exec(container_id, ["true"], timeout=1) == (0, b"")


def test_host_port_conflict_fails_start() -> None:
    fake = FakeRuntime(images=[IMAGE])
    ports = (PortBinding(container_port=80, host_port=8080),)
    first = fake.create_container(spec("a", ports=ports))
    second = fake.create_container(spec("b", ports=ports))
    fake.start_container(first)

    with pytest.raises(ContainerRuntimeError, match="already allocated"):
        fake.start_container(second)
    fake.stop_container(first, 1)
    fake.start_container(second)


def test_calls_record_operations_in_order() -> None:
    fake = FakeRuntime(images=[IMAGE])
    container_id = fake.create_container(spec("app"))
    fake.start_container(container_id)
    fake.remove_container(container_id)

    assert [op for op, _ in fake.calls] == ["create_container", "start_container", "remove_container"]


def test_many_containers_for_hollow_nodes() -> None:
    fake = FakeRuntime(images=[IMAGE])
    for n in range(2000):
        node = f"node-{n % 20}"
        fake.start_container(
            fake.create_container(ContainerSpec(name=f"c{n}", image=IMAGE, labels={"podvisor.io/node": node}))
        )

    assert len(fake.list_containers({"podvisor.io/node": "node-3"})) == 100
    assert len({c.ip for c in fake.list_containers({})}) == 2000
