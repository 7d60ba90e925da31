"""The fault suite: each test injects one fault (a crash, a full disk, a partition, a hostile
request) into a real cluster or server and counts what survived. Every test here is marked
``faults`` (``make test-faults`` runs only them; ``make test`` runs them with everything else).

Each test's docstring names the Kubernetes or etcd test it mirrors, and each prints the figures
it counted (rounds, requests, latencies) so ``pytest -s`` shows them.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import cluster  # noqa: F401 - whole-cluster faults reuse the e2e cluster fixture


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)
