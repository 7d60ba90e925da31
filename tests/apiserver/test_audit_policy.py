"""The audit policy: matching as kube-apiserver's policy checker, and a file read strictly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apiserver.audit.policy import DEFAULT_POLICY, Level, PolicyError, load_policy, parse_policy
from apiserver.authn.user import AUTHENTICATED, NODES, UserInfo
from apiserver.requestinfo import request_info

ALICE = UserInfo("alice", groups=(AUTHENTICATED,))
NODE = UserInfo("system:node:n1", groups=(NODES, AUTHENTICATED))


def policy(*rules: dict[str, Any], **extra: Any) -> Any:
    return parse_policy({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": list(rules), **extra},
                        source="policy.yaml")


def level(p: Any, method: str, path: str, user: UserInfo | None = ALICE, query: str = "") -> str:
    return p.decide(request_info(method, path, query), user).level.wire


RULE_CASES = [
    # id, rule, method, path, user, matches
    ("empty-rule-matches-all", {}, "GET", "/api/v1/pods", ALICE, True),
    ("user", {"users": ["alice"]}, "GET", "/api/v1/pods", ALICE, True),
    ("other-user", {"users": ["bob"]}, "GET", "/api/v1/pods", ALICE, False),
    ("no-user-never-matches-users", {"users": ["alice"]}, "GET", "/api/v1/pods", None, False),
    ("group", {"userGroups": ["system:nodes"]}, "GET", "/api/v1/pods", NODE, True),
    ("no-user-never-matches-groups", {"userGroups": ["system:unauthenticated"]}, "GET", "/api/v1/pods", None, False),
    ("verb", {"verbs": ["list"]}, "GET", "/api/v1/pods", ALICE, True),
    ("verb-get-is-not-list", {"verbs": ["get"]}, "GET", "/api/v1/pods", ALICE, False),
    ("watch-verb", {"verbs": ["watch"]}, "GET", "/api/v1/pods", ALICE, False),
    ("namespace", {"namespaces": ["kube-system"]}, "GET", "/api/v1/namespaces/kube-system/pods", ALICE, True),
    ("cluster-scoped-is-empty-namespace", {"namespaces": [""]}, "GET", "/api/v1/nodes", ALICE, True),
    ("namespace-other", {"namespaces": ["kube-system"]}, "GET", "/api/v1/namespaces/default/pods", ALICE, False),
    ("core-group", {"resources": [{"group": ""}]}, "GET", "/api/v1/pods", ALICE, True),
    ("apps-group-not-core", {"resources": [{"group": "apps"}]}, "GET", "/api/v1/pods", ALICE, False),
    ("resource", {"resources": [{"resources": ["pods"]}]}, "GET", "/api/v1/namespaces/d/pods/p", ALICE, True),
    ("resource-not-subresource", {"resources": [{"resources": ["pods"]}]}, "GET", "/api/v1/namespaces/d/pods/p/log",
     ALICE, False),
    ("subresource", {"resources": [{"resources": ["pods/log"]}]}, "GET", "/api/v1/namespaces/d/pods/p/log", ALICE, True),
    ("star-subresource", {"resources": [{"resources": ["*/status"]}]}, "PUT", "/api/v1/namespaces/d/pods/p/status",
     ALICE, True),
    ("resource-star", {"resources": [{"resources": ["pods/*"]}]}, "GET", "/api/v1/namespaces/d/pods/p/log", ALICE, True),
    ("star", {"resources": [{"resources": ["*"]}]}, "GET", "/api/v1/namespaces/d/pods/p/log", ALICE, True),
    ("resource-name", {"resources": [{"resources": ["configmaps"], "resourceNames": ["a"]}]}, "GET",
     "/api/v1/namespaces/d/configmaps/a", ALICE, True),
    ("resource-name-other", {"resources": [{"resources": ["configmaps"], "resourceNames": ["a"]}]}, "GET",
     "/api/v1/namespaces/d/configmaps/b", ALICE, False),
    ("resource-rule-never-matches-non-resource", {"resources": [{"group": ""}]}, "GET", "/version", ALICE, False),
    ("non-resource", {"nonResourceURLs": ["/version"]}, "GET", "/version", ALICE, True),
    ("non-resource-prefix", {"nonResourceURLs": ["/api*"]}, "GET", "/apis/apps", ALICE, True),
    ("non-resource-star", {"nonResourceURLs": ["*"]}, "GET", "/healthz", ALICE, True),
    ("non-resource-rule-never-matches-resources", {"nonResourceURLs": ["*"]}, "GET", "/api/v1/pods", ALICE, False),
]


@pytest.mark.parametrize(("rule", "method", "path", "user", "matches"), [pytest.param(*c[1:], id=c[0]) for c in RULE_CASES])
def test_rule_matching(rule: dict[str, Any], method: str, path: str, user: UserInfo | None, matches: bool) -> None:
    p = policy({"level": "Request", **rule})
    assert level(p, method, path, user) == ("Request" if matches else "None")


def test_first_matching_rule_wins_and_stages_are_joined() -> None:
    p = policy({"level": "None", "users": ["system:kube-proxy"]},
               {"level": "Metadata", "verbs": ["get"], "omitStages": ["ResponseStarted"]},
               {"level": "RequestResponse"}, omitStages=["RequestReceived"])
    decision = p.decide(request_info("GET", "/api/v1/namespaces/d/pods/p"), ALICE)
    assert decision.level == Level.METADATA
    assert decision.omit_stages == {"RequestReceived", "ResponseStarted"}
    assert level(p, "POST", "/api/v1/namespaces/d/pods") == "RequestResponse"
    assert level(p, "GET", "/api/v1/pods", UserInfo("system:kube-proxy")) == "None"


def test_no_matching_rule_means_none() -> None:
    assert level(policy({"level": "Metadata", "verbs": ["create"]}), "GET", "/api/v1/pods") == "None"


@pytest.mark.parametrize(("method", "path", "expected"), [
    pytest.param("POST", "/api/v1/namespaces/d/pods", "Metadata", id="create"),
    pytest.param("PUT", "/api/v1/namespaces/d/pods/p", "Metadata", id="update"),
    pytest.param("PATCH", "/api/v1/namespaces/d/pods/p", "Metadata", id="patch"),
    pytest.param("DELETE", "/api/v1/namespaces/d/pods/p", "Metadata", id="delete"),
    pytest.param("DELETE", "/api/v1/namespaces/d/pods", "Metadata", id="deletecollection"),
    pytest.param("GET", "/api/v1/namespaces/d/pods/p", "None", id="get"),
    pytest.param("GET", "/api/v1/pods", "None", id="list"),
    pytest.param("GET", "/api/v1/pods?watch=true", "None", id="watch"),
])
def test_default_policy(method: str, path: str, expected: str) -> None:
    path, _, query = path.partition("?")
    assert level(DEFAULT_POLICY, method, path, query=query) == expected
    assert DEFAULT_POLICY.log_denials and DEFAULT_POLICY.omit_stages == {"RequestReceived"}


def _with(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Metadata"}], **fields}


@pytest.mark.parametrize(("doc", "message"), [
    pytest.param(_with(apiVersion="audit.k8s.io/v1beta1"), "apiVersion/kind: must be audit.k8s.io/v1 Policy",
                 id="old-version"),
    pytest.param(_with(rules={"level": "None"}), "rules: must be a list", id="rules-not-list"),
    pytest.param(_with(rules=[{"level": "Everything"}]), r"rules\[0\].level: must be one of None, Metadata",
                 id="unknown-level"),
    pytest.param(_with(rules=[{}]), r"rules\[0\].level: must be one of", id="no-level"),
    pytest.param(_with(rules=[{"level": "None", "verb": ["get"]}]), r"rules\[0\].verb: unknown field", id="typo"),
    pytest.param(_with(omitStages=["ResponseEnded"]), "omitStages: unknown stage 'ResponseEnded'", id="unknown-stage"),
    pytest.param(_with(rules=[{"level": "None", "nonResourceURLs": ["/x"], "namespaces": ["a"]}]),
                 "cannot apply to both regular resources and non-resource URLs", id="both"),
    pytest.param(_with(rules=[{"level": "None", "nonResourceURLs": ["healthz"]}]),
                 r"nonResourceURLs\[0\]: must start with /", id="relative-url"),
    pytest.param(_with(rules=[{"level": "None", "nonResourceURLs": ["/a*b"]}]), "may end with", id="inner-star"),
    pytest.param(_with(rules=[{"level": "None", "resources": [{"group": "", "resource": ["pods"]}]}]),
                 r"rules\[0\].resources\[0\].resource: unknown field", id="resource-typo"),
    pytest.param(_with(rules=[{"level": "None", "users": "alice"}]), r"rules\[0\].users: must be a list", id="users-str"),
    pytest.param(_with(omitManagedFields="yes"), "omitManagedFields: must be true or false", id="managed-fields"),
])
def test_policy_mistakes_are_refused_naming_the_field(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(doc, source="policy.yaml")


def test_kubernetes_example_policy_loads(tmp_path: Path) -> None:
    """The shape of the example in Kubernetes' auditing documentation."""
    path = tmp_path / "policy.yaml"
    path.write_text("""\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
  - "RequestReceived"
rules:
  - level: RequestResponse
    resources:
    - group: ""
      resources: ["pods"]
  - level: Metadata
    resources:
    - group: ""
      resources: ["pods/log", "pods/status"]
  - level: None
    resources:
    - group: ""
      resources: ["configmaps"]
      resourceNames: ["controller-leader"]
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
    resources:
    - group: ""
      resources: ["endpoints", "services"]
  - level: None
    userGroups: ["system:authenticated"]
    nonResourceURLs:
    - "/api*"
    - "/version"
  - level: Request
    resources:
    - group: ""
      resources: ["configmaps"]
    namespaces: ["kube-system"]
  - level: Metadata
    resources:
    - group: ""
      resources: ["secrets", "configmaps"]
  - level: Request
    resources:
    - group: ""
    - group: "extensions"
  - level: Metadata
    omitStages:
      - "RequestReceived"
""")
    p = load_policy(path)
    assert len(p.rules) == 9
    assert level(p, "GET", "/api/v1/namespaces/d/pods/x") == "RequestResponse"
    assert level(p, "GET", "/api/v1/namespaces/d/pods/x/log") == "Metadata"
    assert level(p, "GET", "/api/v1/namespaces/d/configmaps/controller-leader") == "None"
    assert level(p, "GET", "/version") == "None"
    assert level(p, "POST", "/api/v1/namespaces/kube-system/configmaps") == "Request"
    assert level(p, "GET", "/apis/apps/v1/deployments") == "Metadata"


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- &r {level: None}\n- *r\n")
    with pytest.raises(PolicyError, match="alias"):
        load_policy(path)
