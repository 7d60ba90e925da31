"""The EndpointSlice controller: a selecting Service's endpoints in slices of at most 100.

As Kubernetes' ``pkg/controller/endpointslice`` and its reconciler. Every pod the selector
matches that has an IP of the Service's family and has not finished is an endpoint, terminating
ones included, with the conditions Kubernetes computes::

    serving     = publishNotReadyAddresses or pod Ready
    terminating = pod has a deletionTimestamp
    ready       = publishNotReadyAddresses or (serving and not terminating)

so a proxy sends new traffic to ``ready`` endpoints only, and may fall back to ``serving`` and
``terminating`` ones while a whole Service drains. Each endpoint names its pod (``targetRef``),
node and the node's ``topology.kubernetes.io/zone`` (a zone change re-syncs). Endpoints resolving the Service's ports to the
same pod ports share slices. Reconciling keeps each endpoint in the slice it is already in, fills
slices that have room before creating any, and deletes slices left empty, so a one-pod change
rewrites one slice; a Service with no endpoints keeps one empty placeholder slice, as Kubernetes
does. Slices are labelled ``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by``
(slices managed by anyone else are never touched) and controlled by the Service, so the garbage
collector removes them with it.

The informer may lag behind the controller's own writes; a sync on such a cache would create a
second set of slices. :class:`SliceTracker` (Kubernetes' EndpointSliceTracker) remembers the
generation of every slice this controller wrote or deleted, and a sync whose cache has not caught
up ends and comes back when it has.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field

from apimachinery.errors import ApiError
from apimachinery.models.core import Node, Pod, Service
from apimachinery.models.discovery import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    Endpoint,
    EndpointConditions,
    EndpointSlice,
    EndpointSlicePort,
)
from apimachinery.models.meta import ObjectMeta
from controllers import endpointutil, podutil
from controllers.base import (
    NODE_INDEX,
    SERVICE_NAME_INDEX,
    ControllerContext,
    Queue,
    controller_ref_to,
    is_stale_write,
    key_of,
)
from controllers.endpointutil import HEADLESS_LABEL, TRIGGER_TIME_ANNOTATION, ZONE_LABEL, ServiceKeyed

log = logging.getLogger(__name__)

#: kube-controller-manager's ``--max-endpoints-per-slice`` default.
MAX_ENDPOINTS_PER_SLICE = 100
#: How soon a sync that met a stale cache looks again, should no slice event bring it back first.
STALE_RETRY = 1.0
_DELETED = -1

_PortKey = tuple[tuple[str, int, str], ...]


def _port_key(ports: list[EndpointSlicePort]) -> _PortKey:
    return tuple(sorted((p.name or "", p.port or 0, p.protocol or "TCP") for p in ports))


def address_type(service: Service) -> str:
    families = service.spec.ip_families or ["IPv4"]
    return "IPv6" if families[0] == "IPv6" else "IPv4"


def _family_ok(ip: str, family: str) -> bool:
    try:
        return ipaddress.ip_address(ip).version == (6 if family == "IPv6" else 4)
    except ValueError:
        return False


def pod_slice_ports(service: Service, pod: Pod) -> list[EndpointSlicePort]:
    ports = []
    for port in service.spec.ports or []:
        number = endpointutil.find_port(pod, port)
        if number is not None:
            ports.append(EndpointSlicePort(name=port.name or "", port=number, protocol=port.protocol or "TCP",
                                           app_protocol=port.app_protocol))
    return sorted(ports, key=lambda p: (p.name or "", p.port or 0))


def conditions_of(service: Service, pod: Pod) -> EndpointConditions:
    publish = bool(service.spec.publish_not_ready_addresses)
    serving = publish or podutil.is_ready(pod)
    terminating = pod.metadata.deletion_timestamp is not None
    return EndpointConditions(ready=publish or (serving and not terminating), serving=serving, terminating=terminating)


def endpoint_of(service: Service, pod: Pod, *, zone: str | None) -> Endpoint:
    return Endpoint(addresses=[endpointutil.pod_ip(pod) or ""], conditions=conditions_of(service, pod),
                    hostname=endpointutil.hostname_for(service, pod), target_ref=endpointutil.target_ref(pod),
                    node_name=pod.spec.node_name, zone=zone)


@dataclass
class _Group:
    """The desired endpoints of one resolved port set, keyed by address."""

    ports: list[EndpointSlicePort]
    endpoints: dict[str, Endpoint] = field(default_factory=dict)


@dataclass
class Plan:
    """The writes one sync makes: slices to create, to update (changed copies) and to delete."""

    create: list[EndpointSlice] = field(default_factory=list)
    update: list[EndpointSlice] = field(default_factory=list)
    delete: list[EndpointSlice] = field(default_factory=list)


class SliceTracker:
    """The generation of each slice this controller wrote, or that it deleted one, per Service.

    A cached slice older than what we wrote, one we created that the cache lacks, or one we
    deleted that it still holds, means the cache is stale for that Service."""

    def __init__(self) -> None:
        self._written: dict[str, dict[str, int]] = {}

    def wrote(self, service_key: str, endpoint_slice: EndpointSlice) -> None:
        self._written.setdefault(service_key, {})[endpoint_slice.metadata.uid or ""] = (
            endpoint_slice.metadata.generation or 0)

    def deleted(self, service_key: str, endpoint_slice: EndpointSlice) -> None:
        self._written.setdefault(service_key, {})[endpoint_slice.metadata.uid or ""] = _DELETED

    def stale(self, service_key: str, cached: list[EndpointSlice]) -> bool:
        by_uid = {s.metadata.uid: s for s in cached}
        for uid, generation in self._written.get(service_key, {}).items():
            found = by_uid.get(uid)
            if generation == _DELETED:
                if found is not None:
                    return True
            elif found is None or (found.metadata.generation or 0) < generation:
                return True
        return False

    def seen(self, service_key: str, endpoint_slice: EndpointSlice, *, deleted: bool) -> None:
        """The informer reported a slice: what it has caught up with needs no tracking. A slice
        deleted by someone else is forgotten too, so the next sync replaces it."""
        written = self._written.get(service_key, {})
        uid = endpoint_slice.metadata.uid or ""
        if uid in written and (deleted or written[uid] != _DELETED
                               and (endpoint_slice.metadata.generation or 0) >= written[uid]):
            del written[uid]

    def forget(self, service_key: str) -> None:
        self._written.pop(service_key, None)


def desired_groups(service: Service, pods: list[Pod], zone_of: dict[str, str | None]) -> dict[_PortKey, _Group]:
    family = address_type(service)
    groups: dict[_PortKey, _Group] = {}
    for pod in pods:
        ip = endpointutil.pod_ip(pod)
        if ip is None or not _family_ok(ip, family):
            continue
        ports = pod_slice_ports(service, pod)
        if service.spec.ports and not ports:
            continue  # serves none of the Service's ports
        group = groups.setdefault(_port_key(ports), _Group(ports=ports))
        group.endpoints[ip] = endpoint_of(service, pod, zone=zone_of.get(pod.spec.node_name or ""))
    return groups


def slice_labels(service: Service) -> dict[str, str]:
    labels = {k: v for k, v in (service.metadata.labels or {}).items()
              if k not in (HEADLESS_LABEL, SERVICE_NAME_LABEL, MANAGED_BY_LABEL)}
    labels[SERVICE_NAME_LABEL] = service.metadata.name or ""
    labels[MANAGED_BY_LABEL] = MANAGED_BY
    if endpointutil.is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return labels


def new_slice(service: Service, ports: list[EndpointSlicePort], endpoints: list[Endpoint], *,
              trigger: str | None) -> EndpointSlice:
    meta = ObjectMeta(generate_name=f"{(service.metadata.name or '')[:57]}-", namespace=service.metadata.namespace,
                      labels=slice_labels(service), owner_references=[controller_ref_to(service)],
                      annotations={TRIGGER_TIME_ANNOTATION: trigger} if trigger else None)
    return EndpointSlice(metadata=meta, address_type=address_type(service), endpoints=endpoints,
                         ports=[p.model_copy() for p in ports])


def plan_slices(service: Service, existing: list[EndpointSlice], groups: dict[_PortKey, _Group], *,
                trigger: str | None, max_per_slice: int = MAX_ENDPOINTS_PER_SLICE) -> Plan:
    """What turns ``existing`` (this Service's slices, by name) into the desired groups.

    Endpoints stay in their slice; new ones fill slices with room, then new slices; an emptied
    slice is deleted, except that a Service with no endpoints keeps (or gets) one placeholder."""
    plan = Plan()
    family, labels = address_type(service), slice_labels(service)
    kept: dict[_PortKey, list[EndpointSlice]] = {}
    for current in existing:
        key = _port_key(current.ports or [])
        group = groups.get(key)
        if group is None or current.address_type != family:
            plan.delete.append(current)
            continue
        wanted = [group.endpoints.pop(e.addresses[0]) for e in current.endpoints
                  if e.addresses and e.addresses[0] in group.endpoints]
        kept.setdefault(key, []).append(_updated(current, wanted, labels))
    for key, group in groups.items():
        remaining = list(group.endpoints.values())
        for candidate in kept.get(key, []):
            room = max_per_slice - len(candidate.endpoints)
            if remaining and room > 0:
                candidate.endpoints = candidate.endpoints + remaining[:room]
                remaining = remaining[room:]
        while remaining:
            plan.create.append(new_slice(service, group.ports, remaining[:max_per_slice], trigger=trigger))
            remaining = remaining[max_per_slice:]
    originals = {s.metadata.uid: s for s in existing}
    for candidate in (s for slices in kept.values() for s in slices):
        original = originals[candidate.metadata.uid]
        if not candidate.endpoints:
            plan.delete.append(original)
        elif _content(candidate) != _content(original):
            plan.update.append(_stamped(candidate, trigger))
    _keep_placeholder(service, plan, existing, trigger)
    return plan


def _keep_placeholder(service: Service, plan: Plan, existing: list[EndpointSlice], trigger: str | None) -> None:
    """With nothing left to serve, one empty slice stays: a kept placeholder, or a new one."""
    if plan.create or len(plan.delete) < len(existing):
        return
    placeholder = new_slice(service, [], [], trigger=trigger)
    for i, going in enumerate(plan.delete):
        if not going.endpoints and not going.ports and going.address_type == placeholder.address_type:
            del plan.delete[i]
            fixed = _updated(going, [], placeholder.metadata.labels or {})
            if _content(fixed) != _content(going):
                plan.update.append(_stamped(fixed, trigger))
            return
    plan.create.append(placeholder)


def _updated(current: EndpointSlice, endpoints: list[Endpoint], labels: dict[str, str]) -> EndpointSlice:
    copy = current.copy_deep()
    copy.endpoints = endpoints
    copy.metadata.labels = dict(labels)
    return copy


def _stamped(changed: EndpointSlice, trigger: str | None) -> EndpointSlice:
    """A slice about to be written carries the time of the change behind it."""
    if trigger:
        changed.metadata.annotations = {**(changed.metadata.annotations or {}), TRIGGER_TIME_ANNOTATION: trigger}
    return changed


def _content(endpoint_slice: EndpointSlice) -> tuple[object, ...]:
    """What a write would change: endpoints, ports and labels (the trigger time follows them)."""
    return (endpoint_slice.endpoints, endpoint_slice.ports or [], endpoint_slice.metadata.labels or {})


def _controlled_by(endpoint_slice: EndpointSlice, service: Service) -> bool:
    ref = endpoint_slice.metadata.controller_ref()
    return ref is not None and ref.kind == "Service" and ref.uid == service.metadata.uid


class EndpointSliceController(ServiceKeyed):
    name = "endpointslice-controller"

    def __init__(self, ctx: ControllerContext, *, queue: Queue | None = None,
                 max_per_slice: int = MAX_ENDPOINTS_PER_SLICE) -> None:
        super().__init__(ctx, queue=queue)
        self.slices = ctx.informers.endpointslices
        self.max_per_slice = max_per_slice
        self.tracker = SliceTracker()
        self.slices.add_handler(self._on_slice, lambda old, new: self._on_slice(new),
                                lambda gone: self._on_slice(gone, deleted=True))
        self.nodes.add_handler(None, self._on_node_update)

    def _on_node_update(self, old: Node, new: Node) -> None:
        """A node's zone moved: the endpoints of its pods carry the old one."""
        if (old.metadata.labels or {}).get(ZONE_LABEL) == (new.metadata.labels or {}).get(ZONE_LABEL):
            return
        keys = {key_of(s) for pod in self.pods.by_index(NODE_INDEX, new.metadata.name or "")
                for s in self.services_of(pod)}
        for key in sorted(keys):
            self.queue.add(key)

    def _on_slice(self, endpoint_slice: EndpointSlice, *, deleted: bool = False) -> None:
        labels = endpoint_slice.metadata.labels or {}
        if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(SERVICE_NAME_LABEL):
            key = f"{endpoint_slice.metadata.namespace}/{labels[SERVICE_NAME_LABEL]}"
            self.tracker.seen(key, endpoint_slice, deleted=deleted)
            self.queue.add(key)

    def owned_slices(self, service: Service) -> list[EndpointSlice]:
        """The Service's slices this controller manages (others' slices for it are left alone)."""
        found = [s for s in self.slices.by_index(SERVICE_NAME_INDEX, key_of(service))
                 if (s.metadata.labels or {}).get(MANAGED_BY_LABEL) == MANAGED_BY]
        return sorted(found, key=lambda s: s.metadata.name or "")

    async def sync(self, key: str) -> None:
        """Bring the Service's slices to the endpoints its selected pods make now."""
        service = self.services.get(key)
        if service is None:
            self.tracker.forget(key)
            return  # the garbage collector removes the slices it controlled
        if not endpointutil.selects_pods(service) or service.metadata.deletion_timestamp is not None:
            return
        managed = self.owned_slices(service)
        if self.tracker.stale(key, managed):
            self.queue.add_after(key, STALE_RETRY)
            return
        # Slices of an earlier Service of this name (another uid) are replaced, not reused.
        existing = [s for s in managed if _controlled_by(s, service)]
        leftovers = [s for s in managed if not _controlled_by(s, service)]
        pods = self.selected_pods(service, include=lambda p: endpointutil.should_include(p, include_terminating=True))
        zones = {p.spec.node_name: self.zone_of(p.spec.node_name) for p in pods if p.spec.node_name}
        groups = desired_groups(service, pods, zones)
        plan = plan_slices(service, existing, groups, trigger=endpointutil.trigger_time(service, pods),
                           max_per_slice=self.max_per_slice)
        plan.delete += leftovers
        await self._carry_out(key, service, plan)

    async def _carry_out(self, key: str, service: Service, plan: Plan) -> None:
        """Creates first, deletes last, so a proxy never sees the Service without its endpoints."""
        try:
            for wanted in plan.create:
                self.tracker.wrote(key, await self.client.create(wanted, service.metadata.namespace))
            for changed in plan.update:
                self.tracker.wrote(key, await self.client.replace(changed))
            for going in plan.delete:
                await self._delete(key, going)
        except ApiError as err:
            if not is_stale_write(err):
                raise
            log.debug("endpointslices of %s: %s; the newer slice's event brings it back", key, err.message)

    async def _delete(self, key: str, going: EndpointSlice) -> None:
        try:
            await self.client.delete(EndpointSlice, going.metadata.name or "", going.metadata.namespace,
                                     preconditions={"uid": going.metadata.uid or ""})
        except ApiError as err:
            if err.code != 404:
                raise
        self.tracker.deleted(key, going)
