"""The kubelet's Prometheus metrics, under Kubernetes' names (``pkg/kubelet/metrics``) and podvisor's own.

Every node owns a ``CollectorRegistry`` of its own, never the process-wide default: hollow
nodes and tests run many kubelets in one process, and each node's ``/metrics`` shows only that
node. Counters and histograms move where things happen (a runtime call, a probe, a restart);
the gauges that describe the present (running pods and containers, restart budgets, containers
in CrashLoopBackOff) are computed at scrape time from what the pod workers observed last, so a
pod that goes takes its series with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

#: Kubernetes' buckets for the pod start histograms (pkg/kubelet/metrics)
POD_START_BUCKETS = (0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900,
                     1200, 1800, 2700, 3600)
#: Kubernetes' runtime operation buckets: ExponentialBuckets(0.005, 2.5, 14)
RUNTIME_BUCKETS = tuple(0.005 * 2.5**i for i in range(14))
#: ``kubelet_running_containers{container_state}``: the CRI states Kubernetes reports
CONTAINER_STATES = ("created", "running", "exited", "unknown")
#: ``prober_probe_total{result}`` values
PROBE_SUCCESSFUL, PROBE_FAILED, PROBE_UNKNOWN = "successful", "failed", "unknown"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class PodSample:
    """What one pod worker observed last, for the scrape-time gauges."""

    namespace: str
    name: str
    sandbox_running: bool
    container_states: tuple[str, ...]  # Docker's state of each current (non-sandbox) container
    budget_used: int | None = None  # restart events in the intensity window; None: no intensity
    budget_limit: int | None = None
    crash_looping: int = 0  # containers waiting in CrashLoopBackOff


Snapshot = Callable[[], Iterable[PodSample]]


class _PodCollector(Collector):
    """The gauges of the present, from the pod workers' last observations."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        samples = list(self.snapshot())
        pods = GaugeMetricFamily("kubelet_running_pods", "Number of pods that have a running pod sandbox")
        pods.add_metric([], sum(1 for s in samples if s.sandbox_running))
        containers = GaugeMetricFamily("kubelet_running_containers", "Number of containers currently running",
                                       labels=["container_state"])
        counts = dict.fromkeys(CONTAINER_STATES, 0)
        for sample in samples:
            for state in sample.container_states:
                counts[state if state in counts else "unknown"] += 1
        for state, count in counts.items():
            containers.add_metric([state], count)
        used = GaugeMetricFamily("podvisor_pod_restart_intensity_used",
                                 "Restart events of the pod within its restart-intensity period",
                                 labels=["namespace", "pod"])
        limit = GaugeMetricFamily("podvisor_pod_restart_intensity_limit",
                                  "Restart events the pod's restart intensity allows within its period",
                                  labels=["namespace", "pod"])
        for s in samples:
            if s.budget_used is not None and s.budget_limit is not None:
                used.add_metric([s.namespace, s.name], s.budget_used)
                limit.add_metric([s.namespace, s.name], s.budget_limit)
        looping = GaugeMetricFamily("podvisor_containers_crashloop_backoff",
                                    "Containers waiting in CrashLoopBackOff")
        looping.add_metric([], sum(s.crash_looping for s in samples))
        yield from (pods, containers, used, limit, looping)

    def describe(self) -> Iterator[Metric]:
        return iter(())


@dataclass
class KubeletMetrics:
    """One node's metrics: its registry (``/metrics``) and the probe registry (``/metrics/probes``)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    probe_registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.pod_start_sli = Histogram(
            "kubelet_pod_start_sli_duration_seconds",
            "Duration in seconds to start a pod, excluding time to pull images and run init containers, "
            "measured from pod creation timestamp to when all its containers are reported as started "
            "and observed via watch", buckets=POD_START_BUCKETS, registry=r)
        self.pod_start = Histogram(
            "kubelet_pod_start_duration_seconds",
            "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run",
            buckets=POD_START_BUCKETS, registry=r)
        self.runtime_operations = Counter(
            "kubelet_runtime_operations", "Cumulative number of runtime operations by operation type.",
            ["operation_type"], registry=r)
        self.runtime_duration = Histogram(
            "kubelet_runtime_operations_duration_seconds", "Duration in seconds of runtime operations. "
            "Broken down by operation type.", ["operation_type"], buckets=RUNTIME_BUCKETS, registry=r)
        self.runtime_errors = Counter(
            "kubelet_runtime_operations_errors", "Cumulative number of runtime operation errors by operation type.",
            ["operation_type"], registry=r)
        self.restarts = Counter(
            "podvisor_container_restarts", "Container restarts the pod's supervisor decided, by the exit's reason",
            ["reason"], registry=r)
        self.escalations = Counter(
            "podvisor_pod_escalations", "Pods whose supervisor gave up: the restart intensity was exceeded",
            registry=r)
        self.group_restarts = Counter(
            "podvisor_group_restarts", "Restarts of a group of containers at once, by supervisor strategy",
            ["strategy"], registry=r)
        self.probes = Counter(
            "prober_probe", "Cumulative number of a liveness, readiness or startup probe for a container by result.",
            ["probe_type", "result", "container", "pod", "namespace", "pod_uid"], registry=self.probe_registry)

    def watch_pods(self, snapshot: Snapshot) -> None:
        """Compute the running pod/container and supervision gauges from ``snapshot`` at each scrape."""
        self.registry.register(_PodCollector(snapshot))

    def probe_result(self, *, probe_type: str, result: str, container: str, pod: str, namespace: str,
                     pod_uid: str) -> None:
        self.probes.labels(probe_type, result, container, pod, namespace, pod_uid).inc()

    def forget_pod_probes(self, *, pod: str, namespace: str, pod_uid: str) -> None:
        """Drop a gone pod's probe series (Kubernetes drops them with the prober workers)."""
        for labels in list(self.probes._metrics):  # noqa: SLF001 - prometheus_client has no label lookup API
            if labels[3:] == (pod, namespace, pod_uid):
                self.probes.remove(*labels)

    def runtime_call(self, operation: str, seconds: float, *, failed: bool) -> None:
        """The :class:`kubelet.runtime.instrumented.RuntimeRecorder` of this node."""
        self.runtime_operations.labels(operation).inc()
        self.runtime_duration.labels(operation).observe(seconds)
        if failed:
            self.runtime_errors.labels(operation).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def render_probes(self) -> bytes:
        return generate_latest(self.probe_registry)
