"""``podctl rollout status ds/x`` reads a DaemonSet as kubectl's DaemonSetStatusViewer does."""

from __future__ import annotations

from typing import Any

import pytest

from podctl.errors import PodctlError
from podctl.rollout import daemonset_rollout_status


def daemonset(*, generation: int = 2, observed: int = 2, desired: int = 3, updated: int = 3, available: int = 3,
              strategy: str = "RollingUpdate") -> dict[str, Any]:
    return {"metadata": {"name": "agent", "generation": generation}, "spec": {"updateStrategy": {"type": strategy}},
            "status": {"observedGeneration": observed, "desiredNumberScheduled": desired,
                       "updatedNumberScheduled": updated, "numberAvailable": available}}


@pytest.mark.parametrize(("ds", "message", "done"), [
    pytest.param(daemonset(observed=1), "Waiting for daemon set spec update to be observed...", False, id="unobserved"),
    pytest.param(daemonset(updated=1, available=2),
                 'Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...', False,
                 id="updating"),
    pytest.param(daemonset(available=2),
                 'Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...', False,
                 id="becoming-available"),
    pytest.param(daemonset(), 'daemon set "agent" successfully rolled out', True, id="done"),
])
def test_daemonset_rollout_status(ds: dict[str, Any], message: str, done: bool) -> None:
    state = daemonset_rollout_status(ds)
    assert (state.message, state.done) == (message, done)


def test_on_delete_has_no_rollout_status() -> None:
    with pytest.raises(PodctlError, match="only available for RollingUpdate"):
        daemonset_rollout_status(daemonset(strategy="OnDelete"))
