"""Authorization through a real server: messages, bindings taking effect, escalation, reviews,
the default policy, aggregation, RBAC validation and printing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from apimachinery import resources as res
from apiserver.store.sqlite import SqliteStore
from tests.apiserver.authz_cluster import RBAC, headers, populate, role_binding, settings
from tests.apiserver.conftest import RunningServer

RBAC_V1 = f"/apis/{RBAC}/v1"
AUTHZ_V1 = "/apis/authorization.k8s.io/v1"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    srv = RunningServer(SqliteStore(tmp_path / "state.db"), settings())
    populate(srv.app.state.registry)
    srv.start()
    yield srv
    srv.stop()


def as_user(server: RunningServer, who: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=headers(who), timeout=10)


@pytest.fixture
def call(server: RunningServer) -> Iterator[Callable[..., httpx.Response]]:
    clients: dict[str, httpx.Client] = {}

    def do(who: str, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        client = clients.setdefault(who, as_user(server, who))
        return client.request(method, path, json=body, **kw)

    yield do
    for client in clients.values():
        client.close()


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


# --- the 403 ---------------------------------------------------------------------------------

FORBIDDEN = [
    ("list-namespaced", "GET", "/api/v1/namespaces/default/pods",
     'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"',
     {"kind": "pods"}),
    ("get-named", "GET", "/api/v1/namespaces/team/secrets/x",
     'secrets "x" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "team"',
     {"kind": "secrets", "name": "x"}),
    ("cluster-scoped-group", "DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterroles/view",
     'clusterroles.rbac.authorization.k8s.io "view" is forbidden: User "alice" cannot delete resource "clusterroles" '
     'in API group "rbac.authorization.k8s.io" at the cluster scope',
     {"kind": "clusterroles", "name": "view", "group": RBAC}),
    ("subresource", "GET", "/api/v1/namespaces/team/pods/on-n1/log",
     'pods "on-n1" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "team"',
     {"kind": "pods", "name": "on-n1"}),
    ("watch", "GET", "/apis/apps/v1/namespaces/team/deployments?watch=true",
     'deployments.apps is forbidden: User "alice" cannot watch resource "deployments" in API group "apps" '
     'in the namespace "team"', {"kind": "deployments", "group": "apps"}),
    ("non-resource", "GET", "/metrics", 'forbidden: User "alice" cannot get path "/metrics"', {}),
]


@pytest.mark.parametrize(("method", "path", "message", "details"), [f[1:] for f in FORBIDDEN],
                         ids=[f[0] for f in FORBIDDEN])
def test_forbidden_status_as_kubernetes_words_it(call: Callable[..., httpx.Response], method: str, path: str,
                                                 message: str, details: dict[str, str] | None) -> None:
    got = call("alice", method, path)
    assert got.status_code == 403
    body = got.json()
    assert (body["kind"], body["status"], body["reason"], body["code"]) == ("Status", "Failure", "Forbidden", 403)
    assert body["message"] == message
    assert body.get("details") == details


def test_node_denial_names_the_missing_relationship(call: Callable[..., httpx.Response]) -> None:
    got = call("node", "GET", "/api/v1/namespaces/team/secrets/s-n2")
    assert got.json()["message"] == (
        'secrets "s-n2" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" '
        "in the namespace \"team\": no relationship found between node 'n1' and this object")


def test_public_paths_need_no_credentials_and_discovery_needs_a_user(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url) as anonymous:
        for path in ("/healthz", "/livez", "/readyz", "/version"):
            assert anonymous.get(path).status_code == 200, path
        assert anonymous.get("/api").status_code == 401
        assert anonymous.get("/ui/").status_code == 200  # the dashboard's data-free shell
        for lookalike in ("/uix", "/ui-private", "/healthzz", "/versions", "/livez.json"):
            answer = anonymous.get(lookalike)
            assert answer.status_code == 401 and answer.json()["kind"] == "Status", lookalike
        for name in ("..%2f..%2fapp.py", "%2e%2e", ".hidden.js", "__init__.py", "index.html%00.js"):
            assert anonymous.get(f"/ui/{name}").status_code == 404, name
    with as_user(server, "alice") as alice:
        assert alice.get("/apis").status_code == 200  # system:discovery
        assert alice.get("/api/v1").status_code == 200


def test_a_binding_counts_from_the_next_request_and_stops_when_deleted(call: Callable[..., httpx.Response]) -> None:
    path = "/api/v1/namespaces/team/configmaps"
    assert call("alice", "GET", path).status_code == 403
    made = call("root", "POST", f"{RBAC_V1}/namespaces/team/rolebindings", role_binding("alice-view", "alice", "view"))
    assert made.status_code == 201
    assert call("alice", "GET", path).status_code == 200
    assert call("alice", "GET", "/api/v1/namespaces/other/configmaps").status_code == 403  # its namespace only
    assert call("root", "DELETE", f"{RBAC_V1}/namespaces/team/rolebindings/alice-view").status_code == 200
    assert call("alice", "GET", path).status_code == 403


def test_group_and_service_account_subjects(call: Callable[..., httpx.Response], server: RunningServer) -> None:
    binding = {"metadata": {"name": "groups"}, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
               "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": "system:authenticated"}]}
    assert call("root", "POST", f"{RBAC_V1}/namespaces/other/rolebindings", binding).status_code == 201
    assert call("alice", "GET", "/api/v1/namespaces/other/pods").status_code == 200
    authorizer = server.app.state.authorizer
    from apiserver.authn.user import UserInfo
    from apiserver.requestinfo import request_info
    sa = UserInfo("system:serviceaccount:team:robot", groups=("system:serviceaccounts", "system:serviceaccounts:team"))
    sa_binding = {"metadata": {"name": "robot"}, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "edit"},
                  "subjects": [{"kind": "ServiceAccount", "name": "robot"}]}  # namespace: the binding's
    assert call("root", "POST", f"{RBAC_V1}/namespaces/team/rolebindings", sa_binding).status_code == 201
    authorizer.follower.catch_up()
    assert authorizer.allows(sa, request_info("POST", "/api/v1/namespaces/team/secrets"))
    assert not authorizer.allows(sa, request_info("POST", "/api/v1/namespaces/other/secrets"))
    other_sa = UserInfo("system:serviceaccount:other:robot", groups=("system:serviceaccounts",))
    assert not authorizer.allows(other_sa, request_info("POST", "/api/v1/namespaces/team/secrets"))


def test_a_binding_to_a_missing_role_grants_nothing_and_says_so(call: Callable[..., httpx.Response]) -> None:
    binding = role_binding("ghost", "alice", "no-such-role")
    assert call("root", "POST", f"{RBAC_V1}/namespaces/team/rolebindings", binding).status_code == 201
    got = call("alice", "GET", "/api/v1/namespaces/team/pods")
    assert got.json()["message"].endswith(': RBAC: clusterrole.rbac.authorization.k8s.io "no-such-role" not found')


def test_exec_over_websocket_needs_create(server: RunningServer) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{server.port}/api/v1/namespaces/team/pods/on-n1/exec?command=sh&stdout=true"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers=headers("view"), subprotocols=["v5.channel.k8s.io"], open_timeout=5)
    assert refused.value.response.status_code == 403


# --- escalation --------------------------------------------------------------------------------

def grant(call: Callable[..., httpx.Response], name: str, rules: list[dict[str, Any]], *, namespace: str = "team",
          user: str = "alice") -> None:
    role = {"metadata": {"name": name}, "rules": rules}
    assert call("root", "POST", f"{RBAC_V1}/namespaces/{namespace}/roles", role).status_code == 201
    binding = {"metadata": {"name": name}, "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": name},
               "subjects": [{"apiGroup": RBAC, "kind": "User", "name": user}]}
    assert call("root", "POST", f"{RBAC_V1}/namespaces/{namespace}/rolebindings", binding).status_code == 201


MANAGE_RBAC = {"verbs": ["create", "update", "get"], "apiGroups": [RBAC], "resources": ["roles", "rolebindings"]}


def test_a_role_may_grant_only_what_its_author_holds(call: Callable[..., httpx.Response]) -> None:
    grant(call, "manager", [MANAGE_RBAC, {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}])
    held = {"metadata": {"name": "pod-reader"}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}
    assert call("alice", "POST", f"{RBAC_V1}/namespaces/team/roles", held).status_code == 201
    wider = {"metadata": {"name": "secret-reader"}, "rules": [
        {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets"]},
        {"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods"]}]}
    got = call("alice", "POST", f"{RBAC_V1}/namespaces/team/roles", wider)
    assert got.status_code == 403
    assert got.json()["message"] == (
        'roles.rbac.authorization.k8s.io "secret-reader" is forbidden: user "alice" (groups=["system:authenticated"]) '
        "is attempting to grant RBAC permissions not currently held:\n"
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}')
    assert call("root", "GET", f"{RBAC_V1}/namespaces/team/roles/secret-reader").status_code == 404
    grant(call, "escalator", [{"verbs": ["escalate"], "apiGroups": [RBAC], "resources": ["roles"]}])
    assert call("alice", "POST", f"{RBAC_V1}/namespaces/team/roles", wider).status_code == 201


def test_a_binding_may_grant_only_what_its_author_holds_unless_bind(call: Callable[..., httpx.Response]) -> None:
    grant(call, "manager", [MANAGE_RBAC])
    binding = role_binding("bob-edit", "bob", "edit")
    got = call("alice", "POST", f"{RBAC_V1}/namespaces/team/rolebindings", binding)
    assert got.status_code == 403
    assert got.json()["message"].startswith(
        'rolebindings.rbac.authorization.k8s.io "bob-edit" is forbidden: user "alice" (groups=["system:authenticated"]) '
        "is attempting to grant RBAC permissions not currently held:\n")
    missing = call("alice", "POST", f"{RBAC_V1}/namespaces/team/rolebindings", role_binding("b", "bob", "nope"))
    assert (missing.status_code, missing.json()["message"]) == (404, 'clusterrole.rbac.authorization.k8s.io "nope" not found')
    grant(call, "binder", [{"verbs": ["bind"], "apiGroups": [RBAC], "resources": ["clusterroles"],
                            "resourceNames": ["edit"]}])
    assert call("alice", "POST", f"{RBAC_V1}/namespaces/team/rolebindings", binding).status_code == 201
    view = call("alice", "POST", f"{RBAC_V1}/namespaces/team/rolebindings", role_binding("bob-view", "bob", "admin"))
    assert view.status_code == 403  # bind on edit only


def test_the_admin_role_may_delegate_what_it_holds(call: Callable[..., httpx.Response]) -> None:
    assert call("admin", "POST", f"{RBAC_V1}/namespaces/team/rolebindings",
                role_binding("delegated", "bob", "edit")).status_code == 201
    assert call("admin", "POST", f"{RBAC_V1}/namespaces/other/rolebindings",
                role_binding("elsewhere", "bob", "edit")).status_code == 403


def test_an_aggregation_rule_needs_cluster_admin(call: Callable[..., httpx.Response]) -> None:
    cluster_manager = {"metadata": {"name": "cr-manager"}, "rules": [
        {"verbs": ["create"], "apiGroups": [RBAC], "resources": ["clusterroles"]}]}
    assert call("root", "POST", f"{RBAC_V1}/clusterroles", cluster_manager).status_code == 201
    crb = {"metadata": {"name": "cr-manager"}, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cr-manager"},
           "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "alice"}]}
    assert call("root", "POST", f"{RBAC_V1}/clusterrolebindings", crb).status_code == 201
    aggregated = {"metadata": {"name": "gather"}, "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]}}
    got = call("alice", "POST", f"{RBAC_V1}/clusterroles", aggregated)
    assert (got.status_code, got.json()["message"]) == (
        403, 'clusterroles.rbac.authorization.k8s.io "gather" is forbidden: '
             "must have cluster-admin privileges to use the aggregationRule")


# --- default policy and aggregation --------------------------------------------------------------

def test_default_policy_is_bootstrapped(call: Callable[..., httpx.Response]) -> None:
    for name in ("cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user",
                 "system:public-info-viewer", "system:monitoring", "system:node-bootstrapper", "system:node",
                 "system:kube-controller-manager", "system:kube-scheduler"):
        role = call("root", "GET", f"{RBAC_V1}/clusterroles/{name}").json()
        assert role["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"] == "true", name
        assert role["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults", name
    admin = call("root", "GET", f"{RBAC_V1}/clusterrolebindings/cluster-admin").json()
    assert admin["subjects"] == [{"apiGroup": RBAC, "kind": "Group", "name": "system:masters"}]
    assert "subjects" not in call("root", "GET", f"{RBAC_V1}/clusterrolebindings/system:node").json()
    view = call("root", "GET", f"{RBAC_V1}/clusterroles/view").json()
    assert {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["namespaces"]} in view["rules"]
    assert view["aggregationRule"] == {"clusterRoleSelectors": [{"matchLabels": {f"{RBAC}/aggregate-to-view": "true"}}]}


def test_missing_defaults_come_back_and_opted_out_ones_stay_as_they_are(tmp_path: Path) -> None:
    from apiserver.app import create_app

    store = SqliteStore(tmp_path / "state.db")
    registry = create_app(store, settings()).state.registry
    registry.delete(res.CLUSTERROLES, None, "system:basic-user")
    edited = registry.get(res.CLUSTERROLES, None, "system:monitoring")
    edited["rules"] = []
    edited["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"] = "false"
    registry.update(res.CLUSTERROLES, None, "system:monitoring", edited)
    trimmed = registry.get(res.CLUSTERROLES, None, "system:discovery")
    trimmed["rules"] = []
    registry.update(res.CLUSTERROLES, None, "system:discovery", trimmed)
    registry = create_app(store, settings()).state.registry  # the next start
    assert registry.get(res.CLUSTERROLES, None, "system:basic-user")["rules"]
    assert registry.get(res.CLUSTERROLES, None, "system:monitoring")["rules"] == []
    assert registry.get(res.CLUSTERROLES, None, "system:discovery")["rules"][0]["nonResourceURLs"][0] == "/livez"
    store.close()


def test_an_aggregate_to_view_role_extends_view_edit_and_admin_at_once(
        call: Callable[..., httpx.Response]) -> None:
    extra = {"metadata": {"name": "secrets-too", "labels": {f"{RBAC}/aggregate-to-view": "true"}},
             "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]}
    assert call("view", "GET", "/api/v1/namespaces/team/secrets/x").status_code == 403
    assert call("root", "POST", f"{RBAC_V1}/clusterroles", extra).status_code == 201
    assert call("view", "GET", "/api/v1/namespaces/team/secrets/x").status_code == 200
    wanted = {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}
    for role in ("view", "edit", "admin"):  # the stored rules follow, as the aggregation controller writes them
        assert wait_until(lambda r=role: wanted in call("root", "GET", f"{RBAC_V1}/clusterroles/{r}").json()["rules"]), role
    assert call("root", "DELETE", f"{RBAC_V1}/clusterroles/secrets-too").status_code == 200
    assert call("view", "GET", "/api/v1/namespaces/team/secrets/x").status_code == 403


# --- reviews -----------------------------------------------------------------------------------

def ssar(resource: dict[str, str] | None = None, non_resource: dict[str, str] | None = None) -> dict[str, Any]:
    spec = {"resourceAttributes": resource} if resource else {"nonResourceAttributes": non_resource}
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": spec}


def test_self_subject_access_review_answers_as_the_request_would_be_met(call: Callable[..., httpx.Response]) -> None:
    yes = call("view", "POST", f"{AUTHZ_V1}/selfsubjectaccessreviews",
               ssar({"verb": "list", "resource": "pods", "namespace": "team"}))
    assert yes.status_code == 201
    assert yes.json()["status"] == {"allowed": True, "reason": 'RBAC: allowed by RoleBinding "view-binding/team" of '
                                                               'ClusterRole "view" to User "view-user"'}
    no = call("view", "POST", f"{AUTHZ_V1}/selfsubjectaccessreviews",
              ssar({"verb": "list", "resource": "pods", "namespace": "other"}))
    assert no.json()["status"] == {"allowed": False}
    sub = call("view", "POST", f"{AUTHZ_V1}/selfsubjectaccessreviews",
               ssar({"verb": "get", "resource": "pods", "subresource": "log", "namespace": "team"}))
    assert sub.json()["status"]["allowed"] is True
    url = call("view", "POST", f"{AUTHZ_V1}/selfsubjectaccessreviews", ssar(non_resource={"verb": "get", "path": "/metrics"}))
    assert url.json()["status"]["allowed"] is False
    both = call("view", "POST", f"{AUTHZ_V1}/selfsubjectaccessreviews", {"spec": {}})
    assert both.status_code == 422


def test_subject_access_review_needs_its_own_permission(call: Callable[..., httpx.Response]) -> None:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": "edit-user", "resourceAttributes": {"verb": "create", "resource": "secrets",
                                                                   "namespace": "team"}}}
    assert call("alice", "POST", f"{AUTHZ_V1}/subjectaccessreviews", review).status_code == 403
    got = call("root", "POST", f"{AUTHZ_V1}/subjectaccessreviews", review)
    assert got.status_code == 201 and got.json()["status"]["allowed"] is True
    nobody = call("root", "POST", f"{AUTHZ_V1}/subjectaccessreviews", {**review, "spec": {"resourceAttributes": {}}})
    assert nobody.status_code == 422
    local = {**review, "kind": "LocalSubjectAccessReview"}
    assert call("admin", "POST", f"{AUTHZ_V1}/namespaces/team/localsubjectaccessreviews", local).status_code == 201
    elsewhere = call("root", "POST", f"{AUTHZ_V1}/namespaces/other/localsubjectaccessreviews", local)
    assert elsewhere.status_code == 400


def test_self_subject_rules_review_lists_the_rules_in_a_namespace(call: Callable[..., httpx.Response]) -> None:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "team"}}
    status = call("view", "POST", f"{AUTHZ_V1}/selfsubjectrulesreviews", review).json()["status"]
    assert {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["namespaces"]} in status["resourceRules"]
    assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]} in status["resourceRules"]
    assert any("/healthz" in r["nonResourceURLs"] for r in status["nonResourceRules"])
    assert status["incomplete"] is False
    other = call("view", "POST", f"{AUTHZ_V1}/selfsubjectrulesreviews", {**review, "spec": {"namespace": "other"}})
    assert not any("pods" in r["resources"] for r in other.json()["status"]["resourceRules"])
    node = call("node", "POST", f"{AUTHZ_V1}/selfsubjectrulesreviews", review).json()["status"]
    assert node["incomplete"] is True


# --- RBAC objects: validation and printing ---------------------------------------------------------

INVALID = [
    ("role-without-verbs", "namespaces/team/roles", {"metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]},
     "rules[0].verbs", "Required value: verbs must contain at least one value"),
    ("role-without-groups", "namespaces/team/roles", {"metadata": {"name": "r"}, "rules": [{"verbs": ["get"], "resources": ["pods"]}]},
     "rules[0].apiGroups", "Required value: resource rules must supply at least one api group"),
    ("urls-in-a-role", "namespaces/team/roles", {"metadata": {"name": "r"}, "rules": [{"verbs": ["get"], "nonResourceURLs": ["/x"]}]},
     "rules[0].nonResourceURLs", 'Invalid value: ["/x"]: namespaced rules cannot apply to non-resource URLs'),
    ("urls-and-resources", "clusterroles",
     {"metadata": {"name": "r"}, "rules": [{"verbs": ["get"], "nonResourceURLs": ["/x"], "resources": ["pods"]}]},
     "rules[0].nonResourceURLs", 'Invalid value: ["/x"]: rules cannot apply to both regular resources and non-resource URLs'),
    ("subject-kind", "namespaces/team/rolebindings",
     {"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "Robot", "name": "r"}]},
     "subjects[0].kind", 'Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"'),
    ("role-ref-kind", "clusterrolebindings",
     {"metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "view"}},
     "roleRef.kind", 'Unsupported value: "Role": supported values: "ClusterRole"'),
    ("sa-needs-namespace", "clusterrolebindings",
     {"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
      "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}, "subjects[0].namespace", "Required value"),
    ("name-with-slash", "clusterroles", {"metadata": {"name": "a/b"}, "rules": []}, "metadata.name",
     "Invalid value: \"a/b\": may not contain '/'"),
]


@pytest.mark.parametrize(("path", "body", "field", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_rbac_objects_are_validated_as_kubernetes_does(call: Callable[..., httpx.Response], path: str,
                                                       body: dict[str, Any], field: str, message: str) -> None:
    got = call("root", "POST", f"{RBAC_V1}/{path}", body)
    assert got.status_code == 422, got.text
    assert {"field": field, "message": message} in [
        {"field": c["field"], "message": c["message"]} for c in got.json()["details"]["causes"]]


def test_role_ref_is_immutable_and_defaults_are_filled(call: Callable[..., httpx.Response]) -> None:
    made = call("root", "POST", f"{RBAC_V1}/namespaces/team/rolebindings",
                {"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
                 "subjects": [{"kind": "User", "name": "u"}]}).json()
    assert made["roleRef"]["apiGroup"] == RBAC and made["subjects"][0]["apiGroup"] == RBAC
    made["roleRef"]["name"] = "edit"
    got = call("root", "PUT", f"{RBAC_V1}/namespaces/team/rolebindings/b", made)
    assert got.status_code == 422
    assert got.json()["details"]["causes"][0]["field"] == "roleRef"
    assert "cannot change roleRef" in got.json()["details"]["causes"][0]["message"]


def test_binding_tables_print_role_and_subjects(call: Callable[..., httpx.Response]) -> None:
    binding = {"metadata": {"name": "mixed"}, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
               "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "u1"}, {"apiGroup": RBAC, "kind": "User", "name": "u2"},
                            {"apiGroup": RBAC, "kind": "Group", "name": "g"},
                            {"kind": "ServiceAccount", "name": "sa", "namespace": "team"}]}
    assert call("root", "POST", f"{RBAC_V1}/clusterrolebindings", binding).status_code == 201
    table = call("root", "GET", f"{RBAC_V1}/clusterrolebindings/mixed",
                 headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    assert [(c["name"], c["priority"]) for c in table["columnDefinitions"]] == [
        ("Name", 0), ("Role", 0), ("Age", 0), ("Users", 1), ("Groups", 1), ("ServiceAccounts", 1)]
    cells = table["rows"][0]["cells"]
    assert cells[:2] == ["mixed", "ClusterRole/view"] and cells[3:] == ["u1, u2", "g", "team/sa"]
    roles = call("root", "GET", f"{RBAC_V1}/clusterroles", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    assert [c["name"] for c in roles.json()["columnDefinitions"]] == ["Name", "Created At"]


def test_a_watch_is_authorized_before_it_streams(server: RunningServer) -> None:
    with as_user(server, "view") as view:
        with view.stream("GET", "/api/v1/namespaces/team/configmaps?watch=true&timeoutSeconds=1") as stream:
            assert stream.status_code == 200
            first = next(stream.iter_lines())
            assert '"type":"ADDED"' in first.replace(" ", "")
        refused = view.get("/api/v1/namespaces/other/configmaps?watch=true&timeoutSeconds=1")
        assert refused.status_code == 403
        assert refused.json()["message"] == ('configmaps is forbidden: User "view-user" cannot watch resource '
                                             '"configmaps" in API group "" in the namespace "other"')
