"""The API server's Prometheus metrics, under kube-apiserver's names, labels and buckets.

Each app owns a ``CollectorRegistry`` (never the process-wide default: tests and benches run
several API servers in one process). Request counters and histograms are updated by the
instrumentation middleware (:mod:`apiserver.instrumentation`); what the store knows (revision,
size, objects per resource, watchers) is read at scrape time by :class:`StoreCollector`, so a
write costs nothing extra.

Store series: ``etcd_debugging_mvcc_current_revision`` / ``etcd_debugging_mvcc_compact_revision``
as etcd names the revision and the compacted revision (kine serves etcd's API, so dashboards
for etcd-backed clusters read them), ``apiserver_storage_size_bytes{storage_cluster_id}`` as
Kubernetes >= 1.28 reports the database size, ``apiserver_storage_objects{resource}``. Two
podvisor series have no Kubernetes name: ``podvisor_storage_compactions_total`` (told by the
compactor when a tick dropped history) and ``podvisor_storage_commit_batch_size`` (told by the
SQLite store when a group commit is durable; PostgreSQL commits each write alone).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from apimachinery.resources import RESOURCES, ResourceType
from apiserver.store.base import Store
from apiserver.store.sqlite import SqliteStore

# kube-apiserver's apiserver_request_duration_seconds buckets
REQUEST_DURATION_BUCKETS = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0,
    4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
)
REQUEST_LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")
LONGRUNNING_LABELS = ("verb", "group", "version", "resource", "subresource", "scope", "component")
COMMIT_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
STORAGE_CLUSTER_ID = "podvisor"  # one store per cluster; Kubernetes names the etcd cluster here


class ApiServerMetrics:
    """The families one API server instance records on its own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "apiserver_request", "Counter of apiserver requests broken out for each verb, dry run value, "
            "group, version, resource, scope, component, and HTTP response code.",
            [*REQUEST_LABELS, "code"], registry=registry,
        )
        self.duration = Histogram(
            "apiserver_request_duration_seconds", "Response latency distribution in seconds for each verb, "
            "dry run value, group, version, resource, subresource, scope and component.",
            REQUEST_LABELS, buckets=REQUEST_DURATION_BUCKETS, registry=registry,
        )
        self.longrunning = Gauge(
            "apiserver_longrunning_requests", "Gauge of all active long-running apiserver requests broken out "
            "by verb, group, version, resource, scope and component.",
            LONGRUNNING_LABELS, registry=registry,
        )
        self.watchers = Gauge(
            "apiserver_registered_watchers", "Number of currently registered watchers for a given resources",
            ["group", "version", "kind"], registry=registry,
        )
        self.inflight = Gauge(
            "apiserver_current_inflight_requests", "Maximal number of currently used inflight request limit "
            "of this apiserver per request kind in last second.", ["request_kind"], registry=registry,
        )
        self.dropped = Counter(
            "apiserver_dropped_requests", "Number of requests dropped with 'Try again later' response",
            ["request_kind"], registry=registry,
        )
        self.compactions = Counter(
            "podvisor_storage_compactions", "Compactions of the store's history that dropped rows.",
            registry=registry,
        )
        self.commit_batch = Histogram(
            "podvisor_storage_commit_batch_size", "Writes committed together in one store transaction "
            "(group commit).", buckets=COMMIT_BATCH_BUCKETS, registry=registry,
        )


class StoreCollector(Collector):
    """Store figures read when scraped: nothing is updated on a write."""

    def __init__(self, store: Store, resources: Sequence[ResourceType] = RESOURCES) -> None:
        self.store = store
        self.resources = [rt for rt in resources if not rt.is_review and not rt.is_read_only]

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("etcd_debugging_mvcc_current_revision", "The current revision of the store.",
                                value=self.store.current_revision())
        yield GaugeMetricFamily("etcd_debugging_mvcc_compact_revision", "The revision of the last compaction.",
                                value=self.store.compacted_revision())
        size = database_size(self.store)
        if size is not None:
            family = GaugeMetricFamily("apiserver_storage_size_bytes", "Size of the storage database file "
                                       "physically allocated in bytes.", labels=["storage_cluster_id"])
            family.add_metric([STORAGE_CLUSTER_ID], size)
            yield family
        objects = GaugeMetricFamily("apiserver_storage_objects", "Number of stored objects at the time of "
                                    "last check split by kind.", labels=["resource"])
        for rt in self.resources:
            objects.add_metric([rt.group_resource], self.store.count(f"/registry/{rt.group_resource}/"))
        yield objects


def database_size(store: Store) -> int | None:
    """The SQLite file and its WAL; None for a store without a local file (memory, PostgreSQL)."""
    path = getattr(store, "path", None)
    if not isinstance(path, str) or path == ":memory:":
        return None
    total = 0
    for name in (path, path + "-wal"):
        with contextlib.suppress(OSError):  # no WAL file between checkpoints
            total += os.stat(name).st_size
    return total


def new_metrics(store: Store) -> ApiServerMetrics:
    registry = CollectorRegistry(auto_describe=False)
    metrics = ApiServerMetrics(registry)
    registry.register(StoreCollector(store))
    if isinstance(store, SqliteStore):  # the one store that commits writes in groups
        store.on_commit = metrics.commit_batch.observe
    return metrics
