"""Field sets as structured-merge-diff has them: FieldsV1 both ways, paths read from objects."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apimachinery.errors import ApiError
from apimachinery.patch import merge_keys_for
from apiserver.fieldmanager import fieldpath, walk
from apiserver.fieldmanager.fieldpath import Path, field, key, path_of, value

CONTAINER_C = (*path_of("spec", "containers"), key({"name": "c"}))


def test_a_giant_field_set_is_spelled_but_not_remembered() -> None:
    """A client's huge object must not pin megabytes in the cache of spellings."""
    giant = frozenset(path_of("data", f"k{i}") for i in range(fieldpath.REMEMBERED_SET_PATHS + 1))
    before = fieldpath._remembered.cache_info().currsize
    spelled = fieldpath.encode_set(giant)
    assert len(spelled["f:data"]) == len(giant)
    assert fieldpath._remembered.cache_info().currsize == before
    assert fieldpath.encode_set(giant) is not spelled


@pytest.mark.parametrize(
    ("paths", "fields_v1"),
    [
        pytest.param({path_of("spec", "replicas")}, {"f:spec": {"f:replicas": {}}}, id="one-leaf"),
        pytest.param(
            {CONTAINER_C, (*CONTAINER_C, field("image")), (*CONTAINER_C, field("name"))},
            {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}, "f:name": {}}}}},
            id="list-item-is-a-member-with-children",
        ),
        pytest.param(
            {(*path_of("spec", "ports"), key({"protocol": "TCP", "containerPort": 80}))},
            {"f:spec": {"f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {}}}},
            id="key-fields-sorted-compact",
        ),
        pytest.param(
            {(*path_of("metadata", "finalizers"), value("example.com/x"))},
            {"f:metadata": {"f:finalizers": {'v:"example.com/x"': {}}}},
            id="set-item",
        ),
        pytest.param(
            {path_of("b"), path_of("a"), (field("a"), ("i", "10")), (field("a"), ("i", "2"))},
            {"f:a": {".": {}, "i:2": {}, "i:10": {}}, "f:b": {}},
            id="sorted-fields-and-indexes",
        ),
        pytest.param(set(), {}, id="empty"),
    ],
)
def test_fields_v1_round_trip(paths: set[Path], fields_v1: dict[str, Any]) -> None:
    assert fieldpath.encode(paths) == fields_v1
    assert list(fieldpath.encode(paths)) == list(fields_v1)  # key order too
    assert fieldpath.decode(fields_v1) == frozenset(paths)
    remembered = fieldpath.encode_set(frozenset(paths))
    assert remembered == fields_v1 and list(remembered) == list(fields_v1)
    assert fieldpath.encode_set(frozenset(set(paths))) is remembered  # an equal set, spelled once


@pytest.mark.parametrize(
    "fields_v1",
    [
        pytest.param([], id="not-an-object"),
        pytest.param({"spec": {}}, id="no-prefix"),
        pytest.param({"x:spec": {}}, id="unknown-prefix"),
        pytest.param({"k:{not json}": {}}, id="bad-key-json"),
        pytest.param({"f:spec": 1}, id="child-not-an-object"),
        pytest.param({"i:one": {}}, id="bad-index"),
    ],
)
def test_malformed_fields_v1_is_400(fields_v1: Any) -> None:
    with pytest.raises(ApiError) as raised:
        fieldpath.decode(fields_v1)
    assert raised.value.code == 400


@pytest.mark.parametrize(
    ("path", "text"),
    [
        pytest.param(path_of("spec", "replicas"), ".spec.replicas", id="fields"),
        pytest.param((*CONTAINER_C, field("image")), '.spec.containers[name="c"].image', id="key"),
        pytest.param((*path_of("spec", "ports"), key({"containerPort": 80, "protocol": "TCP"})),
                     '.spec.ports[containerPort=80,protocol="TCP"]', id="two-keys"),
        pytest.param((*path_of("metadata", "finalizers"), value("x")), '.metadata.finalizers[="x"]', id="value"),
        pytest.param((field("a"), ("i", "3")), ".a[3]", id="index"),
    ],
)
def test_paths_print_as_kubernetes_prints_them(path: Path, text: str) -> None:
    assert fieldpath.to_string(path) == text


POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "labels": {"app": "w"}, "finalizers": ["a/b"]},
    "spec": {
        "containers": [{"name": "c", "image": "i", "env": [{"name": "X", "value": "1"}], "args": ["x", "y"]}],
        "tolerations": [{"key": "k", "operator": "Exists"}],
        "nodeSelector": {},
        "hostname": None,
    },
}
ENV_X = (*CONTAINER_C, field("env"), key({"name": "X"}))


@pytest.mark.parametrize(
    ("path", "owned"),
    [
        pytest.param(path_of("metadata", "labels", "app"), True, id="map-entry"),
        pytest.param(path_of("metadata", "labels"), False, id="a-non-empty-map-is-not-a-member"),
        pytest.param((*path_of("metadata", "finalizers"), value("a/b")), True, id="set-item"),
        pytest.param(CONTAINER_C, True, id="keyed-list-item"),
        pytest.param((*CONTAINER_C, field("name")), True, id="key-field"),
        pytest.param(ENV_X, True, id="nested-keyed-item"),
        pytest.param((*ENV_X, field("value")), True, id="nested-leaf"),
        pytest.param((*CONTAINER_C, field("args")), True, id="atomic-list-is-one-field"),
        pytest.param((*CONTAINER_C, field("args"), ("i", "0")), False, id="no-item-of-an-atomic-list"),
        pytest.param(path_of("spec", "tolerations"), True, id="list-without-key-is-atomic"),
        pytest.param(path_of("spec", "nodeSelector"), True, id="empty-map"),
        pytest.param(path_of("spec", "hostname"), True, id="null"),
        pytest.param(path_of("spec"), False, id="struct"),
    ],
)
def test_field_set_follows_the_merge_key_table(path: Path, owned: bool) -> None:
    assert (path in walk.field_set(POD, merge_keys_for("Pod"))) is owned


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param((*ENV_X, field("value")), "1", id="through-keys"),
        pytest.param((*path_of("metadata", "finalizers"), value("a/b")), "a/b", id="set-item"),
        pytest.param((*CONTAINER_C, field("args"), ("i", "1")), "y", id="index"),
        pytest.param((*path_of("spec", "containers"), key({"name": "zz"})), walk.MISSING, id="absent-item"),
        pytest.param(path_of("spec", "nope", "deeper"), walk.MISSING, id="absent-field"),
    ],
)
def test_value_at(path: Path, expected: Any) -> None:
    assert walk.value_at(POD, path) == expected


@pytest.mark.parametrize(
    ("path", "check"),
    [
        pytest.param(path_of("metadata", "labels", "app"), lambda o: o["metadata"]["labels"] == {}, id="map-entry"),
        pytest.param(ENV_X, lambda o: o["spec"]["containers"][0]["env"] == [], id="keyed-item"),
        pytest.param((*path_of("metadata", "finalizers"), value("a/b")),
                     lambda o: o["metadata"]["finalizers"] == [], id="set-item"),
        pytest.param(path_of("spec", "missing"), lambda o: o == POD, id="absent-is-fine"),
    ],
)
def test_remove(path: Path, check: Any) -> None:
    obj = copy.deepcopy(POD)
    walk.remove(obj, path)
    assert check(obj)


@pytest.mark.parametrize(
    ("path", "is_key"),
    [
        pytest.param((*CONTAINER_C, field("name")), True, id="the-key"),
        pytest.param((*CONTAINER_C, field("image")), False, id="another-field"),
        pytest.param(path_of("spec", "name"), False, id="not-in-a-list-item"),
    ],
)
def test_is_key_field(path: Path, is_key: bool) -> None:
    assert walk.is_key_field(path) is is_key


def _by_definition(old: dict[str, Any], new: dict[str, Any]) -> tuple[set[Path], set[Path]]:
    """What changed, straight from the definition: compare the two objects' full field sets."""
    keys = merge_keys_for("Pod")
    before, after = walk.field_values(old, keys), walk.field_values(new, keys)

    def differs(a: Any, b: Any) -> bool:
        return not (isinstance(a, dict) and isinstance(b, dict)) and (type(a) is not type(b) or a != b)

    changed = {p for p, v in after.items() if p not in before or differs(before[p], v)}
    return changed, {p for p in before if p not in after}


def _edited(edit: Any) -> dict[str, Any]:
    obj = copy.deepcopy(POD)
    edit(obj)
    return obj



@pytest.mark.parametrize(
    "new",
    [
        pytest.param(_edited(lambda o: None), id="same"),
        pytest.param(_edited(lambda o: o["metadata"]["labels"].update(tier="x")), id="label-added"),
        pytest.param(_edited(lambda o: o["metadata"].pop("labels")), id="map-removed"),
        pytest.param(_edited(lambda o: o["spec"]["containers"][0].update(image="j")), id="leaf-changed"),
        pytest.param(_edited(lambda o: o["spec"]["containers"].append({"name": "d", "image": "k"})),
                     id="item-added"),
        pytest.param(_edited(lambda o: o["spec"]["containers"][0]["env"].clear()), id="item-removed"),
        pytest.param(_edited(lambda o: o["spec"]["containers"][0]["args"].append("z")), id="atomic-list"),
        pytest.param(_edited(lambda o: o["metadata"]["finalizers"].append("c/d")), id="set-item-added"),
        pytest.param(_edited(lambda o: o["spec"].update(nodeSelector={"a": "b"})), id="empty-map-filled"),
        pytest.param(_edited(lambda o: o["spec"].update(hostname="h")), id="null-set"),
        pytest.param(_edited(lambda o: o["spec"].update(containers="oops")), id="type-changed"),
        pytest.param(_edited(lambda o: o["spec"]["containers"][0]["env"][0].update(value=1)), id="str-to-int"),
    ],
)
def test_changes_match_the_definition(new: dict[str, Any]) -> None:
    assert walk.changes(POD, new, merge_keys_for("Pod")) == _by_definition(POD, new)
    assert walk.changes(new, POD, merge_keys_for("Pod")) == _by_definition(new, POD)


@pytest.mark.parametrize(
    ("path", "held"),
    [
        pytest.param(path_of("spec", "replicas"), True, id="leaf"),
        pytest.param(CONTAINER_C, True, id="member-with-children"),
        pytest.param((*CONTAINER_C, field("image")), True, id="below-a-member"),
        pytest.param(path_of("spec"), False, id="only-a-prefix"),
        pytest.param(path_of("spec", "replicas", "deeper"), False, id="below-a-leaf"),
        pytest.param(path_of("metadata"), False, id="absent"),
    ],
)
def test_contains_reads_a_fields_v1_tree_without_decoding_it(path: Path, held: bool) -> None:
    paths = {path_of("spec", "replicas"), CONTAINER_C, (*CONTAINER_C, field("image"))}
    tree = fieldpath.encode(paths)
    assert fieldpath.contains(tree, path) is held
    assert (path in fieldpath.decode(tree, trusted=True)) is held
