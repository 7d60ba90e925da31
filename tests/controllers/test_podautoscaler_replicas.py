"""The replica calculator as a table: tolerance, missing metrics and unready pods, as Kubernetes counts them."""

from __future__ import annotations

import re

import pytest

from controllers.podautoscaler_replicas import (
    NO_METRICS,
    MetricError,
    PodSample,
    average_value_replicas,
    utilization_replicas,
)


def ready(name: str, usage: int | None, request: int | None = 100) -> PodSample:
    return PodSample(name, request, usage)


def unready(name: str, usage: int | None = None, request: int = 100) -> PodSample:
    return PodSample(name, request, usage, unready=True)


# (samples at 100m requests each, current replicas, target %, expected replicas, expected utilization)
UTILIZATION = [
    pytest.param([ready("a", 52), ready("b", 52)], 2, 50, 2, 52, id="within-tolerance"),
    pytest.param([ready("a", 45), ready("b", 45)], 2, 50, 2, 45, id="within-tolerance-below"),
    pytest.param([ready("a", 56), ready("b", 56)], 2, 50, 3, 56, id="just-above-tolerance-grows"),
    pytest.param([ready("a", 100)], 1, 50, 2, 100, id="double-the-target-doubles"),
    pytest.param([ready("a", 250)], 1, 50, 5, 250, id="five-times-the-target"),
    pytest.param([ready("a", 10), ready("b", 10), ready("c", 10)], 3, 50, 1, 10, id="idle-shrinks"),
    pytest.param([ready("a", 0)], 1, 50, 0, 0, id="idle-asks-for-zero-minreplicas-clamps-later"),
    # missing metrics: 100% of request when shrinking (here that lands within tolerance: stay) ...
    pytest.param([ready("a", 10), ready("b", None)], 2, 50, 2, 10, id="missing-counts-full-when-shrinking"),
    # ... and nothing when growing
    pytest.param([ready("a", 200), ready("b", None)], 2, 50, 4, 200, id="missing-counts-zero-when-growing"),
    pytest.param([ready("a", 60), ready("b", None)], 2, 50, 2, 60, id="missing-flips-direction-so-stay"),
    # unready pods: nothing, and only when growing
    pytest.param([ready("a", 60), unready("b", 300)], 2, 50, 2, 60, id="unready-flips-direction-so-stay"),
    pytest.param([ready("a", 200), unready("b")], 2, 50, 4, 200, id="unready-counts-zero-when-growing"),
    pytest.param([ready("a", 10), unready("b")], 2, 50, 1, 10, id="unready-ignored-when-shrinking"),
    pytest.param([ready("a", 30, request=200), ready("b", 150, request=100)], 2, 50, 3, 60,
                 id="utilization-is-summed-usage-over-summed-requests"),
]


@pytest.mark.parametrize(("rows", "current", "target", "replicas", "utilization"), UTILIZATION)
def test_utilization_replicas(rows: list[PodSample], current: int, target: int, replicas: int,
                              utilization: int) -> None:
    found = utilization_replicas(rows, resource="cpu", current_replicas=current, target=target)
    assert (found.replicas, found.utilization) == (replicas, utilization)


def test_the_average_is_over_measured_pods() -> None:
    found = utilization_replicas([ready("a", 30), ready("b", 90), ready("c", None)], resource="cpu",
                                 current_replicas=3, target=50)
    assert found.average == 60


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        pytest.param([ready("a", None), unready("b", 50)], NO_METRICS, id="no-measured-ready-pod"),
        pytest.param([], NO_METRICS, id="no-pods"),
        pytest.param([ready("a", 50), ready("b", 50, request=None)], "missing request for cpu in pod b",
                     id="a-pod-without-request"),
        pytest.param([ready("a", 50, request=0)], "no metrics returned matched known pods", id="zero-requests"),
    ],
)
def test_what_cannot_be_computed(rows: list[PodSample], message: str) -> None:
    with pytest.raises(MetricError, match=re.escape(message)):
        utilization_replicas(rows, resource="cpu", current_replicas=1, target=50)


@pytest.mark.parametrize(
    ("rows", "current", "replicas", "average"),
    [
        pytest.param([ready("a", 300, None), ready("b", 300, None)], 2, 6, 300, id="three-times-target"),
        pytest.param([ready("a", 105, None)], 1, 1, 105, id="within-tolerance"),
        pytest.param([ready("a", 20, None), ready("b", 20, None)], 2, 1, 20, id="shrinks"),
        pytest.param([ready("a", 20, None), ready("b", None, None)], 2, 2, 20, id="missing-at-target-when-shrinking"),
    ],
)
def test_average_value_replicas_need_no_requests(rows: list[PodSample], current: int, replicas: int,
                                                 average: int) -> None:
    found = average_value_replicas(rows, current_replicas=current, target=100)
    assert (found.replicas, found.average, found.utilization) == (replicas, average, None)


def test_a_custom_tolerance() -> None:
    rows = [ready("a", 52), ready("b", 52)]
    assert utilization_replicas(rows, resource="cpu", current_replicas=2, target=50, tolerance=0.01).replicas == 3
