"""compute_pod_status: phase, conditions and container states as Kubernetes reports them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apimachinery.models.core import Pod, PodStatus
from apimachinery.models.meta import Condition
from kubelet.runtime.base import ContainerInfo, ContainerState
from kubelet.status import ContainerView, PodView, Waiting, compute_pod_status, pod_phase

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
T0 = datetime(2026, 1, 2, 3, 0, 0, tzinfo=UTC)


def pod(policy: str = "Always", status: PodStatus | None = None) -> Pod:
    return Pod.model_validate({
        "metadata": {"name": "p", "namespace": "default", "uid": "u"},
        "spec": {"restartPolicy": policy, "containers": [{"name": "a", "image": "i"}]},
        "status": status.to_dict() if status else None,
    })


def info(state: ContainerState, *, exit_code: int | None = None, oom: bool = False, cid: str = "c1") -> ContainerInfo:
    return ContainerInfo(id=cid, name=cid, image="i", image_id="sha256:abc", labels={}, state=state,
                         exit_code=exit_code, started_at=T0, finished_at=T0 if state is ContainerState.EXITED else None,
                         ip=None, oom_killed=oom)


RUNNING = info(ContainerState.RUNNING)
SANDBOX = ContainerInfo(id="sb", name="sb", image="pause", image_id="x", labels={}, state=ContainerState.RUNNING,
                        exit_code=None, started_at=T0, finished_at=None, ip="172.18.0.5")


def exited(code: int) -> ContainerInfo:
    return info(ContainerState.EXITED, exit_code=code)


CRASH = Waiting("CrashLoopBackOff", "back-off 10s")


@pytest.mark.parametrize(
    ("policy", "view", "phase"),
    [
        ("Always", ContainerView("a", "i"), "Pending"),
        ("Always", ContainerView("a", "i", current=RUNNING), "Running"),
        ("Always", ContainerView("a", "i", current=exited(0)), "Running"),
        ("OnFailure", ContainerView("a", "i", current=exited(0)), "Succeeded"),
        ("OnFailure", ContainerView("a", "i", current=exited(1)), "Running"),
        ("Never", ContainerView("a", "i", current=exited(1)), "Failed"),
        ("Never", ContainerView("a", "i", current=exited(0)), "Succeeded"),
        ("Always", ContainerView("a", "i", current=exited(1), waiting=CRASH), "Running"),
        ("Always", ContainerView("a", "i", waiting=Waiting("ErrImagePull")), "Pending"),
        ("Always", ContainerView("a", "i", current=info(ContainerState.CREATED)), "Pending"),
    ],
    ids=["nothing-yet", "running", "always-completed", "onfailure-ok", "onfailure-failed", "never-failed",
         "never-ok", "crash-loop", "image-error", "created"],
)
def test_phase(policy: str, view: ContainerView, phase: str) -> None:
    assert pod_phase(pod(policy), PodView(containers=[view]), initialized=True) == phase


def test_uninitialized_pod_is_pending_and_a_failed_never_init_fails_it() -> None:
    view = PodView(containers=[ContainerView("a", "i")])
    assert pod_phase(pod(), view, initialized=False) == "Pending"
    view.init_failed = True
    assert pod_phase(pod("Never"), view, initialized=False) == "Failed"


def test_running_container_status_and_conditions() -> None:
    status = compute_pod_status(pod(), PodView(containers=[ContainerView("a", "i", current=RUNNING)], sandbox=SANDBOX,
                                               host_ip="10.0.0.1", runtime_scheme="docker"), now=NOW)
    assert status.phase == "Running"
    cs = status.container_statuses[0]
    assert (cs.ready, cs.started, cs.restart_count) == (True, True, 0)
    assert cs.state.running.started_at == "2026-01-02T03:00:00Z"
    assert cs.container_id == "docker://c1" and cs.image_id == "sha256:abc"
    assert [c.type for c in status.conditions] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert all(c.status == "True" for c in status.conditions)
    assert status.pod_ip == "172.18.0.5" and status.pod_ips[0].ip == "172.18.0.5"
    assert status.host_ip == "10.0.0.1" and status.start_time == "2026-01-02T03:04:05Z"


def test_crash_loop_shows_waiting_with_the_last_termination() -> None:
    view = ContainerView("a", "i", current=exited(1), previous=exited(1), restart_count=3, waiting=CRASH)
    cs = compute_pod_status(pod(), PodView(containers=[view], sandbox=SANDBOX), now=NOW).container_statuses[0]
    assert cs.state.waiting.reason == "CrashLoopBackOff" and cs.state.waiting.message == "back-off 10s"
    assert cs.last_state.terminated.exit_code == 1 and cs.last_state.terminated.reason == "Error"
    assert cs.restart_count == 3 and not cs.ready


@pytest.mark.parametrize(("code", "oom", "reason"), [(0, False, "Completed"), (2, False, "Error"), (137, True, "OOMKilled")])
def test_terminated_reason(code: int, oom: bool, reason: str) -> None:
    view = ContainerView("a", "i", current=info(ContainerState.EXITED, exit_code=code, oom=oom))
    terminated = compute_pod_status(pod("Never"), PodView(containers=[view]), now=NOW).container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason, terminated.container_id) == (code, reason, "docker://c1")


def test_unready_container_names_itself_in_the_conditions() -> None:
    view = ContainerView("a", "i", current=RUNNING, ready=False)
    status = compute_pod_status(pod(), PodView(containers=[view], sandbox=SANDBOX), now=NOW)
    ready = next(c for c in status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason, ready.message) == ("False", "ContainersNotReady",
                                                           "containers with unready status: [a]")


def test_transition_times_and_start_time_are_kept() -> None:
    old = PodStatus(start_time="2025-01-01T00:00:00Z",
                    conditions=[Condition(type="Ready", status="True", last_transition_time="2025-01-01T00:00:01Z")])
    view = PodView(containers=[ContainerView("a", "i", current=RUNNING)], sandbox=SANDBOX)
    status = compute_pod_status(pod(status=old), view, now=NOW)
    assert status.start_time == "2025-01-01T00:00:00Z"
    assert next(c for c in status.conditions if c.type == "Ready").last_transition_time == "2025-01-01T00:00:01Z"
    assert compute_pod_status(pod(status=status), view, now=NOW).to_dict() == status.to_dict()


def test_terminal_phase_is_final_and_keeps_the_pod_ip() -> None:
    old = PodStatus(phase="Succeeded", pod_ip="172.18.0.9")
    view = PodView(containers=[ContainerView("a", "i", current=exited(0))], sandbox=None)
    status = compute_pod_status(pod("Always", status=old), view, now=NOW)
    assert status.phase == "Succeeded" and status.pod_ip == "172.18.0.9"
    ready = next(c for c in status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "PodCompleted")
