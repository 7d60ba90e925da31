"""What a Service holds in the ranges, taken and given back with its writes (Kubernetes' ``alloc.go``).

The registry calls these hooks around the store write of a Service, as kube-apiserver's service
REST storage wraps its generic store: :meth:`ServiceStorage.begin_create` and
:meth:`~ServiceStorage.begin_update` reserve what the new object needs (its ClusterIP, its node
ports), before the write, and return a finish function: called with ``False`` (the write failed)
it gives back what was reserved, so a refused or lost write leaks nothing; with ``True`` it
releases what the old object held and the new one does not (a type change to ExternalName, a
port removed). :meth:`~ServiceStorage.after_delete` releases everything once the Service is gone.

A reservation is an IPAddress object at ``/registry/ipaddresses/<ip>`` (as Kubernetes stores
it) and a node port one at ``/registry/servicenodeports/<port>``; both name their Service in
``spec.parentRef``. Neither kind is served.
"""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apimachinery.errors import ApiError, invalid
from apimachinery.serviceaccounts import KUBERNETES_SERVICE, KUBERNETES_SERVICE_NAMESPACE
from apiserver.servicealloc.allocator import (
    AllocationError,
    Allocator,
    Book,
    NotInRangeError,
    Owner,
    RangeFullError,
)
from apiserver.servicealloc.ranges import ServiceRanges
from apiserver.strategies.service import HEADLESS, allocates_node_ports, has_node_ports, needs_cluster_ip
from apiserver.validation import as_dict, as_dicts, as_int, invalid_value

log = logging.getLogger(__name__)

IP_PREFIX = "/registry/ipaddresses/"
NODE_PORT_PREFIX = "/registry/servicenodeports/"
#: The first address of the range is the kubernetes Service's, whether or not it exists yet.
KUBERNETES = Owner(KUBERNETES_SERVICE_NAMESPACE, KUBERNETES_SERVICE)
Obj = dict[str, Any]
Finish = Callable[[bool], None]


def ip_address_record(ip: str, owner: Owner, now: str) -> Obj:
    """The IPAddress object Kubernetes' allocator creates for a Service's ClusterIP."""
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "IPAddress",
        "metadata": {"name": ip, "creationTimestamp": now,
                     "labels": {"ipaddress.kubernetes.io/ip-family": "IPv4",
                                "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"}},
        "spec": {"parentRef": owner.parent_ref()},
    }


def node_port_record(port: str, owner: Owner, now: str) -> Obj:
    return {
        "apiVersion": "podvisor.io/v1", "kind": "NodePortAllocation",
        "metadata": {"name": port, "creationTimestamp": now},
        "spec": {"parentRef": owner.parent_ref()},
    }


def owner_of(service: Obj) -> Owner:
    meta = as_dict(service.get("metadata"))
    return Owner(str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def held_ip(service: Obj) -> str | None:
    """The ClusterIP a stored Service holds a reservation for, if any."""
    spec = as_dict(service.get("spec"))
    ip = spec.get("clusterIP")
    if not needs_cluster_ip(spec) or not ip or ip == HEADLESS:
        return None
    return str(ip)


def held_node_ports(service: Obj) -> set[int]:
    spec = as_dict(service.get("spec"))
    if not has_node_ports(spec):
        return set()
    return {p for port in as_dicts(spec.get("ports")) if (p := as_int(port.get("nodePort")))}


@dataclass
class _Transaction:
    """What one write reserved (given back if it fails) and what it lets go (if it succeeds)."""

    storage: ServiceStorage
    owner: Owner
    dry_run: bool
    ips: list[str] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    release_ips: set[str] = field(default_factory=set)
    release_ports: set[int] = field(default_factory=set)

    def finish(self, success: bool) -> None:
        if self.dry_run:
            return
        ips, ports = (self.release_ips, self.release_ports) if success else (set(self.ips), set(self.ports))
        self.storage.release(self.owner, ips=ips, ports=ports)


class ServiceStorage:
    """The storage hooks of Services: ClusterIPs from the service CIDR, node ports from their range."""

    def __init__(self, store: Any, ranges: ServiceRanges, *, clock: Callable[[], datetime],
                 rng: random.Random | None = None) -> None:
        self.ranges = ranges
        self.ips = Allocator(ranges.cidr, Book(store, prefix=IP_PREFIX, record=ip_address_record, clock=clock),
                             rng=rng, kept_for={ranges.cidr.first: KUBERNETES})
        self.ports = Allocator(ranges.node_ports,
                               Book(store, prefix=NODE_PORT_PREFIX, record=node_port_record, clock=clock), rng=rng)

    def begin_create(self, service: Obj, *, dry_run: bool) -> Finish:
        return self._begin(service, None, dry_run=dry_run)

    def begin_update(self, new: Obj, old: Obj, *, dry_run: bool) -> Finish:
        return self._begin(new, old, dry_run=dry_run)

    def after_delete(self, service: Obj) -> None:
        ip = held_ip(service)
        self.release(owner_of(service), ips={ip} if ip else set(), ports=held_node_ports(service))

    def release(self, owner: Owner, *, ips: set[str], ports: set[int]) -> None:
        """Give values back; a store failure is logged, and the repair loop frees them later."""
        try:
            for ip in ips:
                self.ips.release(ip, owner)
            for port in ports:
                self.ports.release(str(port), owner)
        except ApiError as err:
            log.warning("cannot release the allocations of Service %s/%s: %s", owner.namespace, owner.name,
                        err.message)

    def _begin(self, service: Obj, old: Obj | None, *, dry_run: bool) -> Finish:
        if not dry_run:  # refuse requested values before reserving anything: a refusal writes nothing
            self._begin(copy.deepcopy(service), old, dry_run=True)
        txn = _Transaction(self, owner_of(service), dry_run)
        try:
            self._cluster_ip(service, old, txn)
            self._node_ports(service, old, txn)
        except BaseException:
            txn.finish(False)
            raise
        if old is not None:
            old_ip, new_ip = held_ip(old), held_ip(service)
            txn.release_ips = {old_ip} - {new_ip} if old_ip else set()
            txn.release_ports = held_node_ports(old) - held_node_ports(service)
        return txn.finish

    def _cluster_ip(self, service: Obj, old: Obj | None, txn: _Transaction) -> None:
        spec = as_dict(service.get("spec"))
        if not needs_cluster_ip(spec) or spec.get("clusterIP") == HEADLESS:
            return
        ip = str(spec.get("clusterIP") or "")
        if ip and old is not None and held_ip(old) == ip:
            return  # kept
        try:
            if ip:
                self.ips.allocate(ip, txn.owner, dry_run=txn.dry_run)
            else:
                ip = self.ips.allocate_next(txn.owner, dry_run=txn.dry_run)
        except RangeFullError:
            raise _internal("failed to allocate a serviceIP: range is full") from None
        except AllocationError as err:
            cause = invalid_value("spec.clusterIPs", [ip], f"failed to allocate IP {ip}: {self._ip_reason(err, ip)}")
            raise invalid("Service", txn.owner.name, [cause]) from None
        if not txn.dry_run:
            txn.ips.append(ip)
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]

    def _ip_reason(self, err: AllocationError, ip: str) -> str:
        if isinstance(err, NotInRangeError):
            return (f"the provided IP ({ip}) is not in the valid range. "
                    f"The range of valid IPs is {self.ranges.cidr}")
        return "provided IP is already allocated"

    def _node_ports(self, service: Obj, old: Obj | None, txn: _Transaction) -> None:
        """Each port's node port: kept, reserved as requested, or allocated (one per port
        number: TCP and UDP of the same port share it, as Kubernetes allocates them)."""
        spec = as_dict(service.get("spec"))
        if not has_node_ports(spec):
            return
        kept = held_node_ports(old) if old is not None else set()
        by_port: dict[Any, int] = {}
        for i, port in enumerate(as_dicts(spec.get("ports"))):
            node_port = as_int(port.get("nodePort")) or 0
            if node_port == 0 and not allocates_node_ports(spec):
                continue
            node_port = node_port or by_port.get(port.get("port"), 0)
            if node_port and (node_port in kept or node_port in txn.ports):
                port["nodePort"] = node_port
            else:
                port["nodePort"] = node_port = self._reserve_port(node_port, i, txn)
            by_port.setdefault(port.get("port"), node_port)

    def _reserve_port(self, node_port: int, index: int, txn: _Transaction) -> int:
        try:
            if node_port:
                self.ports.allocate(str(node_port), txn.owner, dry_run=txn.dry_run)
            else:
                node_port = int(self.ports.allocate_next(txn.owner, dry_run=txn.dry_run))
        except RangeFullError:
            raise _internal("failed to allocate a nodePort: range is full") from None
        except AllocationError as err:
            reason = (f"provided port is not in the valid range. The range of valid ports is {self.ranges.node_ports}"
                      if isinstance(err, NotInRangeError) else "provided port is already allocated")
            cause = invalid_value(f"spec.ports[{index}].nodePort", node_port, reason)
            raise invalid("Service", txn.owner.name, [cause]) from None
        if not txn.dry_run:
            txn.ports.append(node_port)
        return node_port


def _internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")

