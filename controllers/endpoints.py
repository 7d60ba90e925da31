"""The endpoints controller: each selecting Service's ``Endpoints`` object, named as the Service.

As Kubernetes' ``pkg/controller/endpoint``: pods that are Ready (or any pod with an IP when the
Service sets ``publishNotReadyAddresses``) are ``addresses``, the others ``notReadyAddresses``;
terminating pods are left out unless not-ready addresses are published. Addresses sharing the
same resolved ports form one subset, sorted so the object is a pure function of the pods. The
object carries the Service's labels, ``endpointslice.kubernetes.io/skip-mirror`` (nothing mirrors
it back into slices), the headless label for headless Services, and the
``last-change-trigger-time`` annotation. It holds at most 1000 addresses (ready ones kept first,
the object then marked ``endpoints.kubernetes.io/over-capacity: truncated``; the slices hold
all). It is written only when subsets, labels or that mark differ, and deleted with its Service.
Services without a selector (and ExternalName ones) keep the Endpoints their users write.
"""

from __future__ import annotations

import logging

from apimachinery.errors import ApiError
from apimachinery.models.core import EndpointAddress, EndpointPort, Endpoints, EndpointSubset, Pod, Service
from apimachinery.models.meta import ObjectMeta
from controllers import endpointutil, podutil
from controllers.base import ControllerContext, Queue, is_stale_write, key_of, split_key
from controllers.endpointutil import HEADLESS_LABEL, TRIGGER_TIME_ANNOTATION, ServiceKeyed

log = logging.getLogger(__name__)

SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity"
TRUNCATED = "truncated"
#: Addresses one Endpoints object holds at most (kube-controller-manager's maxCapacity).
MAX_CAPACITY = 1000
_PortKey = tuple[tuple[str, int, str], ...]


def _port_key(ports: list[EndpointPort]) -> _PortKey:
    return tuple(sorted((p.name or "", p.port, p.protocol or "TCP") for p in ports))


def pod_ports(service: Service, pod: Pod) -> list[EndpointPort]:
    """The Service's ports this pod serves (a named targetPort it lacks is skipped)."""
    ports = []
    for port in service.spec.ports or []:
        number = endpointutil.find_port(pod, port)
        if number is not None:
            ports.append(EndpointPort(name=port.name or None, port=number, protocol=port.protocol or "TCP",
                                      app_protocol=port.app_protocol))
    return ports


def calculate_subsets(service: Service, pods: list[Pod]) -> list[EndpointSubset]:
    """The subsets these (already selected) pods make, grouped by resolved ports, sorted."""
    tolerate_unready = bool(service.spec.publish_not_ready_addresses)
    portless_headless = endpointutil.is_headless(service) and not service.spec.ports
    groups: dict[_PortKey, tuple[list[EndpointPort], list[EndpointAddress], list[EndpointAddress]]] = {}
    for pod in pods:
        ports = pod_ports(service, pod)
        if not ports and not portless_headless:
            continue
        address = EndpointAddress(ip=endpointutil.pod_ip(pod) or "", hostname=endpointutil.hostname_for(service, pod),
                                  node_name=pod.spec.node_name, target_ref=endpointutil.target_ref(pod))
        ports.sort(key=lambda p: (p.name or "", p.port))
        group = groups.setdefault(_port_key(ports), (ports, [], []))
        (group[1] if tolerate_unready or podutil.is_ready(pod) else group[2]).append(address)
    subsets = []
    for key in sorted(groups):
        ports, ready, not_ready = groups[key]
        subsets.append(EndpointSubset(addresses=sorted(ready, key=lambda a: a.ip) or None,
                                      not_ready_addresses=sorted(not_ready, key=lambda a: a.ip) or None,
                                      ports=ports or None))
    return subsets


def truncate(subsets: list[EndpointSubset], limit: int = MAX_CAPACITY) -> bool:
    """Keep at most ``limit`` addresses, ready ones first (in subset order); True if any went.

    Kubernetes caps an Endpoints object at 1000 addresses and marks it over capacity; the
    EndpointSlices carry every endpoint."""
    total = sum(len(s.addresses or []) + len(s.not_ready_addresses or []) for s in subsets)
    if total <= limit:
        return False
    room = limit
    for field in ("addresses", "not_ready_addresses"):
        for subset in subsets:
            listed = getattr(subset, field) or []
            setattr(subset, field, listed[:room] or None)
            room -= len(listed[:room])
    subsets[:] = [s for s in subsets if s.addresses or s.not_ready_addresses]
    return True


def desired_labels(service: Service) -> dict[str, str]:
    labels = {k: v for k, v in (service.metadata.labels or {}).items() if k != HEADLESS_LABEL}
    labels[SKIP_MIRROR_LABEL] = "true"
    if endpointutil.is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return labels


def _over_capacity(endpoints: Endpoints) -> bool:
    return (endpoints.metadata.annotations or {}).get(OVER_CAPACITY_ANNOTATION) == TRUNCATED


def _unchanged(current: Endpoints, subsets: list[EndpointSubset], labels: dict[str, str], *, truncated: bool) -> bool:
    """Nothing a reader looks at would change (the trigger time alone is never worth a write)."""
    return ((current.subsets or []) == subsets and (current.metadata.labels or {}) == labels
            and _over_capacity(current) == truncated)


def _annotations(current: Endpoints | None, trigger: str | None, truncated: bool) -> dict[str, str]:
    """The object's annotations with the trigger time and the over-capacity mark brought up to date."""
    annotations = dict((current.metadata.annotations or {}) if current is not None else {})
    annotations.pop(OVER_CAPACITY_ANNOTATION, None)
    if trigger:
        annotations[TRIGGER_TIME_ANNOTATION] = trigger
    if truncated:
        annotations[OVER_CAPACITY_ANNOTATION] = TRUNCATED
    return annotations


class EndpointsController(ServiceKeyed):
    name = "endpoints-controller"

    def __init__(self, ctx: ControllerContext, *, queue: Queue | None = None) -> None:
        super().__init__(ctx, queue=queue)
        self.endpoints = ctx.informers.endpoints
        # One of ours changed or went by someone else's hand: look at its Service again.
        self.endpoints.add_handler(None, lambda old, new: self._on_endpoints(new), self._on_endpoints)

    def _on_endpoints(self, endpoints: Endpoints) -> None:
        self.queue.add(key_of(endpoints))

    async def sync(self, key: str) -> None:
        """Bring the Service's Endpoints to the addresses its selected pods make now."""
        service = self.services.get(key)
        current = self.endpoints.get(key)
        if service is None:
            if current is not None:
                await self._delete(key)
            return
        if not endpointutil.selects_pods(service):
            return
        tolerate_unready = bool(service.spec.publish_not_ready_addresses)
        pods = self.selected_pods(service, include=lambda p: endpointutil.should_include(
            p, include_terminating=tolerate_unready))
        subsets = calculate_subsets(service, pods)
        truncated = truncate(subsets)
        labels = desired_labels(service)
        if current is not None and _unchanged(current, subsets, labels, truncated=truncated):
            return
        await self._write(service, current, subsets, labels,
                          annotations=_annotations(current, endpointutil.trigger_time(service, pods), truncated))

    async def _write(self, service: Service, current: Endpoints | None, subsets: list[EndpointSubset],
                     labels: dict[str, str], *, annotations: dict[str, str]) -> None:
        try:
            if current is None:
                meta = ObjectMeta(name=service.metadata.name, labels=labels, annotations=annotations or None)
                await self.client.create(Endpoints(metadata=meta, subsets=subsets or None), service.metadata.namespace)
                return
            updated = current.copy_deep()
            updated.subsets = subsets or None
            updated.metadata.labels = labels
            updated.metadata.annotations = annotations or None
            await self.client.replace(updated)
        except ApiError as err:
            if not (is_stale_write(err) or err.reason == "AlreadyExists"):
                raise
            # Our cache lags: the newer object's event brings the Service back.
            log.debug("endpoints %s: %s", key_of(service), err.message)

    async def _delete(self, key: str) -> None:
        namespace, name = split_key(key)
        try:
            await self.client.delete(Endpoints, name, namespace)
        except ApiError as err:
            if err.code != 404:
                raise
