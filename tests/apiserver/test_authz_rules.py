"""Pure parts of authorization as tables: rule matching, coverage, the pod graph, impersonation."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import ApiError
from apiserver.authn.user import UserInfo
from apiserver.authz import impersonation
from apiserver.authz.decision import Attributes, Verdict
from apiserver.authz.escalation import compact, rule_covers, uncovered
from apiserver.authz.index import Roles
from apiserver.authz.node import NodeAuthorizer, NodeGraph, pod_refs
from apiserver.authz.rules import Rule, rule_allows
from apiserver.requestinfo import RequestInfo, request_info


def rule(verbs: str, groups: str = "", resources: str = "", names: str = "", urls: str = "") -> Rule:
    def split(text: str) -> tuple[str, ...]:
        return tuple(text.split(",")) if text else ()
    return Rule(split(verbs), tuple(groups.split(",")) if resources else (), split(resources), split(names), split(urls))


MATCHES = [
    # (id, rule, method, path, allowed)
    ("exact", rule("get", "", "pods"), "GET", "/api/v1/namespaces/d/pods/p", True),
    ("verb-differs", rule("get", "", "pods"), "DELETE", "/api/v1/namespaces/d/pods/p", False),
    ("list-is-not-get", rule("get", "", "pods"), "GET", "/api/v1/namespaces/d/pods", False),
    ("watch-by-query", rule("watch", "", "pods"), "GET", "/api/v1/namespaces/d/pods?watch=true", True),
    ("star-verb", rule("*", "", "pods"), "PATCH", "/api/v1/namespaces/d/pods/p", True),
    ("group-differs", rule("get", "apps", "pods"), "GET", "/api/v1/namespaces/d/pods/p", False),
    ("star-group", rule("get", "*", "deployments"), "GET", "/apis/apps/v1/namespaces/d/deployments/x", True),
    ("resource-does-not-cover-subresource", rule("get", "", "pods"), "GET", "/api/v1/namespaces/d/pods/p/log", False),
    ("subresource-exact", rule("get", "", "pods/log"), "GET", "/api/v1/namespaces/d/pods/p/log", True),
    ("subresource-wildcard", rule("get", "", "*/log"), "GET", "/api/v1/namespaces/d/pods/p/log", True),
    ("wildcard-other-sub", rule("get", "", "*/status"), "GET", "/api/v1/namespaces/d/pods/p/log", False),
    ("subresource-does-not-cover-resource", rule("get", "", "pods/log"), "GET", "/api/v1/namespaces/d/pods/p", False),
    ("star-resource-covers-sub", rule("get", "", "*"), "GET", "/api/v1/namespaces/d/pods/p/log", True),
    ("named", rule("get", "", "secrets", names="a"), "GET", "/api/v1/namespaces/d/secrets/a", True),
    ("other-name", rule("get", "", "secrets", names="a"), "GET", "/api/v1/namespaces/d/secrets/b", False),
    ("names-never-match-lists", rule("list", "", "secrets", names="a"), "GET", "/api/v1/namespaces/d/secrets", False),
    ("names-match-a-named-list", rule("list", "", "secrets", names="a"), "GET",
     "/api/v1/namespaces/d/secrets?fieldSelector=metadata.name%3Da", True),
    ("url-exact", rule("get", urls="/healthz"), "GET", "/healthz", True),
    ("url-no-prefix", rule("get", urls="/healthz"), "GET", "/healthz/etcd", False),
    ("url-star-suffix", rule("get", urls="/healthz*"), "GET", "/healthz/etcd", True),
    ("url-star", rule("get", urls="*"), "GET", "/anything", True),
    ("url-rule-not-for-resources", rule("get", urls="*"), "GET", "/api/v1/namespaces/d/pods", False),
    ("resource-rule-not-for-urls", rule("get", "*", "*"), "GET", "/healthz", False),
    ("url-verb-is-the-method", rule("post", urls="/x"), "POST", "/x", True),
]


@pytest.mark.parametrize(("r", "method", "path", "allowed"), [m[1:] for m in MATCHES], ids=[m[0] for m in MATCHES])
def test_rule_allows(r: Rule, method: str, path: str, allowed: bool) -> None:
    path, _, query = path.partition("?")
    assert rule_allows(request_info(method, path, query), r) is allowed


COVERS = [
    ("same", rule("get", "", "pods"), rule("get", "", "pods"), True),
    ("more-verbs", rule("get,list", "", "pods"), rule("get", "", "pods"), True),
    ("fewer-verbs", rule("get", "", "pods"), rule("get,list", "", "pods"), False),
    ("star", rule("*", "*", "*"), rule("delete", "apps", "deployments"), True),
    ("sub-wildcard", rule("get", "", "*/status"), rule("get", "", "pods/status"), True),
    ("named-owner", rule("get", "", "pods", names="a"), rule("get", "", "pods"), False),
    ("named-both", rule("get", "", "pods", names="a,b"), rule("get", "", "pods", names="a"), True),
    ("url-prefix", rule("get", urls="/api/*"), rule("get", urls="/api/v1"), True),
    ("url-other", rule("get", urls="/api"), rule("get", urls="/apis"), False),
]


@pytest.mark.parametrize(("owner", "wanted", "covered"), [c[1:] for c in COVERS], ids=[c[0] for c in COVERS])
def test_coverage(owner: Rule, wanted: Rule, covered: bool) -> None:
    assert (not uncovered([owner], (wanted,))) is covered


def test_uncovered_rules_are_broken_down_and_compacted_as_kubernetes_prints_them() -> None:
    missing = uncovered([rule("get", "", "pods")], (rule("get,list,delete", ",apps", "pods,deployments"),))
    assert sorted(r.compact_string() for r in compact(missing)) == [
        '{APIGroups:[""], Resources:["deployments"], Verbs:["get" "list" "delete"]}',
        '{APIGroups:[""], Resources:["pods"], Verbs:["list" "delete"]}',
        '{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "list" "delete"]}',
        '{APIGroups:["apps"], Resources:["pods"], Verbs:["get" "list" "delete"]}',
    ]
    assert rule_covers(rule("*", "*", "*"), rule("get", urls="/x")) is False


def test_every_reference_a_pod_makes_is_a_graph_edge() -> None:
    pod: dict[str, Any] = {
        "metadata": {"namespace": "ns", "name": "p"},
        "spec": {
            "serviceAccountName": "sa",
            "imagePullSecrets": [{"name": "pull"}],
            "volumes": [
                {"name": "v1", "secret": {"secretName": "vol-secret"}},
                {"name": "v2", "configMap": {"name": "vol-cm"}},
                {"name": "v3", "projected": {"sources": [{"secret": {"name": "proj-secret"}},
                                                         {"configMap": {"name": "proj-cm"}},
                                                         {"serviceAccountToken": {"path": "t"}}]}},
                {"name": "v4", "persistentVolumeClaim": {"claimName": "claim"}},
                {"name": "v5", "ephemeral": {"volumeClaimTemplate": {}}},
                {"name": "v6", "emptyDir": {}},
            ],
            "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "init-env"}}]}],
            "containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "env-cm"}}],
                            "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "key-secret", "key": "k"}}},
                                    {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "key-cm", "key": "k"}}},
                                    {"name": "C", "value": "plain"}]}],
        },
    }
    assert sorted(pod_refs(pod)) == sorted([
        ("serviceaccounts", "ns", "sa"), ("secrets", "ns", "pull"), ("secrets", "ns", "vol-secret"),
        ("configmaps", "ns", "vol-cm"), ("secrets", "ns", "proj-secret"), ("configmaps", "ns", "proj-cm"),
        ("persistentvolumeclaims", "ns", "claim"), ("persistentvolumeclaims", "ns", "p-v5"),
        ("secrets", "ns", "init-env"), ("configmaps", "ns", "env-cm"), ("secrets", "ns", "key-secret"),
        ("configmaps", "ns", "key-cm"),
    ])


def test_the_graph_follows_a_pod_as_it_moves_and_goes() -> None:
    graph = NodeGraph()
    pod = {"metadata": {"namespace": "ns", "name": "p"},
           "spec": {"nodeName": "a", "volumes": [{"name": "s", "secret": {"secretName": "s"}}]}}
    graph.put("/registry/pods/ns/p", pod, 5)
    assert graph.related("a", ("secrets", "ns", "s")) and graph.related("a", ("pods", "ns", "p"))
    graph.put("/registry/pods/ns/p", {**pod, "spec": {**pod["spec"], "nodeName": "b"}}, 6)
    assert not graph.related("a", ("secrets", "ns", "s")) and graph.related("b", ("secrets", "ns", "s"))
    graph.put("/registry/pods/ns/p", pod, 4)  # an older event replayed after a list changes nothing
    assert graph.related("b", ("secrets", "ns", "s"))
    graph.put("/registry/pods/ns/p", None, 7)
    assert not graph.related("b", ("secrets", "ns", "s"))


def test_aggregated_rules_follow_labels_nested_and_without_cycles() -> None:
    roles = Roles()

    def cluster_role(name: str, *, labels: dict[str, str] | None = None, aggregate: str = "", verb: str = "") -> None:
        obj: dict[str, Any] = {"metadata": {"name": name, "labels": labels or {}},
                               "rules": [{"verbs": [verb], "apiGroups": [""], "resources": ["pods"]}] if verb else []}
        if aggregate:
            obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {aggregate: "true"}}]}
        roles.put(f"/r/{name}", obj, len(roles.values) + 1)

    cluster_role("top", aggregate="to-top")
    cluster_role("middle", labels={"to-top": "true"}, aggregate="to-middle")
    cluster_role("leaf", labels={"to-middle": "true"}, verb="get")
    cluster_role("loop", labels={"to-top": "true", "to-loop": "true"}, aggregate="to-loop")
    cluster_role("direct", labels={"to-top": "true"}, verb="list")
    assert set(roles.rules("", "top") or ()) == {rule("get", "", "pods"), rule("list", "", "pods")}
    assert roles.rules("", "nothing") is None


def allows_only(*granted: tuple[str, str]) -> impersonation.Allows:
    def allows(user: UserInfo, info: RequestInfo) -> bool:
        return (info.resource_path, info.name) in granted
    return allows


def test_impersonation_checks_each_attribute() -> None:
    me = UserInfo("me")
    headers = [(b"impersonate-user", b"carol"), (b"impersonate-group", b"devs")]
    became = impersonation.impersonate(me, headers, allows_only(("users", "carol"), ("groups", "devs")))
    assert (became.name, became.groups) == ("carol", ("devs", "system:authenticated"))
    with pytest.raises(ApiError) as refused:
        impersonation.impersonate(me, headers, allows_only(("users", "carol")))
    assert refused.value.message == ('groups "devs" is forbidden: User "me" cannot impersonate resource "groups" '
                                     'in API group "" at the cluster scope')
    sa = impersonation.impersonate(me, [(b"impersonate-user", b"system:serviceaccount:ns:bot")],
                                   allows_only(("serviceaccounts", "bot")))
    assert sa.groups == ("system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated")
    with pytest.raises(ApiError) as bad:
        impersonation.impersonate(me, [(b"impersonate-group", b"devs")], allows_only())
    assert bad.value.code == 400


ENV_POD = {"metadata": {"namespace": "ns", "name": "p"},
           "spec": {"nodeName": "a", "containers": [{
               "name": "c", "envFrom": [{"configMapRef": {"name": "from-cm"}}, {"secretRef": {"name": "from-secret"}}],
               "env": [{"name": "K", "valueFrom": {"configMapKeyRef": {"name": "key-cm", "key": "k"}}},
                       {"name": "S", "valueFrom": {"secretKeyRef": {"name": "key-secret", "key": "k"}}}]}]}}


@pytest.mark.parametrize(
    ("node", "method", "path", "allowed"),
    [
        pytest.param("a", "GET", "/api/v1/namespaces/ns/configmaps/from-cm", True, id="envfrom-configmap"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/secrets/from-secret", True, id="envfrom-secret"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/configmaps/key-cm", True, id="configmap-key-ref"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/secrets/key-secret", True, id="secret-key-ref"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/secrets/other", False, id="unreferenced-secret"),
        pytest.param("a", "GET", "/api/v1/namespaces/other/secrets/key-secret", False, id="same-name-other-namespace"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/configmaps/key-cm/x", False, id="subresource"),
        pytest.param("a", "PUT", "/api/v1/namespaces/ns/configmaps/key-cm", False, id="no-writes"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/secrets", False, id="no-list-without-name"),
        pytest.param("b", "GET", "/api/v1/namespaces/ns/secrets/key-secret", False, id="another-node"),
    ],
)
def test_a_node_reads_only_the_objects_its_pods_env_references(node: str, method: str, path: str,
                                                               allowed: bool) -> None:
    graph = NodeGraph()
    graph.put("/registry/pods/ns/p", ENV_POD, 1)
    user = UserInfo(name=f"system:node:{node}", groups=("system:nodes", "system:authenticated"))
    decision = NodeAuthorizer(graph).authorize(Attributes(user=user, info=request_info(method, path)))
    assert (decision.verdict is Verdict.ALLOW) is allowed


VOLUME_POD = {"metadata": {"namespace": "ns", "name": "p"},
              "spec": {"nodeName": "a", "containers": [{"name": "c"}], "volumes": [
                  {"name": "cm", "configMap": {"name": "vol-cm"}},
                  {"name": "s", "secret": {"secretName": "vol-secret"}},
                  {"name": "p", "projected": {"sources": [{"configMap": {"name": "proj-cm"}},
                                                          {"secret": {"name": "proj-secret"}},
                                                          {"downwardAPI": {"items": []}}]}}]}}


@pytest.mark.parametrize(
    ("node", "method", "path", "allowed"),
    [
        pytest.param("a", "GET", "/api/v1/namespaces/ns/configmaps/vol-cm", True, id="configmap-volume"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/secrets/vol-secret", True, id="secret-volume"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/configmaps/proj-cm", True, id="projected-configmap"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/secrets/proj-secret", True, id="projected-secret"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/configmaps?fieldSelector=metadata.name=vol-cm&watch=true",
                     True, id="watch-by-name"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/configmaps?watch=true", False, id="watch-everything"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/configmaps", False, id="list-everything"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/secrets/vol-cm", False, id="a-configmap-name-as-secret"),
        pytest.param("a", "GET", "/api/v1/namespaces/ns/configmaps/vol-secret", False, id="a-secret-name-as-configmap"),
        pytest.param("b", "GET", "/api/v1/namespaces/ns/secrets/proj-secret", False, id="another-node"),
    ],
)
def test_a_node_reads_only_the_objects_its_pods_volumes_reference(node: str, method: str, path: str,
                                                                  allowed: bool) -> None:
    graph = NodeGraph()
    graph.put("/registry/pods/ns/p", VOLUME_POD, 1)
    user = UserInfo(name=f"system:node:{node}", groups=("system:nodes", "system:authenticated"))
    path, _, query = path.partition("?")
    decision = NodeAuthorizer(graph).authorize(Attributes(user=user, info=request_info(method, path, query)))
    assert (decision.verdict is Verdict.ALLOW) is allowed
