"""A pod's effective requests, computed as Kubernetes computes them."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.core import Pod
from scheduler.podinfo import DEFAULT_MEMORY_REQUEST, PodInfo, pod_requests


def pod(containers: list[dict[str, Any]], init: list[dict[str, Any]] | None = None,
        overhead: dict[str, str] | None = None) -> Pod:
    def container(i: int, spec: dict[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": f"{prefix}{i}", "image": "x"}
        requests = {k: v for k, v in spec.items() if k in ("cpu", "memory", "example.com/gpu")}
        if requests:
            out["resources"] = {"requests": requests}
        if spec.get("sidecar"):
            out["restartPolicy"] = "Always"
        return out

    spec: dict[str, Any] = {"containers": [container(i, c, "c") for i, c in enumerate(containers)]}
    if init:
        spec["initContainers"] = [container(i, c, "i") for i, c in enumerate(init)]
    if overhead:
        spec["overhead"] = overhead
    return Pod.model_validate({"metadata": {"name": "p", "namespace": "d"}, "spec": spec})


@pytest.mark.parametrize(
    ("containers", "init", "overhead", "expected"),
    [
        ([{"cpu": "100m"}, {"cpu": "200m", "memory": "1Gi"}], None, None, {"cpu": 300, "memory": 1 << 30}),
        ([{"cpu": "100m"}], [{"cpu": "1"}], None, {"cpu": 1000}),  # an init container alone needs more
        ([{"cpu": "2"}], [{"cpu": "1"}], None, {"cpu": 2000}),  # the app containers need more
        # a sidecar runs beside the app containers and beside later init containers
        ([{"cpu": "1"}], [{"cpu": "500m", "sidecar": True}, {"cpu": "1"}], None, {"cpu": 1500}),
        ([{"cpu": "100m"}], [{"cpu": "500m", "sidecar": True}, {"cpu": "2"}], None, {"cpu": 2500}),
        ([{"cpu": "100m"}], None, {"cpu": "250m", "memory": "64Mi"}, {"cpu": 350, "memory": 64 << 20}),
        ([{"example.com/gpu": "2"}], None, None, {"example.com/gpu": 2}),
        ([{}], None, None, {}),
    ],
    ids=["sum-app", "init-max", "app-max", "sidecar-adds", "sidecar-plus-init", "overhead", "extended", "nothing"],
)
def test_pod_requests(containers: list[dict[str, Any]], init: list[dict[str, Any]] | None,
                      overhead: dict[str, str] | None, expected: dict[str, int]) -> None:
    assert pod_requests(pod(containers, init, overhead)) == expected


def test_nonzero_requests_fill_missing_cpu_and_memory_per_container() -> None:
    info = PodInfo.from_pod(pod([{}, {"cpu": "1"}]))
    assert info.nonzero_cpu == 100 + 1000
    assert info.nonzero_memory == 2 * DEFAULT_MEMORY_REQUEST
    assert info.requests == {"cpu": 1000}
