"""The scheduler's view of every node: what it offers and what its pods already hold.

Filters must not look at all pods for every decision, so each :class:`NodeInfo` keeps running
totals (requests, nonzero requests for scoring, pod count, host ports, pods per owner) updated
as pods come and go. The totals come from two sources:

* assigned pods, as the informer on ``spec.nodeName!=`` reports them, and
* *assumed* pods: as soon as the scheduler decides, it counts the pod on its node, before the
  binding is even sent (Kubernetes' "assume" step). Without it a burst of pods would all be
  placed against the same stale totals and overcommit a node while the bindings are in flight.

An assumed pod becomes an ordinary one when the informer reports it bound (``add_pod``); it is
dropped if binding fails (``forget``) or if, long after binding succeeded, the informer never
reported it (``cleanup``: the pod was deleted in a gap the watch did not show).
Pods are keyed by uid, so a pod deleted and recreated under the same name is a new pod.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from apimachinery.conditions import is_true
from apimachinery.models.core import Node, Taint
from apimachinery.quantity import cpu_millis, memory_bytes
from scheduler.podinfo import ANY_IP, CPU, PODS, PodInfo, Resources

log = logging.getLogger(__name__)

# Seconds after a successful binding before an unconfirmed assumption lapses; 0: never, which is
# Kubernetes' choice since issue #106361: under load the informer can lag a busy apiserver by
# more than any TTL, and a lapsed assumption frees room the pod still takes (overcommit).
ASSUMED_POD_TTL = 0.0


def parse_allocatable(node: Node) -> Resources:
    """``status.allocatable`` (else ``capacity``) as integers: cpu in millicores, the rest in units."""
    status = node.status
    raw = (status.allocatable or status.capacity or {}) if status else {}
    out: Resources = {}
    for name, quantity in raw.items():
        try:
            out[name] = cpu_millis(quantity) if name == CPU else memory_bytes(quantity)
        except ValueError:
            log.warning("node %s: unparsable allocatable %s=%r", node.metadata.name, name, quantity)
    return out


class NodeInfo:
    """One node and the running totals of the pods placed on it (assumed ones included)."""

    __slots__ = ("name", "node", "labels", "taints", "unschedulable", "ready", "plain", "allocatable", "max_pods",
                 "_raw_allocatable", "requested", "nonzero_cpu", "nonzero_memory", "pods", "ports", "owners")

    def __init__(self, name: str) -> None:
        self.name = name
        self.node: Node | None = None  # None while pods are known on a node not yet seen
        self.labels: dict[str, str] = {}
        self.taints: tuple[Taint, ...] = ()
        self.unschedulable = False
        self.ready = False
        self.plain = False  # Ready, not cordoned, no taints: the node-state filters cannot fail
        self.allocatable: Resources = {}
        self.max_pods = 0
        self._raw_allocatable: dict[str, str] | None = None
        self.requested: Resources = {}
        self.nonzero_cpu = 0
        self.nonzero_memory = 0
        self.pods: dict[str, PodInfo] = {}
        self.ports: dict[tuple[str, int], Counter[str]] = {}  # (protocol, port) -> host IPs in use
        self.owners: Counter[str] = Counter()  # controller uid -> pods of it on this node

    def set_node(self, node: Node) -> None:
        self.node = node
        self.labels = dict(node.metadata.labels or {})
        self.taints = tuple(node.spec.taints or ())
        self.unschedulable = bool(node.spec.unschedulable)
        self.ready = is_true(node.status.conditions if node.status else None, "Ready")
        self.plain = self.ready and not self.unschedulable and not self.taints
        raw = (node.status.allocatable or node.status.capacity) if node.status else None
        if raw != self._raw_allocatable:  # heartbeats rewrite status; skip the re-parse
            self._raw_allocatable = dict(raw) if raw else None
            self.allocatable = parse_allocatable(node)
            self.max_pods = self.allocatable.get(PODS, 0)

    @property
    def pod_count(self) -> int:
        return len(self.pods)

    def add_pod(self, info: PodInfo) -> None:
        if info.uid in self.pods:
            return
        self.pods[info.uid] = info
        for name, value in info.requests.items():
            self.requested[name] = self.requested.get(name, 0) + value
        self.nonzero_cpu += info.nonzero_cpu
        self.nonzero_memory += info.nonzero_memory
        for hp in info.host_ports:
            self.ports.setdefault((hp.protocol, hp.port), Counter())[hp.ip] += 1
        if info.owner_uid:
            self.owners[info.owner_uid] += 1

    def remove_pod(self, uid: str) -> None:
        info = self.pods.pop(uid, None)
        if info is None:
            return
        for name, value in info.requests.items():
            self.requested[name] = self.requested.get(name, 0) - value
        self.nonzero_cpu -= info.nonzero_cpu
        self.nonzero_memory -= info.nonzero_memory
        for hp in info.host_ports:
            ips = self.ports.get((hp.protocol, hp.port))
            if ips is not None:
                ips[hp.ip] -= 1
                if ips[hp.ip] <= 0:
                    del ips[hp.ip]
                if not ips:
                    del self.ports[(hp.protocol, hp.port)]
        if info.owner_uid:
            self.owners[info.owner_uid] -= 1
            if self.owners[info.owner_uid] <= 0:
                del self.owners[info.owner_uid]

    def port_in_use(self, ip: str, protocol: str, port: int) -> bool:
        """Whether ``ip:port/protocol`` collides: 0.0.0.0 on either side collides with every address."""
        ips = self.ports.get((protocol, port))
        if not ips:
            return False
        return ip == ANY_IP or ip in ips or ANY_IP in ips

    def free(self, resource: str) -> int:
        return self.allocatable.get(resource, 0) - self.requested.get(resource, 0)


@dataclass(slots=True)
class _PodState:
    info: PodInfo
    node: str
    assumed: bool
    deadline: float | None = None  # set when an assumed pod's binding succeeded


class SchedulerCache:
    """Nodes and the pods on them; the only mutable state the scheduling algorithm reads."""

    def __init__(self, *, clock: Callable[[], float], assumed_ttl: float = ASSUMED_POD_TTL) -> None:
        self.clock = clock
        self.assumed_ttl = assumed_ttl
        self._nodes: dict[str, NodeInfo] = {}
        self._pods: dict[str, _PodState] = {}
        self._expiring: set[str] = set()  # bound, unconfirmed assumptions with a deadline
        self._ordered: list[NodeInfo] | None = None

    # -- nodes -----------------------------------------------------------------------------

    def update_node(self, node: Node) -> None:
        name = str(node.metadata.name)
        info = self._nodes.get(name)
        if info is None:
            info = self._nodes[name] = NodeInfo(name)
        if info.node is None:
            self._ordered = None
        info.set_node(node)

    def remove_node(self, name: str) -> None:
        info = self._nodes.get(name)
        if info is None:
            return
        self._ordered = None
        if info.pods:
            info.node = None  # keep the totals until its pods are gone too
        else:
            del self._nodes[name]

    def node_list(self) -> list[NodeInfo]:
        """Known nodes ordered by name (recomputed only when nodes come or go)."""
        if self._ordered is None:
            self._ordered = sorted((n for n in self._nodes.values() if n.node is not None), key=lambda n: n.name)
        return self._ordered

    def node(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    # -- pods ------------------------------------------------------------------------------

    def _place(self, info: PodInfo, node: str) -> None:
        target = self._nodes.get(node)
        if target is None:
            target = self._nodes[node] = NodeInfo(node)
        target.add_pod(info)

    def _unplace(self, state: _PodState) -> None:
        target = self._nodes.get(state.node)
        if target is None:
            return
        target.remove_pod(state.info.uid)
        if target.node is None and not target.pods:
            del self._nodes[state.node]

    def knows(self, uid: str) -> bool:
        """True when the pod is assumed or bound: it must not be scheduled again."""
        return uid in self._pods

    def is_assumed(self, uid: str) -> bool:
        state = self._pods.get(uid)
        return state is not None and state.assumed

    def assume(self, info: PodInfo, node: str) -> None:
        """Count the pod on ``node`` now, before the binding is sent."""
        if info.uid in self._pods:
            raise ValueError(f"pod {info.key} ({info.uid}) is already in the cache")
        self._pods[info.uid] = _PodState(info, node, assumed=True)
        self._place(info, node)

    def finish_binding(self, uid: str) -> None:
        """The binding succeeded: the assumption now waits for the informer (at most the TTL, if any)."""
        state = self._pods.get(uid)
        if state is not None and state.assumed and self.assumed_ttl > 0:
            state.deadline = self.clock() + self.assumed_ttl
            self._expiring.add(uid)

    def forget(self, uid: str) -> None:
        """The binding failed: undo the assumption."""
        state = self._pods.get(uid)
        if state is not None and state.assumed:
            del self._pods[uid]
            self._unplace(state)

    def add_pod(self, info: PodInfo, node: str) -> None:
        """An assigned pod the informer reports (it confirms an assumption when there was one)."""
        state = self._pods.get(info.uid)
        if state is not None:
            if state.node == node:
                state.assumed, state.deadline = False, None
                self._refresh(state, info)
                return
            log.warning("pod %s assumed on %s but bound to %s", info.key, state.node, node)
            self._unplace(state)
        self._pods[info.uid] = _PodState(info, node, assumed=False)
        self._place(info, node)

    def _refresh(self, state: _PodState, info: PodInfo) -> None:
        if state.info.requests == info.requests and state.info.host_ports == info.host_ports:
            return
        self._unplace(state)
        state.info = info
        self._place(info, state.node)

    def remove_pod(self, uid: str) -> None:
        state = self._pods.pop(uid, None)
        if state is not None:
            self._unplace(state)

    def cleanup(self) -> list[str]:
        """Drop assumptions whose binding succeeded more than the TTL ago without confirmation."""
        now = self.clock()
        self._expiring = {uid for uid in self._expiring if uid in self._pods and self._pods[uid].assumed}
        expired = [uid for uid in self._expiring if (deadline := self._pods[uid].deadline) is not None and deadline < now]
        for uid in expired:
            self._expiring.discard(uid)
            log.warning("assumed pod %s expired without the informer reporting it", self._pods[uid].info.key)
            self._unplace(self._pods.pop(uid))
        return expired

    def pod_node(self, uid: str) -> str | None:
        state = self._pods.get(uid)
        return state.node if state else None

    def __len__(self) -> int:
        return len(self._pods)
