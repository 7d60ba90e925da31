"""Informer notifications -> the scheduling queue and the node cache.

Three views of the cluster feed the scheduler (see :mod:`scheduler.runner`):

* pending pods (``spec.nodeName=``): handlers only enqueue keys; the scheduler re-reads the pod
  from this informer's cache when it gets to it;
* assigned pods (``spec.nodeName!=``): each one is counted on its node in the cache (and confirms
  the scheduler's own assumption when it was the one that bound it);
* nodes: the cache follows them, and a change that may let parked pods fit (a new node,
  uncordoning, labels, taints, allocatable, becoming Ready) sends the unschedulable pods back to
  the queue. Heartbeats, which rewrite node status every few seconds, do not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from apimachinery.conditions import is_true
from apimachinery.informer import object_key
from apimachinery.models.core import Node, Pod
from scheduler.podinfo import PodInfo
from scheduler.scheduler import Scheduler, responsible_for


class Notifier(Protocol):
    """What an informer offers for notifications (:class:`Informer` and the fake both do)."""

    def add_handler(
        self,
        on_add: Callable[[Any], None] | None = None,
        on_update: Callable[[Any, Any], None] | None = None,
        on_delete: Callable[[Any], None] | None = None,
    ) -> None: ...


def pod_spec_changed(old: Pod, new: Pod) -> bool:
    """A change the scheduler must react to: spec, labels or annotations (not status, not rv)."""
    return (old.spec != new.spec or old.metadata.labels != new.metadata.labels
            or old.metadata.annotations != new.metadata.annotations)


def node_scheduling_changed(old: Node, new: Node) -> bool:
    """Whether a node update may let a pod fit that did not before."""
    if (old.metadata.labels != new.metadata.labels or old.spec.taints != new.spec.taints
            or bool(old.spec.unschedulable) != bool(new.spec.unschedulable)):
        return True
    old_status, new_status = old.status, new.status
    old_alloc = (old_status.allocatable or old_status.capacity) if old_status else None
    new_alloc = (new_status.allocatable or new_status.capacity) if new_status else None
    if old_alloc != new_alloc:
        return True
    return is_true(old_status.conditions if old_status else None, "Ready") != is_true(
        new_status.conditions if new_status else None, "Ready")


class Handlers:
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.queue = scheduler.queue
        self.cache = scheduler.cache

    def connect(self, *, unscheduled: Notifier, assigned: Notifier, nodes: Notifier) -> None:
        nodes.add_handler(self.node_added, self.node_updated, self.node_deleted)
        assigned.add_handler(self.assigned_pod_added, self.assigned_pod_updated, self.assigned_pod_deleted)
        unscheduled.add_handler(self.pending_pod_added, self.pending_pod_updated, self.pending_pod_deleted)

    def connect_volumes(self, *, claims: Notifier, volumes: Notifier, classes: Notifier) -> None:
        """A claim, volume or class that appears or changes may make a waiting pod schedulable
        (its claim now exists, is bound, or its volume's node is known)."""
        for informer in (claims, volumes, classes):
            informer.add_handler(self._volume_changed, lambda old, new: self._volume_changed(new), None)

    def _volume_changed(self, obj: object) -> None:
        self.queue.move_all()

    # -- pending pods ----------------------------------------------------------------------

    def pending_pod_added(self, pod: Pod) -> None:
        if responsible_for(pod, self.scheduler.name):
            self.queue.add(object_key(pod))

    def pending_pod_updated(self, old: Pod, new: Pod) -> None:
        key = object_key(new)
        if not responsible_for(new, self.scheduler.name):
            self.queue.delete(key)
        elif pod_spec_changed(old, new) or old.metadata.uid != new.metadata.uid:
            self.queue.activate(key)
        else:
            self.queue.add(key)  # a no-op while the pod waits: our own status writes land here

    def pending_pod_deleted(self, pod: Pod) -> None:
        self.queue.delete(object_key(pod))

    # -- assigned pods ---------------------------------------------------------------------

    def assigned_pod_added(self, pod: Pod) -> None:
        self.cache.add_pod(PodInfo.from_pod(pod), str(pod.spec.node_name))

    def assigned_pod_updated(self, old: Pod, new: Pod) -> None:
        if old.metadata.uid != new.metadata.uid:
            self.assigned_pod_deleted(old)
        elif old.spec == new.spec and self.cache.knows(new.metadata.uid or object_key(new)):
            return  # a status update (the kubelet's): nothing the cache counts has changed
        self.cache.add_pod(PodInfo.from_pod(new), str(new.spec.node_name))

    def assigned_pod_deleted(self, pod: Pod) -> None:
        self.cache.remove_pod(pod.metadata.uid or object_key(pod))
        self.queue.move_all()

    # -- nodes -----------------------------------------------------------------------------

    def node_added(self, node: Node) -> None:
        self.cache.update_node(node)
        self.queue.move_all()

    def node_updated(self, old: Node, new: Node) -> None:
        self.cache.update_node(new)
        if node_scheduling_changed(old, new):
            self.queue.move_all()

    def node_deleted(self, node: Node) -> None:
        self.cache.remove_node(str(node.metadata.name))
