"""What the Endpoints and EndpointSlice controllers share: which pods back a Service, and how.

Both controllers follow Kubernetes' ``pkg/controller/util/endpoint``: a Service with a selector
is backed by the pods of its namespace the selector matches that have an IP and have not
finished; each Service port resolves per pod (a named ``targetPort`` is looked up in the pod's
container ports, and a pod lacking the name does not serve that port); an endpoint carries its
pod's hostname only when the pod asks to be addressed under this Service (``spec.hostname`` set
and ``spec.subdomain`` equal to the Service's name).

Both are keyed by Service and enqueue on every pod change that can move an address: readiness,
IP, deletion, node, hostname, and labels (a label change enqueues the Services of the old labels
and of the new ones). There is no batching delay, so an unready pod leaves as soon as the
informer reports it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apimachinery.models.core import ObjectReference, Pod, Service, ServicePort
from apimachinery.timeutil import format_rfc3339, parse_time
from apimachinery.workqueue import WorkQueue
from controllers import podutil
from controllers.base import NAMESPACE_INDEX, Cache, ControllerContext, Queue, key_of

log = logging.getLogger(__name__)

TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
HEADLESS_LABEL = "service.kubernetes.io/headless"
ZONE_LABEL = "topology.kubernetes.io/zone"


def selects_pods(service: Service) -> bool:
    """Services without a selector have hand-written endpoints, which the controllers leave alone;
    an ExternalName Service is a DNS alias and has none."""
    return bool(service.spec.selector) and service.spec.type != "ExternalName"


def is_headless(service: Service) -> bool:
    return service.spec.cluster_ip == "None"


def matches(service: Service, pod: Pod) -> bool:
    labels = pod.metadata.labels or {}
    selector = service.spec.selector or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_ip(pod: Pod) -> str | None:
    return pod.status.pod_ip if pod.status is not None and pod.status.pod_ip else None


def should_include(pod: Pod, *, include_terminating: bool) -> bool:
    """Kubernetes' ShouldPodBeInEndpoints: an IP, not finished, terminating only when asked."""
    if podutil.is_terminal(pod) or pod_ip(pod) is None:
        return False
    return include_terminating or pod.metadata.deletion_timestamp is None


def find_port(pod: Pod, port: ServicePort) -> int | None:
    """The pod's port for a Service port: the number, or the named container port of its protocol."""
    target = port.target_port if port.target_port not in (None, 0, "") else port.port
    if isinstance(target, int):
        return target
    if target.isdigit():
        return int(target)
    protocol = port.protocol or "TCP"
    for container in pod.spec.containers or []:
        for container_port in container.ports or []:
            if container_port.name == target and (container_port.protocol or "TCP") == protocol:
                return container_port.container_port
    return None


def hostname_for(service: Service, pod: Pod) -> str | None:
    spec = pod.spec
    if spec.hostname and spec.subdomain == service.metadata.name and pod.metadata.namespace == service.metadata.namespace:
        return spec.hostname
    return None


def target_ref(pod: Pod) -> ObjectReference:
    return ObjectReference(kind="Pod", namespace=pod.metadata.namespace, name=pod.metadata.name, uid=pod.metadata.uid)


def trigger_time(service: Service, pods: list[Pod]) -> str | None:
    """The newest change behind these endpoints: the Service's creation or a pod's last Ready
    transition (a level-based reading of Kubernetes' TriggerTimeTracker)."""
    moments = [service.metadata.creation_timestamp]
    for pod in pods:
        condition = podutil.ready_condition(pod)
        moments.append(condition.last_transition_time if condition is not None else pod.metadata.creation_timestamp)
    parsed: list[datetime] = []
    for moment in moments:
        try:
            if moment:
                parsed.append(parse_time(moment))
        except ValueError:
            continue
    return format_rfc3339(max(parsed).astimezone(UTC)) if parsed else None


def _endpoint_fields(pod: Pod) -> tuple[object, ...]:
    """What of a pod the endpoints depend on; a change in it enqueues the pod's Services."""
    return (podutil.is_ready(pod), pod_ip(pod), pod.metadata.deletion_timestamp, pod.spec.node_name,
            pod.spec.hostname, pod.spec.subdomain, podutil.is_terminal(pod))


class ServiceKeyed:
    """Informer wiring both endpoints controllers share: Services, and pods mapped to their Services.

    A subclass adds the handlers of the objects it writes and implements ``sync(service key)``."""

    name: str
    workers = 5

    def __init__(self, ctx: ControllerContext, *, queue: Queue | None = None) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.services: Cache[Service] = ctx.informers.services
        self.pods: Cache[Pod] = ctx.informers.pods
        self.nodes = ctx.informers.nodes
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self.services.add_handler(self._enqueue, lambda old, new: self._enqueue(new), self._enqueue)
        self.pods.add_handler(self._on_pod, self._on_pod_update, self._on_pod)

    def _enqueue(self, service: Service) -> None:
        self.queue.add(key_of(service))

    def services_of(self, pod: Pod) -> list[Service]:
        return [s for s in self.services.by_index(NAMESPACE_INDEX, pod.metadata.namespace or "") if matches(s, pod)]

    def _on_pod(self, pod: Pod) -> None:
        for service in self.services_of(pod):
            self._enqueue(service)

    def _on_pod_update(self, old: Pod, new: Pod) -> None:
        if old.metadata.resource_version == new.metadata.resource_version:
            return  # a resync
        labels_changed = old.metadata.labels != new.metadata.labels
        if not labels_changed and _endpoint_fields(old) == _endpoint_fields(new):
            return
        keys = {key_of(s) for s in self.services_of(new)}
        if labels_changed:
            keys |= {key_of(s) for s in self.services_of(old)}
        for key in sorted(keys):
            self.queue.add(key)

    def selected_pods(self, service: Service, *, include: Callable[[Pod], bool]) -> list[Pod]:
        """The namespace's pods the selector matches that ``include`` keeps, by name."""
        pods = [p for p in self.pods.by_index(NAMESPACE_INDEX, service.metadata.namespace or "")
                if matches(service, p) and include(p)]
        return sorted(pods, key=lambda p: p.metadata.name or "")

    def zone_of(self, node_name: str | None) -> str | None:
        node = self.nodes.get(node_name) if node_name else None
        return (node.metadata.labels or {}).get(ZONE_LABEL) if node is not None else None
