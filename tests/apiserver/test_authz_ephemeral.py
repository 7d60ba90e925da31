"""``pods/ephemeralcontainers`` is a resource of its own for authorization, as in Kubernetes:
writing pods does not grant it, and a node may not add containers to its pods."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from apiserver.store.sqlite import SqliteStore
from tests.apiserver.authz_cluster import RBAC, headers, populate, settings
from tests.apiserver.conftest import RunningServer

SUB = "/api/v1/namespaces/team/pods/on-n1/ephemeralcontainers"
PATCH = json.dumps({"spec": {"ephemeralContainers": [{"name": "dbg", "image": "busybox", "targetContainerName": "c"}]}})
SMP = {"content-type": "application/strategic-merge-patch+json"}
DEBUGGER_ROLE = {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": "debugger", "namespace": "team"},
                 "rules": [{"apiGroups": [""], "resources": ["pods/ephemeralcontainers"], "verbs": ["patch"]}]}
DEBUGGER_BINDING = {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": "debugger", "namespace": "team"},
                    "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "debugger"},
                    "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "alice"}]}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    srv = RunningServer(SqliteStore(tmp_path / "state.db"), settings())
    populate(srv.app.state.registry)
    srv.start()
    yield srv
    srv.stop()


def patch(server: RunningServer, who: str) -> httpx.Response:
    with httpx.Client(base_url=server.url, headers=headers(who), timeout=10) as client:
        return client.patch(SUB, content=PATCH, headers=SMP)


@pytest.mark.parametrize(("who", "user"), [("edit", "edit-user"), ("view", "view-user"), ("alice", "alice")])
def test_writing_pods_does_not_grant_the_subresource(server: RunningServer, who: str, user: str) -> None:
    refused = patch(server, who)
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        f'pods "on-n1" is forbidden: User "{user}" cannot patch resource "pods/ephemeralcontainers" '
        'in API group "" in the namespace "team"')
    assert refused.json()["details"] == {"name": "on-n1", "kind": "pods"}


def test_the_node_of_the_pod_may_not_add_containers(server: RunningServer) -> None:
    assert patch(server, "node").status_code == 403


def test_a_role_naming_the_subresource_grants_it(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url, headers=headers("root"), timeout=10) as root:
        assert root.post(f"/apis/{RBAC}/v1/namespaces/team/roles", json=DEBUGGER_ROLE).status_code == 201
        assert root.post(f"/apis/{RBAC}/v1/namespaces/team/rolebindings", json=DEBUGGER_BINDING).status_code == 201
    for _ in range(100):  # the authorizer's index follows the store's watch
        added = patch(server, "alice")
        if added.status_code != 403:
            break
        time.sleep(0.05)
    assert added.status_code == 200, added.text
    assert [c["name"] for c in added.json()["spec"]["ephemeralContainers"]] == ["dbg"]
