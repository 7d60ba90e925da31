"""In-memory stand-ins for the apiserver side of a pod worker, and a node context to test with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from apimachinery.errors import ApiError, conflict
from apimachinery.models.core import Pod
from apimachinery.timeutil import FakeClock
from kubelet.config import KubeletConfig
from kubelet.context import NodeContext
from kubelet.images import ImageManager
from kubelet.naming import PodRef
from kubelet.pause import PAUSE_IMAGE
from kubelet.runtime.fake import FakeRuntime
from kubelet.threads import InlineRunner

NODE = "node-a"
IMAGE = "podvisor/busybox:latest"


@dataclass
class FakePodApi:
    """``PodApi`` over a dict: resourceVersions, 409 on stale writes, recorded events and deletes."""

    pods: dict[str, Pod] = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)
    deleted: list[PodRef] = field(default_factory=list)
    status_writes: int = 0
    revision: int = 1

    def put(self, pod: Pod) -> Pod:
        self.revision += 1
        stored = pod.model_copy(deep=True)
        stored.metadata.resource_version = str(self.revision)
        self.pods[f"{stored.metadata.namespace}/{stored.metadata.name}"] = stored
        return stored

    def lookup(self, key: str) -> Pod | None:
        return self.pods.get(key)

    async def replace_status(self, pod: Pod) -> Pod:
        key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        current = self.pods.get(key)
        if current is None:
            raise ApiError(404, "NotFound", "gone")
        if current.metadata.resource_version != pod.metadata.resource_version:
            raise conflict("pods", pod.metadata.name or "")
        self.status_writes += 1
        return self.put(current.model_copy(update={"status": pod.status}))

    async def get_pod(self, namespace: str, name: str) -> Pod | None:
        return self.pods.get(f"{namespace}/{name}")

    async def delete_pod(self, ref: PodRef) -> None:
        self.deleted.append(ref)
        current = self.pods.get(f"{ref.namespace}/{ref.name}")
        if current is not None and current.metadata.uid == ref.uid:
            del self.pods[f"{ref.namespace}/{ref.name}"]

    def event(self, pod: Pod, type_: str, reason: str, message: str, *, field_path: str | None = None) -> None:
        self.events.append((type_, reason, message))

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.events]


def make_context(
    *, runtime: FakeRuntime | None = None, api: FakePodApi | None = None, clock: FakeClock | None = None,
    backoff_initial: float = 1.0, backoff_max: float = 60.0,
) -> tuple[NodeContext, FakeRuntime, FakePodApi, FakeClock]:
    clock = clock or FakeClock()
    runtime = runtime or FakeRuntime(images=[IMAGE, PAUSE_IMAGE], clock=clock.time)
    api = api or FakePodApi()
    cfg = KubeletConfig(kubeconfig=Path("/dev/null"), node_name=NODE, backoff_initial=backoff_initial,
                        backoff_max=backoff_max)
    run = InlineRunner()
    images = ImageManager(runtime=runtime, run=run, clock=clock.monotonic, pull_failure_memory=cfg.pull_failure_memory)
    ctx = NodeContext(cfg=cfg, runtime=runtime, run=run, api=api, images=images, clock=clock, lookup=api.lookup,
                      runtime_scheme="fake")
    runtime.ensure_network(f"podvisor-{NODE}", {})
    return ctx, runtime, api, clock


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
