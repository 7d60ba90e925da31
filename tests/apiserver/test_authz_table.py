"""Every verb on every served resource, for a view, edit and admin user and for a node.

The expected answers are written out here from Kubernetes' definitions, not computed by the
code under test: the ``view``/``edit``/``admin`` lists of ``rbac/bootstrappolicy`` (as far as
podvisor serves the resources), a RoleBinding counting only in its own namespace, the Node
authorizer's graph and the NodeRestriction admission plugin. Writes are dry runs, so the table
can walk every case against one set of objects. Allowed means the request got past
authorization and admission (any answer but 403: 200, 201, 404, 409, 422...); denied means 403.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from apimachinery import resources as res
from apimachinery.resources import ResourceType
from tests.apiserver.authz_cluster import RBAC, headers, make_client

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")
ALL = READ + WRITE
STORED = [rt for rt in res.RESOURCES if not rt.is_review]
#: subresources and the verbs that reach them
SUBRESOURCE_VERBS = {"status": ("get", "update", "patch"), "scale": ("get", "update", "patch"), "log": ("get",),
                     "binding": ("create",), "finalize": ("update",), "token": ("create",)}

# --- Kubernetes' aggregated roles, for the resources podvisor serves -------------------------
VIEW_READ = {
    ("", "pods"), ("", "pods/status"), ("", "pods/log"), ("", "services"), ("", "services/status"), ("", "serviceaccounts"),
    ("", "configmaps"), ("", "events"), ("", "namespaces"), ("", "namespaces/status"),
    ("apps", "deployments"), ("apps", "deployments/status"), ("apps", "deployments/scale"),
    ("apps", "replicasets"), ("apps", "replicasets/status"), ("apps", "replicasets/scale"),
    ("", "endpoints"), ("discovery.k8s.io", "endpointslices"),
    ("apps", "statefulsets"), ("apps", "statefulsets/status"), ("apps", "statefulsets/scale"),
    ("apps", "daemonsets/status"), ("apps", "controllerrevisions"), ("policy", "poddisruptionbudgets"), ("policy", "poddisruptionbudgets/status"),
    ("", "replicationcontrollers"), ("", "replicationcontrollers/status"), ("", "replicationcontrollers/scale"),
    ("batch", "jobs"), ("batch", "jobs/status"), ("batch", "cronjobs"), ("batch", "cronjobs/status"),
    ("", "persistentvolumeclaims"), ("", "persistentvolumeclaims/status"),
    ("autoscaling", "horizontalpodautoscalers"), ("autoscaling", "horizontalpodautoscalers/status"),
    # served read-only (kubectl's prune allow list)
    ("apps", "daemonsets"), ("networking.k8s.io", "ingresses"),
}
EDIT_READ = VIEW_READ | {("", "secrets"), ("coordination.k8s.io", "leases")}
EDIT_WRITE = {
    ("", "pods"), ("", "services"), ("", "configmaps"), ("", "secrets"), ("", "events"), ("", "serviceaccounts"),
    ("", "serviceaccounts/token"),
    ("apps", "deployments"), ("apps", "deployments/scale"), ("apps", "replicasets"), ("apps", "replicasets/scale"),
    ("coordination.k8s.io", "leases"), ("apps", "statefulsets/scale"), ("", "replicationcontrollers/scale"),
    ("", "persistentvolumeclaims"), ("", "replicationcontrollers"), ("apps", "statefulsets"), ("apps", "daemonsets"),
    ("batch", "jobs"), ("batch", "cronjobs"), ("networking.k8s.io", "ingresses"), ("policy", "poddisruptionbudgets"),
    ("autoscaling", "horizontalpodautoscalers"),
}
ADMIN_EXTRA = {(RBAC, "roles"), (RBAC, "rolebindings")}
ROLES = {
    "view": (VIEW_READ, set()),
    "edit": (EDIT_READ, EDIT_WRITE),
    "admin": (EDIT_READ | ADMIN_EXTRA, EDIT_WRITE | ADMIN_EXTRA),
}


REVIEWS = [rt for rt in res.RESOURCES if rt.is_review]
#: who may create each review kind (``who``, namespace): system:basic-user's self reviews for
#: everyone; SubjectAccessReview and TokenReview only for nodes (Kubernetes' node rules);
#: LocalSubjectAccessReview for admin in its namespace and for nodes; a node's credential
#: renewal only for nodes.
REVIEW_ALLOWED = {
    "selfsubjectaccessreviews": lambda who, ns: True,
    "selfsubjectrulesreviews": lambda who, ns: True,
    "selfsubjectreviews": lambda who, ns: True,
    "subjectaccessreviews": lambda who, ns: who == "node",
    "tokenreviews": lambda who, ns: who == "node",
    "localsubjectaccessreviews": lambda who, ns: who == "node" or (who == "admin" and ns == "team"),
    "nodecredentialrequests": lambda who, ns: who == "node",
}


@dataclass(frozen=True)
class Case:
    who: str
    verb: str
    rt: ResourceType
    namespace: str = ""
    name: str = ""
    sub: str = ""
    query: str = ""
    allowed: bool = False

    @property
    def id(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        target = f"{self.rt.plural}{'/' + self.sub if self.sub else ''}"
        extra = f"?{self.query}" if self.query else ""
        return f"{self.who}-{self.verb}-{where}{target}{':' + self.name if self.name else ''}{extra}"


def _verbs(rt: ResourceType) -> Iterator[tuple[str, str]]:
    for verb in rt.verbs:
        yield verb, ""
    for sub in rt.subresources:
        for verb in SUBRESOURCE_VERBS.get(sub, ()):
            yield verb, sub


def _user_allows(who: str, verb: str, group: str, resource: str, namespace: str) -> bool:
    reads, writes = ROLES[who]
    if namespace != "team":
        return False  # bound by a RoleBinding in team: nothing anywhere else, nothing cluster-wide
    return (group, resource) in (reads if verb in READ else writes)


def user_cases() -> Iterator[Case]:
    for who in ROLES:
        for rt in STORED:
            for verb, sub in _verbs(rt):
                resource = f"{rt.plural}/{sub}" if sub else rt.plural
                if rt is res.NAMESPACES:  # a namespace is in itself: GET /api/v1/namespaces/team
                    named = verb not in ("list", "watch", "create", "deletecollection")
                    for ns in (("team", "other") if named else ("",)):
                        yield Case(who, verb, rt, ns, ns if named else "", sub,
                                   allowed=_user_allows(who, verb, "", resource, ns))
                    continue
                for ns in (("team", "other") if rt.namespaced else ("",)):
                    bare = verb in ("list", "watch", "deletecollection") or (verb == "create" and not sub)
                    name = "" if bare else _fixture(rt)
                    yield Case(who, verb, rt, ns, name, sub, allowed=_user_allows(who, verb, rt.group, resource, ns))
        for review in REVIEWS:
            for ns in (("team", "other") if review.namespaced else ("",)):
                yield Case(who, "create", review, ns, allowed=REVIEW_ALLOWED[review.plural](who, ns))


def _fixture(rt: ResourceType) -> str:
    return {"pods": "on-n1", "nodes": "n1"}.get(rt.plural, "x")


def node_cases() -> Iterator[Case]:
    """The Node authorizer's decisions, then NodeRestriction's, for system:node:n1."""
    n = "node"
    allow = {  # (verb, resource, namespace, name, query) -> allowed; everything not listed is denied
        # its own Node: read, register, update, status; never another's, never the list
        ("get", "nodes", "", "n1", ""), ("watch", "nodes", "", "", "fieldSelector=metadata.name%3Dn1"),
        ("list", "nodes", "", "", "fieldSelector=metadata.name%3Dn1"),
        ("create", "nodes", "", "n1", ""), ("update", "nodes", "", "n1", ""), ("patch", "nodes", "", "n1", ""),
        ("update", "nodes/status", "", "n1", ""), ("patch", "nodes/status", "", "n1", ""),
        # pods bound to it: get, list/watch by spec.nodeName, status, delete
        ("get", "pods", "team", "on-n1", ""), ("list", "pods", "", "", "fieldSelector=spec.nodeName%3Dn1"),
        ("watch", "pods", "", "", "fieldSelector=spec.nodeName%3Dn1"),
        ("update", "pods/status", "team", "on-n1", ""), ("patch", "pods/status", "team", "on-n1", ""),
        ("delete", "pods", "team", "on-n1", ""),
        # what its pods reference
        ("get", "secrets", "team", "s-n1", ""), ("get", "configmaps", "team", "cm-n1", ""),
        ("watch", "secrets", "team", "", "fieldSelector=metadata.name%3Ds-n1"),
        ("list", "configmaps", "team", "", "fieldSelector=metadata.name%3Dcm-n1"),
        # services, events, its Lease
        ("get", "services", "team", "x", ""), ("list", "services", "team", "", ""),
        ("watch", "services", "team", "", ""), ("list", "services", "", "", ""),
        ("get", "endpoints", "team", "x", ""), ("list", "endpoints", "team", "", ""),
        ("watch", "endpoints", "team", "", ""),
        ("get", "endpointslices", "team", "x", ""), ("list", "endpointslices", "team", "", ""),
        ("watch", "endpointslices", "team", "", ""),
        ("create", "events", "team", "", ""), ("update", "events", "team", "x", ""), ("patch", "events", "team", "x", ""),
        ("get", "leases", "kube-node-lease", "n1", ""), ("create", "leases", "kube-node-lease", "n1", ""),
        ("update", "leases", "kube-node-lease", "n1", ""), ("patch", "leases", "kube-node-lease", "n1", ""),
        ("delete", "leases", "kube-node-lease", "n1", ""),
        # tokens for the ServiceAccounts of its pods (once ServiceAccounts are served)
        ("create", "serviceaccounts/token", "team", "sa-n1", ""),
        # its pods' claims and the volumes bound to them; its own local volumes (get, and update
        # for the cleanup finalizer, which NodeRestriction narrows to the finalizers)
        ("get", "persistentvolumeclaims", "team", "pvc-n1", ""), ("get", "persistentvolumes", "", "pv-n1", ""),
        ("get", "persistentvolumes", "", "local-n1", ""), ("update", "persistentvolumes", "", "local-n1", ""),
        ("patch", "persistentvolumes", "", "local-n1", ""),
    }
    seen: set[tuple[str, str, str, str, str]] = set()

    def case(verb: str, rt: ResourceType, sub: str, ns: str, name: str, query: str = "") -> Case:
        key = (verb, f"{rt.plural}/{sub}" if sub else rt.plural, ns, name, query)
        seen.add(key)
        return Case(n, verb, rt, ns, name, sub, query, key in allow)

    targets = {  # per resource: (namespace, name) pairs to try; related and unrelated
        "pods": [("team", "on-n1"), ("team", "on-n2")], "secrets": [("team", "s-n1"), ("team", "s-n2"), ("other", "s-n1")],
        "configmaps": [("team", "cm-n1"), ("team", "cm-n2")], "nodes": [("", "n1"), ("", "n2")],
        "leases": [("kube-node-lease", "n1"), ("kube-node-lease", "n2"), ("team", "x")],
        "namespaces": [("team", "team")], "serviceaccounts": [("team", "sa-n1"), ("team", "x")],
        "persistentvolumeclaims": [("team", "pvc-n1"), ("team", "pvc-n2")],
        "persistentvolumes": [("", "pv-n1"), ("", "pv-n2"), ("", "local-n1")],
    }
    for rt in STORED:
        for verb, sub in _verbs(rt):
            pairs = targets.get(rt.plural, [("team" if rt.namespaced else "", "x")])
            for ns, name in pairs:
                if verb in ("list", "watch", "deletecollection"):
                    yield case(verb, rt, sub, ns if rt.namespaced else "", "")
                elif verb == "create" and rt.plural not in ("nodes", "leases"):
                    yield case(verb, rt, sub, ns if rt.namespaced else "", name if sub else "")
                else:
                    yield case(verb, rt, sub, ns if rt.namespaced else "", name)
    for key in sorted(allow - seen):  # the selector-scoped reads
        verb, resource, ns, name, query = key
        rt = next((r for r in STORED if r.plural == resource.split("/")[0]), None)
        if rt is None:
            continue  # a kind not served (yet)
        yield case(verb, rt, resource.partition("/")[2], ns, name, query)
    yield case("list", res.PODS, "", "", "", "fieldSelector=spec.nodeName%3Dn2")
    yield case("create", res.NODES, "", "", "n3")  # registering another node: NodeRestriction
    for review in REVIEWS:
        yield Case(n, "create", review, "team" if review.namespaced else "", allowed=REVIEW_ALLOWED[review.plural](n, "team"))


def _dedup(cases: Iterator[Case]) -> list[Case]:
    return list({c.id: c for c in cases}.values())


CASES = _dedup(user_cases()) + _dedup(node_cases())


def create_body(rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
    meta = {"name": name or "created", **({"namespace": namespace} if namespace else {})}
    container = {"name": "c", "image": "busybox"}
    template = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [container]}}
    review_spec = {"resourceAttributes": {"verb": "get", "resource": "pods", "namespace": namespace or "team"},
                   "user": "someone"}
    bodies: dict[str, dict[str, Any]] = {
        "Pod": {"spec": {"containers": [container]}},
        "Service": {"spec": {"ports": [{"port": 80}]}},
        "Event": {"involvedObject": {"kind": "Pod", "name": "on-n1", "namespace": namespace}, "reason": "R",
                  "message": "m", "type": "Normal"},
        "Deployment": {"spec": {"selector": {"matchLabels": {"app": "a"}}, "template": template}},
        "ReplicaSet": {"spec": {"selector": {"matchLabels": {"app": "a"}}, "template": template}},
        "Lease": {"spec": {}},
        "Role": {"rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]},
        "ClusterRole": {"rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]},
        "RoleBinding": {"roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
                        "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "x"}]},
        "ClusterRoleBinding": {"roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
                               "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "x"}]},
        "SelfSubjectAccessReview": {"spec": {"resourceAttributes": review_spec["resourceAttributes"]}},
        "SubjectAccessReview": {"spec": review_spec},
        "LocalSubjectAccessReview": {"spec": review_spec},
        "SelfSubjectRulesReview": {"spec": {"namespace": "team"}},
    }
    return {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": meta, **bodies.get(rt.kind, {})}


def send(client: TestClient, case: Case) -> Any:
    rt = case.rt
    named = case.name if case.verb != "create" or case.sub else None
    path = rt.path(case.namespace or None, named or None, case.sub or None)
    if rt is res.NAMESPACES and case.name:
        path = rt.path(None, case.name, case.sub or None)
    dry = "dryRun=All"
    query = "&".join(q for q in (case.query, dry if case.verb in WRITE else "") if q)
    url = f"{path}?{query}" if query else path
    auth = headers(case.who)
    match case.verb:
        case "get" | "list":
            return client.get(url, headers=auth)
        case "watch":  # a malformed timeout answers 400 at once, once past authorization
            return client.get(f"{path}?watch=true&timeoutSeconds=soon{'&' + case.query if case.query else ''}",
                              headers=auth)
        case "create":
            if case.sub == "binding":
                body: dict[str, Any] = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": case.name},
                                        "target": {"kind": "Node", "name": "n1"}}
            else:
                body = create_body(rt, case.namespace, case.name)
            return client.post(url, headers=auth, content=json.dumps(body))
        case "update":
            current = client.get(path, headers=headers("root"))
            body = current.json() if current.status_code == 200 else create_body(rt, case.namespace, case.name)
            return client.put(url, headers=auth, content=json.dumps(body))
        case "patch":
            return client.patch(url, headers={**auth, "Content-Type": "application/merge-patch+json"}, content="{}")
        case "delete" | "deletecollection":
            return client.delete(url, headers=auth)
    raise AssertionError(case.verb)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("authz-table")
    with make_client(tmp) as c:
        yield c


def test_the_table_covers_every_identity_verb_and_resource() -> None:
    assert len(CASES) > 700
    assert {c.who for c in CASES} == {"view", "edit", "admin", "node"}
    assert {c.rt.plural for c in CASES} == {rt.plural for rt in res.RESOURCES}
    assert {c.verb for c in CASES if not c.rt.is_review} == set(ALL)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_decision(client: TestClient, case: Case) -> None:
    got = send(client, case)
    if case.allowed:
        assert got.status_code != 403, got.json()
    else:
        assert got.status_code == 403, got.text
        assert got.json()["reason"] == "Forbidden"
