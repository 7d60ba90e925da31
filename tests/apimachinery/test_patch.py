"""JSON patch, merge patch and strategic merge patch on wire dicts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apimachinery.errors import ApiError
from apimachinery.patch import (
    MAX_JSON_PATCH_OPERATIONS,
    json_patch,
    merge_keys_for,
    merge_patch,
    parse_pointer,
    strategic_merge_patch,
)

# --- RFC 6902 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "ops", "expected"),
    [
        ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"foo": "bar", "baz": "qux"}),
        ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}], {"foo": ["bar", "qux", "baz"]}),
        ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": "x"}], {"foo": ["bar", "x"]}),
        ({"foo": ["bar"]}, [{"op": "add", "path": "/foo/1", "value": "x"}], {"foo": ["bar", "x"]}),
        ({"foo": "bar"}, [{"op": "add", "path": "/foo", "value": None}], {"foo": None}),
        ({"foo": 1}, [{"op": "add", "path": "", "value": [1]}], [1]),
        ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
        ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
        ({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}], {"baz": "boo", "foo": "bar"}),
        ({"a": [1, 2, 3]}, [{"op": "replace", "path": "/a/1", "value": 9}], {"a": [1, 9, 3]}),
        ({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}], {"b": 2}),
        (
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
        ),
        ({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
         {"foo": ["all", "cows", "eat", "grass"]}),
        ({"a": 1}, [{"op": "move", "from": "/a", "path": "/a"}], {"a": 1}),
        ({"a": {"b": [1]}}, [{"op": "copy", "from": "/a/b", "path": "/c"}], {"a": {"b": [1]}, "c": [1]}),
        ({"baz": "qux", "foo": ["a", 2, "c"]}, [{"op": "test", "path": "/baz", "value": "qux"},
                                                 {"op": "test", "path": "/foo/1", "value": 2}],
         {"baz": "qux", "foo": ["a", 2, "c"]}),
        ({"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}], {"a": 1}),
        ({"/": 1, "m~n": 2}, [{"op": "remove", "path": "/~1"}, {"op": "replace", "path": "/m~0n", "value": 3}], {"m~n": 3}),
        ({"metadata": {"labels": {"app": "web"}}},
         [{"op": "add", "path": "/metadata/labels/example.com~1tier", "value": "db"}],
         {"metadata": {"labels": {"app": "web", "example.com/tier": "db"}}}),
        ({"a": []}, [{"op": "add", "path": "/a/-", "value": 1}, {"op": "add", "path": "/a/0", "value": 0}], {"a": [0, 1]}),
    ],
    ids=[
        "add-member", "add-array-element", "add-dash-appends", "add-at-end-index", "add-null", "add-root",
        "remove-member", "remove-element", "replace-member", "replace-element", "replace-root", "move-member",
        "move-element", "move-to-itself", "copy", "test-passes", "test-number-equality", "escaped-pointers",
        "label-with-slash", "sequence",
    ],
)
def test_json_patch(doc: Any, ops: list[Any], expected: Any) -> None:
    before = copy.deepcopy(doc)
    assert json_patch(doc, ops) == expected
    assert doc == before


@pytest.mark.parametrize(
    ("doc", "ops", "code", "fragment"),
    [
        ({"a": 1}, {"op": "add"}, 400, "must be a list"),
        ({"a": 1}, ["add"], 400, "operation 0 must be an object"),
        ({"a": 1}, [{"op": "frobnicate", "path": "/a"}], 400, "unknown op 'frobnicate'"),
        ({"a": 1}, [{"op": "add", "value": 1}], 400, 'missing or non-string "path"'),
        ({"a": 1}, [{"op": "add", "path": "/b"}], 400, 'missing "value"'),
        ({"a": 1}, [{"op": "move", "path": "/b"}], 400, 'missing "from"'),
        ({"a": 1}, [{"op": "add", "path": "a", "value": 1}], 400, 'must be empty or start with "/"'),
        ({"a": 1}, [{"op": "add", "path": "/a~2", "value": 1}], 400, '"~" must be followed by 0 or 1'),
        ({"a": 1}, [{"op": "remove", "path": "/b"}], 422, '(remove "/b"): path not found'),
        ({"a": 1}, [{"op": "replace", "path": "/b", "value": 1}], 422, '(replace "/b"): path not found'),
        ({"a": 1}, [{"op": "add", "path": "/x/y", "value": 1}], 422, '(add "/x/y"): path not found'),
        ({"a": [1]}, [{"op": "add", "path": "/a/5", "value": 1}], 422, "index 5 is out of range"),
        ({"a": [1]}, [{"op": "add", "path": "/a/01", "value": 1}], 422, "not a valid array index"),
        ({"a": [1]}, [{"op": "remove", "path": "/a/-"}], 422, "not a valid array index"),
        ({"a": [1]}, [{"op": "remove", "path": "/a/1"}], 422, "index 1 is out of range"),
        ({"a": "s"}, [{"op": "add", "path": "/a/b", "value": 1}], 422, "not an object or an array"),
        ({"a": 1}, [{"op": "test", "path": "/a", "value": True}], 422, "test failed"),
        ({"a": 1}, [{"op": "test", "path": "/a", "value": 2}], 422, "test failed"),
        ({"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}], 422, "into one of its own children"),
        ({"a": 1}, [{"op": "copy", "from": "/z", "path": "/b"}], 422, "path not found"),
        ({"a": 1}, [{"op": "remove", "path": ""}], 422, "cannot remove the whole document"),
        ({"a": 1}, [{"op": "add", "path": "/b", "value": 1}, {"op": "remove", "path": "/c"}], 422, "operation 1"),
    ],
    ids=[
        "not-a-list", "op-not-object", "unknown-op", "missing-path", "missing-value", "missing-from",
        "pointer-without-slash", "bad-escape", "remove-missing", "replace-missing", "add-missing-parent",
        "index-out-of-range", "leading-zero-index", "remove-dash", "remove-past-end", "add-into-scalar",
        "test-bool-vs-int", "test-differs", "move-into-child", "copy-missing", "remove-root", "names-operation",
    ],
)
def test_json_patch_errors(doc: Any, ops: Any, code: int, fragment: str) -> None:
    before = copy.deepcopy(doc)
    with pytest.raises(ApiError) as caught:
        json_patch(doc, ops)
    assert caught.value.code == code
    assert fragment in caught.value.message
    assert doc == before  # atomic: a failed patch changes nothing


def test_json_patch_result_does_not_alias_the_patch() -> None:
    value = {"nested": [1]}
    result = json_patch({}, [{"op": "add", "path": "/a", "value": value}])
    result["a"]["nested"].append(2)
    assert value == {"nested": [1]}


def test_json_patch_operation_limit() -> None:
    ops = [{"op": "test", "path": "", "value": {}}] * (MAX_JSON_PATCH_OPERATIONS + 1)
    with pytest.raises(ApiError) as caught:
        json_patch({}, ops)
    assert caught.value.code == 413


@pytest.mark.parametrize(
    ("pointer", "tokens"),
    [("", []), ("/", [""]), ("/a/b", ["a", "b"]), ("/a~1b", ["a/b"]), ("/m~0n", ["m~n"]), ("/~01", ["~1"])],
    ids=["root", "empty-key", "two", "slash", "tilde", "tilde-then-one"],
)
def test_parse_pointer(pointer: str, tokens: list[str]) -> None:
    assert parse_pointer(pointer) == tokens


# --- RFC 7386 (the examples of its appendix A) -------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "patch", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ({"spec": {"replicas": 3, "paused": True}}, {"spec": {"replicas": 5}}, {"spec": {"replicas": 5, "paused": True}}),
    ],
    ids=[
        "replace-value", "add-key", "null-deletes", "null-deletes-one", "scalar-replaces-list",
        "list-replaces-scalar", "nested", "lists-replace", "array-doc", "array-patch", "null-patch",
        "scalar-patch", "existing-null-kept", "object-patch-on-array", "nulls-stripped-from-new",
        "kubectl-scale",
    ],
)
def test_merge_patch(doc: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy(doc)
    assert merge_patch(doc, patch) == expected
    assert doc == before


def test_merge_patch_result_shares_nothing() -> None:
    doc = {"keep": {"x": [1]}}
    patch = {"new": {"y": [2]}}
    result = merge_patch(doc, patch)
    result["keep"]["x"].append(9)
    result["new"]["y"].append(9)
    assert doc == {"keep": {"x": [1]}}
    assert patch == {"new": {"y": [2]}}


# --- strategic merge patch --------------------------------------------------------------------


def deployment(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": list(containers), **spec}}}}


def pod(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web"}, "spec": {"containers": list(containers), **spec}}


NGINX = {"name": "nginx", "image": "nginx:1.27", "env": [{"name": "FOO", "value": "x"}, {"name": "LEVEL", "value": "3"}]}
SIDECAR = {"name": "sidecar", "image": "busybox"}

SMP_CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "kubectl-apply-update",  # the body KUBECTL_WIRE.md records for `kubectl apply`
        "Deployment",
        deployment(NGINX),
        {"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "nginx"}],
            "containers": [{
                "$setElementOrder/env": [{"name": "NEW"}, {"name": "FOO"}],
                "env": [{"name": "NEW", "value": "1"}, {"$patch": "delete", "name": "LEVEL"}],
                "image": "nginx:1.28", "name": "nginx",
            }],
        }}}},
        deployment({"name": "nginx", "image": "nginx:1.28",
                    "env": [{"name": "NEW", "value": "1"}, {"name": "FOO", "value": "x"}]}),
    ),
    (
        "set-image-keeps-other-containers",
        "Deployment",
        deployment(NGINX, SIDECAR),
        {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:2"}]}}}},
        deployment(NGINX, {"name": "sidecar", "image": "busybox:2"}),
    ),
    (
        "new-element-goes-first-without-order",  # Kubernetes' ordering rule, not a typo
        "Pod",
        pod(NGINX),
        {"spec": {"containers": [SIDECAR]}},
        pod(SIDECAR, NGINX),
    ),
    (
        "set-element-order-places-new-element",
        "Pod",
        pod(NGINX),
        {"spec": {"$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}], "containers": [SIDECAR]}},
        pod(NGINX, SIDECAR),
    ),
    (
        "set-element-order-alone-reorders",
        "Pod",
        pod(NGINX, SIDECAR),
        {"spec": {"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "nginx"}]}},
        pod(SIDECAR, NGINX),
    ),
    (
        "delete-element-by-merge-key",
        "Pod",
        pod(NGINX, SIDECAR),
        {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}},
        pod(NGINX),
    ),
    (
        "replace-whole-list",
        "Pod",
        pod(NGINX, SIDECAR),
        {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "x"}]}},
        pod({"name": "only", "image": "x"}),
    ),
    (
        "null-deletes-field-in-element",
        "Pod",
        pod(NGINX),
        {"spec": {"containers": [{"name": "nginx", "env": None}]}},
        pod({"name": "nginx", "image": "nginx:1.27"}),
    ),
    (
        "ports-merge-by-container-port",
        "Pod",
        pod({"name": "c", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]}),
        {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}},
        pod({"name": "c", "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443}]}),
    ),
    (
        "volume-mounts-by-mount-path",
        "Pod",
        pod({"name": "c", "volumeMounts": [{"mountPath": "/data", "name": "a"}]}),
        {"spec": {"containers": [{"name": "c", "volumeMounts": [{"mountPath": "/data", "readOnly": True}]}]}},
        pod({"name": "c", "volumeMounts": [{"mountPath": "/data", "name": "a", "readOnly": True}]}),
    ),
    (
        "init-container-env",
        "Pod",
        pod(initContainers=[{"name": "init", "env": [{"name": "A", "value": "1"}]}]),
        {"spec": {"initContainers": [{"name": "init", "env": [{"name": "B", "value": "2"}]}]}},
        pod(initContainers=[{"name": "init", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}]),
    ),
    (
        "volumes-retain-keys-switches-source",
        "Deployment",
        deployment(volumes=[{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}]),
        {"spec": {"template": {"spec": {"volumes": [
            {"name": "data", "$retainKeys": ["hostPath", "name"], "hostPath": {"path": "/srv"}}]}}}},
        deployment(volumes=[{"name": "data", "hostPath": {"path": "/srv"}}, {"name": "cfg", "configMap": {"name": "c"}}]),
    ),
    (
        "strategy-retain-keys",
        "Deployment",
        {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        {"spec": {"strategy": {"type": "Recreate"}}},
    ),
    (
        "tolerations-are-replaced",
        "Pod",
        pod(tolerations=[{"key": "a", "operator": "Exists"}]),
        {"spec": {"tolerations": [{"key": "b", "operator": "Exists", "effect": None}]}},
        pod(tolerations=[{"key": "b", "operator": "Exists"}]),
    ),
    (
        "unknown-list-is-replaced",
        "Pod",
        pod(NGINX, dnsConfig={"nameservers": ["1.1.1.1"]}),
        {"spec": {"dnsConfig": {"nameservers": ["8.8.8.8"]}}},
        pod(NGINX, dnsConfig={"nameservers": ["8.8.8.8"]}),
    ),
    (
        "container-args-are-replaced",
        "Pod",
        pod({"name": "c", "args": ["a", "b"]}),
        {"spec": {"containers": [{"name": "c", "args": ["z"]}]}},
        pod({"name": "c", "args": ["z"]}),
    ),
    (
        "finalizers-merge-as-set",
        "Pod",
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["b", "c"]}},
        {"metadata": {"finalizers": ["a", "b", "c"]}},
    ),
    (
        "delete-from-primitive-list",
        "Deployment",
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        {"metadata": {"finalizers": ["a", "c"]}},
    ),
    (
        "delete-from-absent-primitive-list",
        "Pod",
        {"metadata": {}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        {"metadata": {}},
    ),
    (
        "owner-references-by-uid",
        "ReplicaSet",
        {"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}},
        {"metadata": {"ownerReferences": [{"uid": "2", "controller": True}]}},
        {"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b", "controller": True}]}},
    ),
    (
        "pod-conditions-by-type",
        "Pod",
        {"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}]}},
        {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        {"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}]}},
    ),
    (
        "service-ports-by-port",
        "Service",
        {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}},
        {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}},
        {"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]}},
    ),
    (
        "node-cordon",
        "Node",
        {"spec": {"podCIDR": "10.0.0.0/24"}},
        {"spec": {"unschedulable": True}},
        {"spec": {"podCIDR": "10.0.0.0/24", "unschedulable": True}},
    ),
    (
        "node-taints-are-atomic",
        "Node",
        {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}},
        {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}},
        {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}},
    ),
    (
        "rollout-restart-annotation",
        "Deployment",
        deployment(NGINX),
        {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-26T02:45:24Z"}}}}},
        {"metadata": {"name": "web"}, "spec": {"template": {
            "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-26T02:45:24Z"}},
            "spec": {"containers": [NGINX]}}}},
    ),
    (
        "map-patch-replace",
        "Pod",
        pod(NGINX, nodeSelector={"a": "1", "b": "2"}),
        {"spec": {"nodeSelector": {"$patch": "replace", "c": "3"}}},
        pod(NGINX, nodeSelector={"c": "3"}),
    ),
    (
        "map-patch-delete",
        "Pod",
        pod(NGINX, affinity={"nodeAffinity": {}}),
        {"spec": {"affinity": {"$patch": "delete"}}},
        pod(NGINX),
    ),
    (
        "null-deletes-key",
        "Deployment",
        {"spec": {"replicas": 3, "paused": True}},
        {"spec": {"paused": None, "replicas": 5}},
        {"spec": {"replicas": 5}},
    ),
    (
        "new-map-drops-nulls-and-directives",
        "Pod",
        {},
        {"spec": {"containers": [{"name": "c", "$setElementOrder/env": [{"name": "A"}],
                                  "env": [{"name": "A", "value": "1"}], "x": None}]}},
        {"spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": "1"}]}]}},
    ),
    (
        "type-change-replaces",
        "Pod",
        {"spec": {"x": [1, 2]}},
        {"spec": {"x": {"a": 1}}},
        {"spec": {"x": {"a": 1}}},
    ),
    (
        "same-path-under-pod-is-not-merged-for-deployment",
        "Deployment",
        {"spec": {"containers": [{"name": "a"}]}},
        {"spec": {"containers": [{"name": "b"}]}},
        {"spec": {"containers": [{"name": "b"}]}},
    ),
]


@pytest.mark.parametrize(("kind", "doc", "patch", "expected"), [case[1:] for case in SMP_CASES],
                         ids=[case[0] for case in SMP_CASES])
def test_strategic_merge_patch(kind: str, doc: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    doc_before, patch_before = copy.deepcopy(doc), copy.deepcopy(patch)
    assert strategic_merge_patch(doc, patch, kind) == expected
    assert (doc, patch) == (doc_before, patch_before)


@pytest.mark.parametrize(
    ("patch", "code", "fragment"),
    [
        ({"spec": {"containers": [{"image": "x"}]}}, 400, "does not contain merge key 'name'"),
        ({"spec": {"containers": [{"$patch": "delete"}]}}, 400, "does not contain merge key 'name'"),
        ({"spec": {"containers": ["nginx"]}}, 400, "expected objects keyed by 'name'"),
        ({"spec": {"containers": [{"name": "nginx", "$patch": "merge"}]}}, 400, "unsupported $patch directive"),
        ({"spec": {"$patch": "frobnicate"}}, 400, "unknown $patch directive"),
        ({"spec": {"$retainKeys": ["a"], "b": 1}}, 400, "missing from $retainKeys"),
        ({"spec": {"$retainKeys": "a"}}, 400, "must be a list of strings"),
        ({"spec": {"tolerations": [{"key": "a", "$patch": "delete"}]}}, 400, "needs a list with a merge key"),
        ({"spec": {"$setElementOrder/containers": "nginx"}}, 400, "must be a list"),
        ({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}, 400, "needs a field and a list"),
        ({"metadata": {"finalizers": [{"a": 1}]}}, 400, "cannot hold objects"),
    ],
    ids=[
        "element-without-merge-key", "delete-without-merge-key", "scalar-in-object-list", "merge-directive-in-list",
        "unknown-map-directive", "retain-keys-mismatch", "retain-keys-not-list", "delete-in-atomic-list",
        "bad-element-order", "bad-delete-list", "object-in-primitive-list",
    ],
)
def test_strategic_merge_patch_errors(patch: dict[str, Any], code: int, fragment: str) -> None:
    with pytest.raises(ApiError) as caught:
        strategic_merge_patch(pod(NGINX), patch, "Pod")
    assert caught.value.code == code
    assert fragment in caught.value.message


def test_strategic_merge_patch_result_shares_nothing() -> None:
    doc, patch = pod(NGINX), {"spec": {"containers": [SIDECAR], "tolerations": [{"key": "a"}]}}
    result = strategic_merge_patch(doc, patch, "Pod")
    for container in result["spec"]["containers"]:
        container["image"] = "changed"
    result["spec"]["tolerations"][0]["key"] = "changed"
    assert doc == pod(NGINX)
    assert patch == {"spec": {"containers": [SIDECAR], "tolerations": [{"key": "a"}]}}
    assert SIDECAR["image"] == "busybox"


def test_root_delete_directive_empties_the_object() -> None:
    assert strategic_merge_patch(pod(NGINX), {"$patch": "delete"}, "Pod") == {}


def test_rejects_non_object_patch() -> None:
    with pytest.raises(ApiError) as caught:
        strategic_merge_patch({}, [], "Pod")  # type: ignore[arg-type]
    assert caught.value.code == 400


@pytest.mark.parametrize(
    ("kind", "path", "merge_key"),
    [
        ("Pod", "spec.containers", "name"),
        ("Pod", "spec.containers.env", "name"),
        ("Pod", "spec.ephemeralContainers.volumeMounts", "mountPath"),
        ("Pod", "spec.tolerations", None),
        ("Pod", "status.podIPs", "ip"),
        ("Deployment", "spec.template.spec.containers.ports", "containerPort"),
        ("Deployment", "spec.containers", None),
        ("ReplicaSet", "spec.template.spec.volumes", "name"),
        ("StatefulSet", "spec.template.spec.hostAliases", "ip"),
        ("CronJob", "spec.jobTemplate.spec.template.spec.containers", "name"),
        ("Deployment", "status.conditions", "type"),
        ("Service", "spec.ports", "port"),
        ("Node", "spec.taints", None),
        ("Node", "spec.podCIDRs", ""),
        ("ConfigMap", "metadata.finalizers", ""),
        ("ConfigMap", "metadata.ownerReferences", "uid"),
    ],
    ids=lambda v: v if isinstance(v, str) else repr(v),
)
def test_merge_keys_for(kind: str, path: str, merge_key: str | None) -> None:
    assert merge_keys_for(kind).get(path) == merge_key
