"""The DaemonSet controller: one pod on every eligible node, replaced node by node on change.

One idempotent ``sync(key)`` in Kubernetes' order (``syncDaemonSet``): claim the pods, map them to
nodes, then either *manage* (create the missing pods, delete those of nodes that should not run
one, failed ones and duplicates) or, when manage had nothing to do and the strategy is
RollingUpdate, take one *rolling update* step (delete old pods within ``maxUnavailable``, or
with ``maxSurge`` create new ones beside them), and write the status computed by
:func:`daemonset_util.calculate_status` when it changed. Expectations keep a second round from
acting before the first round's pods are seen. The pure decisions are in
:mod:`controllers.daemonset_util`; pods are bound by the scheduler through their node affinity.
Each template is recorded as a ControllerRevision (:mod:`controllers.daemonset_history`), so
``kubectl rollout history`` and ``undo`` work on DaemonSets.

Node events enqueue every DaemonSet (a node that joins, changes labels or taints, or leaves may
change where each one runs); pod events enqueue the pod's DaemonSet.
"""

from __future__ import annotations

import asyncio
import logging

from apimachinery.errors import ApiError
from apimachinery.events import NORMAL, WARNING
from apimachinery.models.apps import ControllerRevision, DaemonSet, DaemonSetStatus
from apimachinery.models.core import Node, Pod
from apimachinery.selectors import selector_from_model
from apimachinery.workqueue import WorkQueue
from controllers import daemonset_util as util
from controllers import podutil
from controllers.base import (
    CONTROLLER_UID_INDEX,
    NAMESPACE_INDEX,
    Cache,
    ControllerContext,
    Queue,
    is_stale_write,
    key_of,
    resolve_controller,
)
from controllers.daemonset_history import History
from controllers.expectations import Expectations
from controllers.ownership import claim, plan_claims

log = logging.getLogger(__name__)

FAILED_CREATE, FAILED_DELETE, FAILED_DAEMON_POD = "FailedCreate", "FailedDelete", "FailedDaemonPod"
SUCCESSFUL_CREATE, SUCCESSFUL_DELETE = "SuccessfulCreate", "SuccessfulDelete"
BURST_REPLICAS = 250


class DaemonSetController:
    name = "daemonset-controller"
    workers = 2

    def __init__(self, ctx: ControllerContext, daemonsets: Cache[DaemonSet], *,
                 revisions: Cache[ControllerRevision] | None = None, queue: Queue | None = None) -> None:
        self.client = ctx.client
        self.clock = ctx.clock
        self.pods = ctx.informers.pods
        self.nodes = ctx.informers.nodes
        self.daemonsets = daemonsets
        self.recorder = ctx.recorder_for(self.name)
        self.queue: Queue = queue if queue is not None else WorkQueue()
        self.expectations = Expectations(ctx.clock)
        self.history = History(ctx.client, revisions) if revisions is not None else None
        daemonsets.add_handler(self._enqueue, lambda old, new: self._enqueue(new), self._on_ds_delete)
        self.pods.add_handler(self._on_pod, lambda old, new: self._on_pod_update(old, new), self._on_pod_delete)
        self.nodes.add_handler(self._on_node, self._on_node_update, self._on_node)

    # -- event handlers ---------------------------------------------------------------------------

    def _enqueue(self, ds: DaemonSet) -> None:
        self.queue.add(key_of(ds))

    def _on_ds_delete(self, ds: DaemonSet) -> None:
        self.expectations.forget(key_of(ds))

    def _owner_of(self, pod: Pod) -> DaemonSet | None:
        return resolve_controller(self.daemonsets, pod.metadata.namespace, pod.metadata.controller_ref(), "DaemonSet")

    def _on_pod(self, pod: Pod) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.creation_observed(key_of(owner))
            self._enqueue(owner)
        elif pod.metadata.controller_ref() is None:
            self._enqueue_matching(pod)

    def _on_pod_update(self, old: Pod, new: Pod) -> None:
        if old.metadata.resource_version == new.metadata.resource_version:
            return
        owner = self._owner_of(new)
        if owner is not None:
            self._enqueue(owner)
            min_ready = owner.spec.min_ready_seconds or 0
            if min_ready and not podutil.is_ready(old) and podutil.is_ready(new):
                self.queue.add_after(key_of(owner), min_ready + 1)
        elif new.metadata.controller_ref() is None:
            self._enqueue_matching(new)

    def _on_pod_delete(self, pod: Pod) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.deletion_observed(key_of(owner), key_of(pod))
            self._enqueue(owner)

    def _enqueue_matching(self, pod: Pod) -> None:
        for ds in self.daemonsets.list():
            if ds.metadata.namespace == pod.metadata.namespace and ds.spec.selector is not None \
                    and selector_from_model(ds.spec.selector).matches(pod.metadata.labels):
                self._enqueue(ds)

    def _on_node(self, _node: Node) -> None:
        for ds in self.daemonsets.list():
            self._enqueue(ds)

    def _on_node_update(self, old: Node, new: Node) -> None:
        """Heartbeats change nothing a DaemonSet looks at (``shouldIgnoreNodeUpdate``)."""
        if _placement_facts(old) != _placement_facts(new):
            self._on_node(new)

    # -- sync ---------------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        """Run the DaemonSet's pod on every eligible node, one step of an update, then its status."""
        cached = self.daemonsets.get(key)
        if cached is None:
            self.expectations.forget(key)
            return  # deleted; the garbage collector removes its pods
        ds = cached.model_copy(deep=True)
        if ds.spec.selector is None:
            return
        try:
            pods = await self._claim_pods(ds)
        except ApiError as err:
            if not is_stale_write(err):
                raise
            return  # a pod changed under an adoption: its event brings the DaemonSet back
        nodes = {n.metadata.name or "": n for n in self.nodes.list()}
        node_pods = _by_node(pods)
        hash_ = util.revision_hash(ds)
        error: ApiError | None = None
        if self.expectations.satisfied(key) and ds.metadata.deletion_timestamp is None:
            try:
                if self.history is not None:
                    await self.history.record(ds, hash_)
                acted = await self._manage(ds, nodes, node_pods, hash_)
                if not acted and util.is_rolling(ds):
                    await self._rolling_update(ds, nodes, node_pods, hash_)
                if self.history is not None and self.expectations.satisfied(key):
                    await self.history.clean(ds, hash_, pods)
            except ApiError as err:
                error = err
        now = self.clock.time()
        status = util.calculate_status(ds, list(nodes.values()), node_pods, hash_=hash_, now=now)
        await self._write_status(ds, status)
        if error is not None:
            raise error
        if ds.spec.min_ready_seconds and status.number_available != status.number_ready:
            self.queue.add_after(key, float(ds.spec.min_ready_seconds))

    async def _claim_pods(self, ds: DaemonSet) -> list[Pod]:
        assert ds.spec.selector is not None
        selector = selector_from_model(ds.spec.selector)
        owned = [p for p in self.pods.by_index(CONTROLLER_UID_INDEX, ds.metadata.uid or "")
                 if p.metadata.namespace == ds.metadata.namespace]
        orphans = [p for p in self.pods.by_index(NAMESPACE_INDEX, ds.metadata.namespace or "")
                   if p.metadata.controller_ref() is None and podutil.is_active(p)]
        return await claim(self.client, ds, plan_claims(ds, selector, [*owned, *orphans]))

    async def _manage(self, ds: DaemonSet, nodes: dict[str, Node], node_pods: dict[str, list[Pod]],
                      hash_: str) -> bool:
        """Create and delete what the per-node plans ask for; True when there was anything to do."""
        surge = util.is_rolling(ds) and util.surge_and_unavailable(ds, len(nodes))[0] > 0
        create: list[str] = []
        delete: list[Pod] = []
        for name in sorted(set(nodes) | set(node_pods)):
            plan = util.plan_node(ds, nodes.get(name), node_pods.get(name, []), surge=surge)
            create += plan.create
            delete += plan.delete
            for pod in plan.failed:
                self.recorder.event(ds, WARNING, FAILED_DAEMON_POD,
                                    f"Found failed daemon pod {pod.metadata.namespace}/{pod.metadata.name} "
                                    f"on node {name}, will try to kill it")
            delete += plan.failed
        if not create and not delete:
            return False
        await self._sync_nodes(ds, delete, create, hash_)
        return True

    async def _rolling_update(self, ds: DaemonSet, nodes: dict[str, Node], node_pods: dict[str, list[Pod]],
                              hash_: str) -> None:
        desired = sum(1 for n in nodes.values() if util.should_run(ds, n)[0])
        delete, create = util.rolling_update_step(ds, nodes, node_pods, hash_=hash_, desired=desired,
                                                  now=self.clock.time())
        if delete or create:
            await self._sync_nodes(ds, delete, create, hash_)

    async def _sync_nodes(self, ds: DaemonSet, delete: list[Pod], create: list[str], hash_: str) -> None:
        """``syncNodes``: expectations first, then the writes; the first error is raised."""
        key = key_of(ds)
        create, delete = create[:BURST_REPLICAS], delete[:BURST_REPLICAS]
        self.expectations.expect_creations(key, len(create))
        self.expectations.expect_deletions(key, [key_of(p) for p in delete])
        results = await asyncio.gather(*(self._create_pod(ds, n, hash_) for n in create),
                                       *(self._delete_pod(ds, p) for p in delete), return_exceptions=True)
        errors: list[BaseException] = []
        for i, result in enumerate(results):
            if not isinstance(result, BaseException):
                continue
            if i < len(create):
                self.expectations.creation_observed(key)
            else:
                self.expectations.deletion_observed(key, key_of(delete[i - len(create)]))
                if isinstance(result, ApiError) and result.code == 404:
                    continue
            errors.append(result)
        if errors:
            raise errors[0]

    async def _create_pod(self, ds: DaemonSet, node_name: str, hash_: str) -> None:
        try:
            made = await self.client.create(util.new_pod(ds, node_name, hash_), ds.metadata.namespace)
        except ApiError as err:
            self.recorder.event(ds, WARNING, FAILED_CREATE, f"Error creating: {err.message}")
            raise
        self.recorder.event(ds, NORMAL, SUCCESSFUL_CREATE, f"Created pod: {made.metadata.name}")

    async def _delete_pod(self, ds: DaemonSet, pod: Pod) -> None:
        try:
            await self.client.delete(Pod, pod.metadata.name or "", pod.metadata.namespace,
                                     preconditions={"uid": pod.metadata.uid or ""})
        except ApiError as err:
            if err.code != 404:
                self.recorder.event(ds, WARNING, FAILED_DELETE, f"Error deleting: {err.message}")
            raise
        self.recorder.event(ds, NORMAL, SUCCESSFUL_DELETE, f"Deleted pod: {pod.metadata.name}")

    async def _write_status(self, ds: DaemonSet, status: DaemonSetStatus) -> None:
        """Write when changed; on a conflict (our cache lags our own last write) re-read once."""
        for attempt in range(2):
            if ds.status is not None and status == ds.status:
                return
            ds.status = status
            try:
                await self.client.replace_status(ds)
                return
            except ApiError as err:
                if err.code != 409 or attempt:
                    raise
                ds = await self.client.get(DaemonSet, ds.metadata.name or "", ds.metadata.namespace)


def _placement_facts(node: Node) -> tuple[object, ...]:
    conditions = sorted((c.type, c.status) for c in (node.status.conditions if node.status else None) or [])
    return node.metadata.labels, node.spec.model_dump() if node.spec else None, conditions


def _by_node(pods: list[Pod]) -> dict[str, list[Pod]]:
    out: dict[str, list[Pod]] = {}
    for pod in pods:
        node = util.target_node(pod)
        if node:
            out.setdefault(node, []).append(pod)
    return out
