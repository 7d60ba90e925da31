"""The resource API over real HTTP: CRUD, concurrency, validation, spec/status split, errors."""

from __future__ import annotations

import json

import httpx
import pytest

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        },
    },
}

KINDS = [
    pytest.param("/api/v1/namespaces/default/pods", POD, id="pod"),
    pytest.param("/apis/apps/v1/namespaces/default/deployments", DEPLOYMENT, id="deployment"),
    pytest.param(
        "/apis/apps/v1/namespaces/default/replicasets",
        {**DEPLOYMENT, "kind": "ReplicaSet", "spec": {k: v for k, v in DEPLOYMENT["spec"].items()}},
        id="replicaset",
    ),
    pytest.param(
        "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}}, id="node"
    ),
    pytest.param(
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
        id="namespace",
    ),
    pytest.param(
        "/api/v1/namespaces/default/events",
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "e1"},
            "involvedObject": {"kind": "Pod", "name": "web"},
            "reason": "Started",
            "message": "started",
            "type": "Normal",
        },
        id="event",
    ),
    pytest.param(
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "node-1"},
            "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40},
        },
        id="lease",
    ),
    pytest.param(
        "/api/v1/namespaces/default/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}},
        id="configmap",
    ),
]


@pytest.mark.parametrize(("collection", "body"), KINDS)
def test_crud_round_trip(http: httpx.Client, collection: str, body: dict) -> None:
    created = http.post(collection, json=body)
    assert created.status_code == 201, created.text
    obj = created.json()
    name = body["metadata"]["name"]
    assert obj["metadata"]["name"] == name
    assert obj["metadata"]["uid"] and obj["metadata"]["creationTimestamp"]
    rv = obj["metadata"]["resourceVersion"]
    assert isinstance(rv, str) and int(rv) > 0

    got = http.get(f"{collection}/{name}").json()
    assert got == obj

    listed = http.get(collection).json()
    assert listed["kind"] == body["kind"] + "List"
    assert isinstance(listed["metadata"]["resourceVersion"], str)
    assert name in [i["metadata"]["name"] for i in listed["items"]]

    got.setdefault("metadata", {}).setdefault("labels", {})["touched"] = "yes"
    updated = http.put(f"{collection}/{name}", json=got)
    assert updated.status_code == 200, updated.text
    assert updated.json()["metadata"]["labels"]["touched"] == "yes"
    assert int(updated.json()["metadata"]["resourceVersion"]) > int(rv)

    deleted = http.delete(f"{collection}/{name}")
    assert deleted.status_code == 200, deleted.text
    if body["kind"] == "Namespace":  # terminating until the namespace controller finalizes it
        assert deleted.json()["status"]["phase"] == "Terminating"
        finalized = http.put(f"{collection}/{name}/finalize", json={**deleted.json(), "spec": {"finalizers": []}})
        assert finalized.status_code == 200, finalized.text
    gone = http.get(f"{collection}/{name}")
    assert gone.status_code == 404
    assert gone.json()["kind"] == "Status" and gone.json()["reason"] == "NotFound"


def test_create_existing_name_is_already_exists(http: httpx.Client) -> None:
    assert http.post("/api/v1/namespaces/default/pods", json=POD).status_code == 201
    again = http.post("/api/v1/namespaces/default/pods", json=POD)
    assert again.status_code == 409
    assert again.json()["reason"] == "AlreadyExists"
    assert again.json()["message"] == 'pods "web" already exists'


def test_a_list_shows_each_object_as_its_get_does_after_every_write(http: httpx.Client) -> None:
    pods = "/api/v1/namespaces/default/pods"
    for name in ("a", "b"):
        assert http.post(pods, json={**POD, "metadata": {"name": name, "labels": {"app": name}}}).status_code == 201
    first = http.get(pods)
    assert first.headers["content-type"] == "application/json"
    assert first.json()["items"] == [http.get(f"{pods}/{n}").json() for n in ("a", "b")]
    changed = http.get(f"{pods}/a").json()
    changed["metadata"]["labels"]["tier"] = "front"
    assert http.put(f"{pods}/a", json=changed).status_code == 200
    again = http.get(pods).json()
    assert again["items"] == [http.get(f"{pods}/{n}").json() for n in ("a", "b")]
    assert again["items"][0]["metadata"]["labels"] == {"app": "a", "tier": "front"}
    assert int(again["metadata"]["resourceVersion"]) > int(first.json()["metadata"]["resourceVersion"])
    assert [p["metadata"]["name"] for p in http.get(pods, params={"labelSelector": "tier=front"}).json()["items"]] == ["a"]
    paged = http.get(pods, params={"limit": 1}).json()
    assert [p["metadata"]["name"] for p in paged["items"]] == ["a"] and paged["metadata"]["continue"]


def test_stale_resource_version_is_conflict(http: httpx.Client) -> None:
    first = http.post("/apis/apps/v1/namespaces/default/deployments", json=DEPLOYMENT).json()
    fresh = json.loads(json.dumps(first))
    fresh["spec"]["replicas"] = 3
    assert http.put("/apis/apps/v1/namespaces/default/deployments/web", json=fresh).status_code == 200
    first["spec"]["replicas"] = 5  # still carries the old resourceVersion
    stale = http.put("/apis/apps/v1/namespaces/default/deployments/web", json=first)
    assert stale.status_code == 409
    assert stale.json()["reason"] == "Conflict"
    assert http.get("/apis/apps/v1/namespaces/default/deployments/web").json()["spec"]["replicas"] == 3


def _with(path: list[str | int], value: object, base: dict) -> dict:
    obj = json.loads(json.dumps(base))
    cur = obj
    for step in path[:-1]:
        cur = cur[step]
    if value is None:
        del cur[path[-1]]
    else:
        cur[path[-1]] = value
    return obj


INVALID = [
    pytest.param("pods", _with(["metadata", "name"], "Bad_Name", POD), "metadata.name", id="bad-dns-name"),
    pytest.param(
        "pods",
        _with(["spec", "containers", 0, "image"], None, POD),
        "spec.containers[0].image",
        id="missing-image",
    ),
    pytest.param(
        "deployments", _with(["spec", "replicas"], -1, DEPLOYMENT), "spec.replicas", id="negative-replicas"
    ),
    pytest.param(
        "deployments", _with(["spec", "selector"], None, DEPLOYMENT), "spec.selector", id="missing-selector"
    ),
    pytest.param(
        "deployments",
        _with(["spec", "selector", "matchLabels", "app"], "other", DEPLOYMENT),
        "spec.template.metadata.labels",
        id="selector-not-matching-template",
    ),
]


@pytest.mark.parametrize(("plural", "body", "field"), INVALID)
def test_invalid_objects_are_422_and_change_nothing(
    http: httpx.Client, server, plural: str, body: dict, field: str
) -> None:
    group = "/api/v1" if plural == "pods" else "/apis/apps/v1"
    before = server.store.current_revision()
    response = http.post(f"{group}/namespaces/default/{plural}", json=body)
    assert response.status_code == 422, response.text
    status = response.json()
    assert status["kind"] == "Status" and status["reason"] == "Invalid"
    fields = [c["field"] for c in status["details"]["causes"]]
    assert field in fields
    assert server.store.current_revision() == before
    assert http.get(f"{group}/namespaces/default/{plural}").json()["items"] == []


def test_main_resource_write_cannot_change_status_and_bumps_generation_on_spec_only(
    http: httpx.Client,
) -> None:
    base = "/apis/apps/v1/namespaces/default/deployments"
    dep = http.post(base, json={**DEPLOYMENT, "status": {"replicas": 7}}).json()
    assert dep["metadata"]["generation"] == 1
    assert dep.get("status", {}).get("replicas") is None  # status is not the user's

    dep["status"] = {"replicas": 9}
    dep["metadata"]["labels"] = {"x": "y"}
    relabeled = http.put(f"{base}/web", json=dep).json()
    assert relabeled["metadata"]["generation"] == 1
    assert relabeled.get("status", {}).get("replicas") is None

    relabeled["status"] = {"replicas": 2, "observedGeneration": 1}
    relabeled["spec"]["replicas"] = 99  # ignored on /status
    status_written = http.put(f"{base}/web/status", json=relabeled).json()
    assert status_written["status"]["replicas"] == 2
    assert status_written["spec"]["replicas"] == 2
    assert status_written["metadata"]["generation"] == 1

    status_written["spec"]["replicas"] = 4
    rescaled = http.put(f"{base}/web", json=status_written).json()
    assert rescaled["metadata"]["generation"] == 2
    assert rescaled["status"]["replicas"] == 2


def test_server_side_defaults(http: httpx.Client) -> None:
    dep = http.post("/apis/apps/v1/namespaces/default/deployments", json=DEPLOYMENT).json()
    spec = dep["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    pod_spec = spec["template"]["spec"]
    assert pod_spec["restartPolicy"] == "Always" and pod_spec["terminationGracePeriodSeconds"] == 30
    assert pod_spec["containers"][0]["imagePullPolicy"] == "Always"  # untagged image
    pod = http.post("/api/v1/namespaces/default/pods", json=POD).json()
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert pod["status"]["phase"] == "Pending"


def test_unknown_fields_follow_field_validation(http: httpx.Client) -> None:
    body = _with(["spec", "bogus"], 1, POD)
    strict = http.post("/api/v1/namespaces/default/pods?fieldValidation=Strict", json=body)
    assert strict.status_code == 400  # a strict decoding error is a BadRequest in Kubernetes
    assert strict.json()["message"] == (
        'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.bogus"'
    )
    assert strict.json()["details"]["causes"][0]["field"] == "spec.bogus"
    warned = http.post("/api/v1/namespaces/default/pods", json=body)
    assert warned.status_code == 201
    assert (
        'unknown field \\"spec.bogus\\"' in warned.headers["warning"]
        or "spec.bogus" in warned.headers["warning"]
    )


def test_kubernetes_fields_podvisor_does_not_use_round_trip(http: httpx.Client) -> None:
    body = _with(
        ["spec", "affinity"],
        {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                    ]
                }
            }
        },
        POD,
    )
    created = http.post("/api/v1/namespaces/default/pods?fieldValidation=Strict", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["affinity"] == body["spec"]["affinity"]


BAD_BODIES = [
    pytest.param(b"{not json", "application/json", 400, id="malformed-json"),
    pytest.param(b"a: [unclosed", "application/yaml", 400, id="malformed-yaml"),
    pytest.param(b"<pod/>", "application/xml", 415, id="wrong-content-type"),
    pytest.param(b"[" * 5000 + b"]" * 5000, "application/json", 400, id="deeply-nested"),
    pytest.param(b"a: &a [x]\nb: *a\n", "application/yaml", 400, id="yaml-alias"),
    pytest.param(b"!!python/object/apply:os.system ['true']", "application/yaml", 400, id="python-tag"),
    pytest.param(b'"a string"', "application/json", 400, id="not-an-object"),
    pytest.param(b"", "application/json", 400, id="empty"),
]


@pytest.mark.parametrize(("body", "content_type", "code"), BAD_BODIES)
def test_bad_bodies_are_4xx_status(http: httpx.Client, body: bytes, content_type: str, code: int) -> None:
    response = http.post(
        "/api/v1/namespaces/default/pods", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == code, response.text
    assert response.json()["kind"] == "Status"
    assert http.get("/healthz").status_code == 200


def test_huge_body_is_413_before_parsing(http: httpx.Client) -> None:
    huge = b'{"a": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    response = http.post(
        "/api/v1/namespaces/default/pods", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["reason"] == "RequestEntityTooLarge"


def test_yaml_body_is_accepted(http: httpx.Client) -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n"
    response = http.post(
        "/api/v1/namespaces/default/configmaps", content=body, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 201, response.text


def test_unknown_paths_are_404_status(http: httpx.Client) -> None:
    for path in ("/api/v1/widgets", "/apis/apps/v1/namespaces/default/pods", "/apis/nope/v1/things"):
        response = http.get(path)
        assert response.status_code == 404, path
        assert response.json()["kind"] == "Status"


def test_create_in_missing_namespace_is_404(http: httpx.Client) -> None:
    response = http.post("/api/v1/namespaces/nope/pods", json=POD)
    assert response.status_code == 404
    assert response.json()["message"] == 'namespaces "nope" not found'


@pytest.mark.parametrize("finalizer", [
    pytest.param("not a name", id="spaces"),
    pytest.param("x" * 100_000, id="huge"),
    pytest.param("bad_prefix!/name", id="bad-prefix"),
])
def test_finalize_refuses_finalizer_names_that_are_not_qualified_names(http: httpx.Client, finalizer: str) -> None:
    ns = http.post("/api/v1/namespaces", json={"metadata": {"name": "fin"}}).json()
    refused = http.put("/api/v1/namespaces/fin/finalize", json={**ns, "spec": {"finalizers": [finalizer]}})
    assert refused.status_code == 422, refused.text
    assert refused.json()["details"]["causes"][0]["field"] == "spec.finalizers[0]"
    assert http.get("/api/v1/namespaces/fin").json()["spec"]["finalizers"] == ["kubernetes"]


def test_finalize_changes_only_the_finalizers(http: httpx.Client) -> None:
    ns = http.post("/api/v1/namespaces", json={"metadata": {"name": "fin2"}}).json()
    body = {**ns, "metadata": {**ns["metadata"], "labels": {"sneaky": "yes"}},
            "spec": {"finalizers": ["example.com/hold"]}, "status": {"phase": "Terminating"}}
    done = http.put("/api/v1/namespaces/fin2/finalize", json=body)
    assert done.status_code == 200, done.text
    got = http.get("/api/v1/namespaces/fin2").json()
    assert got["spec"]["finalizers"] == ["example.com/hold"]
    assert "sneaky" not in got["metadata"].get("labels", {}) and got["status"]["phase"] == "Active"
