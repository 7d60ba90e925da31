"""The replication controller: the ReplicaSet controller's logic over the legacy v1 kind.

Kubernetes runs its ReplicationController manager as the ReplicaSet manager converted to the
older kind; here the ReplicaSet controller is the same class parametrised by kind, model and
status type, and the one real difference is the selector: a plain label map matched by equality
(``{"app": "web"}`` selects the pods carrying every one of those labels; an empty map selects
nothing, as validation refuses it). The controller keeps its own cache of ReplicationControllers
(indexed as the shared caches are), so the shared informer bundle is unchanged.
"""

from __future__ import annotations

from apimachinery.models.core import ReplicationController, ReplicationControllerStatus
from apimachinery.selectors import LabelSelector, selector_from_model
from controllers.base import Cache, ControllerContext, Queue
from controllers.replicaset import BURST_REPLICAS, ReplicaSetController, Workload, WorkloadStatus


class ReplicationControllerController(ReplicaSetController):
    name = "replication-controller"  # the event source Kubernetes names
    kind = "ReplicationController"
    model: type[Workload] = ReplicationController
    status_type: type[WorkloadStatus] = ReplicationControllerStatus

    def __init__(self, ctx: ControllerContext, controllers: Cache[ReplicationController], *,
                 queue: Queue | None = None, burst: int = BURST_REPLICAS) -> None:
        super().__init__(ctx, queue=queue, burst=burst, owners=controllers)

    def selector_of(self, rs: Workload) -> LabelSelector | None:
        selector = rs.spec.selector
        if not selector or not isinstance(selector, dict):
            return None
        return selector_from_model({"matchLabels": selector})
