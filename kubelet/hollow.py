"""The runtime of a hollow node: the in-memory fake, with every image present.

Hollow nodes (``podvisor kubelet --hollow``) exercise the control plane at scale without
Docker: pods are "started" in memory and report Running. Any image a pod names is taken as
present locally (there is nothing to pull), so pull policies cost nothing.
"""

from __future__ import annotations

from kubelet.runtime.fake import FakeRuntime


class HollowRuntime(FakeRuntime):
    """``FakeRuntime`` where every image exists."""

    def image_id(self, image: str) -> str | None:
        return self.add_image(image)

    def pull_image(self, image: str) -> str:
        return self.add_image(image)

    def image_user(self, image: str) -> str | None:
        self.add_image(image)
        return super().image_user(image)

    def create_container(self, spec):  # type: ignore[no-untyped-def]
        self.add_image(spec.image)
        return super().create_container(spec)
