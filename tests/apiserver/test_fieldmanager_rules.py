"""Ownership rules: what an Update takes, what an Apply owns, prunes and conflicts on."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from apimachinery.errors import ApiError
from apimachinery.patch import strategic_merge_patch
from apiserver import fieldmanager
from apiserver.fieldmanager import managed, manager
from apiserver.fieldmanager.fieldpath import FieldSet, Path, field, key, path_of
from apiserver.fieldmanager.managed import APPLY, UPDATE, Entry
from apiserver.fieldmanager.manager import Scope, Writer

SCOPE = Scope(kind="Deployment", status_split=True)
STATUS = Scope(kind="Deployment", status_split=True, status=True)
NOW = "2026-12-03T12:00:00Z"
REPLICAS = path_of("spec", "replicas")
LABEL_A, LABEL_B = path_of("metadata", "labels", "a"), path_of("metadata", "labels", "b")
CONTAINERS = path_of("spec", "template", "spec", "containers")
C = (*CONTAINERS, key({"name": "c"}))
ENV = (*C, field("env"))


def deployment(*, replicas: int = 1, labels: dict[str, str] | None = None,
               env: list[dict[str, str]] | None = None, status: dict[str, Any] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "i"}
    if env is not None:
        container["env"] = env
    obj: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment",
                           "metadata": {"name": "d", "labels": labels or {}},
                           "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}}}
    if status is not None:
        obj["status"] = status
    return obj


def entry(name: str, operation: str, *paths: Path, subresource: str = "") -> Entry:
    return Entry(manager=name, operation=operation, api_version="apps/v1", owned=frozenset(paths),
                 time="2026-01-01T00:00:00Z", subresource=subresource)


def fields_of(entries: list[Entry]) -> dict[str, FieldSet]:
    return {f"{e.manager}/{e.operation}{'/' + e.subresource if e.subresource else ''}": e.fields for e in entries}


@pytest.mark.parametrize(
    ("old", "new", "before", "writer", "scope", "after"),
    [
        pytest.param(
            None, deployment(labels={"a": "1"}), [], Writer("creator", "apps/v1"), SCOPE,
            {"creator/Update": {LABEL_A, REPLICAS, C, (*C, field("name")), (*C, field("image"))}},
            id="create-owns-everything-it-sets",
        ),
        pytest.param(
            deployment(), deployment(replicas=3), [entry("owner", APPLY, REPLICAS)],
            Writer("kubectl", "apps/v1", "scale"), SCOPE,
            {"owner/Apply": set(), "kubectl/Update/scale": {REPLICAS}},
            id="an-update-takes-a-changed-field-from-an-applier",
        ),
        pytest.param(
            deployment(labels={"a": "1", "b": "2"}), deployment(labels={"a": "1"}),
            [entry("x", UPDATE, LABEL_A, LABEL_B), entry("y", APPLY, LABEL_B)], Writer("z", "apps/v1"), SCOPE,
            {"x/Update": {LABEL_A}, "y/Apply": set()},
            id="a-removed-field-leaves-every-manager-and-removing-owns-nothing",
        ),
        pytest.param(
            deployment(), deployment(), [entry("x", UPDATE, REPLICAS)], Writer("z", "apps/v1"), SCOPE,
            {"x/Update": {REPLICAS}},
            id="a-no-op-changes-nothing",
        ),
        pytest.param(
            deployment(status={"replicas": 1}), deployment(status={"replicas": 2}), [entry("x", UPDATE, REPLICAS)],
            Writer("ctrl", "apps/v1", "status"), STATUS,
            {"x/Update": {REPLICAS}, "ctrl/Update/status": {path_of("status", "replicas")}},
            id="a-status-write-owns-only-status",
        ),
    ],
)
def test_record_update(old: dict[str, Any] | None, new: dict[str, Any], before: list[Entry], writer: Writer,
                       scope: Scope, after: dict[str, set[Path]]) -> None:
    entries = manager.record_update(old=old, new=new, entries=before, writer=writer, scope=scope, now=NOW)
    assert fields_of(entries) == {k: frozenset(v) for k, v in after.items()}


def _apply(live: dict[str, Any], config: dict[str, Any], entries: list[Entry], *, name: str = "me",
           force: bool = False) -> tuple[dict[str, Any], list[Entry]]:
    writer = Writer(name, "apps/v1")
    owned = SCOPE.owned(config)
    merged = strategic_merge_patch(copy.deepcopy(live), config, "Deployment")
    manager.prune(merged, entries=entries, applied=owned, writer=writer)
    return merged, manager.record_apply(old=live, new=merged, entries=entries, applied=owned, writer=writer,
                                        scope=SCOPE, now=NOW, force=force)


ENV_X = (*ENV, key({"name": "X"}))
ENV_Y = (*ENV, key({"name": "Y"}))


@pytest.mark.parametrize(
    ("config", "others", "kept"),
    [
        pytest.param(deployment(labels={"a": "1"}, env=[{"name": "X", "value": "1"}]), [],
                     {"labels": {"a": "1"}, "env": ["X"]}, id="dropped-fields-owned-alone-are-removed"),
        pytest.param(deployment(labels={"a": "1"}, env=[{"name": "X", "value": "1"}]),
                     [entry("other", UPDATE, LABEL_B, ENV_Y, (*ENV_Y, field("name")))],
                     {"labels": {"a": "1", "b": "2"}, "env": ["X", "Y"]}, id="fields-another-manager-holds-stay"),
    ],
)
def test_apply_prunes_what_only_the_applier_held(config: dict[str, Any], others: list[Entry],
                                                 kept: dict[str, Any]) -> None:
    first = deployment(labels={"a": "1", "b": "2"}, env=[{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}])
    live, entries = _apply({"metadata": {"name": "d"}}, first, [])
    merged, _ = _apply(live, config, entries + others)
    assert merged["metadata"]["labels"] == kept["labels"]
    assert [e["name"] for e in merged["spec"]["template"]["spec"]["containers"][0]["env"]] == kept["env"]


def test_apply_over_a_field_another_manager_changed_conflicts_unless_forced() -> None:
    live, entries = _apply({"metadata": {"name": "d"}}, deployment(replicas=1), [])
    entries = entries + [entry("kubectl", UPDATE, REPLICAS, subresource="scale")]
    entries[0] = managed.with_fields(entries[0], entries[0].fields - {REPLICAS})
    live["spec"]["replicas"] = 3
    with pytest.raises(ApiError) as raised:
        _apply(live, deployment(replicas=1), entries)
    err = raised.value
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == 'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas'
    assert err.causes == [{"reason": "FieldManagerConflict", "message": 'conflict with "kubectl" using apps/v1',
                           "field": ".spec.replicas"}]
    merged, after = _apply(live, deployment(replicas=1), entries, force=True)
    assert merged["spec"]["replicas"] == 1
    assert manager.owns(after, REPLICAS) == ["me"]


def test_applying_the_live_value_shares_the_field() -> None:
    live, entries = _apply({"metadata": {"name": "d"}}, deployment(replicas=2), [], name="first")
    _, after = _apply(live, deployment(replicas=2), entries, name="second")
    assert sorted(manager.owns(after, REPLICAS)) == ["first", "second"]


def test_conflicts_with_several_managers_are_listed_per_manager() -> None:
    err = manager.conflict_error([(entry("b", APPLY, REPLICAS), frozenset({REPLICAS})),
                                  (entry("a", UPDATE, LABEL_A), frozenset({LABEL_A, LABEL_B}))])
    assert err.message == ('Apply failed with 3 conflicts: conflicts with "a" using apps/v1:\n'
                           "- .metadata.labels.a\n- .metadata.labels.b\n"
                           'conflicts with "b":\n- .spec.replicas')
    assert [c["field"] for c in err.causes] == [".metadata.labels.a", ".metadata.labels.b", ".spec.replicas"]


def test_kubectl_takes_over_what_its_client_side_apply_wrote() -> None:
    last = deployment(replicas=2)
    live = deployment(replicas=2, labels={})
    live["metadata"]["annotations"] = {manager.LAST_APPLIED: json.dumps(last)}
    csa = [entry("kubectl-client-side-apply", UPDATE, *SCOPE.owned(live))]
    changed = deployment(replicas=5)
    _, after = _apply(live, changed, csa, name="kubectl")
    assert manager.owns(after, REPLICAS) == ["kubectl"]
    with pytest.raises(ApiError):
        _apply(live, changed, csa, name="someone-else")


def test_kubectl_keeps_the_last_applied_annotation_in_step() -> None:
    obj = deployment(replicas=2)
    obj["metadata"]["annotations"] = {manager.LAST_APPLIED: "{}"}
    config = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"x": "<&>"}}}
    manager.sync_last_applied(obj, config, writer=Writer("kubectl", "apps/v1"))
    assert obj["metadata"]["annotations"][manager.LAST_APPLIED] == (
        '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"x":"\\u003c\\u0026\\u003e"},'
        '"name":"d"}}\n')


def test_before_first_apply_owns_an_unowned_object() -> None:
    entries = manager.before_first_apply(deployment(), [], writer=Writer("me", "apps/v1"), scope=SCOPE)
    assert [(e.manager, e.operation) for e in entries] == [("before-first-apply", UPDATE)]
    assert REPLICAS in entries[0].fields


def test_update_entries_are_capped_into_ancient_changes() -> None:
    entries = [Entry(manager=f"m{i:02}", operation=UPDATE, api_version="v1", owned=frozenset({path_of(f"f{i}")}),
                     time=f"2026-01-01T00:00:{i:02}Z") for i in range(13)]
    capped = managed.cap_updates(entries + [entry("applier", APPLY, REPLICAS)])
    names = sorted(e.manager for e in capped)
    assert names == ["ancient-changes", "applier", *[f"m{i:02}" for i in range(4, 13)]]
    bucket = next(e for e in capped if e.manager == "ancient-changes")
    assert bucket.fields == {path_of(f"f{i}") for i in range(4)} and bucket.time == "2026-01-01T00:00:03Z"


def test_entries_encode_sorted_as_kubernetes_sorts_them() -> None:
    wire = managed.encode([
        Entry("b", UPDATE, "v1", frozenset({path_of("x")}), "2026-01-01T00:00:01Z"),
        Entry("a", UPDATE, "v1", frozenset({path_of("y")}), "2026-01-01T00:00:02Z", "status"),
        Entry("z", APPLY, "v1", frozenset({path_of("z")}), "2026-01-01T00:00:09Z"),
        Entry("empty", UPDATE, "v1", frozenset(), "2026-01-01T00:00:00Z"),
    ])
    assert wire is not None
    assert [(e["manager"], e["operation"]) for e in wire] == [("z", APPLY), ("b", UPDATE), ("a", UPDATE)]
    assert list(wire[2]) == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource"]


@pytest.mark.parametrize(
    ("field_manager", "user_agent", "name"),
    [
        pytest.param("mine", "kubectl/v1.37.1 (linux/amd64) kubernetes/f78e722", "mine", id="given"),
        pytest.param(None, "kubectl/v1.37.1 (linux/amd64) kubernetes/f78e722", "kubectl", id="kubectl"),
        pytest.param(None, "kube-controller-manager/v1.37.1 (linux/amd64)", "kube-controller-manager", id="ctrl"),
        pytest.param(None, "OpenAPI-Generator/37.0.2/python", "OpenAPI-Generator", id="python-client"),
        pytest.param(None, "x" * 200, "x" * 128, id="truncated"),
        pytest.param(None, None, "", id="none"),
    ],
)
def test_manager_name(field_manager: str | None, user_agent: str | None, name: str) -> None:
    assert fieldmanager.manager_name(field_manager, user_agent) == name


@pytest.mark.parametrize(
    ("field_manager", "force", "apply", "error"),
    [
        pytest.param("m", "true", True, None, id="apply-forced"),
        pytest.param(None, None, True, "fieldManager: Required value: is required for apply patch",
                     id="apply-needs-a-manager"),
        pytest.param("m", "true", False, "force: Forbidden: may not be specified for non-apply patch",
                     id="force-only-on-apply"),
        pytest.param("m" * 129, None, False, "must be at most 128 printable characters", id="too-long"),
    ],
)
def test_patch_options(field_manager: str | None, force: str | None, apply: bool, error: str | None) -> None:
    if error is None:
        assert fieldmanager.patch_options(field_manager=field_manager, force=force, apply=apply) is True
        return
    with pytest.raises(ApiError) as raised:
        fieldmanager.patch_options(field_manager=field_manager, force=force, apply=apply)
    assert raised.value.code == 422 and error in raised.value.message


def test_unreadable_stored_ownership_is_dropped_not_an_error() -> None:
    stored = [{"manager": "old", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
               "fieldsV1": {"f:data": {"f:a": 1}}}]
    (entry_read,) = managed.decode(stored, trusted=True)
    assert entry_read.fields == frozenset()
