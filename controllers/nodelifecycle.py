"""Node lifecycle: notice silent kubelets, mark their nodes, taint them so pods move elsewhere.

Health is judged as Kubernetes' node lifecycle controller does: what matters is when *this
controller* last saw the node's Lease (``kube-node-lease/<node>``) or its Ready heartbeat change,
on its own monotonic clock, so clock skew between machines cannot fake a dead or a live node, and
a freshly started controller gives every node a full grace period before judging it. A node
silent for longer than ``grace_period`` gets Ready=Unknown (``NodeStatusUnknown``), its pods get
Ready=False, and the node gets the ``node.kubernetes.io/unreachable:NoExecute`` taint (a node whose
kubelet reports Ready=False gets ``not-ready`` instead). Taints go away as soon as it is Ready.

Tainting is what evicts (see :mod:`controllers.tainteviction`), so tainting is rate limited per
zone: ``eviction_qps`` (0.1 nodes/s) while a zone is healthy, ``secondary_qps`` for large
partially-disrupted zones (0 for small ones), and nothing at all when every node of every zone
is unhealthy - that looks like the control plane lost the network, not like all nodes died, and
evicting everything would turn a network blip into an outage. Existing taints are removed then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from apimachinery.conditions import TRUE, UNKNOWN, get_condition
from apimachinery.events import NORMAL
from apimachinery.models.apps import Lease
from apimachinery.models.core import Node, NodeStatus, Pod, Taint
from apimachinery.models.meta import Condition
from apimachinery.timeutil import Clock, now_rfc3339
from apimachinery.workqueue import WorkQueue
from controllers import podutil
from controllers.base import NODE_INDEX, ControllerContext, Queue, end_on_stale_write, key_of

log = logging.getLogger(__name__)

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
NO_EXECUTE = "NoExecute"
ZONE_LABEL = "topology.kubernetes.io/zone"
LEASE_NAMESPACE = "kube-node-lease"
NODE_READY = "Ready"
PRESSURE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure")
NORMAL_ZONE, PARTIAL_DISRUPTION, FULL_DISRUPTION = "Normal", "PartialDisruption", "FullDisruption"


def zone_state(ready: int, not_ready: int, *, unhealthy_threshold: float = 0.55) -> str:
    """Kubernetes' ComputeZoneState: no ready node is full disruption; many unready, partial."""
    if ready == 0 and not_ready > 0:
        return FULL_DISRUPTION
    if not_ready > 2 and not_ready / (ready + not_ready) >= unhealthy_threshold:
        return PARTIAL_DISRUPTION
    return NORMAL_ZONE


class ZoneHealth:
    """Ready / not-ready node counts per zone, kept current one synced node at a time.

    Fed by the node informer's events and by the controller's own writes. Recounting every
    node on every sync made a sync O(nodes), and the controller's work O(nodes^2) per
    heartbeat round: a third of the server's CPU at 1,000 nodes.
    """

    def __init__(self) -> None:
        self._nodes: dict[str, tuple[str, bool]] = {}  # node -> (zone, ready)
        self._counts: dict[str, list[int]] = {}  # zone -> [ready, not ready]

    def update(self, name: str, zone: str, *, ready: bool) -> None:
        old = self._nodes.get(name)
        if old == (zone, ready):
            return
        if old is not None:
            self._drop(old)
        self._nodes[name] = (zone, ready)
        self._counts.setdefault(zone, [0, 0])[0 if ready else 1] += 1

    def remove(self, name: str) -> None:
        old = self._nodes.pop(name, None)
        if old is not None:
            self._drop(old)

    def _drop(self, entry: tuple[str, bool]) -> None:
        zone, ready = entry
        counts = self._counts[zone]
        counts[0 if ready else 1] -= 1
        if counts == [0, 0]:
            del self._counts[zone]

    def counts(self) -> dict[str, tuple[int, int]]:
        """(ready, not ready) per zone."""
        return {zone: (ready, not_ready) for zone, (ready, not_ready) in self._counts.items()}


def ready_status(node: Node) -> str | None:
    cond = get_condition(node.status.conditions if node.status else None, NODE_READY)
    return cond.status if cond is not None else None


def wanted_taint(node: Node) -> str | None:
    """The NoExecute taint a node's Ready condition calls for (None when ready or never reported)."""
    return {"False": NOT_READY_TAINT, UNKNOWN: UNREACHABLE_TAINT}.get(ready_status(node) or "")


def unknown_conditions(node: Node, *, now: str) -> list[Condition]:
    """The node's conditions after its kubelet went silent: Ready and pressures become Unknown."""
    out: list[Condition] = []
    existing = node.status.conditions if node.status else None
    for cond in existing or []:
        if cond.type in (NODE_READY, *PRESSURE_CONDITIONS) and cond.status != UNKNOWN:
            cond = cond.model_copy(update={"status": UNKNOWN, "reason": "NodeStatusUnknown",
                                           "message": "Kubelet stopped posting node status.",
                                           "last_transition_time": now})
        out.append(cond)
    if get_condition(existing, NODE_READY) is None:
        out.append(Condition(type=NODE_READY, status=UNKNOWN, reason="NodeStatusNeverUpdated",
                             message="Kubelet never posted node status.", last_transition_time=now,
                             last_heartbeat_time=now))
    return out


class TokenBucket:
    """``qps`` tokens a second, at most ``burst`` saved; a rate of 0 never grants one."""

    def __init__(self, qps: float, *, clock: Clock, burst: int = 1) -> None:
        self.clock = clock
        self.qps = qps
        self.burst = burst
        self._tokens = float(burst)
        self._last = clock.monotonic()

    def _refill(self) -> None:
        now = self.clock.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now

    def set_rate(self, qps: float) -> None:
        self._refill()
        self.qps = qps

    def try_take(self) -> bool:
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def wait(self) -> float:
        """Seconds until a token is available (a long time when the rate is zero)."""
        self._refill()
        if self.qps <= 0:
            return 30.0
        return max((1.0 - self._tokens) / self.qps, 0.0)


@dataclass
class _Heard:
    signature: tuple[str | None, ...]
    at: float  # this controller's monotonic clock


class NodeLifecycleController:
    name = "node-controller"
    workers = 2

    def __init__(self, ctx: ControllerContext, *, grace_period: float, queue: Queue | None = None,
                 eviction_qps: float = 0.1, secondary_qps: float = 0.01, large_cluster_size: int = 50,
                 unhealthy_threshold: float = 0.55) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.nodes = ctx.informers.nodes
        self.leases = ctx.informers.leases
        self.pods = ctx.informers.pods
        self.recorder = ctx.recorder_for(self.name)
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self.grace_period = grace_period
        self.eviction_qps = eviction_qps
        self.secondary_qps = secondary_qps
        self.large_cluster_size = large_cluster_size
        self.unhealthy_threshold = unhealthy_threshold
        self.all_disrupted = False
        self._heard: dict[str, _Heard] = {}
        self._limiters: dict[str, TokenBucket] = {}
        self.zones = ZoneHealth()
        for cached in self.nodes.list():
            self._count(cached)
        self.nodes.add_handler(self._on_node, lambda old, new: self._on_node(new), self._on_node_delete)
        self.leases.add_handler(self._on_lease, lambda old, new: self._on_lease(new))

    def _enqueue(self, node: Node) -> None:
        self.queue.add(node.metadata.name or "")

    def _on_node(self, node: Node) -> None:
        self._count(node)
        self._enqueue(node)

    def _count(self, node: Node) -> None:
        self.zones.update(node.metadata.name or "", (node.metadata.labels or {}).get(ZONE_LABEL, ""),
                          ready=ready_status(node) == TRUE)

    def _on_node_delete(self, node: Node) -> None:
        self._heard.pop(node.metadata.name or "", None)
        self.zones.remove(node.metadata.name or "")

    def _on_lease(self, lease: Lease) -> None:
        if lease.metadata.namespace == LEASE_NAMESPACE:
            self.queue.add(lease.metadata.name or "")

    # -- sync ----------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Judge one node's health, then make its condition, taints and pods agree."""
        await end_on_stale_write("node", key, self._sync(key))

    async def _sync(self, key: str) -> None:
        cached = self.nodes.get(key)
        if cached is None:
            self._heard.pop(key, None)
            self.zones.remove(key)
            return
        node = cached.model_copy(deep=True)
        now = self.clock.monotonic()
        heard = self._observe(node, now)
        silent = now - heard.at > self.grace_period
        if silent:
            node = await self._mark_unknown(node)
        else:
            self.queue.add_after(key, heard.at + self.grace_period - now + 0.1)
        self._update_disruption(node, now)
        await self._reconcile_taints(node)
        if silent:  # (a kubelet that is back reports its pods itself)
            await self._mark_pods_not_ready(node)

    def _observe(self, node: Node, now: float) -> _Heard:
        """When the node last showed life: a changed Lease renewal or Ready heartbeat."""
        name = node.metadata.name or ""
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}")
        ready = get_condition(node.status.conditions if node.status else None, NODE_READY)
        signature = (
            lease.spec.renew_time if lease else None,
            lease.spec.holder_identity if lease else None,
            ready.last_heartbeat_time if ready else None,  # kept as it was when we mark Unknown
        )
        heard = self._heard.get(name)
        if heard is None or heard.signature != signature:
            heard = self._heard[name] = _Heard(signature, now)
        return heard

    async def _mark_unknown(self, node: Node) -> Node:
        now = now_rfc3339(self.clock)
        conditions = unknown_conditions(node, now=now)
        if node.status is not None and conditions == node.status.conditions:
            return node
        was_ready = ready_status(node) == TRUE
        updated = node.model_copy(deep=True)
        updated.status = updated.status or NodeStatus()
        updated.status.conditions = conditions
        result = await self.client.replace_status(updated)
        if was_ready:
            self.recorder.event(node, NORMAL, "NodeNotReady",
                                f"Node {node.metadata.name} status is now: NodeNotReady")
        log.info("node %s: Ready=Unknown (no heartbeat for %.0fs)", node.metadata.name, self.grace_period)
        return result

    # -- disruption and rate limiting ---------------------------------------------------------

    def _update_disruption(self, node: Node, now: float) -> None:
        self._count(node)  # ours may be newer than the cache (a write of our own)
        zones = self.zones.counts()
        states = {z: zone_state(r, n, unhealthy_threshold=self.unhealthy_threshold) for z, (r, n) in zones.items()}
        all_full = bool(states) and all(s == FULL_DISRUPTION for s in states.values())
        if all_full != self.all_disrupted:
            log.warning("all nodes are unhealthy: %s disruption mode", "entering" if all_full else "leaving")
            if not all_full:
                for heard in self._heard.values():
                    heard.at = now  # give every node a fresh grace period after a cluster-wide blip
            self.all_disrupted = all_full
            for cached in self.nodes.list():
                self._enqueue(cached)
        for zone, state in states.items():
            self._limiter(zone).set_rate(self._rate(state, sum(zones[zone])))

    def _rate(self, state: str, size: int) -> float:
        if self.all_disrupted:
            return 0.0
        if state == PARTIAL_DISRUPTION:
            return self.secondary_qps if size > self.large_cluster_size else 0.0
        return self.eviction_qps

    def _limiter(self, zone: str) -> TokenBucket:
        if zone not in self._limiters:
            self._limiters[zone] = TokenBucket(self.eviction_qps, clock=self.clock)
        return self._limiters[zone]

    # -- taints and pods -----------------------------------------------------------------------

    async def _reconcile_taints(self, node: Node) -> None:
        want = None if self.all_disrupted else wanted_taint(node)
        taints = list(node.spec.taints or [])
        ours = [t for t in taints if t.key in (NOT_READY_TAINT, UNREACHABLE_TAINT) and t.effect == NO_EXECUTE]
        if {t.key for t in ours} == ({want} if want else set()):
            return
        others = [t for t in taints if t not in ours]
        if want is None:
            await self._write_taints(node, others)
            return
        limiter = self._limiter((node.metadata.labels or {}).get(ZONE_LABEL, ""))
        if not limiter.try_take():
            self.queue.add_after(node.metadata.name or "", limiter.wait())
            return
        await self._write_taints(node, [*others, Taint(key=want, effect=NO_EXECUTE, time_added=now_rfc3339(self.clock))])
        log.info("node %s: tainted %s:%s", node.metadata.name, want, NO_EXECUTE)

    async def _write_taints(self, node: Node, taints: list[Taint]) -> None:
        patch = {"metadata": {"resourceVersion": node.metadata.resource_version},
                 "spec": {"taints": [t.to_dict() for t in taints] or None}}
        await self.client.patch(Node, node.metadata.name or "", patch)

    async def _mark_pods_not_ready(self, node: Node) -> None:
        now = now_rfc3339(self.clock)
        for pod in self.pods.by_index(NODE_INDEX, node.metadata.name or ""):
            if not podutil.is_ready(pod):
                continue
            patch = {"status": {"conditions": [{"type": podutil.POD_READY, "status": "False",
                                                "lastTransitionTime": now}]}}
            await self.client.patch(Pod, pod.metadata.name or "", patch, pod.metadata.namespace,
                                    patch_type="strategic", subresource="status")
            self.recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready")
            log.debug("pod %s: Ready=False (node %s unreachable)", key_of(pod), node.metadata.name)
