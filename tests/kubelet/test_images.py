"""Image pull policy decisions without a registry."""

from __future__ import annotations

import pytest

from apimachinery.timeutil import FakeClock
from kubelet.images import ImageManager, default_policy
from kubelet.runtime.fake import FakeRuntime
from kubelet.threads import InlineRunner


def manager(runtime: FakeRuntime, clock: FakeClock) -> ImageManager:
    return ImageManager(runtime=runtime, run=InlineRunner(), clock=clock.monotonic, pull_failure_memory=30.0)


@pytest.mark.parametrize(("image", "policy"), [("busybox", "Always"), ("busybox:latest", "Always"),
                                               ("busybox:1.36", "IfNotPresent"), ("reg:5000/x", "Always"),
                                               ("x@sha256:abc", "IfNotPresent")])
def test_default_policy(image: str, policy: str) -> None:
    assert default_policy(image) == policy


async def test_if_not_present_uses_the_local_image_without_pulling() -> None:
    runtime, clock = FakeRuntime(images=["img:1"]), FakeClock()
    check = await manager(runtime, clock).ensure("img:1", "IfNotPresent")
    assert check.image_id and check.error is None and ("pull_image", "img:1") not in runtime.calls
    assert [r for _, r, _ in check.events] == ["Pulled"]


async def test_always_pulls_when_a_registry_has_the_image() -> None:
    runtime, clock = FakeRuntime(pullable=["img:1"]), FakeClock()
    check = await manager(runtime, clock).ensure("img:1", "Always")
    assert check.image_id and [r for _, r, _ in check.events] == ["Pulling", "Pulled"]


async def test_always_falls_back_to_local_and_remembers_the_failed_pull() -> None:
    runtime, clock = FakeRuntime(images=["img"]), FakeClock()
    images = manager(runtime, clock)
    first = await images.ensure("img", "Always")
    assert first.image_id and ("Warning", "Failed") in [(t, r) for t, r, _ in first.events]
    await images.ensure("img", "Always")
    assert runtime.calls.count(("pull_image", "img")) == 1, "a failed pull is not repeated at once"
    clock.advance(31)
    await images.ensure("img", "Always")
    assert runtime.calls.count(("pull_image", "img")) == 2


async def test_missing_image_is_err_image_pull_and_never_is_err_image_never_pull() -> None:
    runtime, clock = FakeRuntime(), FakeClock()
    images = manager(runtime, clock)
    missing = await images.ensure("gone:1", "IfNotPresent")
    assert missing.image_id is None and missing.error is not None and missing.error.reason == "ErrImagePull"
    never = await images.ensure("gone:1", "Never")
    assert never.error is not None and never.error.reason == "ErrImageNeverPull"
    assert "is not present with pull policy of Never" in never.error.message
