"""A scheduler wired to the fake API, on a fake clock (see :mod:`tests.scheduler.harness`)."""

from __future__ import annotations

import pytest

from tests.scheduler.harness import Harness


@pytest.fixture
async def harness() -> Harness:
    return Harness()
