"""Fixtures for whole-cluster tests on the real Docker daemon."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster


@pytest.fixture
def cluster(request: pytest.FixtureRequest, tmp_path: Path, busybox_image: str) -> Iterator[Cluster]:
    """A started server (no kubelets yet); tests add the kubelets they need.

    ``@pytest.mark.server_args("--node-grace-period", "4")`` passes flags to ``podvisor server``.
    """
    marker = request.node.get_closest_marker("server_args")
    c = Cluster(tmp_path / "cluster", server_args=[str(a) for a in marker.args] if marker else [])
    c.start_server()
    try:
        yield c
    finally:
        c.stop()
