"""The untrusted-manifest loader: what it reads, what it refuses, and how fast it refuses."""

from __future__ import annotations

import time
from typing import Any

import pytest

from apimachinery.errors import ApiError
from apimachinery.yamlsafe import MAX_DEPTH, ManifestError, load_documents, load_json_or_yaml

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: nginx
        image: "nginx:1.27"
        ports: [{containerPort: 80}]
"""

BILLION_LAUGHS = "\n".join([
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    *(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(25)),
])


def test_reads_a_manifest() -> None:
    [obj] = load_documents(DEPLOYMENT)
    assert obj["spec"]["replicas"] == 3
    assert obj["metadata"]["labels"] == {"app": "web"}
    assert obj["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("# only a comment\n", 0),
        ("---\n---\n", 0),
        ("a: 1\n---\nb: 2\n", 2),
        ("---\na: 1\n---\n---\nb: 2\n...\n", 2),
        ("a: 1\n---\n# nothing here\n---\nb: 2\n", 2),
    ],
    ids=["empty", "comment", "empty-documents", "two", "explicit-markers", "empty-between"],
)
def test_skips_empty_documents(text: str, count: int) -> None:
    assert len(load_documents(text)) == count


@pytest.mark.parametrize(
    ("yaml_text", "value"),
    [
        ("v: 3", 3),
        ("v: 0x1f", 31),
        ("v: 1.5", 1.5),
        ("v: yes", True),
        ("v: off", False),
        ("v: ~", None),
        ("v:", None),
        ("v: '3'", "3"),
        ("v: !!str 3", "3"),
        ("v: !!int '3'", 3),
        ("v: !!float 1", 1.0),
        ("v: 2026-01-01", "2026-01-01"),
        ("v: 2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("v: 22:22", "22:22"),
        ("v: 1e3", "1e3"),
        ("v: 500m", "500m"),
        ("v: [a, {b: c}]", ["a", {"b": "c"}]),
        ("v: |\n  line\n", "line\n"),
    ],
    ids=[
        "int", "hex", "float", "yes-is-bool", "off-is-bool", "tilde-null", "empty-null", "quoted",
        "explicit-str", "explicit-int", "explicit-float", "date-stays-string", "timestamp-stays-string",
        "no-base-60", "exponent-without-dot-is-string", "quantity", "flow", "block-scalar",
    ],
)
def test_scalars_are_json_values(yaml_text: str, value: Any) -> None:
    [obj] = load_documents(yaml_text)
    assert obj["v"] == value
    assert type(obj["v"]) is type(value)


@pytest.mark.parametrize(
    ("yaml_text", "keys"),
    [("1: a\n", ["1"]), ("true: a\n", ["true"]), ("on: a\n", ["true"]), ("1.5: a\n", ["1.5"])],
    ids=["int-key", "bool-key", "yaml11-on-key", "float-key"],
)
def test_keys_become_strings(yaml_text: str, keys: list[str]) -> None:
    assert list(load_documents(yaml_text)[0]) == keys


@pytest.mark.parametrize(
    ("text", "document", "line", "fragment"),
    [
        ("a: &x 1\nb: *x\n", 1, 1, "anchors (&x) are not allowed"),
        ("a: 1\n---\nb: *x\n", 2, 3, "aliases (*x) are not allowed"),
        ("a: !!python/object/apply:os.system ['echo hi']\n", 1, 1, "tag !!python/object/apply:os.system"),
        ("!!python/object:os.system\nx: 1\n", 1, 1, "tag !!python/object:os.system"),
        ("a: 1\nb: !custom x\n", 1, 2, "tag !custom is not allowed"),
        ("a: !!binary aGk=\n", 1, 1, "tag !!binary"),
        ("a: !!timestamp 2026-01-01\n", 1, 1, "tag !!timestamp"),
        ("a: !!set {x}\n", 1, 1, "tag !!set"),
        ("a: !!int abc\n", 1, 1, "cannot be read as !!int"),
        ("a: !!seq {x: 1}\n", 1, 1, "expected a sequence"),
        ("a: 1\na: 2\n", 1, 2, "duplicate key 'a'"),
        ("a: .inf\n", 1, 1, "not a finite number"),
        ("a: .nan\n", 1, 1, "not a finite number"),
        ("? [1]\n: x\n", 1, 1, "has no JSON spelling"),
        ("~: x\n", 1, 1, "has no JSON spelling"),
        ("- a\n- b\n", 1, 1, "must be a mapping (a Kubernetes object), not a list"),
        ("a: 1\n---\njust text\n", 2, 3, "not a str"),
        ("a: 1\n---\nb: [1\n", 2, 4, "did not find expected ',' or ']'"),
        ("a: b: c\n", 1, 1, "mapping values are not allowed"),
        ("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), 1, 1, f"nesting deeper than {MAX_DEPTH}"),
    ],
    ids=[
        "anchor", "alias", "python-object-apply", "python-object-tag-on-document", "custom-tag", "binary",
        "timestamp-tag", "set", "int-tag-on-text", "tag-kind-mismatch", "duplicate-key", "infinity",
        "nan", "complex-key", "null-key", "top-level-list", "top-level-scalar", "syntax-error",
        "mapping-in-scalar", "too-deep",
    ],
)
def test_refusals_name_document_and_line(text: str, document: int, line: int, fragment: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load_documents(text, source="manifests/x.yaml")
    error = caught.value
    assert fragment in error.message
    assert (error.source, error.document, error.line) == ("manifests/x.yaml", document, line)
    assert str(error).startswith(f"manifests/x.yaml: document {document}, line {line}: ")


@pytest.mark.parametrize(
    "text",
    [BILLION_LAUGHS, "a: !!python/object/apply:os.system ['touch /tmp/podvisor-pwned']\n"],
    ids=["billion-laughs", "os-system"],
)
def test_hostile_documents_refused_fast(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ManifestError):
        load_documents(text)
    assert time.perf_counter() - start < 0.1


def test_alias_bomb_in_a_later_document_refused_fast() -> None:
    text = DEPLOYMENT + "---\n" + BILLION_LAUGHS
    start = time.perf_counter()
    with pytest.raises(ManifestError) as caught:
        load_documents(text)
    assert time.perf_counter() - start < 0.1
    assert caught.value.document == 2


@pytest.mark.parametrize(
    ("data", "limit", "refused"),
    [
        ("a: 1\n", 5, False),
        ("a: 12\n", 5, True),
        ("a: é\n", 6, False),
        ("a: éé\n", 6, True),
        (b"a: 12\n", 5, True),
    ],
    ids=["at-limit", "over-limit", "multibyte-at-limit", "multibyte-over-limit", "bytes-over-limit"],
)
def test_size_limit(data: str | bytes, limit: int, refused: bool) -> None:
    if not refused:
        assert load_documents(data, max_bytes=limit)
        return
    with pytest.raises(ManifestError, match=f"over the limit of {limit}"):
        load_documents(data, max_bytes=limit)


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"\xef\xbb\xbfa: 1\n", [{"a": 1}]), ("a: caf\u00e9\n".encode(), [{"a": "caf\u00e9"}])],
    ids=["utf8-bom", "utf8"],
)
def test_bytes_input(data: bytes, expected: list[dict[str, Any]]) -> None:
    assert load_documents(data) == expected


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(ManifestError, match="not UTF-8"):
        load_documents(b"a: \xff\n", source="x.yaml")


# --- request bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'{"a": 1}', "application/json", {"a": 1}),
        (b'{"a": 1}', "", {"a": 1}),
        (b'{"a": 1}', "application/json; charset=utf-8", {"a": 1}),
        (b'[{"op": "remove", "path": "/a"}]', "application/json-patch+json", [{"op": "remove", "path": "/a"}]),
        (b'{"spec": {"replicas": 5}}', "application/merge-patch+json", {"spec": {"replicas": 5}}),
        (b'{"a": null}', "application/strategic-merge-patch+json", {"a": None}),
        (b'{"kind": "Pod"}', "application/apply-patch+yaml", {"kind": "Pod"}),
        (b"kind: Pod\n", "application/apply-patch+yaml", {"kind": "Pod"}),
        (b"kind: Pod\n", "application/yaml", {"kind": "Pod"}),
        (b"{kind: Pod}\n", "application/yaml", {"kind": "Pod"}),
        (b"kind: Pod\n", "Application/YAML", {"kind": "Pod"}),
    ],
    ids=[
        "json", "no-content-type", "json-charset", "json-patch-list", "merge-patch", "strategic-null",
        "apply-json-body", "apply-yaml-body", "yaml", "yaml-flow-mapping", "case-insensitive",
    ],
)
def test_load_json_or_yaml(body: bytes, content_type: str, expected: Any) -> None:
    assert load_json_or_yaml(body, content_type) == expected


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (b"", "application/json", "Expecting value"),
        (b'{"a":', "application/json", "Expecting"),
        (b'{"a": NaN}', "application/json", "NaN is not valid JSON"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "application/json", "nesting deeper"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "nesting deeper"),
        (b"a: &x 1\nb: *x\n", "application/yaml", "anchors"),
        (b"a: 1\n---\nb: 2\n", "application/yaml", "exactly one object"),
        (b"", "application/yaml", "exactly one object"),
        (b"x" * 11, "application/json", "over the limit of 10"),
    ],
    ids=[
        "empty-json", "truncated-json", "nan", "deep-json", "very-deep-json", "yaml-anchor",
        "two-yaml-documents", "empty-yaml", "too-large",
    ],
)
def test_load_json_or_yaml_refusals(body: bytes, content_type: str, fragment: str) -> None:
    with pytest.raises(ManifestError, match=fragment):
        load_json_or_yaml(body, content_type, max_bytes=10 if fragment.startswith("over") else 3 << 20)


def test_json_at_depth_limit_is_accepted() -> None:
    body = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert load_json_or_yaml(body, "application/json") is not None


def test_unknown_media_type_is_415() -> None:
    with pytest.raises(ApiError) as caught:
        load_json_or_yaml(b"k8s\x00...", "application/vnd.kubernetes.protobuf")
    assert (caught.value.code, caught.value.reason) == (415, "UnsupportedMediaType")
