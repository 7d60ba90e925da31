"""The client-side apply patch: a three-way strategic merge computed without a server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apimachinery.patch import strategic_merge_patch
from podctl.merge import (
    LAST_APPLIED,
    last_applied_json,
    read_last_applied,
    three_way_patch,
    with_last_applied,
)


def deployment(*, env: list[dict[str, Any]] | None = None, labels: dict[str, str] | None = None,
               replicas: int | None = 2, image: str = "web:1") -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "image": image}
    if env is not None:
        container["env"] = env
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", **({"labels": labels} if labels else {})},
            "spec": spec}


def live_from(applied: dict[str, Any], **server_fields: Any) -> dict[str, Any]:
    """What the server holds after creating ``applied``: defaults, status, metadata added."""
    live = json.loads(json.dumps(with_last_applied(applied)))
    live["metadata"].update(uid="u1", resourceVersion="7", generation=1)
    live["spec"]["template"]["spec"]["containers"][0].update(imagePullPolicy="IfNotPresent",
                                                            terminationMessagePath="/dev/termination-log")
    live["spec"].setdefault("replicas", 1)
    live["status"] = {"replicas": 2}
    live.update(server_fields)
    return live


def patch_for(old: dict[str, Any], new: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    return three_way_patch(original=read_last_applied(live) if old else None, modified=with_last_applied(new),
                           current=live, kind="Deployment")


def test_unchanged_file_gives_an_empty_patch_despite_server_defaults() -> None:
    applied = deployment(env=[{"name": "A", "value": "1"}])
    assert patch_for(applied, applied, live_from(applied)) == {}


def test_field_removed_from_the_file_is_deleted() -> None:
    old = deployment(labels={"app": "web", "tier": "front"})
    new = deployment(labels={"app": "web"})
    patch = patch_for(old, new, live_from(old))
    assert patch["metadata"]["labels"] == {"tier": None}
    result = strategic_merge_patch(live_from(old), patch, "Deployment")
    assert result["metadata"]["labels"] == {"app": "web"}


def test_env_var_removed_from_a_container_is_deleted_by_merge_key() -> None:
    old = deployment(env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    new = deployment(env=[{"name": "A", "value": "1"}])
    live = live_from(old)
    patch = patch_for(old, new, live)
    container_patch = patch["spec"]["template"]["spec"]["containers"][0]
    assert container_patch["env"] == [{"$patch": "delete", "name": "B"}]
    result = strategic_merge_patch(live, patch, "Deployment")
    container = result["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert container["imagePullPolicy"] == "IfNotPresent", "fields the file never set are kept"


def test_changed_image_sends_only_the_change_and_the_merge_key() -> None:
    old = deployment()
    new = deployment(image="web:2")
    patch = patch_for(old, new, live_from(old))
    spec = patch["spec"]["template"]["spec"]
    assert spec["containers"] == [{"name": "web", "image": "web:2"}]
    assert spec["$setElementOrder/containers"] == [{"name": "web"}]


def test_replicas_left_to_other_writers_when_the_file_never_had_them() -> None:
    old = deployment(replicas=None)
    live = live_from(old)
    live["spec"]["replicas"] = 5  # podctl scale
    assert patch_for(old, old, live) == {}


def test_replicas_removed_from_the_file_are_deleted() -> None:
    old, new = deployment(replicas=3), deployment(replicas=None)
    patch = patch_for(old, new, live_from(old))
    assert patch["spec"]["replicas"] is None


def test_field_already_gone_from_the_live_object_is_not_deleted_again() -> None:
    old = deployment(labels={"app": "web", "tier": "front"})
    live = live_from(old)
    del live["metadata"]["labels"]["tier"]
    patch = patch_for(old, deployment(labels={"app": "web"}), live)
    assert "labels" not in patch.get("metadata", {})


def test_without_last_applied_nothing_is_deleted() -> None:
    new = deployment()
    live = live_from(deployment(labels={"extra": "x"}))
    del live["metadata"]["annotations"]
    patch = three_way_patch(original=None, modified=with_last_applied(new), current=live, kind="Deployment")
    assert set(patch) == {"metadata"}
    assert LAST_APPLIED in patch["metadata"]["annotations"]


def test_atomic_list_is_replaced_whole() -> None:
    old = deployment()
    old["spec"]["template"]["spec"]["containers"][0]["command"] = ["sleep", "1"]
    new = json.loads(json.dumps(old))
    new["spec"]["template"]["spec"]["containers"][0]["command"] = ["sleep", "2"]
    patch = patch_for(old, new, live_from(old))
    assert patch["spec"]["template"]["spec"]["containers"][0]["command"] == ["sleep", "2"]


def test_scalar_set_list_adds_and_removes_with_directives() -> None:
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["a", "b"]}}
    new = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["a", "c"]}}
    live = with_last_applied(old)
    patch = three_way_patch(original=old, modified=with_last_applied(new), current=live, kind="ConfigMap")
    assert patch["metadata"]["finalizers"] == ["c"]
    assert patch["metadata"]["$deleteFromPrimitiveList/finalizers"] == ["b"]


def test_explicit_null_in_the_file_means_not_set() -> None:
    applied = deployment()
    with_null = json.loads(json.dumps(applied))
    with_null["metadata"]["labels"] = None
    patch = three_way_patch(original=applied, modified=with_null, current=live_from(applied), kind="Deployment")
    assert "labels" not in patch.get("metadata", {})


@pytest.mark.parametrize("value", [True, 1], ids=["bool", "int"])
def test_true_and_one_are_different_values(value: Any) -> None:
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": 1}}
    new = {**old, "data": {"x": value}}
    patch = three_way_patch(original=old, modified=new, current=old, kind="ConfigMap")
    assert (patch == {}) == (value == 1 and not isinstance(value, bool))


def test_last_applied_is_compact_sorted_json_without_itself() -> None:
    obj = {"kind": "ConfigMap", "apiVersion": "v1",
           "metadata": {"name": "c", "annotations": {LAST_APPLIED: "old", "keep": "1"}}}
    text = last_applied_json(obj)
    assert text.endswith("\n")
    assert json.loads(text) == {"kind": "ConfigMap", "apiVersion": "v1",
                                "metadata": {"name": "c", "annotations": {"keep": "1"}}}
    assert ", " not in text and text.index('"apiVersion"') < text.index('"kind"')


def test_corrupt_annotation_reads_as_none() -> None:
    assert read_last_applied({"metadata": {"annotations": {LAST_APPLIED: "{not json"}}}) is None
