"""Server behaviours the real-client compatibility suite (tests/compat) depends on, pinned here fast."""

from __future__ import annotations

import httpx
import pytest

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
    },
}


@pytest.mark.parametrize(
    ("method", "headers", "body"),
    [
        pytest.param("PATCH", {"Content-Type": "application/merge-patch+json"}, {"spec": {"replicas": 4}},
                     id="kubectl-scale-merge-patch"),
        pytest.param("PATCH", {"Content-Type": "application/strategic-merge-patch+json"}, {"spec": {"replicas": 4}},
                     id="python-client-scale-patch"),
        pytest.param("PUT", {}, {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": "web"},
                                 "spec": {"replicas": 4}}, id="scale-put"),
    ],
)
def test_scale_bumps_generation_without_touching_the_stored_copy(
    http: httpx.Client, method: str, headers: dict[str, str], body: dict[str, object]
) -> None:
    """A write through /scale is a spec change: generation must move so rollout status waits for it."""
    assert http.post(DEPLOYMENTS, json=DEPLOYMENT).status_code == 201
    scaled = http.request(method, f"{DEPLOYMENTS}/web/scale", json=body, headers=headers)
    assert scaled.status_code == 200, scaled.text
    assert scaled.json()["spec"]["replicas"] == 4
    live = http.get(f"{DEPLOYMENTS}/web").json()
    assert (live["spec"]["replicas"], live["metadata"]["generation"]) == (4, 2)
    again = http.request(method, f"{DEPLOYMENTS}/web/scale", json=body, headers=headers)
    assert again.status_code == 200
    assert http.get(f"{DEPLOYMENTS}/web").json()["metadata"]["generation"] == 2  # no change, no bump
