"""kubeconfig: the file kubectl reads, written safely, resolved like kubectl, merged not clobbered."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from apimachinery.kubeconfig import (
    ClientConfig,
    ContextInfo,
    KubeconfigError,
    list_contexts,
    load_kubeconfig,
    resolve_path,
    set_current_context,
    write_kubeconfig,
)

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home directory and no $KUBECONFIG."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def write_raw(path: Path, config: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


def test_written_file_is_what_kubectl_reads(tmp_path: Path) -> None:
    path = tmp_path / "admin.kubeconfig"
    write_kubeconfig(path, server="https://127.0.0.1:6443", token="s3cret", ca_pem=CA)
    raw = yaml.safe_load(path.read_text())
    assert raw["apiVersion"] == "v1" and raw["kind"] == "Config"
    assert raw["current-context"] == "podvisor"
    assert raw["clusters"] == [{"name": "podvisor", "cluster": {
        "server": "https://127.0.0.1:6443", "certificate-authority-data": base64.b64encode(CA).decode()}}]
    assert raw["users"] == [{"name": "admin", "user": {"token": "s3cret"}}]
    assert raw["contexts"] == [{"name": "podvisor", "context": {
        "cluster": "podvisor", "user": "admin", "namespace": "default"}}]


def test_written_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "admin.kubeconfig"
    write_kubeconfig(path, server="https://h:6443", token="t", ca_pem=None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["admin.kubeconfig"]  # no temporary left behind


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"server": "https://127.0.0.1:6443/", "token": "t", "ca_pem": CA},
            ClientConfig("https://127.0.0.1:6443", "t", CA, False, "default", "podvisor"),
        ),
        (
            {"server": "http://localhost:8080", "token": "", "ca_pem": None},
            ClientConfig("http://localhost:8080", "", None, False, "default", "podvisor"),
        ),
        (
            {"server": "https://h:6443", "token": "t", "ca_pem": None, "insecure": True, "namespace": "prod",
             "cluster": "c", "user": "u", "context": "ctx"},
            ClientConfig("https://h:6443", "t", None, True, "prod", "ctx"),
        ),
    ],
    ids=["with-ca", "plain-http", "insecure-custom-names"],
)
def test_round_trip(tmp_path: Path, kwargs: dict[str, Any], expected: ClientConfig) -> None:
    path = tmp_path / "config"
    write_kubeconfig(path, **kwargs)
    assert load_kubeconfig(path) == expected


def test_writing_keeps_other_clusters_and_replaces_ours(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "config", {
        "apiVersion": "v1", "kind": "Config", "current-context": "work",
        "clusters": [{"name": "work", "cluster": {"server": "https://work:6443"}},
                     {"name": "podvisor", "cluster": {"server": "https://old:6443"}}],
        "users": [{"name": "me", "user": {"token": "mine"}}],
        "contexts": [{"name": "work", "context": {"cluster": "work", "user": "me"}}],
    })
    write_kubeconfig(path, server="https://new:6443", token="t", ca_pem=None)
    assert [c.name for c in list_contexts(path)] == ["work", "podvisor"]
    assert load_kubeconfig(path).server == "https://new:6443"
    assert load_kubeconfig(path, context="work") == ClientConfig("https://work:6443", "mine", None, False, "default", "work")
    raw = yaml.safe_load(path.read_text())
    assert [c["name"] for c in raw["clusters"]] == ["work", "podvisor"]


@pytest.mark.parametrize(
    ("env", "present", "chosen"),
    [
        (None, ["podvisor", "kube"], "podvisor"),
        (None, ["kube"], "kube"),
        ("{missing}:{custom}", ["custom", "podvisor", "kube"], "custom"),
        ("{missing}", ["podvisor"], "podvisor"),
    ],
    ids=["podvisor-before-kube", "falls-back-to-kube", "first-existing-env-entry", "env-none-exist"],
)
def test_default_path_resolution(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str | None, present: list[str], chosen: str
) -> None:
    locations = {
        "podvisor": home / ".podvisor" / "admin.kubeconfig",
        "kube": home / ".kube" / "config",
        "custom": tmp_path / "custom.kubeconfig",
        "missing": tmp_path / "missing.kubeconfig",
    }
    for name in present:
        write_kubeconfig(locations[name], server=f"https://{name}:6443", token=name, ca_pem=None)
    if env is not None:
        monkeypatch.setenv("KUBECONFIG", env.format(**{k: str(v) for k, v in locations.items()}))
    assert resolve_path() == locations[chosen]
    assert load_kubeconfig().token == chosen


def test_explicit_path_wins(home: Path, tmp_path: Path) -> None:
    write_kubeconfig(home / ".kube" / "config", server="https://kube:6443", token="kube", ca_pem=None)
    explicit = tmp_path / "explicit"
    write_kubeconfig(explicit, server="https://explicit:6443", token="explicit", ca_pem=None)
    assert load_kubeconfig(explicit).token == "explicit"


def test_no_kubeconfig_anywhere(home: Path) -> None:
    with pytest.raises(KubeconfigError, match="no kubeconfig found"):
        load_kubeconfig()


def test_file_references_are_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(CA)
    (tmp_path / "token").write_text("from-file\n")
    path = write_raw(tmp_path / "config", {
        "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "https://h", "certificate-authority": "ca.crt"}}],
        "users": [{"name": "u", "user": {"tokenFile": "token"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u", "namespace": "ns"}}],
    })
    assert load_kubeconfig(path) == ClientConfig("https://h", "from-file", CA, False, "ns", "c")


BASE: dict[str, Any] = {
    "current-context": "c",
    "clusters": [{"name": "k", "cluster": {"server": "https://h"}}],
    "users": [{"name": "u", "user": {"token": "t"}}],
    "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
}


@pytest.mark.parametrize(
    ("changes", "context", "fragment"),
    [
        ({"current-context": None}, None, "no current-context"),
        ({}, "other", 'context "other" not found'),
        ({"clusters": []}, None, 'cluster "k" of context "c" has no server'),
        ({"clusters": [{"name": "k", "cluster": {"server": "https://h", "certificate-authority-data": "%%"}}]},
         None, "not valid base64"),
        ({"users": [{"name": "u", "user": {"tokenFile": "/nonexistent/token"}}]}, None, "cannot read tokenFile"),
    ],
    ids=["no-current-context", "unknown-context", "cluster-missing", "bad-ca-data", "missing-token-file"],
)
def test_load_errors(tmp_path: Path, changes: dict[str, Any], context: str | None, fragment: str) -> None:
    path = write_raw(tmp_path / "config", {**BASE, **changes})
    with pytest.raises(KubeconfigError, match=fragment):
        load_kubeconfig(path, context)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("a: &x 1\nb: *x\n", "anchors"), ("a: 1\n---\nb: 2\n", "expected one document"), ("- a\n", "mapping")],
    ids=["anchor", "two-documents", "not-a-mapping"],
)
def test_invalid_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(KubeconfigError, match=fragment):
        load_kubeconfig(path)


def test_user_without_credentials_has_empty_token(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "config", {**BASE, "users": []})
    assert load_kubeconfig(path).token == ""


def test_contexts_and_use_context(tmp_path: Path) -> None:
    path = tmp_path / "config"
    write_kubeconfig(path, server="https://a:6443", token="a", ca_pem=None, cluster="a", user="a", context="a")
    write_kubeconfig(path, server="https://b:6443", token="b", ca_pem=None, cluster="b", user="b", context="b",
                     namespace="prod")
    assert list_contexts(path) == [
        ContextInfo("a", "a", "a", "default", False),
        ContextInfo("b", "b", "b", "prod", True),
    ]
    set_current_context(path, "a")
    assert load_kubeconfig(path).context_name == "a"
    assert [c.name for c in list_contexts(path) if c.current] == ["a"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_use_unknown_context(tmp_path: Path) -> None:
    path = tmp_path / "config"
    write_kubeconfig(path, server="https://a:6443", token="a", ca_pem=None)
    with pytest.raises(KubeconfigError, match='no context exists with the name: "nope"'):
        set_current_context(path, "nope")
    assert load_kubeconfig(path).context_name == "podvisor"
