"""``podctl dashboard`` prints the /ui URL of the kubeconfig's server and where the token is."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from apimachinery.kubeconfig import write_kubeconfig
from podctl.cli import cli
from tests.podctl.conftest import Podctl


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["dashboard", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_prints_the_url_the_server_serves_the_dashboard_at(podctl: Podctl) -> None:
    code, out, err = run("--kubeconfig", str(podctl.kubeconfig))
    url = out.strip()
    assert code == 0 and url == f"{podctl.cluster.url}/ui/"
    assert str(podctl.cluster.data_dir / "admin.token") in err
    page = httpx.get(url, verify=False, timeout=10)
    assert page.status_code == 200 and "podvisor dashboard" in page.text


def test_a_kubeconfig_without_the_admin_token_file_points_at_its_own_user(tmp_path: Path) -> None:
    kc = tmp_path / "alice.kubeconfig"
    write_kubeconfig(kc, server="https://10.0.0.5:6443/", token="t", ca_pem=None, user="alice")
    code, out, err = run("--kubeconfig", str(kc))
    assert code == 0 and out.strip() == "https://10.0.0.5:6443/ui/"
    assert "podctl config view --raw" in err


def test_open_without_a_browser_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kc = tmp_path / "k.kubeconfig"
    write_kubeconfig(kc, server="https://127.0.0.1:6443", token="t", ca_pem=None, user="u")
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, new=0: opened.append(url) or False)
    code, out, err = run("--open", "--kubeconfig", str(kc))
    assert code == 0 and opened == ["https://127.0.0.1:6443/ui/"] and "no browser found" in err


def test_a_unix_socket_server_is_refused(tmp_path: Path) -> None:
    kc = tmp_path / "loop.kubeconfig"
    write_kubeconfig(kc, server="unix:///tmp/x.sock", token="t", ca_pem=None, user="u")
    code, _, err = run("--kubeconfig", str(kc))
    assert code == 1 and "not an HTTP(S) address" in err
