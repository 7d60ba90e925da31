"""``podctl apply`` against a real podvisor server: create, unchanged, 3-way deletions, errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.podctl.conftest import Podctl, write

# Only podctl writes here: no controller bumps resourceVersions behind the tests' backs.
SERVER_ARGS = ["--disable", "controllers", "--disable", "scheduler"]

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
{extra_label}spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: podvisor/busybox:latest
        command: ["sleep", "3600"]
        env:
        - {{name: KEEP, value: "1"}}
{extra_env}"""
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: "1"
{extra_data}"""


def manifests(tmp_path: Path, *, extra: bool) -> Path:
    text = DEPLOYMENT.format(extra_label="    tier: front\n" if extra else "",
                             extra_env='        - {name: DROP, value: "2"}\n' if extra else "")
    text += "---\n" + CONFIGMAP.format(extra_data='  b: "2"\n' if extra else "")
    return write(tmp_path / "app.yaml", text)


def test_apply_creates_then_reports_unchanged_without_writing(podctl: Podctl, tmp_path: Path) -> None:
    path = manifests(tmp_path, extra=True)
    created = podctl("apply", "-f", str(path))
    assert created.code == 0, created.err
    assert created.out == "deployment.apps/web created\nconfigmap/settings created\n"
    before = {p: podctl.obj(p)["metadata"]["resourceVersion"] for p in ("apps/v1/deployments/web", "v1/configmaps/settings")}
    again = podctl("apply", "-f", str(path))
    assert again.out == "deployment.apps/web unchanged\nconfigmap/settings unchanged\n"
    after = {p: podctl.obj(p)["metadata"]["resourceVersion"] for p in before}
    assert after == before, "an unchanged apply must not write"
    annotation = podctl.obj("v1/configmaps/settings")["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"]
    assert annotation.startswith('{"apiVersion":"v1"') and annotation.endswith("}\n")


def test_field_removed_from_the_file_is_removed_from_the_object(podctl: Podctl, tmp_path: Path) -> None:
    assert podctl("apply", "-f", str(manifests(tmp_path, extra=True))).code == 0
    podctl("scale", "deployment", "web", "--replicas", "4")  # another writer's change survives
    result = podctl("apply", "-f", str(manifests(tmp_path, extra=False)))
    assert result.out == "deployment.apps/web configured\nconfigmap/settings configured\n", result.err
    deployment = podctl.obj("apps/v1/deployments/web")
    assert deployment["metadata"]["labels"] == {"app": "web"}
    assert deployment["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "KEEP", "value": "1"}]
    assert deployment["spec"]["replicas"] == 2, "replicas is in the file, so the file wins"
    assert podctl.obj("v1/configmaps/settings")["data"] == {"a": "1"}


def test_dry_runs_write_nothing(podctl: Podctl, tmp_path: Path) -> None:
    path = manifests(tmp_path, extra=False)
    client = podctl("apply", "-f", str(path), "--dry-run=client")
    assert client.out == "deployment.apps/web created (dry run)\nconfigmap/settings created (dry run)\n"
    server = podctl("apply", "-f", str(path), "--dry-run=server")
    assert server.code == 0, server.err
    assert "configmap/settings created (server dry run)" in server.out
    assert not podctl.exists("v1/configmaps/settings")


def test_server_side_apply(podctl: Podctl, tmp_path: Path) -> None:
    path = manifests(tmp_path, extra=True)
    first = podctl("apply", "--server-side", "-f", str(path))
    assert first.code == 0, first.err
    assert first.out == "deployment.apps/web serverside-applied\nconfigmap/settings serverside-applied\n"
    assert podctl.obj("v1/configmaps/settings")["data"] == {"a": "1", "b": "2"}
    changed = manifests(tmp_path, extra=True).read_text().replace('b: "2"', 'b: "3"')
    second = podctl("apply", "--server-side", "--force-conflicts", "-f", str(write(tmp_path / "v2.yaml", changed)))
    assert second.code == 0, second.err
    assert podctl.obj("v1/configmaps/settings")["data"] == {"a": "1", "b": "3"}


def test_stdin_and_recursive_directories(podctl: Podctl, tmp_path: Path) -> None:
    write(tmp_path / "d" / "sub" / "cm.yaml", CONFIGMAP.format(extra_data=""))
    assert podctl("apply", "-f", str(tmp_path / "d")).code == 1  # nothing at the top level
    assert podctl("apply", "-R", "-f", str(tmp_path / "d")).out == "configmap/settings created\n"
    piped = podctl("apply", "-f", "-", stdin=CONFIGMAP.format(extra_data='  c: "3"\n'))
    assert piped.out == "configmap/settings configured\n"


def test_manifest_errors_name_file_document_and_field(podctl: Podctl, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", CONFIGMAP.format(extra_data="") + "---\napiVersion: v1\nkind: ConfigMap\n"
                                                                           "metadata:\n  labels: {a: b}\n")
    result = podctl("apply", "-f", str(path))
    assert result.code == 1
    assert result.err == f"error: error validating {path}: document 2: metadata.name: Required value\n"
    assert not podctl.exists("v1/configmaps/settings"), "nothing is applied from an invalid file"


def test_yaml_syntax_error_shows_the_line(podctl: Podctl, tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", CONFIGMAP.format(extra_data="  b: [1\n  c: 2\n"))
    result = podctl("apply", "-f", str(path))
    assert result.code == 1
    # The flow sequence opens on line 7; the parser gives up at the next key, line 8.
    assert result.err == (f"error: {path}: document 1, line 8: while parsing a flow sequence; "
                          "did not find expected ',' or ']'\n")


def test_server_validation_error_names_file_and_field(podctl: Podctl, tmp_path: Path) -> None:
    path = write(tmp_path / "typo.yaml", DEPLOYMENT.format(extra_label="", extra_env="").replace("replicas:", "replica:"))
    result = podctl("apply", "-f", str(path))
    assert result.code == 1
    assert result.err.startswith(f'Error from server (BadRequest): error when applying "{path}" (document 1): ')
    assert "spec.replica" in result.err


def test_namespace_in_file_must_match_explicit_namespace(podctl: Podctl, tmp_path: Path) -> None:
    path = write(tmp_path / "ns.yaml", CONFIGMAP.format(extra_data="").replace("name: settings",
                                                                              "name: settings\n  namespace: other"))
    result = podctl("apply", "-f", str(path))
    assert result.code == 1
    assert 'the namespace from the provided object "other" does not match' in result.err


BILLION_LAUGHS = "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
PYTHON_TAG = "apiVersion: v1\nkind: ConfigMap\nmetadata: !!python/object/apply:os.system ['touch {marker}']\n"


@pytest.mark.parametrize("kind", ["billion-laughs", "python-object"])
def test_hostile_manifests_are_refused_quickly(podctl: Podctl, tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "pwned"
    text = BILLION_LAUGHS if kind == "billion-laughs" else PYTHON_TAG.format(marker=marker)
    path = write(tmp_path / "evil.yaml", text)
    start = time.monotonic()
    result = podctl("apply", "-f", str(path))
    elapsed = time.monotonic() - start
    assert result.code == 1
    assert elapsed < 1.0, f"took {elapsed:.2f}s"  # the loader itself: < 0.1 s (test_resolve_and_manifests)
    expected = "anchors (&a) are not allowed" if kind == "billion-laughs" else "tag !!python/object/apply:os.system is not allowed"
    assert result.err.startswith(f"error: {path}: document 1, line ") and expected in result.err
    assert not marker.exists()


def test_hostile_manifest_through_the_real_entry_point(podctl: Podctl, tmp_path: Path) -> None:
    path = write(tmp_path / "evil.yaml", BILLION_LAUGHS)
    start = time.monotonic()
    proc = podctl.process("apply", "-f", str(path))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and out == ""
    assert "anchors (&a) are not allowed" in err
    assert time.monotonic() - start < 10.0  # interpreter start-up included; an expanded bomb would never end
