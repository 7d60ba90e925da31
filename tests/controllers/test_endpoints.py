"""The Endpoints and EndpointSlice controllers: one ``sync(service key)`` each, over the fake API.

Each test states one rule both proxy and DNS rely on: who is an endpoint, with which ports and
conditions, in which slice, and when the controllers are told to look again.
"""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.core import Endpoints, Pod, Service
from apimachinery.models.discovery import MANAGED_BY, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, EndpointSlice
from controllers.endpoints import EndpointsController
from controllers.endpointslice import EndpointSliceController
from controllers.endpointutil import TRIGGER_TIME_ANNOTATION
from controllers.garbagecollector import GarbageCollector
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, node

KEY = f"{NS}/web"


def service(name: str = "web", *, selector: dict[str, str] | None = None, ports: list[dict[str, Any]] | None = None,
            headless: bool = False, publish: bool = False, labels: dict[str, str] | None = None) -> Service:
    spec: dict[str, Any] = {"ports": ports if ports is not None else [{"port": 80, "targetPort": 8080,
                                                                       "protocol": "TCP"}]}
    if selector != {}:
        spec["selector"] = selector or {"app": "web"}
    if headless:
        spec["clusterIP"] = "None"
    if publish:
        spec["publishNotReadyAddresses"] = True
    meta: dict[str, Any] = {"name": name, "namespace": NS, "uid": f"svc-{name}",
                            "creationTimestamp": "2026-01-01T00:00:00Z"}
    if labels:
        meta["labels"] = labels
    return Service.model_validate({"metadata": meta, "spec": spec})


def backend(name: str, ip: str | None, *, ready: bool = True, labels: dict[str, str] | None = None,
            deleting: bool = False, node_name: str = "n1", ports: list[dict[str, Any]] | None = None,
            hostname: str | None = None, subdomain: str | None = None, phase: str = "Running") -> Pod:
    container: dict[str, Any] = {"name": "c", "image": "busybox:1"}
    if ports:
        container["ports"] = ports
    spec: dict[str, Any] = {"containers": [container], "nodeName": node_name}
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    meta: dict[str, Any] = {"name": name, "namespace": NS, "uid": f"pod-{name}",
                            "labels": labels if labels is not None else {"app": "web"},
                            "creationTimestamp": "2026-01-01T00:00:00Z"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:10:00Z"
        meta["finalizers"] = ["test/keep"]
    status: dict[str, Any] = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                                              "lastTransitionTime": "2026-01-01T00:01:00Z"}]}
    if ip:
        status["podIP"] = ip
    return Pod.model_validate({"metadata": meta, "spec": spec, "status": status})


class Both:
    """The two controllers over one fake cluster, synced together."""

    def __init__(self, cluster: FakeCluster | None = None, *, max_per_slice: int = 100) -> None:
        self.cluster = cluster or fake_context(auto_deliver=True)
        self.eq, self.sq = FakeQueue(), FakeQueue()
        self.endpoints = EndpointsController(self.cluster.ctx, queue=self.eq)
        self.slices = EndpointSliceController(self.cluster.ctx, queue=self.sq, max_per_slice=max_per_slice)

    async def sync(self, key: str = KEY) -> None:
        await self.endpoints.sync(key)
        await self.slices.sync(key)

    def ep(self, name: str = "web") -> Endpoints | None:
        return self.cluster.client.stored(Endpoints, name, NS)

    def all_slices(self) -> list[EndpointSlice]:
        return self.cluster.client.all(EndpointSlice, NS)

    def ready_ips(self) -> set[str]:
        return {e.addresses[0] for s in self.all_slices() for e in s.endpoints if e.conditions and e.conditions.ready}

    def ep_ips(self) -> tuple[set[str], set[str]]:
        ep = self.ep()
        subsets = (ep.subsets or []) if ep is not None else []
        return ({a.ip for s in subsets for a in s.addresses or []},
                {a.ip for s in subsets for a in s.not_ready_addresses or []})


async def test_ready_pods_are_endpoints_with_the_resolved_port() -> None:
    both = Both()
    both.cluster.client.seed(service())
    for name, ip in (("a", "10.0.0.5"), ("b", "10.0.0.6")):
        both.cluster.client.seed(backend(name, ip))
    await both.sync()
    ep = both.ep()
    assert ep is not None and ep.subsets is not None
    [subset] = ep.subsets
    assert [a.ip for a in subset.addresses or []] == ["10.0.0.5", "10.0.0.6"]
    assert [(p.port, p.protocol) for p in subset.ports or []] == [(8080, "TCP")]
    assert subset.addresses and subset.addresses[0].target_ref and subset.addresses[0].target_ref.name == "a"
    assert (ep.metadata.annotations or {}).get(TRIGGER_TIME_ANNOTATION) == "2026-01-01T00:01:00Z"
    [es] = both.all_slices()
    assert es.address_type == "IPv4" and [(p.name, p.port) for p in es.ports or []] == [("", 8080)]
    assert es.metadata.labels == {SERVICE_NAME_LABEL: "web", MANAGED_BY_LABEL: MANAGED_BY}
    [ref] = es.metadata.owner_references or []
    assert (ref.kind, ref.name, ref.uid, ref.controller) == ("Service", "web", "svc-web", True)
    assert both.ready_ips() == {"10.0.0.5", "10.0.0.6"}
    assert {e.node_name for e in es.endpoints} == {"n1"}
    assert (es.metadata.annotations or {}).get(TRIGGER_TIME_ANNOTATION) == "2026-01-01T00:01:00Z"


async def test_sync_is_idempotent() -> None:
    both = Both()
    both.cluster.client.seed(service())
    both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.sync()
    both.cluster.client.clear_actions()
    await both.sync()
    writes = [a for a in both.cluster.client.actions if a.verb in ("create", "update", "delete", "patch")]
    assert writes == []


async def test_an_unready_pod_is_not_ready_and_is_enqueued_at_once() -> None:
    both = Both()
    both.cluster.client.seed(service())
    pod = both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.sync()
    both.eq.clear()
    both.sq.clear()
    unready = backend("a", "10.0.0.5", ready=False)
    unready.metadata.resource_version = pod.metadata.resource_version
    await both.cluster.client.replace_status(unready)
    assert both.eq.added == [KEY] and both.sq.added == [KEY]  # no delay: the next sync removes it
    await both.sync()
    assert both.ep_ips() == (set(), {"10.0.0.5"})
    [es] = both.all_slices()
    conditions = es.endpoints[0].conditions
    assert conditions is not None and (conditions.ready, conditions.serving, conditions.terminating) == (
        False, False, False)


async def test_a_change_that_moves_no_address_enqueues_nothing() -> None:
    both = Both()
    both.cluster.client.seed(service())
    pod = both.cluster.client.seed(backend("a", "10.0.0.5"))
    both.eq.clear()
    changed = pod.model_copy(deep=True)
    changed.metadata.annotations = {"note": "x"}
    await both.cluster.client.replace(changed)
    assert both.eq.added == []


async def test_terminating_pods_stay_in_slices_not_ready_and_leave_endpoints() -> None:
    both = Both()
    both.cluster.client.seed(service())
    both.cluster.client.seed(backend("a", "10.0.0.5", deleting=True))
    both.cluster.client.seed(backend("b", "10.0.0.6", ready=False, deleting=True))
    await both.sync()
    assert both.ep() is not None and not (both.ep().subsets or [])  # type: ignore[union-attr]
    [es] = both.all_slices()
    by_ip = {e.addresses[0]: e.conditions for e in es.endpoints}
    assert {ip: (c.ready, c.serving, c.terminating) for ip, c in by_ip.items() if c} == {
        "10.0.0.5": (False, True, True), "10.0.0.6": (False, False, True)}


@pytest.mark.parametrize("publish", [False, True], ids=["ready-only", "publishNotReadyAddresses"])
async def test_publish_not_ready_addresses(publish: bool) -> None:
    both = Both()
    both.cluster.client.seed(service(publish=publish))
    both.cluster.client.seed(backend("a", "10.0.0.5", ready=False))
    both.cluster.client.seed(backend("b", "10.0.0.6", ready=False, deleting=True))
    await both.sync()
    ready, not_ready = both.ep_ips()
    if publish:
        assert (ready, not_ready) == ({"10.0.0.5", "10.0.0.6"}, set())
        assert both.ready_ips() == {"10.0.0.5", "10.0.0.6"}
    else:
        assert (ready, not_ready) == (set(), {"10.0.0.5"})
        assert both.ready_ips() == set()


async def test_pods_without_ip_or_finished_are_skipped() -> None:
    both = Both()
    both.cluster.client.seed(service())
    both.cluster.client.seed(backend("a", None))
    both.cluster.client.seed(backend("b", "10.0.0.6", phase="Succeeded"))
    both.cluster.client.seed(backend("c", "10.0.0.7"))
    await both.sync()
    assert both.ep_ips() == ({"10.0.0.7"}, set())
    assert both.ready_ips() == {"10.0.0.7"}


async def test_named_target_ports_resolve_per_pod_and_pods_lacking_the_name_are_skipped() -> None:
    both = Both()
    both.cluster.client.seed(service(ports=[{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}]))
    both.cluster.client.seed(backend("a", "10.0.0.5", ports=[{"name": "web", "containerPort": 8080}]))
    both.cluster.client.seed(backend("b", "10.0.0.6", ports=[{"name": "web", "containerPort": 9090}]))
    both.cluster.client.seed(backend("c", "10.0.0.7", ports=[{"name": "other", "containerPort": 8080}]))
    await both.sync()
    ep = both.ep()
    assert ep is not None
    assert sorted((a.ip, p.port) for s in ep.subsets or [] for a in s.addresses or [] for p in s.ports or []) == [
        ("10.0.0.5", 8080), ("10.0.0.6", 9090)]
    slices = both.all_slices()
    assert sorted((e.addresses[0], p.port) for s in slices for e in s.endpoints for p in s.ports or []) == [
        ("10.0.0.5", 8080), ("10.0.0.6", 9090)]
    assert len(slices) == 2  # different resolved ports never share a slice


async def test_multiple_ports() -> None:
    both = Both()
    both.cluster.client.seed(service(ports=[{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                                            {"name": "dns", "port": 53, "targetPort": 5353, "protocol": "UDP"}]))
    both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.sync()
    ep = both.ep()
    assert ep is not None
    [subset] = ep.subsets or []
    assert sorted((p.name, p.port, p.protocol) for p in subset.ports or []) == [
        ("dns", 5353, "UDP"), ("http", 8080, "TCP")]
    [es] = both.all_slices()
    assert sorted((p.name, p.port, p.protocol) for p in es.ports or []) == [("dns", 5353, "UDP"), ("http", 8080, "TCP")]


async def test_a_label_change_moves_a_pod_between_services() -> None:
    both = Both()
    both.cluster.client.seed(service("web"))
    both.cluster.client.seed(service("api", selector={"app": "api"}))
    pod = both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.sync("default/web")
    await both.sync("default/api")
    both.eq.clear()
    moved = pod.model_copy(deep=True)
    moved.metadata.labels = {"app": "api"}
    await both.cluster.client.replace(moved)
    assert sorted(both.eq.added) == ["default/api", "default/web"]
    await both.sync("default/web")
    await both.sync("default/api")
    web, api = both.ep("web"), both.ep("api")
    assert web is not None and not web.subsets
    assert api is not None and [a.ip for s in api.subsets or [] for a in s.addresses or []] == ["10.0.0.5"]
    ips = {s.metadata.labels[SERVICE_NAME_LABEL]: {e.addresses[0] for e in s.endpoints}  # type: ignore[index]
           for s in both.all_slices()}
    assert ips == {"web": set(), "api": {"10.0.0.5"}}


async def test_a_selector_change_re_selects_pods() -> None:
    both = Both()
    svc = both.cluster.client.seed(service())
    both.cluster.client.seed(backend("a", "10.0.0.5"))
    both.cluster.client.seed(backend("b", "10.0.0.6", labels={"app": "web", "tier": "canary"}))
    await both.sync()
    both.eq.clear()
    narrowed = svc.model_copy(deep=True)
    narrowed.spec.selector = {"app": "web", "tier": "canary"}
    await both.cluster.client.replace(narrowed)
    assert both.eq.added == [KEY]
    await both.sync()
    assert both.ep_ips() == ({"10.0.0.6"}, set())
    assert both.ready_ips() == {"10.0.0.6"}


async def test_services_without_a_selector_are_left_alone() -> None:
    both = Both()
    both.cluster.client.seed(service(selector={}))
    handmade = Endpoints.model_validate({"metadata": {"name": "web", "namespace": NS},
                                         "subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 80}]}]})
    both.cluster.client.seed(handmade)
    both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.sync()
    assert both.ep_ips() == ({"192.0.2.1"}, set())
    assert both.all_slices() == []


async def test_service_delete_removes_endpoints_and_the_collector_removes_slices() -> None:
    cluster = fake_context(auto_deliver=True)
    both = Both(cluster)
    gc_queue = FakeQueue()
    collector = GarbageCollector(cluster.ctx, queue=gc_queue)
    cluster.client.seed(service())
    cluster.client.seed(backend("a", "10.0.0.5"))
    await both.sync()
    assert both.all_slices() and both.ep() is not None
    gc_queue.clear()
    cluster.client.remove(Service, "web", NS)
    await both.sync()
    assert both.ep() is None
    assert gc_queue.added  # the Service's delete event points the collector at its slices
    for key in list(gc_queue.added):
        await collector.sync(key)
    assert both.all_slices() == []


async def test_more_than_100_endpoints_make_two_slices_and_churn_touches_one() -> None:
    both = Both()
    both.cluster.client.seed(service())
    for i in range(150):
        both.cluster.client.seed(backend(f"p{i:03}", f"10.0.{i // 200}.{i % 200 + 1}"))
    await both.sync()
    slices = both.all_slices()
    assert sorted(len(s.endpoints) for s in slices) == [50, 100]
    assert len({e.addresses[0] for s in slices for e in s.endpoints}) == 150
    both.cluster.client.clear_actions()
    both.cluster.client.remove(Pod, "p000", NS)
    await both.slices.sync(KEY)
    assert [a.verb for a in both.cluster.client.actions if a.resource == "endpointslices" and a.verb != "list"] == [
        "update"]
    assert len(both.ready_ips()) == 149


async def test_an_emptied_service_keeps_one_placeholder_slice() -> None:
    both = Both()
    both.cluster.client.seed(service())
    await both.sync()
    [placeholder] = both.all_slices()
    assert placeholder.endpoints == [] and not placeholder.ports
    both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.slices.sync(KEY)
    both.cluster.client.remove(Pod, "a", NS)
    await both.slices.sync(KEY)
    [left] = both.all_slices()
    assert left.endpoints == []


async def test_hostname_only_when_the_subdomain_names_the_service() -> None:
    both = Both()
    both.cluster.client.seed(service(headless=True))
    both.cluster.client.seed(backend("a", "10.0.0.5", hostname="web-0", subdomain="web"))
    both.cluster.client.seed(backend("b", "10.0.0.6", hostname="web-1", subdomain="other"))
    both.cluster.client.seed(backend("c", "10.0.0.7"))
    await both.sync()
    ep = both.ep()
    assert ep is not None
    assert {a.ip: a.hostname for s in ep.subsets or [] for a in s.addresses or []} == {
        "10.0.0.5": "web-0", "10.0.0.6": None, "10.0.0.7": None}
    assert {e.addresses[0]: e.hostname for s in both.all_slices() for e in s.endpoints} == {
        "10.0.0.5": "web-0", "10.0.0.6": None, "10.0.0.7": None}
    assert (ep.metadata.labels or {}).get("service.kubernetes.io/headless") == ""
    assert all((s.metadata.labels or {}).get("service.kubernetes.io/headless") == "" for s in both.all_slices())


async def test_headless_service_without_ports_lists_addresses() -> None:
    both = Both()
    both.cluster.client.seed(service(headless=True, ports=[]))
    both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.sync()
    assert both.ep_ips() == ({"10.0.0.5"}, set())
    assert both.ready_ips() == {"10.0.0.5"}


async def test_zone_comes_from_the_node() -> None:
    both = Both()
    both.cluster.client.seed(node("n1", zone="zone-a"))
    both.cluster.client.seed(service())
    both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.slices.sync(KEY)
    [es] = both.all_slices()
    assert es.endpoints[0].zone == "zone-a"
    both.sq.clear()
    moved = node("n1", zone="zone-b")
    stored = both.cluster.client.stored(type(moved), "n1")
    assert stored is not None
    moved.metadata.resource_version = stored.metadata.resource_version
    await both.cluster.client.replace(moved)
    assert both.sq.added == [KEY]
    await both.slices.sync(KEY)
    [es] = both.all_slices()
    assert es.endpoints[0].zone == "zone-b"


async def test_slices_managed_by_someone_else_are_untouched() -> None:
    both = Both()
    both.cluster.client.seed(service())
    theirs = EndpointSlice.model_validate({
        "metadata": {"name": "web-custom", "namespace": NS,
                     "labels": {SERVICE_NAME_LABEL: "web", MANAGED_BY_LABEL: "someone-else"}},
        "addressType": "IPv4", "endpoints": [{"addresses": ["192.0.2.9"]}], "ports": [{"port": 80}]})
    both.cluster.client.seed(theirs)
    both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.slices.sync(KEY)
    kept = both.cluster.client.stored(EndpointSlice, "web-custom", NS)
    assert kept is not None and [e.addresses for e in kept.endpoints] == [["192.0.2.9"]]
    assert len(both.all_slices()) == 2


async def test_a_deleted_slice_comes_back() -> None:
    both = Both()
    both.cluster.client.seed(service())
    both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.slices.sync(KEY)
    [es] = both.all_slices()
    both.sq.clear()
    both.cluster.client.remove(EndpointSlice, es.metadata.name or "", NS)
    assert both.sq.added == [KEY]
    await both.slices.sync(KEY)
    assert both.ready_ips() == {"10.0.0.5"}


async def test_a_stale_cache_creates_no_duplicate_slices() -> None:
    cluster = fake_context(auto_deliver=False)
    both = Both(cluster)
    cluster.client.seed(service())
    cluster.client.seed(backend("a", "10.0.0.5"))
    await both.slices.sync(KEY)  # creates a slice the informer has not seen yet
    await both.slices.sync(KEY)  # a second event, before delivery: must not create another
    assert len(cluster.client.calls("create", "endpointslices")) == 1
    assert (KEY, 1.0) in both.sq.after
    cluster.client.deliver()
    await both.slices.sync(KEY)
    assert len(cluster.client.all(EndpointSlice, NS)) == 1


async def test_endpoints_are_capped_at_1000_ready_first_and_marked() -> None:
    both = Both()
    both.cluster.client.seed(service())
    for i in range(1005):
        both.cluster.client.seed(backend(f"p{i:04}", f"10.1.{i // 250}.{i % 250 + 1}", ready=i >= 5))
    await both.endpoints.sync(KEY)
    ep = both.ep()
    assert ep is not None
    ready, not_ready = both.ep_ips()
    assert (len(ready), len(not_ready)) == (1000, 0)
    assert (ep.metadata.annotations or {}).get("endpoints.kubernetes.io/over-capacity") == "truncated"
    for i in range(10):
        both.cluster.client.remove(Pod, f"p{i + 5:04}", NS)
    await both.endpoints.sync(KEY)
    ep = both.ep()
    assert ep is not None and "endpoints.kubernetes.io/over-capacity" not in (ep.metadata.annotations or {})
    assert tuple(map(len, both.ep_ips())) == (990, 5)


async def test_external_name_services_get_no_endpoints() -> None:
    both = Both()
    svc = service()
    svc.spec.type = "ExternalName"
    svc.spec.external_name = "db.example.com"
    both.cluster.client.seed(svc)
    both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.sync()
    assert both.ep() is None and both.all_slices() == []


async def test_slices_of_an_earlier_service_of_the_same_name_are_replaced() -> None:
    both = Both()
    both.cluster.client.seed(service())
    both.cluster.client.seed(backend("a", "10.0.0.5"))
    await both.slices.sync(KEY)
    [old] = both.all_slices()
    both.cluster.client.remove(Service, "web", NS)
    renewed = service()
    renewed.metadata.uid = "svc-web-2"
    both.cluster.client.seed(renewed)
    await both.slices.sync(KEY)
    [new] = both.all_slices()
    assert new.metadata.name != old.metadata.name
    assert [r.uid for r in new.metadata.owner_references or []] == ["svc-web-2"]
    assert both.ready_ips() == {"10.0.0.5"}
