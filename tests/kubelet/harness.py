"""A node to test pod workers with: the fake runtime, and the real ``ClientPodApi`` over the fake API.

The worker talks to :class:`apimachinery.testing.FakeApi` through the same adapter it uses in
production, so its status writes meet the server's rules (``/status`` keeps the spec, a stale
resourceVersion is a 409) and its final delete carries the uid precondition. ``lookup`` reads a
field-selected informer of the fake, as the kubelet's own pod informer is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from apimachinery.models.core import Pod
from apimachinery.testing import FakeApi, RecordingRecorder
from apimachinery.timeutil import FakeClock
from kubelet.config import KubeletConfig
from kubelet.context import ClientPodApi, NodeContext
from kubelet.images import ImageManager
from kubelet.pause import PAUSE_IMAGE
from kubelet.runtime.fake import FakeRuntime
from kubelet.threads import InlineRunner

NODE = "node-a"
IMAGE = "podvisor/busybox:latest"


@dataclass
class Cluster:
    """The fake API and event recorder behind one node, with what kubelet tests read back."""

    api: FakeApi
    recorder: RecordingRecorder

    def put(self, pod: Pod) -> Pod:
        """Store ``pod`` as another client would (a new resourceVersion each time)."""
        return self.api.seed(pod)

    @property
    def pods(self) -> Mapping[str, Pod]:
        """The stored pods by ``namespace/name`` (read-only: change them with :meth:`put` / :meth:`remove`)."""
        return MappingProxyType({f"{p.metadata.namespace}/{p.metadata.name}": p for p in self.api.all(Pod)})

    def pod(self, key: str = "default/web") -> Pod | None:
        namespace, _, name = key.partition("/")
        return self.api.stored(Pod, name, namespace)

    def remove(self, key: str = "default/web") -> None:
        namespace, _, name = key.partition("/")
        self.api.remove(Pod, name, namespace)

    def reasons(self) -> list[str]:
        return self.recorder.reasons()

    def deleted_uids(self) -> list[str]:
        """The uid preconditions of the pod deletions sent to the API."""
        return [(a.body.get("preconditions") or {}).get("uid", "") for a in self.api.calls("delete", "pods")]

    @property
    def status_writes(self) -> int:
        return len(self.api.calls("update-status", "pods"))


def make_context(
    *, runtime: FakeRuntime | None = None, api: Cluster | None = None, clock: FakeClock | None = None,
    backoff_initial: float = 1.0, backoff_max: float = 60.0,
) -> tuple[NodeContext, FakeRuntime, Cluster, FakeClock]:
    clock = clock or FakeClock()
    runtime = runtime or FakeRuntime(images=[IMAGE, PAUSE_IMAGE], clock=clock.time)
    cluster = api or Cluster(FakeApi(clock=clock), RecordingRecorder())
    pods = cluster.api.informer(Pod, field_selector=f"spec.nodeName={NODE}")
    cfg = KubeletConfig(kubeconfig=Path("/dev/null"), node_name=NODE, backoff_initial=backoff_initial,
                        backoff_max=backoff_max)
    run = InlineRunner()
    images = ImageManager(runtime=runtime, run=run, clock=clock.monotonic, pull_failure_memory=cfg.pull_failure_memory)
    pod_api = ClientPodApi(cluster.api, cluster.recorder, limit=asyncio.Semaphore(8))  # type: ignore[arg-type]
    ctx = NodeContext(cfg=cfg, runtime=runtime, run=run, api=pod_api, images=images, clock=clock, lookup=pods.get,
                      runtime_scheme="fake")
    runtime.ensure_network(f"podvisor-{NODE}", {})
    return ctx, runtime, cluster, clock


def make_pod(
    name: str = "web", *, uid: str = "11111111-2222-3333-4444-555555555555", restart_policy: str = "Always",
    containers: list[dict] | None = None, init_containers: list[dict] | None = None, volumes: list[dict] | None = None,
) -> Pod:
    spec: dict = {
        "nodeName": NODE,
        "restartPolicy": restart_policy,
        "terminationGracePeriodSeconds": 5,
        "containers": containers or [{"name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent"}],
    }
    if init_containers:
        spec["initContainers"] = init_containers
    if volumes:
        spec["volumes"] = volumes
    return Pod.model_validate({"metadata": {"name": name, "namespace": "default", "uid": uid}, "spec": spec})
