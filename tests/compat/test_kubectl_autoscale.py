"""The real kubectl creating and reading HorizontalPodAutoscalers: ``autoscale`` (a protobuf POST
of autoscaling/v2), ``get hpa`` with Kubernetes' columns, ``describe`` and ``delete``."""

from __future__ import annotations

import pytest

from tests.compat.conftest import Kubectl

pytestmark = [pytest.mark.compat, pytest.mark.e2e]


def test_autoscale_creates_an_autoscaling_v2_hpa(kubectl: Kubectl) -> None:
    kubectl.run("create", "deployment", "auto", "--image=podvisor/busybox:latest")
    out = kubectl.out("autoscale", "deployment", "auto", "--cpu-percent=50", "--min=1", "--max=3")
    assert "horizontalpodautoscaler.autoscaling/auto autoscaled" in out
    hpa = kubectl.json("get", "hpa", "auto")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "auto"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 50}


def test_get_hpa_prints_kubernetes_columns(kubectl: Kubectl) -> None:
    kubectl.run("create", "deployment", "cols", "--image=podvisor/busybox:latest")
    kubectl.run("autoscale", "deployment", "cols", "--cpu-percent=70", "--min=2", "--max=5")
    header, row = kubectl.out("get", "hpa", "cols").splitlines()[:2]
    assert header.split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert row.split()[:2] == ["cols", "Deployment/cols"]
    assert "/70%" in row and row.split()[-4:-2] == ["2", "5"]
    described = kubectl.out("describe", "hpa", "cols")
    assert "Reference:" in described and "Deployment/cols" in described and "Max replicas:" in described


def test_an_invalid_autoscale_is_refused_and_creates_nothing(kubectl: Kubectl) -> None:
    kubectl.run("create", "deployment", "bad", "--image=podvisor/busybox:latest")
    done = kubectl.run("autoscale", "deployment", "bad", "--min=4", "--max=2", rc=1)
    assert "max" in done.stderr.lower()
    kubectl.run("get", "hpa", "bad", rc=1)


def test_the_autoscaler_brings_a_deployment_up_to_min_replicas(kubectl: Kubectl) -> None:
    kubectl.run("create", "deployment", "grow", "--image=podvisor/busybox:latest")
    kubectl.run("autoscale", "deployment", "grow", "--cpu-percent=50", "--min=2", "--max=4")
    kubectl.wait_for("the Deployment at minReplicas",
                     lambda: kubectl.json("get", "deployment", "grow")["spec"]["replicas"] == 2, timeout=60)
    kubectl.wait_for("REPLICAS 1 -> 2 in the status",
                     lambda: kubectl.json("get", "hpa", "grow").get("status", {}).get("desiredReplicas") == 2)
    described = kubectl.out("describe", "hpa", "grow")
    assert "SuccessfulRescale" in described and "Current number of replicas below Spec.MinReplicas" in described
