"""The schemas in the OpenAPI v3 documents: every kind, Kubernetes' names, and the server's merge keys.

kubectl builds its client-side strategic merge patches from these schemas, so a list marked with
a merge key the server does not merge by (or the other way round) would corrupt objects on
``kubectl apply``; the tests check both directions against :func:`apimachinery.patch.merge_keys_for`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apimachinery.models import Pod, unknown_fields
from apimachinery.patch import SET, merge_keys_for
from apimachinery.resources import RESOURCES, ResourceType, group_versions
from apiserver import openapi, openapi_schemas

Doc = dict[str, Any]
REF = "#/components/schemas/"


def document(group: str, version: str) -> Doc:
    doc = openapi.openapi_v3_document(group, version)
    assert doc is not None
    return doc


def schemas(group: str, version: str) -> Doc:
    result: Doc = document(group, version)["components"]["schemas"]
    return result


def kind_schema(rt: ResourceType) -> Doc:
    for schema in schemas(rt.group, rt.version).values():
        if {"group": rt.group, "version": rt.version, "kind": rt.kind} in schema.get(
            "x-kubernetes-group-version-kind", []
        ):
            return dict(schema)
    raise AssertionError(f"no schema carries the GVK of {rt.kind}")


def deref(doc_schemas: Doc, schema: Doc) -> Doc:
    """The named schema a property points at (plain ``$ref`` or a one-element ``allOf``)."""
    ref = schema.get("$ref") or (schema.get("allOf") or [{}])[0].get("$ref")
    return dict(doc_schemas[ref.removeprefix(REF)]) if ref else schema


def element(doc_schemas: Doc, schema: Doc) -> Doc:
    schema = deref(doc_schemas, schema)
    return deref(doc_schemas, schema["items"]) if schema.get("type") == "array" else schema


def property_at(rt: ResourceType, path: str) -> Doc | None:
    """The property schema at a dotted path (list indexes omitted); None past an untyped object."""
    doc_schemas = schemas(rt.group, rt.version)
    current, prop = kind_schema(rt), None
    for step in path.split("."):
        if "properties" not in current:
            return None
        prop = current["properties"][step]
        current = element(doc_schemas, prop)
    return prop


def list_paths(doc_schemas: Doc, schema: Doc, prefix: str = "", seen: tuple[str, ...] = ()) -> Iterator[tuple[str, Doc]]:
    """Every (dotted path, list property) reachable from ``schema``."""
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        if prop.get("type") == "array":
            yield path, prop
        ref = prop.get("$ref") or (prop.get("allOf") or [{}])[0].get("$ref") or \
            (prop.get("items") or {}).get("$ref") or ((prop.get("items") or {}).get("allOf") or [{}])[0].get("$ref")
        if ref and ref not in seen:
            yield from list_paths(doc_schemas, doc_schemas[ref.removeprefix(REF)], path, (*seen, ref))


@pytest.mark.parametrize("rt", RESOURCES, ids=lambda rt: rt.kind)
def test_every_served_kind_has_a_schema_named_as_kubernetes_names_it(rt: ResourceType) -> None:
    schema = kind_schema(rt)
    assert schema["x-kubernetes-group-version-kind"] == [{"group": rt.group, "kind": rt.kind, "version": rt.version}]
    assert schema["type"] == "object" and {"apiVersion", "kind", "metadata"} <= set(schema["properties"])
    assert schema.get("description") == openapi_schemas.model_description(rt.model)
    name = openapi_schemas.schema_name(rt.model)
    assert schemas(rt.group, rt.version)[name] == schema
    if not rt.is_review:
        listed = schemas(rt.group, rt.version)[f"{name}List"]
        assert listed["x-kubernetes-group-version-kind"][0]["kind"] == f"{rt.kind}List"


@pytest.mark.parametrize(
    ("group", "name"),
    [
        ("apps", "io.k8s.api.apps.v1.Deployment"),
        ("apps", "io.k8s.api.apps.v1.DeploymentSpec"),
        ("apps", "io.k8s.api.apps.v1.RollingUpdateDeployment"),
        ("apps", "io.k8s.api.autoscaling.v1.Scale"),  # the scale subresource's kind
        ("apps", "io.k8s.api.core.v1.PodTemplateSpec"),
        ("apps", "io.k8s.api.core.v1.Container"),
        ("apps", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
        ("apps", "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
        ("apps", "io.k8s.apimachinery.pkg.util.intstr.IntOrString"),
        ("", "io.k8s.api.core.v1.PodSpec"),
        ("", "io.k8s.api.core.v1.ServiceAccount"),
        ("", "io.k8s.api.core.v1.Binding"),
        ("", "io.k8s.apimachinery.pkg.apis.meta.v1.Status"),
        ("coordination.k8s.io", "io.k8s.api.coordination.v1.LeaseSpec"),
        ("rbac.authorization.k8s.io", "io.k8s.api.rbac.v1.PolicyRule"),
        ("authentication.k8s.io", "io.k8s.api.authentication.v1.TokenReviewSpec"),
    ],
    ids=lambda v: v or "core",
)
def test_schema_names_follow_kubernetes(group: str, name: str) -> None:
    assert name in schemas(group, "v1")


@pytest.mark.parametrize(("group", "version"), group_versions(), ids=lambda v: v or "core")
def test_every_ref_resolves_within_its_document(group: str, version: str) -> None:
    doc_schemas = schemas(group, version)
    refs: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
                assert set(node) == {"$ref"}, f"a $ref with siblings: {node} (use allOf)"
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(document(group, version))
    assert refs
    missing = [r for r in refs if r.removeprefix(REF) not in doc_schemas]
    assert not missing


# (kind, path, expected extensions); the merge key must also be what the server merges by.
MERGE = "x-kubernetes-patch-merge-key"
STRATEGY = "x-kubernetes-patch-strategy"
LIST_TYPE = "x-kubernetes-list-type"
MAP_KEYS = "x-kubernetes-list-map-keys"
DEPLOY_POD = "spec.template.spec"
LISTS = [
    ("Deployment", f"{DEPLOY_POD}.containers", {MERGE: "name", STRATEGY: "merge", LIST_TYPE: "map", MAP_KEYS: ["name"]}),
    ("Deployment", f"{DEPLOY_POD}.containers.env", {MERGE: "name", STRATEGY: "merge", LIST_TYPE: "map"}),
    ("Deployment", f"{DEPLOY_POD}.containers.ports",
     {MERGE: "containerPort", STRATEGY: "merge", MAP_KEYS: ["containerPort", "protocol"]}),
    ("Deployment", f"{DEPLOY_POD}.initContainers", {MERGE: "name", STRATEGY: "merge"}),
    ("ReplicaSet", f"{DEPLOY_POD}.volumes", {MERGE: "name", STRATEGY: "merge,retainKeys"}),
    ("Pod", "spec.containers.volumeMounts", {MERGE: "mountPath", STRATEGY: "merge"}),
    ("Pod", "spec.containers.volumeDevices", {MERGE: "devicePath", STRATEGY: "merge"}),
    ("Pod", "spec.imagePullSecrets", {MERGE: "name", STRATEGY: "merge"}),
    ("Pod", "spec.hostAliases", {MERGE: "ip", STRATEGY: "merge"}),
    ("Pod", "spec.topologySpreadConstraints",
     {MERGE: "topologyKey", MAP_KEYS: ["topologyKey", "whenUnsatisfiable"]}),
    ("Pod", "status.conditions", {MERGE: "type", STRATEGY: "merge", LIST_TYPE: "map"}),
    ("Pod", "status.podIPs", {MERGE: "ip", STRATEGY: "merge"}),
    ("Pod", "metadata.ownerReferences", {MERGE: "uid", STRATEGY: "merge", MAP_KEYS: ["uid"]}),
    ("Pod", "metadata.finalizers", {STRATEGY: "merge", LIST_TYPE: "set"}),
    ("Node", "spec.podCIDRs", {STRATEGY: "merge", LIST_TYPE: "set"}),
    ("Node", "status.addresses", {MERGE: "type", STRATEGY: "merge"}),
    ("Node", "status.conditions", {MERGE: "type", STRATEGY: "merge"}),
    ("Service", "spec.ports", {MERGE: "port", STRATEGY: "merge", MAP_KEYS: ["port", "protocol"]}),
    ("Deployment", "status.conditions", {MERGE: "type", STRATEGY: "merge"}),
    ("Pod", "spec.tolerations", {LIST_TYPE: "atomic"}),
    ("Node", "spec.taints", {LIST_TYPE: "atomic"}),
    ("Pod", "spec.containers.command", {LIST_TYPE: "atomic"}),
    ("Pod", "status.containerStatuses", {LIST_TYPE: "atomic"}),
    ("Deployment", "spec.selector.matchExpressions", {LIST_TYPE: "atomic"}),
    ("Deployment", f"{DEPLOY_POD}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
                   ".nodeSelectorTerms", {LIST_TYPE: "atomic"}),
    ("Pod", "spec.volumes.configMap.items", {LIST_TYPE: "atomic"}),
    ("Pod", "spec.hostAliases.hostnames", {LIST_TYPE: "atomic"}),
]


@pytest.mark.parametrize(("kind", "path", "expected"), LISTS, ids=[f"{k}.{p}" for k, p, _ in LISTS])
def test_list_extensions_agree_with_the_servers_merge_keys(kind: str, path: str, expected: Doc) -> None:
    rt = next(r for r in RESOURCES if r.kind == kind)
    prop = property_at(rt, path)
    assert prop is not None and prop["type"] == "array"
    assert {k: prop.get(k) for k in expected} == expected
    server_key = merge_keys_for(kind).get(path)
    if MERGE in expected:
        assert server_key == expected[MERGE]
    elif expected.get(LIST_TYPE) == "set":
        assert server_key == SET
    else:
        assert server_key is None and MERGE not in prop and STRATEGY not in prop


@pytest.mark.parametrize("rt", RESOURCES, ids=lambda rt: rt.kind)
def test_every_merge_key_in_the_schemas_is_one_the_server_merges_by(rt: ResourceType) -> None:
    doc_schemas = schemas(rt.group, rt.version)
    server = merge_keys_for(rt.kind)
    for path, prop in list_paths(doc_schemas, kind_schema(rt)):
        if MERGE in prop:
            assert server.get(path) == prop[MERGE], path
        elif prop.get(LIST_TYPE) == "set":
            assert server.get(path) == SET, path
        else:
            assert path not in server, f"{path}: the server merges by {server.get(path)!r}, the schema says atomic"


@pytest.mark.parametrize("rt", RESOURCES, ids=lambda rt: rt.kind)
def test_every_server_merge_key_of_a_modelled_list_is_in_the_schemas(rt: ResourceType) -> None:
    for path, key in merge_keys_for(rt.kind).items():
        prop = property_at(rt, path)
        if prop is None:
            continue  # below a field podvisor stores untyped (x-kubernetes-preserve-unknown-fields)
        assert prop.get(MERGE, SET) == key, path


@pytest.mark.parametrize(
    ("kind", "path", "expected"),
    [
        ("Deployment", "spec.strategy", {STRATEGY: "retainKeys"}),
        ("Deployment", "spec.replicas", {"type": "integer", "format": "int32"}),
        ("Deployment", "metadata.generation", {"type": "integer", "format": "int64"}),
        ("Deployment", f"{DEPLOY_POD}.os", {"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
        ("Deployment", f"{DEPLOY_POD}.affinity", {"$ref": f"{REF}io.k8s.api.core.v1.Affinity"}),
        ("Pod", "spec.containers.securityContext.capabilities.add", {"type": "array"}),
        ("Pod", "spec.containers.lifecycle.preStop.exec.command", {"type": "array"}),
        ("Deployment", "metadata.labels", {"type": "object", "additionalProperties": {"type": "string", "default": ""}}),
        ("Service", "spec.ports.targetPort",
         {"allOf": [{"$ref": f"{REF}io.k8s.apimachinery.pkg.util.intstr.IntOrString"}]}),
        ("Deployment", "spec.template", {"allOf": [{"$ref": f"{REF}io.k8s.api.core.v1.PodTemplateSpec"}],
                                         "default": {}}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_field_shapes(kind: str, path: str, expected: Doc) -> None:
    rt = next(r for r in RESOURCES if r.kind == kind)
    prop = property_at(rt, path)
    assert prop is not None
    assert {k: prop.get(k) for k in expected} == expected


def test_int_or_string_is_marked() -> None:
    schema = schemas("", "v1")["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert schema["x-kubernetes-int-or-string"] is True and schema["format"] == "int-or-string"


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "ReplicaSet", "Node", "Namespace", "Service", "ConfigMap",
                                  "Secret", "Event", "Lease", "ServiceAccount", "Role", "ClusterRoleBinding"])
def test_kinds_describe_themselves(kind: str) -> None:
    rt = next(r for r in RESOURCES if r.kind == kind)
    assert kind_schema(rt)["description"].startswith(f"A {kind} ") or kind in kind_schema(rt)["description"]


@pytest.mark.parametrize(
    ("name", "field"),
    [("io.k8s.api.apps.v1.DeploymentSpec", "replicas"), ("io.k8s.api.core.v1.Container", "image"),
     ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels"), ("io.k8s.api.core.v1.PodSpec", "containers")],
    ids=lambda v: v.rsplit(".", 1)[-1],
)
def test_descriptions_come_from_the_models_docstrings(name: str, field: str) -> None:
    schema = schemas("apps", "v1")[name]
    assert schema["description"]
    assert schema["properties"][field]["description"]


def test_no_two_models_share_a_schema_name() -> None:
    models: set[type] = set(openapi_schemas.typed_models())
    for kind in openapi_schemas.typed_models():
        models |= openapi_schemas.reached_by(kind)
    names = [openapi_schemas.schema_name(m) for m in models]
    assert len(names) == len(set(names))


def test_documents_are_built_once() -> None:
    first = openapi._document("apps", "v1")
    assert openapi._document("apps", "v1") is first
    assert openapi.openapi_v3_document("apps", "v1") == first  # a copy, equal to the cache


def test_a_field_described_by_a_shape_stays_a_dict_at_runtime() -> None:
    context = {"capabilities": {"add": ["NET_ADMIN"]}, "someFutureField": 1}
    pod = Pod.from_dict({"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "securityContext": context}], "affinity": {"nodeAffinity": {}}}})
    assert pod.spec.containers[0].security_context == context
    assert pod.spec.affinity == {"nodeAffinity": {}}
    assert unknown_fields(pod) == []  # stored verbatim, as before it had a published shape
