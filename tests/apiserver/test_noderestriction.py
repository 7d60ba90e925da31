"""NodeRestriction through the API: node n1 writes only its own Node, pods, status and Lease."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.apiserver.authz_cluster import headers, make_client

MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("noderestriction")
    with make_client(tmp) as c:
        yield c


def patch(client: TestClient, who: str, path: str, body: dict[str, Any]) -> Any:
    return client.patch(path, headers={**headers(who), **MERGE}, content=json.dumps(body))


LABELS = [
    ("hostname", "kubernetes.io/hostname", True),
    ("os", "kubernetes.io/os", True),
    ("zone", "topology.kubernetes.io/zone", True),
    ("instance-type", "node.kubernetes.io/instance-type", True),
    ("node-namespace", "node.kubernetes.io/anything", True),
    ("kubelet-namespace", "kubelet.kubernetes.io/anything", True),
    ("own-domain", "example.com/rack", True),
    ("unprefixed", "rack", True),
    ("node-role", "node-role.kubernetes.io/control-plane", False),
    ("k8s-io", "team.k8s.io/owner", False),
    ("restricted", "node-restriction.kubernetes.io/secure", False),
    ("restricted-subdomain", "a.node-restriction.kubernetes.io/secure", False),
]


@pytest.mark.parametrize(("label", "allowed"), [c[1:] for c in LABELS], ids=[c[0] for c in LABELS])
def test_a_node_sets_only_the_kubelets_labels(client: TestClient, label: str, allowed: bool) -> None:
    got = patch(client, "node", "/api/v1/nodes/n1", {"metadata": {"labels": {label: "v"}}})
    if allowed:
        assert got.status_code == 200, got.text
        return
    assert got.status_code == 403
    assert got.json()["message"] == f'nodes "n1" is forbidden: is not allowed to modify labels: {label}'


def test_a_node_registers_only_itself_with_allowed_labels(client: TestClient) -> None:
    body = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n9", "labels": {"node-role.kubernetes.io/worker": "", "kubernetes.io/os": "linux"}}}
    got = client.post("/api/v1/nodes", headers=headers("new-node"), content=json.dumps(body))
    assert (got.status_code, got.json()["message"]) == (403, 'nodes "n9" is forbidden: node "n9" is not allowed '
                                                             "to set the following labels: node-role.kubernetes.io/worker")
    del body["metadata"]["labels"]["node-role.kubernetes.io/worker"]
    other = client.post("/api/v1/nodes", headers=headers("node"), content=json.dumps(body))
    assert (other.status_code, other.json()["message"]) == (
        403, 'nodes "n9" is forbidden: node "n1" is not allowed to modify node "n9"')
    assert client.post("/api/v1/nodes", headers=headers("new-node"), content=json.dumps(body)).status_code == 201


def test_a_node_may_not_touch_its_taints_or_another_node(client: TestClient) -> None:
    taints = {"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}}
    got = patch(client, "node", "/api/v1/nodes/n1", taints)
    assert (got.status_code, got.json()["message"]) == (403, 'nodes "n1" is forbidden: node "n1" is not allowed to modify taints')
    other = patch(client, "node", "/api/v1/nodes/n2", {"metadata": {"labels": {"a": "b"}}})
    assert other.json()["message"] == 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'
    status = patch(client, "node", "/api/v1/nodes/n2/status", {"status": {"phase": "Running"}})
    assert status.status_code == 403
    assert patch(client, "node", "/api/v1/nodes/n1/status", {"status": {"phase": "Running"}}).status_code == 200


def test_pod_status_only_for_pods_bound_to_the_node_and_never_labels(client: TestClient) -> None:
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert patch(client, "node", "/api/v1/namespaces/team/pods/on-n1/status", ready).status_code == 200
    other = patch(client, "node", "/api/v1/namespaces/team/pods/on-n2/status", ready)
    assert other.json()["message"] == ('pods "on-n2" is forbidden: node "n1" can only update pod status for pods '
                                       "with spec.nodeName set to itself")
    pod = client.get("/api/v1/namespaces/team/pods/on-n1", headers=headers("node")).json()
    pod["metadata"]["labels"] = {"app": "relabelled"}
    client.put("/api/v1/namespaces/team/pods/on-n1/status", headers=headers("node"), content=json.dumps(pod))
    stored = client.get("/api/v1/namespaces/team/pods/on-n1", headers=headers("node")).json()
    assert stored["metadata"]["labels"] == {"app": "on-n1"}  # a status write keeps labels (NodeRestriction checks too)
    spec = patch(client, "node", "/api/v1/namespaces/team/pods/on-n1", {"spec": {"activeDeadlineSeconds": 5}})
    assert spec.status_code == 403  # no update of a pod's spec at all: the Node authorizer refuses it


def mirror_pod(name: str, node_uid: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": {"kubernetes.io/config.mirror": "hash"},
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": node_uid,
                                          "controller": True}]},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}], **spec},
    }


def test_a_node_creates_only_mirror_pods_bound_to_itself(client: TestClient) -> None:
    node_uid = client.get("/api/v1/nodes/n1", headers=headers("node")).json()["metadata"]["uid"]
    url = "/api/v1/namespaces/team/pods"
    plain = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"},
             "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]}}
    got = client.post(url, headers=headers("node"), content=json.dumps(plain))
    assert got.json()["message"] == ('pods "plain" is forbidden: pod does not have "kubernetes.io/config.mirror" '
                                     'annotation, node "n1" can only create mirror pods')
    elsewhere = mirror_pod("m2", node_uid)
    elsewhere["spec"]["nodeName"] = "n2"
    assert client.post(url, headers=headers("node"), content=json.dumps(elsewhere)).json()["message"].endswith(
        'node "n1" can only create pods with spec.nodeName set to itself')
    secret = mirror_pod("m3", node_uid, volumes=[{"name": "s", "secret": {"secretName": "s-n2"}}])
    assert client.post(url, headers=headers("node"), content=json.dumps(secret)).json()["message"].endswith(
        'node "n1" can not create pods that reference secrets')
    assert client.post(url, headers=headers("node"), content=json.dumps(mirror_pod("m4", "wrong"))).json()[
        "message"].endswith("node n1 UID mismatch")
    made = client.post(url, headers=headers("node"), content=json.dumps(mirror_pod("mirror", node_uid)))
    assert made.status_code == 201, made.text


def test_a_node_deletes_only_pods_bound_to_itself(client: TestClient) -> None:
    got = client.delete("/api/v1/namespaces/team/pods/on-n2?dryRun=All", headers=headers("node"))
    assert got.json()["message"] == 'pods "on-n2" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself'
    assert client.delete("/api/v1/namespaces/team/pods/on-n1?dryRun=All", headers=headers("node")).status_code == 200


def test_a_node_holds_only_its_own_lease(client: TestClient) -> None:
    body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "n5"}, "spec": {}}
    got = client.post("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", headers=headers("node"),
                      content=json.dumps(body))
    assert (got.status_code, got.json()["message"]) == (
        403, 'leases.coordination.k8s.io "n5" is forbidden: can only access node lease with the same name as the '
             "requesting node")
    renew = patch(client, "node", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1",
                  {"spec": {"holderIdentity": "n1"}})
    assert renew.status_code == 200


VOLUME_WRITES = [
    pytest.param({"metadata": {"finalizers": ["podvisor.io/local-path-cleanup"]}}, 200, id="add-finalizer"),
    pytest.param({"metadata": {"finalizers": None}}, 200, id="remove-finalizer"),
    pytest.param({"spec": {"mountOptions": ["rw"]}}, 403, id="mount-options"),
    pytest.param({"spec": {"persistentVolumeReclaimPolicy": "Delete"}}, 403, id="reclaim-policy"),
    pytest.param({"spec": {"capacity": {"storage": "9Gi"}}}, 403, id="resize"),
    pytest.param({"metadata": {"labels": {"a": "b"}}}, 403, id="label"),
]


@pytest.mark.parametrize(("body", "code"), VOLUME_WRITES)
def test_a_node_changes_only_the_finalizers_of_its_local_volume(client: TestClient, body: dict[str, Any],
                                                                code: int) -> None:
    got = patch(client, "node", "/api/v1/persistentvolumes/local-n1", body)
    assert got.status_code == code, got.text
    if code == 403:
        assert "can only update the finalizers of a persistentvolume" in got.json()["message"]


def test_a_node_cannot_write_a_volume_of_another_node(client: TestClient) -> None:
    got = patch(client, "node", "/api/v1/persistentvolumes/pv-n2", {"metadata": {"finalizers": ["x"]}})
    assert got.status_code == 403
