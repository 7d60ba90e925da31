"""``GET /metrics`` of the API server: request series move with requests, store gauges read the
store, the path is authorised as ``system:monitoring`` grants it, and metrics off records nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from apiserver.app import AppSettings, create_app
from apiserver.authn.tokens import StaticTokens
from apiserver.authn.user import AUTHENTICATED, SYSTEM_MASTERS, UserInfo
from apiserver.compactor import Compactor
from apiserver.metrics import new_metrics
from apiserver.store.sqlite import SqliteStore

MONITORING = "system:monitoring"
USERS = {
    "root": UserInfo("root", groups=(SYSTEM_MASTERS, AUTHENTICATED)),
    "prometheus": UserInfo("prometheus", groups=(MONITORING, AUTHENTICATED)),
    "alice": UserInfo("alice", groups=(AUTHENTICATED,)),
}
POD = {"metadata": {"name": "p1"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer token-{who}"}


def make_client(tmp_path: Path, **extra: object) -> TestClient:
    store = SqliteStore(tmp_path / "db.sqlite")
    settings = AppSettings(authenticator=StaticTokens({f"token-{k}": u for k, u in USERS.items()}),
                           compaction_interval=3600, **extra)  # type: ignore[arg-type]
    return TestClient(create_app(store, settings))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path) as c:
        yield c


def scrape(client: TestClient, who: str = "prometheus") -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=auth(who))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], metric: str, **labels: str) -> float:
    """The sum over series of ``name`` whose labels include ``labels``."""
    return sum(v for (n, lbl), v in samples.items() if n == metric and set(labels.items()) <= set(lbl))


def test_a_pod_create_counts_as_post_with_its_code(client: TestClient) -> None:
    before = value(scrape(client), "apiserver_request_total", verb="POST", resource="pods", code="201")
    assert client.post("/api/v1/namespaces/default/pods", json=POD, headers=auth("root")).status_code == 201
    assert client.post("/api/v1/namespaces/default/pods", json=POD, headers=auth("root")).status_code == 409
    after = scrape(client)
    created = dict(verb="POST", group="", version="v1", resource="pods", scope="namespace", component="apiserver")
    assert value(after, "apiserver_request_total", **created, code="201") == before + 1
    assert value(after, "apiserver_request_total", **created, code="409") == 1
    assert value(after, "apiserver_request_duration_seconds_count", **created) >= 2
    assert value(after, "apiserver_storage_objects", resource="pods") == 1


@pytest.mark.parametrize(("path", "verb", "scope"), [
    ("/api/v1/namespaces/default/pods", "LIST", "namespace"),
    ("/api/v1/pods", "LIST", "cluster"),
    ("/api/v1/namespaces/default/pods/missing", "GET", "resource"),
    ("/apis/apps/v1/namespaces/default/deployments", "LIST", "namespace"),
], ids=["list-namespace", "list-cluster", "get-resource", "list-group"])
def test_reads_carry_kubernetes_verbs_and_scopes(client: TestClient, path: str, verb: str, scope: str) -> None:
    client.get(path, headers=auth("root"))
    assert value(scrape(client), "apiserver_request_total", verb=verb, scope=scope) >= 1


@pytest.mark.parametrize("path", [
    "/api/v1/namespaces/default/nosuchthings-{i}", "/apis/made.up/v{i}/things", "/random/{i}",
    "/api/v1/namespaces/default/pods/p/nosub{i}",
], ids=["unknown-resource", "unknown-group", "unknown-path", "unknown-subresource"])
def test_unknown_paths_share_one_label_value(client: TestClient, path: str) -> None:
    for i in range(5):
        client.get(path.format(i=i), headers=auth("root"))
    families = text_string_to_metric_families(client.get("/metrics", headers=auth("root")).text)
    labels = {s.labels.get("resource", "") + "|" + s.labels.get("subresource", "") + "|" + s.labels.get("group", "")
              for f in families if f.name == "apiserver_request" for s in f.samples}
    assert not any(str(i) in label for label in labels for i in range(5)), labels


def test_a_watch_shows_while_open(client: TestClient) -> None:
    client.post("/api/v1/namespaces/default/pods", json=POD, headers=auth("root"))
    with client.stream("GET", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=5",
                       headers=auth("root")) as stream:
        next(stream.iter_lines())  # the ADDED event: the watch is registered
        during = scrape(client)
        assert value(during, "apiserver_longrunning_requests", verb="WATCH", resource="pods") == 1
        assert value(during, "apiserver_registered_watchers", group="", version="v1", kind="Pod") == 1
        assert value(during, "apiserver_request_duration_seconds_count", verb="WATCH") == 0
    assert value(scrape(client), "etcd_debugging_mvcc_current_revision") >= 1


def test_store_size_and_revision_are_reported(client: TestClient) -> None:
    samples = scrape(client)
    assert value(samples, "apiserver_storage_size_bytes", storage_cluster_id="podvisor") > 0
    assert ("etcd_debugging_mvcc_compact_revision", ()) in samples


@pytest.mark.parametrize(("headers", "code", "reason"), [
    ({}, 401, "Unauthorized"),
    (auth("alice"), 403, "Forbidden"),
    ({"Authorization": "Bearer wrong"}, 401, "Unauthorized"),
], ids=["anonymous", "no-monitoring-group", "bad-token"])
def test_metrics_is_authorised(client: TestClient, headers: dict[str, str], code: int, reason: str) -> None:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == code
    assert response.json()["kind"] == "Status" and response.json()["reason"] == reason


def test_openmetrics_when_asked(client: TestClient) -> None:
    response = client.get("/metrics", headers={**auth("root"), "Accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n") and response.text.count("# EOF") == 1


def test_in_process_registries_are_served_too(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    Counter("workqueue_adds", "adds", ["name"], registry=registry).labels("deployment").inc()
    with make_client(tmp_path, metrics_registries=[registry]) as c:
        assert value(scrape(c), "workqueue_adds_total", name="deployment") == 1


def test_metrics_off_records_nothing(tmp_path: Path) -> None:
    with make_client(tmp_path, enable_metrics=False) as c:
        assert c.post("/api/v1/namespaces/default/pods", json=POD, headers=auth("root")).status_code == 201
        assert not hasattr(c.app.state, "metrics")  # type: ignore[attr-defined]
        response = c.get("/metrics", headers=auth("root"))
        assert response.status_code == 404 and response.json()["kind"] == "Status"


def test_group_commits_are_observed(client: TestClient) -> None:
    before = value(scrape(client), "podvisor_storage_commit_batch_size_count")
    assert client.post("/api/v1/namespaces/default/pods", json=POD, headers=auth("root")).status_code == 201
    after = scrape(client)
    assert value(after, "podvisor_storage_commit_batch_size_count") >= before + 1
    assert value(after, "podvisor_storage_commit_batch_size_sum") >= value(after, "podvisor_storage_commit_batch_size_count")


def test_a_compaction_that_drops_history_is_counted(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite")
    metrics = new_metrics(store)
    now = [0.0]
    compactor = Compactor(store, retention=10, interval=1, clock=lambda: now[0], on_compact=metrics.compactions.inc)
    store.create("/registry/configmaps/default/a", {"data": {"v": "1"}})
    store.flush_blocking()
    compactor.tick()  # samples the revision; nothing is old enough yet
    assert metrics.registry.get_sample_value("podvisor_storage_compactions_total") == 0
    kv = store.get("/registry/configmaps/default/a")
    assert kv is not None
    store.update("/registry/configmaps/default/a", {"data": {"v": "2"}}, expected_revision=kv.mod_revision)
    store.flush_blocking()
    now[0] = 11.0
    compactor.tick()  # the first sample is now past retention: compact to it
    compactor.tick()  # nothing newer is old enough: no second compaction
    assert metrics.registry.get_sample_value("podvisor_storage_compactions_total") == 1
    assert metrics.registry.get_sample_value("podvisor_storage_commit_batch_size_count") == 2
    store.close()


@pytest.mark.parametrize(("accept", "openmetrics"), [
    ("application/openmetrics-text; version=1.0.0; charset=utf-8", True),
    ("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", True),
    ("application/openmetrics-text;q=0.1, text/plain;q=0.9", False),
    ("text/plain, application/openmetrics-text", False),
    ("application/openmetrics-text;q=0", False),
    ("application/openmetrics-text;q=abc", False),
    ("application/json", False),
    ("", False),
    (";;;,,,", False),
], ids=["prometheus", "prometheus-fallbacks", "text-weighs-more", "text-first", "refused", "bad-q", "json",
        "none", "junk"])
def test_the_format_follows_the_accept_weights(client: TestClient, accept: str, openmetrics: bool) -> None:
    response = client.get("/metrics", headers={**auth("root"), "Accept": accept})
    assert response.status_code == 200
    kind = "application/openmetrics-text" if openmetrics else "text/plain; version=0.0.4"
    assert response.headers["content-type"].startswith(kind)
