"""Pure rules: rollout status (kubectl's), undo targets, drain filters, durations, error text."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import ApiError
from podctl.errors import PodctlError, format_api_error
from podctl.logs import LogsOptions, choose_pod, log_params, parse_duration
from podctl.nodes import DrainOptions, blocked_message, plan_drain
from podctl.rollout import rollout_status, template_without_hash, undo_target


def deployment(*, generation: int = 2, observed: int = 2, replicas: int = 3, updated: int = 3, total: int = 3,
               available: int = 3, reason: str = "") -> dict[str, Any]:
    conditions = [{"type": "Progressing", "status": "False", "reason": reason}] if reason else []
    return {"metadata": {"name": "web", "generation": generation}, "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total,
                       "availableReplicas": available, "conditions": conditions}}


@pytest.mark.parametrize(("dep", "message", "done", "failed"), [
    (deployment(observed=1), "Waiting for deployment spec update to be observed...", False, False),
    (deployment(updated=1, total=3, available=1),
     'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...', False, False),
    (deployment(total=5), 'Waiting for deployment "web" rollout to finish: 2 old replicas are pending termination...',
     False, False),
    (deployment(available=1), 'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...',
     False, False),
    (deployment(), 'deployment "web" successfully rolled out', True, False),
    (deployment(available=0, reason="ProgressDeadlineExceeded"), 'deployment "web" exceeded its progress deadline',
     False, True),
    (deployment(observed=1, reason="ProgressDeadlineExceeded"), "Waiting for deployment spec update to be observed...",
     False, False),
], ids=["not-observed", "updating", "old-pending", "unavailable", "done", "deadline", "deadline-of-old-generation"])
def test_rollout_status(dep: dict[str, Any], message: str, done: bool, failed: bool) -> None:
    state = rollout_status(dep)
    assert (state.message, state.done, state.failed) == (message, done, failed)


def rs(revision: int, image: str) -> dict[str, Any]:
    return {"metadata": {"name": f"web-{revision}", "annotations": {"deployment.kubernetes.io/revision": str(revision)}},
            "spec": {"template": {"metadata": {"labels": {"app": "web", "pod-template-hash": f"h{revision}"}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


def test_undo_goes_to_the_previous_revision_by_default() -> None:
    target = undo_target([rs(3, "c"), rs(1, "a"), rs(2, "b")], 0)
    assert target["metadata"]["name"] == "web-2"
    assert template_without_hash(target)["metadata"]["labels"] == {"app": "web"}


def test_undo_to_a_revision_and_errors() -> None:
    assert undo_target([rs(1, "a"), rs(2, "b")], 1)["metadata"]["name"] == "web-1"
    with pytest.raises(PodctlError, match="revision 7"):
        undo_target([rs(1, "a")], 7)
    with pytest.raises(PodctlError, match="no previous revision"):
        undo_target([rs(1, "a")], 0)


def pod(name: str, *, owner: str | None = "ReplicaSet", phase: str = "Running", mirror: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": "x", "controller": True}]
    if mirror:
        meta["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    return {"metadata": meta, "status": {"phase": phase}}


def test_drain_plan_follows_kubectl_filters() -> None:
    pods = [pod("rs-pod"), pod("ds-pod", owner="DaemonSet"), pod("bare", owner=None), pod("static", mirror=True),
            pod("done", owner=None, phase="Succeeded")]
    strict = plan_drain(pods, DrainOptions())
    assert strict.blocked == ["default/ds-pod", "default/bare"]
    message = blocked_message(pods, DrainOptions())
    assert "cannot delete Pods that declare no controller (use --force to override): default/bare" in message
    assert "use --ignore-daemonsets" in message
    lenient = plan_drain(pods, DrainOptions(force=True, ignore_daemonsets=True))
    assert lenient.blocked == []
    assert [p["metadata"]["name"] for p in lenient.evict] == ["rs-pod", "bare", "done"]
    assert lenient.ignored_daemonset == ["default/ds-pod"] and lenient.unmanaged == ["default/bare"]


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1.5s", 1.5), ("500ms", 0.5)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5x", "m5", "5m garbage"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(PodctlError, match="invalid duration"):
        parse_duration(text)


def test_log_params() -> None:
    params = log_params(LogsOptions(follow=True, previous=True, tail=10, since="1m", timestamps=True), "c")
    assert params == {"container": "c", "follow": "true", "previous": "true", "timestamps": "true",
                      "tailLines": 10, "sinceSeconds": 60}


def test_a_running_ready_pod_is_chosen_for_logs() -> None:
    ready = pod("ready")
    ready["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    ready["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    newer_pending = pod("pending", phase="Pending")
    newer_pending["metadata"]["creationTimestamp"] = "2026-01-02T00:00:00Z"
    assert choose_pod([newer_pending, ready]) is ready
    assert choose_pod([]) is None


@pytest.mark.parametrize(("err", "text"), [
    (ApiError(404, "NotFound", 'deployments.apps "x" not found'),
     'Error from server (NotFound): deployments.apps "x" not found'),
    (ApiError(409, "AlreadyExists", 'pods "a" already exists'), 'Error from server (AlreadyExists): pods "a" already exists'),
    (ApiError(503, "ServiceUnavailable", "cannot reach the apiserver at https://x: refused"),
     "error: cannot reach the apiserver at https://x: refused"),
], ids=["not-found", "exists", "unreachable"])
def test_error_format(err: ApiError, text: str) -> None:
    assert format_api_error(err) == text
