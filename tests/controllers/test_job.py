"""The Job controller as a specification: sync(key) against the fake API, pods finished by hand.

Each test seeds a Job, lets the controller create pods, ends some of them as a kubelet would
(phase and exit code), and checks what the controller counted, created and concluded. Time is
the fake clock: back-off, deadlines and TTLs advance it instead of sleeping.
"""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import ApiError
from apimachinery.models.batch import COMPLETION_INDEX, TRACKING_FINALIZER, Job
from apimachinery.models.core import Pod
from controllers.job import JobController
from controllers.job_util import backoff_delay, match_failure_policy
from controllers.ttlafterfinished import TTLAfterFinishedController
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context
from tests.controllers.objects import NS, at

KEY = f"{NS}/pi"
UID = "job-pi"
SELECTOR = {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}}


def job(name: str = "pi", **spec: Any) -> Job:
    labels = {"batch.kubernetes.io/controller-uid": UID, "batch.kubernetes.io/job-name": name}
    body = {"completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
            "selector": SELECTOR, **spec,
            "template": {"metadata": {"labels": labels},
                         "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}
    return Job.model_validate({"metadata": {"name": name, "namespace": NS, "uid": UID}, "spec": body,
                               "status": {}})


class Env:
    def __init__(self, *, clock_start: float | None = None) -> None:
        self.cluster: FakeCluster = fake_context()
        self.queue = FakeQueue()
        self.ctl = JobController(self.cluster.ctx, queue=self.queue)

    def restart(self) -> None:
        """A new controller over the same store: nothing of the old one's memory survives."""
        self.cluster = fake_context(clock=self.cluster.clock, api=self.cluster.client)
        self.queue = FakeQueue()
        self.ctl = JobController(self.cluster.ctx, queue=self.queue)

    async def sync(self, times: int = 1) -> None:
        for _ in range(times):
            await self.ctl.sync(KEY)
            self.cluster.client.deliver()

    def pods(self) -> list[Pod]:
        return sorted(self.cluster.client.all(Pod), key=lambda p: p.metadata.name or "")

    def running(self) -> list[Pod]:
        return [p for p in self.pods() if (p.status.phase if p.status else None) not in ("Succeeded", "Failed")
                and p.metadata.deletion_timestamp is None]

    def job(self) -> Job:
        stored = self.cluster.client.stored(Job, "pi", NS)
        assert stored is not None
        return stored

    def finish(self, pod: Pod, *, code: int = 0, conditions: list[dict[str, Any]] | None = None) -> None:
        body = pod.to_dict()
        body["status"] = {"phase": "Succeeded" if code == 0 else "Failed", "conditions": conditions or [],
                          "containerStatuses": [{"name": "c", "ready": False, "restartCount": 0, "image": "busybox",
                                                 "imageID": "", "state": {"terminated": {"exitCode": code}}}]}
        self._put(body)

    def _put(self, body: dict[str, Any]) -> None:
        from apimachinery.resources import PODS

        self.cluster.client.put_raw(PODS, body)
        self.cluster.client.deliver()

    def conditions(self) -> dict[str, str]:
        return {c.type: c.reason or "" for c in (self.job().status.conditions or []) if c.status == "True"}  # type: ignore[union-attr]


async def start(**spec: Any) -> Env:
    env = Env()
    env.cluster.client.seed(job(**spec))
    env.cluster.client.deliver()
    await env.sync()
    return env


async def test_pods_carry_template_owner_finalizer_and_generated_name() -> None:
    env = await start()
    (pod,) = env.pods()
    assert pod.metadata.generate_name == "pi-"
    assert TRACKING_FINALIZER in (pod.metadata.finalizers or [])
    (ref,) = pod.metadata.owner_references or []
    assert (ref.kind, ref.uid, ref.controller) == ("Job", UID, True)
    assert (pod.metadata.labels or {})["batch.kubernetes.io/job-name"] == "pi"
    status = env.job().status
    assert status is not None and status.active == 1 and status.start_time


@pytest.mark.parametrize(
    ("completions", "parallelism", "first_wave"),
    [pytest.param(5, 2, 2, id="parallelism-bounds"), pytest.param(2, 5, 2, id="completions-bound"),
     pytest.param(None, 3, 3, id="work-queue")],
)
async def test_first_wave_size(completions: int | None, parallelism: int, first_wave: int) -> None:
    env = await start(completions=completions, parallelism=parallelism)
    assert len(env.pods()) == first_wave


async def test_five_completions_two_at_a_time_then_complete() -> None:
    env = await start(completions=5, parallelism=2)
    for _ in range(10):
        for pod in env.running():
            env.finish(pod)
        await env.sync()
        if "Complete" in env.conditions():
            break
    status = env.job().status
    assert status is not None
    assert (status.succeeded, status.failed, status.active) == (5, 0, 0)
    assert len(env.pods()) == 5
    assert env.conditions() == {"SuccessCriteriaMet": "CompletionsReached", "Complete": "CompletionsReached"}
    assert status.completion_time is not None
    assert all(TRACKING_FINALIZER not in (p.metadata.finalizers or []) for p in env.pods())


async def test_expectations_stop_double_creation() -> None:
    env = Env()
    env.cluster.client.seed(job(completions=3, parallelism=3))
    env.cluster.client.deliver()
    await env.ctl.sync(KEY)
    await env.ctl.sync(KEY)  # the informer has not delivered the pods
    assert len(env.cluster.client.calls("create", "pods")) == 3


async def test_failure_backs_off_ten_seconds_doubling() -> None:
    env = await start(completions=1, backoffLimit=6)
    env.finish(env.pods()[0], code=1)
    await env.sync()
    assert len(env.pods()) == 1  # no replacement before the back-off
    assert env.queue.after and env.queue.after[-1][1] == pytest.approx(10.0)
    env.cluster.clock.advance(10.5)
    await env.sync()
    assert len(env.running()) == 1
    env.finish(env.running()[0], code=1)
    await env.sync()
    env.cluster.clock.advance(10.5)
    await env.sync()
    assert len(env.running()) == 0  # now 20 s
    env.cluster.clock.advance(10)
    await env.sync()
    assert len(env.running()) == 1


@pytest.mark.parametrize(("failures", "delay"), [(0, 0), (1, 10), (2, 20), (3, 40), (6, 320), (7, 360), (30, 360)])
def test_backoff_delay(failures: int, delay: float) -> None:
    assert backoff_delay(failures) == delay


async def test_backoff_limit_fails_the_job() -> None:
    env = await start(backoffLimit=1)
    for _ in range(2):
        env.finish(env.running()[0], code=1)
        await env.sync()
        env.cluster.clock.advance(30)
        await env.sync()
    status = env.job().status
    assert status is not None and status.failed == 2
    assert env.conditions() == {"FailureTarget": "BackoffLimitExceeded", "Failed": "BackoffLimitExceeded"}
    assert env.running() == []


EXIT_42 = {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}},
                     {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]}


async def test_pod_failure_policy_fail_job_on_exit_code() -> None:
    env = await start(completions=3, parallelism=3, podFailurePolicy=EXIT_42)
    first, *others = env.pods()
    env.finish(first, code=42)
    await env.sync(2)
    conditions = env.job().status.conditions or []  # type: ignore[union-attr]
    failed = next(c for c in conditions if c.type == "Failed")
    assert failed.reason == "PodFailurePolicy"
    assert failed.message == f"Container c for pod {NS}/{first.metadata.name} failed with exit code 42 matching FailJob rule at index 0"
    assert env.running() == []  # the other pods were deleted


async def test_pod_failure_policy_ignores_disruption() -> None:
    env = await start(podFailurePolicy=EXIT_42, backoffLimit=0)
    env.finish(env.pods()[0], code=137, conditions=[{"type": "DisruptionTarget", "status": "True"}])
    await env.sync()
    status = env.job().status
    assert status is not None and status.failed == 0 and "Failed" not in env.conditions()
    assert len(env.running()) == 1  # replaced at once, no back-off


@pytest.mark.parametrize(
    ("rule", "code", "action"),
    [
        pytest.param({"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [1]}}, 2, "Count", id="notin"),
        pytest.param({"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [1]}}, 1, None, id="notin-miss"),
        pytest.param({"action": "FailJob", "onExitCodes": {"containerName": "other", "operator": "In",
                                                           "values": [3]}}, 3, None, id="other-container"),
    ],
)
def test_failure_policy_matching(rule: dict[str, Any], code: int, action: str | None) -> None:
    subject = job(podFailurePolicy={"rules": [rule]})
    pod = Pod.model_validate({"metadata": {"name": "p", "namespace": NS}, "spec": {"containers": [{"name": "c", "image": "x"}]},
                              "status": {"phase": "Failed", "containerStatuses": [
                                  {"name": "c", "ready": False, "restartCount": 0, "image": "x", "imageID": "",
                                   "state": {"terminated": {"exitCode": code}}}]}})
    match = match_failure_policy(subject, pod)
    assert (match.action if match else None) == action


async def test_indexed_job_pods_carry_their_index() -> None:
    env = await start(completionMode="Indexed", completions=3, parallelism=3)
    pods = env.pods()
    assert sorted((p.metadata.annotations or {})[COMPLETION_INDEX] for p in pods) == ["0", "1", "2"]
    for pod in pods:
        index = (pod.metadata.annotations or {})[COMPLETION_INDEX]
        assert pod.metadata.generate_name == f"pi-{index}-"
        assert pod.spec.hostname == f"pi-{index}"
        assert (pod.metadata.labels or {})[COMPLETION_INDEX] == index
        (env_var,) = pod.spec.containers[0].env or []
        assert env_var.name == "JOB_COMPLETION_INDEX"
        assert env_var.value_from and env_var.value_from.field_ref
        assert env_var.value_from.field_ref.field_path == f"metadata.annotations['{COMPLETION_INDEX}']"
    by_index = {(p.metadata.annotations or {})[COMPLETION_INDEX]: p for p in pods}
    env.finish(by_index["1"])
    await env.sync()
    assert env.job().status.completed_indexes == "1"  # type: ignore[union-attr]
    env.finish(by_index["0"], code=1)
    await env.sync()
    env.cluster.clock.advance(11)
    await env.sync()
    replacement = [p for p in env.running() if (p.metadata.annotations or {})[COMPLETION_INDEX] == "0"]
    assert len(replacement) == 1


async def test_backoff_limit_per_index_and_max_failed_indexes() -> None:
    env = await start(completionMode="Indexed", completions=3, parallelism=3, backoffLimitPerIndex=0,
                      maxFailedIndexes=1, backoffLimit=2**31 - 1)
    pods = {(p.metadata.annotations or {})[COMPLETION_INDEX]: p for p in env.pods()}
    env.finish(pods["0"], code=1)
    await env.sync()
    assert env.job().status.failed_indexes == "0"  # type: ignore[union-attr]
    assert "Failed" not in env.conditions()
    env.finish(pods["1"], code=1)
    await env.sync(2)
    assert env.conditions()["Failed"] == "MaxFailedIndexesExceeded"


async def test_failed_indexes_fail_the_job_when_all_indexes_are_done() -> None:
    env = await start(completionMode="Indexed", completions=2, parallelism=2, backoffLimitPerIndex=0,
                      backoffLimit=2**31 - 1)
    pods = {(p.metadata.annotations or {})[COMPLETION_INDEX]: p for p in env.pods()}
    env.finish(pods["0"], code=1)
    env.finish(pods["1"])
    await env.sync(2)
    assert env.conditions()["Failed"] == "FailedIndexes"


async def test_success_policy_ends_the_job_early() -> None:
    env = await start(completionMode="Indexed", completions=3, parallelism=3,
                      successPolicy={"rules": [{"succeededIndexes": "0"}]})
    pods = {(p.metadata.annotations or {})[COMPLETION_INDEX]: p for p in env.pods()}
    env.finish(pods["0"])
    await env.sync(2)
    assert env.conditions() == {"SuccessCriteriaMet": "SuccessPolicy", "Complete": "SuccessPolicy"}
    assert env.running() == []


async def test_active_deadline_fails_the_job() -> None:
    env = await start(activeDeadlineSeconds=30)
    assert env.queue.after[-1] == (KEY, pytest.approx(30.0))
    env.cluster.clock.advance(31)
    await env.sync(2)
    assert env.conditions()["Failed"] == "DeadlineExceeded"
    assert env.running() == []


async def test_suspend_deletes_active_pods_and_resume_starts_again() -> None:
    env = await start(completions=2, parallelism=2)
    suspended = env.job()
    suspended.spec.suspend = True
    env.cluster.client.seed(suspended)
    env.cluster.client.deliver()
    await env.sync()
    assert env.running() == []
    assert env.conditions() == {"Suspended": "JobSuspended"}
    status = env.job().status
    assert status is not None and status.failed == 0 and status.start_time is None
    resumed = env.job()
    resumed.spec.suspend = False
    env.cluster.client.seed(resumed)
    env.cluster.client.deliver()
    await env.sync()
    assert len(env.running()) == 2
    suspended_cond = next(c for c in env.job().status.conditions or [] if c.type == "Suspended")  # type: ignore[union-attr]
    assert (suspended_cond.status, suspended_cond.reason) == ("False", "JobResumed")


async def test_ttl_deletes_the_finished_job_in_the_foreground() -> None:
    env = await start(ttlSecondsAfterFinished=100)
    ttl = TTLAfterFinishedController(env.cluster.ctx, queue=env.queue)
    env.finish(env.pods()[0])
    await env.sync(2)
    assert "Complete" in env.conditions()
    await ttl.sync(KEY)
    assert env.cluster.client.calls("delete", "jobs") == []
    assert env.queue.after[-1] == (KEY, pytest.approx(100.0))
    env.cluster.clock.advance(101)
    await ttl.sync(KEY)
    assert len(env.cluster.client.calls("delete", "jobs")) == 1
    assert env.job().metadata.deletion_timestamp is not None
    assert "foregroundDeletion" in (env.job().metadata.finalizers or [])


async def test_ttl_leaves_a_running_job_alone() -> None:
    env = await start(ttlSecondsAfterFinished=0)
    ttl = TTLAfterFinishedController(env.cluster.ctx, queue=env.queue)
    await ttl.sync(KEY)
    assert env.cluster.client.calls("delete", "jobs") == []


async def test_a_job_gone_releases_its_pods_finalizers() -> None:
    env = await start()
    (pod,) = env.pods()
    env.cluster.client.remove(Job, "pi", NS)
    env.cluster.client.deliver()
    await env.cluster.client.delete(Pod, pod.metadata.name or "", NS)  # as the garbage collector
    env.cluster.client.deliver()
    keys = [k for k in env.queue.added if k.startswith("orphan-pod:")]
    assert keys
    await env.ctl.sync(keys[-1])
    env.cluster.client.deliver()
    assert env.pods() == [] or all(TRACKING_FINALIZER not in (p.metadata.finalizers or []) for p in env.pods())


@pytest.mark.parametrize("crash_after", ["uncounted-written", "finalizer-removed"])
async def test_controller_restart_loses_no_count_and_creates_no_extra_pod(crash_after: str) -> None:
    env = await start(completions=3, parallelism=2)
    first, second = env.pods()
    env.finish(first)
    env.cluster.client.fail("patch", "pods", times=1)  # the controller dies before the finalizer goes
    with pytest.raises(ApiError):
        await env.ctl.sync(KEY)
    env.cluster.client.deliver()
    uncounted = env.job().status.uncounted_terminated_pods  # type: ignore[union-attr]
    assert uncounted is not None and uncounted.succeeded == [first.metadata.uid]
    if crash_after == "finalizer-removed":  # ... or after it went, before the count was written
        await env.cluster.client.patch(Pod, first.metadata.name or "", {"metadata": {"finalizers": None}}, NS)
        env.cluster.client.deliver()
    env.restart()
    await env.sync(2)
    status = env.job().status
    assert status is not None and status.succeeded == 1
    assert not (status.uncounted_terminated_pods and (status.uncounted_terminated_pods.succeeded or []))
    assert len(env.pods()) == 3  # the two first plus exactly one for the third completion
    env.finish(second)
    for pod in env.running():
        env.finish(pod)
    await env.sync(3)
    status = env.job().status
    assert status is not None and status.succeeded == 3 and "Complete" in env.conditions()
    assert len(env.pods()) == 3


async def test_a_stale_cached_job_creates_no_pod() -> None:
    """The pod informer saw a finalizer go before the Job informer saw the count."""
    env = await start(completions=2, parallelism=2)
    env.finish(env.pods()[0])
    await env.ctl.sync(KEY)  # counts it and lets the finalizer go: one more success wanted, one running
    for pod in env.cluster.client.all(Pod):
        env.cluster.pods.add(pod)  # only the pods are delivered
    await env.ctl.sync(KEY)
    env.cluster.client.deliver()
    await env.sync()
    assert len(env.cluster.client.calls("create", "pods")) == 2  # never a third
    assert env.job().status.succeeded == 1  # type: ignore[union-attr]


NOW = 1_000_000.0


@pytest.mark.parametrize(
    ("spec", "status", "extra", "want"),
    [
        pytest.param({"backoffLimit": 2}, {"failed": 2}, {}, None, id="at-backoff-limit"),
        pytest.param({"backoffLimit": 2}, {"failed": 3}, {}, ("FailureTarget", "BackoffLimitExceeded"),
                     id="past-backoff-limit"),
        pytest.param({"activeDeadlineSeconds": 10}, {"startTime": "1970-01-12T13:46:30Z"}, {},
                     ("FailureTarget", "DeadlineExceeded"), id="deadline"),
        pytest.param({"activeDeadlineSeconds": 100}, {"startTime": "1970-01-12T13:46:30Z"}, {}, None,
                     id="before-deadline"),
        pytest.param({"completions": 2}, {"succeeded": 2}, {}, ("SuccessCriteriaMet", "CompletionsReached"),
                     id="completions"),
        pytest.param({"completions": None, "parallelism": 2}, {"succeeded": 1}, {"active": 1}, None,
                     id="work-queue-waits-for-the-rest"),
        pytest.param({"completions": None, "parallelism": 2}, {"succeeded": 1}, {"active": 0},
                     ("SuccessCriteriaMet", "CompletionsReached"), id="work-queue-done"),
        pytest.param({"backoffLimit": 2, "failed": 0}, {"failed": 3, "succeeded": 1}, {},
                     ("FailureTarget", "BackoffLimitExceeded"), id="failure-before-success"),
        pytest.param({"backoffLimit": 3}, {}, {"restarts": 3, "on_failure": True},
                     ("FailureTarget", "BackoffLimitExceeded"), id="on-failure-restarts"),
        pytest.param({"backoffLimit": 3}, {}, {"restarts": 3}, None, id="restarts-ignored-with-never"),
        pytest.param({"completionMode": "Indexed", "completions": 3, "backoffLimitPerIndex": 0,
                      "backoffLimit": 100}, {}, {"completed": {0, 1}, "failed_indexes": {2}},
                     ("FailureTarget", "FailedIndexes"), id="failed-indexes"),
        pytest.param({"completionMode": "Indexed", "completions": 3, "backoffLimitPerIndex": 0,
                      "maxFailedIndexes": 0}, {}, {"failed_indexes": {2}},
                     ("FailureTarget", "MaxFailedIndexesExceeded"), id="max-failed-indexes"),
        pytest.param({"completionMode": "Indexed", "completions": 5,
                      "successPolicy": {"rules": [{"succeededIndexes": "0-4"}, {"succeededCount": 2}]}},
                     {}, {"completed": {3, 4}}, ("SuccessCriteriaMet", "SuccessPolicy"), id="success-policy-count"),
    ],
)
def test_decide(spec: dict[str, Any], status: dict[str, Any], extra: dict[str, Any],
                want: tuple[str, str] | None) -> None:
    from apimachinery.models.batch import JobStatus
    from controllers.job_util import decide

    subject = job(**{k: v for k, v in spec.items() if k != "failed"})
    if extra.get("on_failure"):
        subject.spec.template.spec.restart_policy = "OnFailure"
    got = decide(subject, JobStatus.model_validate(status), completed=extra.get("completed", set()),
                 failed_indexes=extra.get("failed_indexes", set()), active=extra.get("active", 0), now=NOW,
                 restarts=extra.get("restarts", 0))
    assert (got[:2] if got else None) == want


async def test_a_pod_deleted_by_someone_else_counts_as_failed_and_keeps_other_finalizers() -> None:
    env = await start(backoffLimit=3)
    (pod,) = env.pods()
    body = pod.to_dict()
    body["metadata"]["finalizers"] = ["example.com/keep", TRACKING_FINALIZER]
    body["spec"]["nodeName"] = "n1"
    env._put(body)
    await env.cluster.client.delete(Pod, pod.metadata.name or "", NS)
    env.cluster.client.deliver()
    await env.sync()
    status = env.job().status
    assert status is not None and status.failed == 1
    (left,) = env.pods()
    assert left.metadata.finalizers == ["example.com/keep"]


async def test_pods_deleted_by_the_controller_never_count() -> None:
    env = await start(completions=1, parallelism=1, activeDeadlineSeconds=5)
    env.cluster.clock.advance(6)
    await env.sync(3)
    status = env.job().status
    assert status is not None and status.failed == 0 and env.conditions()["Failed"] == "DeadlineExceeded"


@pytest.mark.parametrize(("policy", "replaced"), [("TerminatingOrFailed", True), ("Failed", False)])
async def test_pod_replacement_policy(policy: str, replaced: bool) -> None:
    env = await start(podReplacementPolicy=policy, backoffLimit=6)
    (pod,) = env.pods()
    body = pod.to_dict()
    body["spec"]["nodeName"] = "n1"  # a bound pod terminates gracefully
    env._put(body)
    await env.cluster.client.delete(Pod, pod.metadata.name or "", NS)
    env.cluster.client.deliver()
    await env.sync()
    env.cluster.clock.advance(11)
    await env.sync()
    assert (len(env.running()) == 1) == replaced


async def test_a_new_controller_rebuilds_the_back_off_from_the_failed_pods() -> None:
    env = await start(backoffLimit=6)
    (pod,) = env.pods()
    env.finish(pod, code=1)
    body = env.cluster.client.stored(Pod, pod.metadata.name or "", NS).to_dict()  # type: ignore[union-attr]
    body["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"] = at(env.cluster.clock)
    env._put(body)
    await env.sync()
    env.restart()
    await env.sync()
    assert env.running() == []  # still backing off: 10 s from the failure
    assert env.queue.after and env.queue.after[-1][1] == pytest.approx(10.0)
    env.cluster.clock.advance(10.5)
    await env.sync()
    assert len(env.running()) == 1
