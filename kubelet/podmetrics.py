"""What one pod worker tells its node's metrics: the pod start SLI, restarts, escalations, gauges.

Kubernetes' ``kubelet_pod_start_sli_duration_seconds`` runs from the pod's creation timestamp to
the first time the kubelet observes every container of the pod running, less the time spent
pulling images; ``kubelet_pod_start_duration_seconds`` from the kubelet first seeing the pod to
that moment. Both are observed once per pod, and never for a pod the kubelet adopted already
running (after a kubelet restart): its start was not seen. The scrape-time gauges come from
``PodWorker.sample``: each worker's last observation.
"""

from __future__ import annotations

from datetime import UTC, datetime

from apimachinery.models.core import Pod
from kubelet.metrics import KubeletMetrics
from kubelet.runtime.base import ContainerInfo, ContainerState

#: ``podvisor_container_restarts_total{reason}``: why the restarted container's last run ended
REASON_ERROR, REASON_OOM, REASON_COMPLETED, REASON_START_ERROR = "Error", "OOMKilled", "Completed", "StartError"


def exit_reason(info: ContainerInfo | None, *, code: int, start_failed: bool) -> str:
    """The Kubernetes termination reason of a container's exit."""
    if start_failed:
        return REASON_START_ERROR
    if info is not None and info.oom_killed:
        return REASON_OOM
    return REASON_COMPLETED if code == 0 else REASON_ERROR


def _created(pod: Pod) -> datetime | None:
    text = pod.metadata.creation_timestamp
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


class PodStartTracker:
    """One pod's start, observed once (see the module doc); ``seen_at`` is monotonic seconds."""

    def __init__(self, metrics: KubeletMetrics | None, *, seen_at: float) -> None:
        self.metrics = metrics
        self.seen_at = seen_at
        self.pulling = 0.0  # seconds the pod's containers spent pulling images
        self.done = False

    def first_observation(self, apps: list[ContainerInfo | None]) -> None:
        """An adopted pod whose app containers already run: its start is not the kubelet's to time."""
        if any(i is not None for i in apps):
            self.done = True

    def observe(self, pod: Pod, apps: list[ContainerInfo | None], *, now: datetime, monotonic: float) -> None:
        if self.done or self.metrics is None or not apps:
            return
        if not all(i is not None and i.state is ContainerState.RUNNING for i in apps):
            return
        self.done = True
        self.metrics.pod_start.observe(max(monotonic - self.seen_at, 0.0))
        created = _created(pod)
        if created is not None:
            self.metrics.pod_start_sli.observe(max((now - created).total_seconds() - self.pulling, 0.0))
