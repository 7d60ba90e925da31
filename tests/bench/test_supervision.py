"""The supervision benchmark's pure parts: registration, manifests, and the predicates that end a timing.

No Docker, no cluster: the benchmark itself never runs here.
"""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.supervision import (
    LAST_AVAILABLE_REVISION,
    Strategy,
    deployment_spec_errors,
    parse_deployment,
    parse_pod,
    pod_spec_errors,
)
from bench import supervision as sv
from bench.__main__ import BENCHMARKS


def pod(statuses: list[tuple[str, int, bool]]) -> dict[str, Any]:
    return {
        "status": {
            "containerStatuses": [
                {"name": n, "restartCount": c, "state": {"running": {}} if up else {"waiting": {}}}
                for n, c, up in statuses
            ]
        }
    }


def deployment(
    *,
    generation: int = 2,
    observed: int = 2,
    image: str = sv.GOOD,
    replicas: int = 2,
    updated: int = 2,
    total: int = 2,
    available: int = 2,
) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation, "annotations": {LAST_AVAILABLE_REVISION: "1"}},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "main", "image": image}]}},
        },
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "replicas": total,
            "availableReplicas": available,
        },
    }


def test_the_benchmark_is_registered_with_the_harness_interface() -> None:
    assert sv.NAME in BENCHMARKS
    assert callable(sv.run)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [(Strategy.ONE_FOR_ALL, Strategy.ONE_FOR_ALL), (None, Strategy.ONE_FOR_ONE)],
    ids=["one-for-all", "default"],
)
def test_the_pod_has_three_sleepers_and_a_valid_spec(strategy: Strategy | None, expected: Strategy) -> None:
    manifest = sv.supervised_pod("p", node="n", strategy=strategy)
    containers = manifest["spec"]["containers"]
    assert [c["name"] for c in containers] == list(sv.CHILDREN)
    assert all(c["command"] == ["sleep", "3600"] for c in containers)
    annotations = manifest["metadata"].get("annotations")
    assert pod_spec_errors(annotations, sv.CHILDREN) == []
    assert parse_pod(annotations).strategy is expected


def test_the_deployment_allows_one_escalation_with_auto_rollback_and_pods_one_restart() -> None:
    manifest = sv.supervised_deployment("d")
    assert deployment_spec_errors(manifest["metadata"]["annotations"]) == []
    spec = parse_deployment(manifest["metadata"]["annotations"])
    assert (
        spec.auto_rollback
        and spec.intensity is not None
        and (spec.intensity.restarts, spec.intensity.period) == (1, 300)
    )
    template = manifest["spec"]["template"]
    assert pod_spec_errors(template["metadata"]["annotations"], ["main"]) == []
    pod_intensity = parse_pod(template["metadata"]["annotations"]).intensity
    assert pod_intensity is not None and (pod_intensity.restarts, pod_intensity.period) == (1, 60)
    assert "command" not in template["spec"]["containers"][0]  # the image's CMD decides
    assert manifest["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_the_two_images_differ_only_in_their_cmd() -> None:
    (good, good_cmd), (bad, bad_cmd) = sv.IMAGES
    assert (good, bad) == (sv.GOOD, sv.BAD)
    first, second = sv.dockerfile(good_cmd).splitlines(), sv.dockerfile(bad_cmd).splitlines()
    assert first[0] == second[0] == f"FROM {sv.IMAGE}" and first[1:] != second[1:]


@pytest.mark.parametrize(
    ("statuses", "names", "expected"),
    [
        ([("a", 1, True), ("b", 1, True), ("c", 1, True)], sv.CHILDREN, True),
        ([("a", 1, True), ("b", 1, True), ("c", 0, True)], sv.CHILDREN, False),
        ([("a", 1, True), ("b", 1, True), ("c", 1, False)], sv.CHILDREN, False),
        ([("a", 0, True), ("b", 1, True), ("c", 0, True)], ("b",), True),
        ([("a", 0, True), ("b", 1, False), ("c", 0, True)], ("b",), False),
        ([], ("b",), False),
    ],
    ids=["all-restarted", "one-not-yet", "one-not-running", "single", "single-waiting", "no-status"],
)
def test_restarted_needs_every_named_container_counted_up_and_running(
    statuses: list[tuple[str, int, bool]], names: tuple[str, ...], expected: bool
) -> None:
    assert sv.restarted(pod(statuses), before={"a": 0, "b": 0, "c": 0}, names=names) is expected


@pytest.mark.parametrize(
    ("d", "complete", "recovered"),
    [
        (deployment(), True, True),
        (deployment(observed=1), False, False),
        (deployment(updated=1, available=1), False, False),
        (deployment(total=3), False, False),
        (deployment(available=1), False, False),
        (deployment(image=sv.BAD), True, False),
        (deployment(generation=1, observed=1), True, False),
    ],
    ids=[
        "rolled-back-and-complete",
        "not-observed",
        "not-updated",
        "old-pods-left",
        "not-available",
        "still-bad",
        "before-the-patch",
    ],
)
def test_recovered_needs_a_newer_good_template_and_a_complete_rollout(
    d: dict[str, Any], complete: bool, recovered: bool
) -> None:
    assert sv.rollout_complete(d) is complete
    assert sv.recovered(d, after_generation=1, good=sv.GOOD) is recovered


def test_set_image_patch_is_what_kubectl_sends() -> None:
    assert sv.set_image_patch(sv.BAD) == {
        "spec": {"template": {"spec": {"containers": [{"name": "main", "image": sv.BAD}]}}}
    }
    assert sv.template_image(deployment(image=sv.BAD)) == sv.BAD
