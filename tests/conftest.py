"""Shared pytest fixtures.

Docker fixtures fail (never skip) when Docker is unavailable: CI runs the e2e
tests, and a silently skipped suite would hide a broken node.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BUSYBOX_IMAGE = "podvisor/busybox:latest"
TEST_LABEL = "podvisor.test=1"


@pytest.fixture(scope="session")
def busybox_image() -> str:
    """Build (once, if absent) the local busybox image and return its name."""
    build = subprocess.run(
        [str(REPO_ROOT / "images" / "build.sh")], capture_output=True, text=True, timeout=300
    )
    if build.returncode != 0:
        pytest.fail(f"images/build.sh failed ({build.returncode}):\n{build.stdout}{build.stderr}")
    return BUSYBOX_IMAGE


def _docker(*args: str) -> list[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    return done.stdout.split()


@pytest.fixture
def docker_cleanup() -> Iterator[None]:
    """After the test, remove containers, then networks and volumes, labelled ``podvisor.test=1``."""
    yield
    containers = _docker("ps", "-aq", "--filter", f"label={TEST_LABEL}")
    if containers:
        _docker("rm", "-f", "-v", *containers)
    networks = _docker("network", "ls", "-q", "--filter", f"label={TEST_LABEL}")
    if networks:
        _docker("network", "rm", *networks)
    volumes = _docker("volume", "ls", "-q", "--filter", f"label={TEST_LABEL}")
    if volumes:
        _docker("volume", "rm", "-f", *volumes)
