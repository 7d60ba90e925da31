"""Label and field selectors: grammar, canonical form, matching and object selectors."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import ApiError
from apimachinery.models.meta import LabelSelector as LabelSelectorModel
from apimachinery.models.meta import LabelSelectorRequirement
from apimachinery.selectors import (
    FieldSelector,
    LabelSelector,
    field_value,
    parse_field_selector,
    parse_label_selector,
    selector_from_model,
    selector_to_string,
)

LABELS = {"app": "web", "tier": "frontend", "env": "prod", "replicas": "3", "empty": ""}


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("", ""),
        ("app=web", "app=web"),
        ("app==web", "app=web"),
        ("app!=web", "app!=web"),
        ("  app = web ,tier!=db ", "app=web,tier!=db"),
        ("tier=x,app=y", "app=y,tier=x"),
        ("env in (prod,dev)", "env in (dev,prod)"),
        ("env in(prod, dev)", "env in (dev,prod)"),
        ("env notin (qa)", "env notin (qa)"),
        ("env in (prod,)", "env in (,prod)"),
        ("app", "app"),
        ("!app", "!app"),
        ("!legacy,app", "app,!legacy"),
        ("app=", "app="),
        ("replicas>2", "replicas>2"),
        ("replicas<5", "replicas<5"),
        ("example.com/role=db", "example.com/role=db"),
        ("in in (in)", "in in (in)"),
    ],
    ids=[
        "empty", "equals", "double-equals", "not-equals", "whitespace", "sorted-by-key", "in",
        "in-no-space", "notin", "in-empty-member", "exists", "does-not-exist", "exists-and-not",
        "empty-value", "greater-than", "less-than", "prefixed-key", "keyword-as-key-and-value",
    ],
)
def test_parse_canonical_form(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app=api", False),
        ("app!=api", True),
        ("missing!=x", True),
        ("env in (prod,dev)", True),
        ("env in (dev)", False),
        ("missing in (a)", False),
        ("env notin (dev)", True),
        ("missing notin (a)", True),
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("empty=", True),
        ("missing=", False),
        ("replicas>2", True),
        ("replicas<3", False),
        ("app>1", False),
        ("app=web,tier=backend", False),
        ("app=web,tier=frontend,env in (prod)", True),
    ],
    ids=[
        "empty-selects-all", "equals", "equals-miss", "not-equals", "not-equals-absent-key", "in",
        "in-miss", "in-absent-key", "notin", "notin-absent-key", "exists", "exists-miss",
        "not-exists", "not-exists-miss", "empty-value", "empty-value-absent", "gt", "lt-miss",
        "gt-non-integer-label", "and-one-fails", "and-all-hold",
    ],
)
def test_matches(text: str, matches: bool) -> None:
    assert parse_label_selector(text).matches(LABELS) is matches


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("app web", "found 'web', expected: '='"),
        ("app=web,", "found 'end of string', expected: identifier"),
        (",app", "found ',', expected: identifier"),
        ("=web", "found '=', expected: identifier"),
        ("env in ()", "values set can't be empty"),
        ("env in prod", "expected: '('"),
        ("env in (a b)", "found 'b'"),
        ("env in (a", "found 'end of string'"),
        ("!app=web", "after a '!key' term"),
        ("app=(", "found '(', expected: identifier"),
        ("app=web tier=db", "found 'tier', expected: ',' or 'end of string'"),
        ("Bad_Key-=x", "invalid label key"),
        ("a/b/c=x", "at most one '/'"),
        ("EXAMPLE.com/role=x", "prefix part"),
        ("app=bad/value", "invalid label value"),
        (f"app={'v' * 64}", "no more than 63 characters"),
        ("replicas>two", "must be an integer"),
    ],
    ids=[
        "missing-operator", "trailing-comma", "leading-comma", "missing-key", "empty-set",
        "set-without-parens", "set-missing-comma", "unclosed-set", "negated-with-value",
        "paren-as-value", "missing-comma", "invalid-key", "two-slashes", "uppercase-prefix",
        "invalid-value", "value-too-long", "non-integer-bound",
    ],
)
def test_invalid_syntax_is_bad_request(text: str, fragment: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_label_selector(text)
    assert caught.value.code == 400
    assert caught.value.reason == "BadRequest"
    assert fragment in caught.value.message
    assert text in caught.value.message


@pytest.mark.parametrize(
    ("selector", "empty", "matches_unlabelled"),
    [
        (LabelSelector.everything(), True, True),
        (LabelSelector.nothing(), False, False),
        (parse_label_selector("app"), False, False),
    ],
    ids=["everything", "nothing", "one-requirement"],
)
def test_everything_and_nothing(selector: LabelSelector, empty: bool, matches_unlabelled: bool) -> None:
    assert selector.empty is empty
    assert selector.matches(None) is matches_unlabelled
    assert selector.matches({}) is matches_unlabelled


# --- selectors stored in objects --------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "canonical", "matches"),
    [
        (None, "", False),
        ({}, "", True),
        ({"matchLabels": {"tier": "frontend", "app": "web"}}, "app=web,tier=frontend", True),
        ({"matchLabels": {"app": "api"}}, "app=api", False),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]}, "env in (dev,prod)", True),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, "env notin (prod)", False),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, "app", True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, "!app", False),
        (
            {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]},
            "app=web,!canary",
            True,
        ),
        (LabelSelectorModel(match_labels={"app": "web"}), "app=web", True),
        (
            LabelSelectorModel(match_expressions=[LabelSelectorRequirement(key="env", operator="In", values=["prod"])]),
            "env in (prod)",
            True,
        ),
    ],
    ids=[
        "nil-matches-nothing", "empty-matches-everything", "match-labels", "match-labels-miss", "in",
        "notin", "exists", "does-not-exist", "labels-and-expressions", "model", "model-expressions",
    ],
)
def test_selector_from_model(selector: Any, canonical: str, matches: bool) -> None:
    parsed = selector_from_model(selector)
    assert str(parsed) == canonical
    assert selector_to_string(selector) == canonical
    assert parsed.matches(LABELS) is matches


@pytest.mark.parametrize(
    ("selector", "fragment"),
    [
        ({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]}, "not a valid label selector operator"),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "values set can't be empty"),
        ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}, "values set must be empty"),
        ({"matchLabels": {"bad key": "x"}}, "invalid label key"),
        ({"matchLabels": {"a": "bad value"}}, "invalid label value"),
    ],
    ids=["unknown-operator", "in-without-values", "exists-with-values", "bad-key", "bad-value"],
)
def test_invalid_model_selector(selector: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ApiError) as caught:
        selector_from_model(selector)
    assert caught.value.code == 400
    assert fragment in caught.value.message


def test_round_trip_through_canonical_string() -> None:
    selector = selector_from_model({"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [
        {"key": "c", "operator": "NotIn", "values": ["z", "y"]}]})
    assert parse_label_selector(str(selector)) == selector


# --- field selectors --------------------------------------------------------------------------

POD: dict[str, Any] = {
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "node-a", "hostNetwork": False, "priority": 7},
    "status": {"phase": "Running"},
}
UNSCHEDULED: dict[str, Any] = {"metadata": {"name": "web-2", "namespace": "default"}, "spec": {}}
EVENT: dict[str, Any] = {"involvedObject": {"kind": "Deployment", "uid": "u-1", "name": "web"}}


@pytest.mark.parametrize(
    ("text", "obj", "matches"),
    [
        ("", POD, True),
        ("metadata.name=web-1", POD, True),
        ("metadata.name==web-1", POD, True),
        ("metadata.name!=web-1", POD, False),
        ("metadata.name=web-1,metadata.namespace=kube-system", POD, False),
        ("spec.nodeName=", UNSCHEDULED, True),
        ("spec.nodeName=", POD, False),
        ("spec.nodeName!=", POD, True),
        ("status.phase!=Succeeded,status.phase!=Failed", POD, True),
        ("spec.hostNetwork=false", POD, True),
        ("spec.priority=7", POD, True),
        ("involvedObject.kind=Deployment,involvedObject.uid=u-1,involvedObject.name=web", EVENT, True),
        ("involvedObject.kind=Deployment,involvedObject.uid=u-2", EVENT, False),
        ("metadata.name.deeper=", POD, True),
    ],
    ids=[
        "empty", "equals", "double-equals", "not-equals", "and", "unscheduled-pods",
        "scheduled-pod-not-unscheduled", "scheduled-pods", "not-terminal", "bool-field",
        "number-field", "event-for-object", "event-other-uid", "path-through-scalar",
    ],
)
def test_field_selector_matches(text: str, obj: dict[str, Any], matches: bool) -> None:
    assert parse_field_selector(text).matches(obj) is matches


@pytest.mark.parametrize(
    ("text", "path", "exact"),
    [
        ("metadata.name=web-1", "metadata.name", "web-1"),
        ("metadata.name==web-1", "metadata.name", "web-1"),
        ("spec.nodeName=", "spec.nodeName", ""),
        ("metadata.name!=web-1", "metadata.name", None),
        ("status.phase=Running", "metadata.name", None),
        ("status.phase=Running,metadata.name=x", "metadata.name", "x"),
    ],
    ids=["equals", "double-equals", "empty-value", "not-equals-is-not-exact", "other-path", "second-term"],
)
def test_field_selector_exact(text: str, path: str, exact: str | None) -> None:
    assert parse_field_selector(text).exact(path) == exact


@pytest.mark.parametrize(
    ("text", "canonical", "value"),
    [
        ("metadata.name=a\\,b", "metadata.name=a\\,b", "a,b"),
        ("metadata.name=a\\=b", "metadata.name=a\\=b", "a=b"),
        ("metadata.name=a\\\\b", "metadata.name=a\\\\b", "a\\b"),
        ("metadata.name==x", "metadata.name=x", "x"),
    ],
    ids=["escaped-comma", "escaped-equals", "escaped-backslash", "double-equals-canonical"],
)
def test_field_selector_escapes(text: str, canonical: str, value: str) -> None:
    selector = parse_field_selector(text)
    assert str(selector) == canonical
    assert selector.exact("metadata.name") == value


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("metadata.name", "can't understand 'metadata.name'"),
        ("=x", "field path is empty"),
        ("metadata.name=x,", "can't understand ''"),
        ("metadata.name=a\\b", "invalid escape sequence"),
        ("metadata.name=a=b", "unescaped '='"),
    ],
    ids=["no-operator", "no-path", "trailing-comma", "bad-escape", "unescaped-equals"],
)
def test_invalid_field_selector(text: str, fragment: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_field_selector(text)
    assert caught.value.code == 400
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("obj", "path", "value"),
    [
        (POD, "metadata.name", "web-1"),
        (POD, "spec.missing", ""),
        (POD, "spec.hostNetwork", "false"),
        (POD, "spec.priority", "7"),
        ({"spec": None}, "spec.nodeName", ""),
    ],
    ids=["string", "missing", "bool", "int", "null-parent"],
)
def test_field_value(obj: dict[str, Any], path: str, value: str) -> None:
    assert field_value(obj, path) == value


def test_empty_field_selector() -> None:
    assert parse_field_selector("") == FieldSelector()
    assert FieldSelector().empty
    assert not parse_field_selector("a=b").empty
