"""DaemonSet controller as a specification: which nodes run the pod, what the pod looks like, how
an update replaces pods node by node, and the status kubectl's rollout status reads."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.apps import ControllerRevision, DaemonSet
from apimachinery.models.core import Node, Pod
from controllers import daemonset_util as util
from controllers.base import add_standard_indexers
from controllers.daemonset import DaemonSetController
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, pod

KEY = f"{NS}/agent"
LABELS = {"app": "agent"}


def daemonset(*, node_selector: dict[str, str] | None = None, tolerations: list[dict[str, Any]] | None = None,
              affinity: dict[str, Any] | None = None, strategy: dict[str, Any] | None = None, image: str = "agent:1",
              host_network: bool = False, generation: int = 1) -> DaemonSet:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": image}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    if tolerations:
        spec["tolerations"] = tolerations
    if affinity:
        spec["affinity"] = affinity
    if host_network:
        spec["hostNetwork"] = True
    body = {"selector": {"matchLabels": LABELS}, "template": {"metadata": {"labels": LABELS}, "spec": spec},
            "updateStrategy": strategy or {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}}
    return DaemonSet.model_validate({"metadata": {"name": "agent", "namespace": NS, "uid": "ds-agent",
                                                  "generation": generation}, "spec": body})


def node(name: str, *, labels: dict[str, str] | None = None, taints: list[dict[str, Any]] | None = None,
         unschedulable: bool = False) -> Node:
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return Node.model_validate({"metadata": {"name": name, "uid": f"node-{name}", "labels": labels or {}},
                                "spec": spec, "status": {}})


def daemon_pod(name: str, ds: DaemonSet, node_name: str, *, hash_: str | None = None, ready: bool = True,
               phase: str = "Running", created: str = "2026-01-01T00:00:00Z") -> Pod:
    made = pod(name, owner=ds, labels={**LABELS, util.REVISION_HASH_LABEL: hash_ or util.revision_hash(ds)},
               node=node_name, ready=ready, phase=phase, created=created)
    return made


def setup() -> tuple[FakeCluster, DaemonSetController, FakeQueue]:
    cluster = fake_context()
    queue = FakeQueue()
    daemonsets = cluster.client.informer(DaemonSet)
    return cluster, DaemonSetController(cluster.ctx, daemonsets, queue=queue), queue


def created_on(cluster: FakeCluster) -> list[str]:
    return sorted(util.target_node(p) or "" for p in cluster.client.all(Pod) if p.spec.node_name is None)


NO_SCHEDULE = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
NO_EXECUTE = {"key": "dedicated", "value": "db", "effect": "NoExecute"}


@pytest.mark.parametrize(("ds_args", "nodes", "expected"), [
    pytest.param({}, [node("n1"), node("n2"), node("n3")], ["n1", "n2", "n3"], id="every-node"),
    pytest.param({"node_selector": {"role": "edge"}}, [node("n1", labels={"role": "edge"}), node("n2")], ["n1"],
                 id="node-selector"),
    pytest.param({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}},
        [node("n1", labels={"disk": "ssd"}), node("n2", labels={"disk": "hdd"})], ["n1"], id="node-affinity"),
    pytest.param({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n2"]}]}]}}}},
        [node("n1"), node("n2")], ["n1"], id="match-fields"),
    pytest.param({}, [node("n1", taints=[NO_SCHEDULE]), node("n2", taints=[NO_EXECUTE]), node("n3")], ["n3"],
                 id="untolerated-taints"),
    pytest.param({"tolerations": [{"key": "dedicated", "operator": "Exists"}]},
                 [node("n1", taints=[NO_SCHEDULE]), node("n2", taints=[NO_EXECUTE])], ["n1", "n2"], id="tolerated"),
    pytest.param({}, [node("n1", unschedulable=True, taints=[
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}])], ["n1"], id="cordoned"),
    pytest.param({}, [node("n1", taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
                                         {"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"}])],
                 ["n1"], id="not-ready-and-disk-pressure"),
    pytest.param({}, [node("n1", taints=[{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}])],
                 [], id="no-network"),
    pytest.param({"host_network": True},
                 [node("n1", taints=[{"key": "node.kubernetes.io/network-unavailable", "effect": "NoSchedule"}])],
                 ["n1"], id="no-network-host-network"),
])
async def test_one_pod_per_eligible_node(ds_args: dict[str, Any], nodes: list[Node], expected: list[str]) -> None:
    cluster, dsc, _ = setup()
    cluster.client.seed(daemonset(**ds_args))
    for n in nodes:
        cluster.client.seed(n)
    await dsc.sync(KEY)
    assert created_on(cluster) == expected


async def test_the_pod_is_pinned_to_its_node_by_affinity_and_tolerates_node_conditions() -> None:
    cluster, dsc, _ = setup()
    ds = cluster.client.seed(daemonset(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "Exists"}]}]}}}))
    cluster.client.seed(node("n1", labels={"disk": "ssd"}))
    await dsc.sync(KEY)
    (made,) = cluster.client.all(Pod)
    assert made.spec.node_name is None  # the scheduler binds it
    assert made.spec.affinity == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}}
    assert {(t.key, t.operator, t.effect) for t in made.spec.tolerations or []} == {
        ("node.kubernetes.io/not-ready", "Exists", "NoExecute"),
        ("node.kubernetes.io/unreachable", "Exists", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "Exists", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "Exists", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "Exists", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "Exists", "NoSchedule"),
    }
    assert made.metadata.labels == {**LABELS, util.REVISION_HASH_LABEL: util.revision_hash(ds),
                                    util.TEMPLATE_GENERATION_LABEL: "1"}
    assert made.metadata.generate_name == "agent-"
    (ref,) = made.metadata.owner_references or []
    assert (ref.kind, ref.name, ref.uid, ref.controller) == ("DaemonSet", "agent", "ds-agent", True)
    assert cluster.recorder.reasons() == ["SuccessfulCreate"]


async def test_a_node_that_joins_gets_a_pod_and_one_that_leaves_loses_it() -> None:
    cluster, dsc, queue = setup()
    ds = cluster.client.seed(daemonset())
    cluster.client.seed(node("n1"))
    cluster.client.seed(daemon_pod("agent-a", ds, "n1"))
    cluster.client.seed(daemon_pod("agent-gone", ds, "n9"))  # its node was deleted
    queue.clear()
    cluster.client.seed(node("n2"))
    assert KEY in queue.added  # a node event enqueues every DaemonSet
    await dsc.sync(KEY)
    assert created_on(cluster) == ["n2"]
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["agent-gone"]


async def test_a_node_that_stops_matching_loses_its_pod() -> None:
    cluster, dsc, _ = setup()
    ds = cluster.client.seed(daemonset(node_selector={"role": "edge"}))
    cluster.client.seed(node("n1", labels={"role": "core"}))
    cluster.client.seed(daemon_pod("agent-a", ds, "n1"))
    await dsc.sync(KEY)
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["agent-a"]


async def test_an_untolerated_no_schedule_taint_keeps_the_running_pod() -> None:
    cluster, dsc, _ = setup()
    ds = cluster.client.seed(daemonset())
    cluster.client.seed(node("n1", taints=[NO_SCHEDULE]))
    cluster.client.seed(daemon_pod("agent-a", ds, "n1"))
    await dsc.sync(KEY)
    assert cluster.client.calls("delete", "pods") == [] and cluster.client.calls("create", "pods") == []


async def test_a_failed_pod_is_deleted_and_reported_then_replaced() -> None:
    cluster, dsc, _ = setup()
    ds = cluster.client.seed(daemonset())
    cluster.client.seed(node("n1"))
    cluster.client.seed(daemon_pod("agent-a", ds, "n1", phase="Failed", ready=False))
    await dsc.sync(KEY)
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["agent-a"]
    assert "FailedDaemonPod" in cluster.recorder.reasons()
    cluster.client.deliver()
    await dsc.sync(KEY)
    assert created_on(cluster) == ["n1"]


async def test_duplicates_on_one_node_keep_the_oldest() -> None:
    cluster, dsc, _ = setup()
    ds = cluster.client.seed(daemonset())
    cluster.client.seed(node("n1"))
    cluster.client.seed(daemon_pod("agent-old", ds, "n1", created="2026-01-01T00:00:00Z"))
    cluster.client.seed(daemon_pod("agent-new", ds, "n1", created="2026-01-01T00:01:00Z"))
    await dsc.sync(KEY)
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["agent-new"]


def _three_old(cluster: FakeCluster, ds: DaemonSet) -> None:
    for name in ("n1", "n2", "n3"):
        cluster.client.seed(node(name))
        cluster.client.seed(daemon_pod(f"agent-{name}", ds, name, hash_="old"))


async def test_a_rolling_update_replaces_one_node_at_a_time() -> None:
    cluster, dsc, _ = setup()
    ds = cluster.client.seed(daemonset(image="agent:2"))
    _three_old(cluster, ds)
    await dsc.sync(KEY)
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["agent-n1"]
    cluster.client.deliver()
    await dsc.sync(KEY)  # the old pod is still terminating: its node gets nothing yet
    assert created_on(cluster) == []
    cluster.client.remove(Pod, "agent-n1", NS)  # the kubelet finished it
    cluster.client.deliver()
    await dsc.sync(KEY)  # manage fills the emptied node with the new template
    assert created_on(cluster) == ["n1"]
    cluster.client.deliver()
    await dsc.sync(KEY)  # the new pod is not ready: nothing more may go
    assert len(cluster.client.calls("delete", "pods")) == 1
    (new,) = [p for p in cluster.client.all(Pod) if p.spec.node_name is None]
    cluster.client.remove(Pod, new.metadata.name or "", NS)
    cluster.client.seed(daemon_pod("agent-new-n1", ds, "n1"))  # bound and ready now
    cluster.client.deliver()
    await dsc.sync(KEY)
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["agent-n1", "agent-n2"]


async def test_an_unavailable_old_pod_is_replaced_without_counting_against_the_limit() -> None:
    cluster, dsc, _ = setup()
    ds = cluster.client.seed(daemonset(image="agent:2"))
    _three_old(cluster, ds)
    cluster.client.seed(daemon_pod("agent-n3", ds, "n3", hash_="old", ready=False))
    await dsc.sync(KEY)
    assert sorted(a.name for a in cluster.client.calls("delete", "pods")) == ["agent-n1", "agent-n3"]


async def test_on_delete_replaces_nothing_until_a_pod_is_deleted_by_hand() -> None:
    cluster, dsc, _ = setup()
    ds = cluster.client.seed(daemonset(image="agent:2", strategy={"type": "OnDelete"}))
    _three_old(cluster, ds)
    await dsc.sync(KEY)
    assert cluster.client.calls("delete", "pods") == [] and cluster.client.calls("create", "pods") == []
    cluster.client.remove(Pod, "agent-n2", NS)
    cluster.client.deliver()
    await dsc.sync(KEY)
    (new,) = [p for p in cluster.client.all(Pod) if p.spec.node_name is None]
    assert util.target_node(new) == "n2" and util.is_updated(new, util.revision_hash(ds))


async def test_with_max_surge_the_new_pod_starts_beside_the_old_one() -> None:
    cluster, dsc, _ = setup()
    ds = cluster.client.seed(daemonset(image="agent:2", strategy={
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}))
    _three_old(cluster, ds)
    await dsc.sync(KEY)
    assert created_on(cluster) == ["n1"] and cluster.client.calls("delete", "pods") == []
    for made in [p for p in cluster.client.all(Pod) if p.spec.node_name is None]:
        cluster.client.remove(Pod, made.metadata.name or "", NS)
    cluster.client.seed(daemon_pod("agent-new-n1", ds, "n1", created="2026-01-01T00:05:00Z"))
    cluster.client.deliver()
    await dsc.sync(KEY)  # the new pod is available: the old one on its node goes
    assert [a.name for a in cluster.client.calls("delete", "pods")] == ["agent-n1"]


async def test_status_counts_nodes_as_rollout_status_reads_them() -> None:
    cluster, dsc, _ = setup()
    ds = cluster.client.seed(daemonset(node_selector={"role": "edge"}, image="agent:2", generation=3))
    for name in ("n1", "n2", "n3"):
        cluster.client.seed(node(name, labels={"role": "edge"}))
    cluster.client.seed(node("n4"))
    cluster.client.seed(daemon_pod("agent-n1", ds, "n1"))
    cluster.client.seed(daemon_pod("agent-n2", ds, "n2", hash_="old"))
    cluster.client.seed(daemon_pod("agent-n3", ds, "n3", ready=False))
    cluster.client.seed(daemon_pod("agent-n4", ds, "n4"))  # misscheduled
    status = util.calculate_status(ds, cluster.client.all(Node), {
        util.target_node(p) or "": [p] for p in cluster.client.all(Pod)}, hash_=util.revision_hash(ds), now=0)
    assert (status.desired_number_scheduled, status.current_number_scheduled, status.number_ready,
            status.updated_number_scheduled, status.number_available, status.number_unavailable,
            status.number_misscheduled, status.observed_generation) == (3, 3, 2, 2, 2, 1, 1, 3)
    await dsc.sync(KEY)
    stored = cluster.client.stored(DaemonSet, "agent", NS)
    assert stored is not None and stored.status is not None and stored.status.observed_generation == 3


@pytest.mark.parametrize(("strategy", "desired", "expected"), [
    pytest.param({"maxUnavailable": 1, "maxSurge": 0}, 10, (0, 1), id="default"),
    pytest.param({"maxUnavailable": "25%", "maxSurge": 0}, 10, (0, 3), id="percent-rounds-up"),
    pytest.param({"maxUnavailable": 0, "maxSurge": "10%"}, 10, (1, 0), id="surge"),
    pytest.param({"maxUnavailable": 0, "maxSurge": 0}, 10, (0, 1), id="both-zero-means-one"),
])
def test_update_limits(strategy: dict[str, Any], desired: int, expected: tuple[int, int]) -> None:
    ds = daemonset(strategy={"type": "RollingUpdate", "rollingUpdate": strategy})
    assert util.surge_and_unavailable(ds, desired) == expected


def test_the_template_hash_changes_with_the_template_only() -> None:
    assert util.revision_hash(daemonset()) == util.revision_hash(daemonset(generation=7))
    assert util.revision_hash(daemonset()) != util.revision_hash(daemonset(image="agent:2"))


async def test_a_heartbeat_does_not_enqueue_but_a_label_change_does() -> None:
    cluster, _dsc, queue = setup()
    cluster.client.seed(daemonset())
    before = node("n1")
    queue.clear()
    _dsc._on_node_update(before, before.model_copy(deep=True))
    assert queue.added == []
    _dsc._on_node_update(before, node("n1", labels={"role": "edge"}))
    assert queue.added == [KEY]


def setup_with_history() -> tuple[FakeCluster, DaemonSetController]:
    cluster = fake_context()
    revisions = cluster.client.informer(ControllerRevision)
    add_standard_indexers(revisions)
    return cluster, DaemonSetController(cluster.ctx, cluster.client.informer(DaemonSet), revisions=revisions,
                                        queue=FakeQueue())


def _revisions(cluster: FakeCluster) -> dict[str, int]:
    return {r.metadata.name or "": r.revision for r in cluster.client.all(ControllerRevision)}


async def _set_template(cluster: FakeCluster, ds: DaemonSet) -> None:
    cluster.client.seed(ds)
    cluster.client.deliver()


async def test_each_template_is_a_controller_revision_and_going_back_renumbers_it() -> None:
    cluster, dsc = setup_with_history()
    first = cluster.client.seed(daemonset(image="agent:1"))
    h1 = util.revision_hash(first)
    await dsc.sync(KEY)
    (made,) = cluster.client.all(ControllerRevision)
    assert (made.metadata.name, made.revision) == (f"agent-{h1}", 1)
    assert made.data == {"spec": {"template": {**first.spec.template.to_dict(), "$patch": "replace"}}}
    assert (made.metadata.labels or {})[util.REVISION_HASH_LABEL] == h1
    assert [r.uid for r in made.metadata.owner_references or []] == ["ds-agent"]
    cluster.client.deliver()

    second = daemonset(image="agent:2")
    await _set_template(cluster, second)
    await dsc.sync(KEY)
    cluster.client.deliver()
    assert _revisions(cluster) == {f"agent-{h1}": 1, f"agent-{util.revision_hash(second)}": 2}

    await _set_template(cluster, daemonset(image="agent:1"))  # kubectl rollout undo
    await dsc.sync(KEY)
    assert _revisions(cluster) == {f"agent-{h1}": 3, f"agent-{util.revision_hash(second)}": 2}


async def test_old_revisions_beyond_the_limit_go_unless_a_pod_still_runs_them() -> None:
    cluster, dsc = setup_with_history()
    cluster.client.seed(node("n1"))
    hashes = []
    for i in range(1, 5):
        ds = daemonset(image=f"agent:{i}", strategy={"type": "OnDelete"})
        ds.spec.revision_history_limit = 1
        hashes.append(util.revision_hash(ds))
        await _set_template(cluster, ds)
        if i == 1:  # the node's pod keeps running the first template (OnDelete)
            cluster.client.seed(daemon_pod("agent-old", ds, "n1", hash_=hashes[0]))
            cluster.client.deliver()
        await dsc.sync(KEY)
        cluster.client.deliver()
    assert set(_revisions(cluster)) == {f"agent-{hashes[0]}", f"agent-{hashes[2]}", f"agent-{hashes[3]}"}
