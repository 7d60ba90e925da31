"""Fixtures: a real ``podvisor server`` process (HTTPS, tokens, kubeconfig) and a podctl runner.

podctl is driven the way a user drives it: through its command line with ``--kubeconfig``
pointing at the kubeconfig the server wrote. The in-process runner (click's CliRunner) is used
for speed; tests that care about the installed entry point or streaming run a subprocess.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from podctl.cli import cli
from tests.e2e import conftest as e2e_fixtures
from tests.e2e.cluster import Cluster


@dataclass
class Result:
    code: int
    out: str
    err: str


class Podctl:
    """Runs podctl against one cluster, in one namespace unless told otherwise."""

    def __init__(self, control_plane: Cluster, namespace: str) -> None:
        self.cluster = control_plane
        self.namespace = namespace
        self.kubeconfig = control_plane.data_dir / "admin.kubeconfig"

    def __call__(self, *args: str, namespace: bool = True, stdin: str | None = None) -> Result:
        flags = [] if "--kubeconfig" in args else ["--kubeconfig", str(self.kubeconfig)]
        flags += ["-n", self.namespace] if namespace else []
        result = CliRunner().invoke(cli, [*args, *flags], input=stdin, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    def process(self, *args: str) -> subprocess.Popen[str]:
        """The real entry point as a child process (for watches and follows)."""
        command = [sys.executable, "-c", "from podctl.cli import main; main()", *args,
                   "--kubeconfig", str(self.kubeconfig), "-n", self.namespace]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def http(self) -> httpx.Client:
        return self.cluster.http()

    def obj(self, path: str) -> dict[str, Any]:
        """GET a namespaced path such as ``apps/v1/deployments/web``."""
        with self.http() as client:
            response = client.get(self.path(path))
            response.raise_for_status()
            return dict(response.json())

    def exists(self, path: str) -> bool:
        with self.http() as client:
            return client.get(self.path(path)).status_code == 200

    def path(self, path: str) -> str:
        parts = path.split("/")
        if parts[0] == "v1":
            return f"/api/v1/namespaces/{self.namespace}/{'/'.join(parts[1:])}"
        return f"/apis/{parts[0]}/{parts[1]}/namespaces/{self.namespace}/{'/'.join(parts[2:])}"


# The e2e suite's cluster fixture (server process, busybox image, kubelets added per test).
cluster = e2e_fixtures.cluster


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One control plane per test module; tests separate themselves by namespace.

    A module may set ``SERVER_ARGS`` (e.g. to run without controllers, so that only podctl
    writes and a resourceVersion that did not move proves podctl wrote nothing).
    """
    args = [str(a) for a in getattr(request.module, "SERVER_ARGS", [])]
    control_plane = Cluster(tmp_path_factory.mktemp("podctl") / "cluster", server_args=args)
    control_plane.start_server()
    try:
        yield control_plane
    finally:
        control_plane.stop()


def create_namespace(control_plane: Cluster, name: str) -> None:
    with control_plane.http() as client:
        response = client.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                                           "metadata": {"name": name}})
        assert response.status_code in (201, 409), response.text


@pytest.fixture
def podctl(server: Cluster) -> Podctl:
    """podctl bound to a fresh namespace of the module's server."""
    namespace = f"t-{secrets.token_hex(3)}"
    create_namespace(server, namespace)
    return Podctl(server, namespace)


@pytest.fixture
def podctl_e2e(cluster: Cluster) -> Podctl:
    """podctl against a fresh cluster from tests/e2e (busybox image built, kubelets added by the test)."""
    return Podctl(cluster, "default")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
