"""The controller manager's Prometheus metrics: its work queues and what supervision did.

One :class:`ControllerMetrics` per controller manager process, on a registry handed in (never
the process-wide default: ``podvisor server`` serves it from the API server's ``/metrics``, and
tests build as many managers as they like). It outlives leadership terms, so counters keep
counting when a term's controllers are built afresh.

Queue names follow Kubernetes' queue names where ours are the controller's name with
``-controller`` dropped (``deployment``, ``replicaset``, ``job``...), so dashboards that select
``workqueue_depth{name="deployment"}`` work unchanged.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from apimachinery.queuemetrics import WorkqueueMetrics

CONTROLLER_SUFFIX = "-controller"


class ControllerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=False)
        self.workqueue = WorkqueueMetrics(self.registry)
        self.auto_rollbacks = Counter(
            "podvisor_deployment_auto_rollbacks", "Deployments rolled back by themselves to their last available "
            "revision after the new revision's pods exceeded the Deployment's restart intensity.",
            registry=self.registry,
        )


def queue_name(controller: str) -> str:
    """``deployment-controller`` -> ``deployment``, as Kubernetes names the Deployment controller's queue."""
    return controller.removesuffix(CONTROLLER_SUFFIX)
