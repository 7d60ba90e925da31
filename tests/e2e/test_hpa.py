"""A HorizontalPodAutoscaler scales a CPU-burning Deployment from 1 to at least 2 pods and back to 1.

Real cluster: server (controllers, metrics API scraping every 2 s, autoscaler syncing every 2 s)
and one kubelet on Docker. The pods request 100m cpu and are capped at 200m; each burns cpu
while the ConfigMap ``hpa-load`` they mount says ``on``, and sleeps when it says ``off`` (the
kubelet rewrites ConfigMap volumes within seconds). The autoscaler targets 50% of the request,
with a 5 s scale-down stabilization window. The seconds each direction took are printed (not
asserted); the deadlines are the test's functional bounds.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.controllers.e2e_helpers import BUSYBOX, DEPLOYMENTS, MERGE, get_deployment, node_condition
from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.server_args(
    "--horizontal-pod-autoscaler-sync-period", "2", "--metric-resolution", "2")]

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
HPAS = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"
EVENTS = "/api/v1/namespaces/default/events"
SCALE_UP_DEADLINE = 180.0
SCALE_DOWN_DEADLINE = 180.0
BURN = ("trap 'exit 0' TERM; while :; do if [ \"$(cat /ctl/burn 2>/dev/null)\" = on ]; then "
        "i=0; while [ $i -lt 5000 ]; do i=$((i+1)); done; else sleep 1; fi; done")


def burner() -> dict[str, Any]:
    container = {"name": "burn", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", BURN],
                 "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}},
                 "volumeMounts": [{"name": "ctl", "mountPath": "/ctl"}]}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "burner"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"app": "burner"}},
        "template": {"metadata": {"labels": {"app": "burner"}}, "spec": {
            "containers": [container], "terminationGracePeriodSeconds": 1,
            "volumes": [{"name": "ctl", "configMap": {"name": "hpa-load"}}]}}}}


def autoscaler() -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "burner"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "burner"},
                     "minReplicas": 1, "maxReplicas": 3,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 50}}}],
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 5}}}}


def load(http: httpx.Client, state: str) -> None:
    response = http.patch(f"{CONFIGMAPS}/hpa-load", json={"data": {"burn": state}}, headers=MERGE)
    assert response.status_code == 200, response.text


def replicas(http: httpx.Client) -> int:
    return int(((get_deployment(http, "burner") or {}).get("spec") or {}).get("replicas") or 0)


def hpa_status(http: httpx.Client) -> dict[str, Any]:
    response = http.get(f"{HPAS}/burner")
    assert response.status_code == 200, response.text
    return dict(response.json().get("status") or {})


def rescales(http: httpx.Client) -> list[str]:
    response = http.get(EVENTS, params={"fieldSelector": "involvedObject.name=burner"})
    assert response.status_code == 200, response.text
    return [str(e.get("message")) for e in response.json()["items"]
            if e["involvedObject"].get("kind") == "HorizontalPodAutoscaler" and e.get("reason") == "SuccessfulRescale"]


def test_hpa_scales_a_cpu_burning_deployment_up_and_back_down(cluster: Cluster) -> None:
    node = cluster.start_kubelet("hpa-node", "--restart-backoff-initial", "0")
    with cluster.http() as http:
        cluster.wait_for(f"node {node} Ready", lambda: node_condition(http, node) == "True", timeout=60)
        assert http.post(CONFIGMAPS, json={"metadata": {"name": "hpa-load"}, "data": {"burn": "on"}}).status_code == 201
        assert http.post(DEPLOYMENTS, json=burner()).status_code == 201
        created = http.post(HPAS, json=autoscaler())
        assert created.status_code == 201, created.text

        started = time.monotonic()
        cluster.wait_for("the autoscaler to add pods under load", lambda: replicas(http) >= 2,
                         timeout=SCALE_UP_DEADLINE, interval=1)
        print(f"scaled up to {replicas(http)} after {time.monotonic() - started:.1f}s of load")
        status = hpa_status(http)
        cpu = status["currentMetrics"][0]["resource"]
        assert cpu["name"] == "cpu" and cpu["current"]["averageUtilization"] > 50
        assert any("above target" in m for m in rescales(http))

        load(http, "off")
        stopped = time.monotonic()
        cluster.wait_for("the autoscaler to go back to one pod", lambda: replicas(http) == 1,
                         timeout=SCALE_DOWN_DEADLINE, interval=1)
        print(f"scaled down to 1 after {time.monotonic() - stopped:.1f}s without load")
        assert any(m.endswith("All metrics below target") for m in rescales(http))
        conditions = {c["type"]: c["status"] for c in hpa_status(http)["conditions"]}
        assert conditions["AbleToScale"] == "True" and conditions["ScalingActive"] == "True"
