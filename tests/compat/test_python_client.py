"""The official Kubernetes Python client against podvisor: CRUD, patches, selectors, logs, watch.

Its models are strict (a missing required field, a number where a string belongs, an unknown
content type all raise), so every call here deserializing cleanly is part of what is checked.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.e2e.cluster import Cluster

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

NODES = ("node-1",)
IMAGE = "podvisor/busybox:latest"


@pytest.fixture(scope="module")
def api(compat_cluster: Cluster) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(compat_cluster.data_dir / "admin.kubeconfig"))
    yield api_client
    api_client.close()


def pod_template(app: str, command: list[str]) -> client.V1PodTemplateSpec:
    return client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels={"app": app}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image=IMAGE, command=command)],
                              termination_grace_period_seconds=1),
    )


def new_namespace(api: client.ApiClient, name: str) -> str:
    client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def replace_image(apps: client.AppsV1Api, ns: str, name: str, image: str) -> tuple[Any, Any]:
    """Read, modify, replace; retried on 409 as clients must (controllers write status meanwhile)."""
    for _ in range(20):
        current = apps.read_namespaced_deployment(name, ns)
        current.spec.template.spec.containers[0].image = image
        try:
            return current, apps.replace_namespaced_deployment(name, ns, current)
        except ApiException as err:
            if err.status != 409:
                raise
    raise AssertionError("replace kept conflicting")


def test_deployment_crud(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    ns = new_namespace(api, "py-deploy")
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web", labels={"app": "web", "team": "a"}),
        spec=client.V1DeploymentSpec(replicas=1, selector=client.V1LabelSelector(match_labels={"app": "web"}),
                                     template=pod_template("web", ["sleep", "3600"])),
    )
    created = apps.create_namespaced_deployment(ns, body)
    assert isinstance(created, client.V1Deployment) and created.metadata.generation == 1
    assert created.spec.strategy.type == "RollingUpdate" and created.spec.revision_history_limit == 10
    assert isinstance(created.metadata.resource_version, str)

    patched = apps.patch_namespaced_deployment("web", ns, {"spec": {"replicas": 2, "template": {"spec": {
        "containers": [{"name": "main", "env": [{"name": "MODE", "value": "patched"}]}]}}}})
    container = patched.spec.template.spec.containers[0]
    assert patched.spec.replicas == 2 and container.command == ["sleep", "3600"]  # strategic merge by name
    assert [(e.name, e.value) for e in container.env] == [("MODE", "patched")]

    scale = apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
    assert isinstance(scale, client.V1Scale) and scale.spec.replicas == 3 and scale.status.selector == "app=web"
    assert apps.read_namespaced_deployment_scale("web", ns).spec.replicas == 3

    current, replaced = replace_image(apps, ns, "web", "podvisor/busybox:v2")  # sends +00:00 timestamps
    assert replaced.spec.template.spec.containers[0].image == "podvisor/busybox:v2"
    assert replaced.metadata.generation == 4
    current.spec.replicas = 9  # the resourceVersion it carries is now stale
    with pytest.raises(ApiException) as conflict:
        apps.replace_namespaced_deployment("web", ns, current)
    assert conflict.value.status == 409

    assert [d.metadata.name for d in apps.list_namespaced_deployment(ns, label_selector="team=a").items] == ["web"]
    assert apps.list_namespaced_deployment(ns, label_selector="team=b").items == []
    everywhere = apps.list_deployment_for_all_namespaces(field_selector=f"metadata.namespace={ns}")
    assert [d.metadata.name for d in everywhere.items] == ["web"] and everywhere.metadata.resource_version

    apps.delete_namespaced_deployment("web", ns, propagation_policy="Foreground")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and apps.list_namespaced_deployment(ns).items:
        time.sleep(0.3)
    with pytest.raises(ApiException) as missing:
        apps.read_namespaced_deployment("web", ns)
    assert missing.value.status == 404


def test_pod_crud_and_selectors(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    ns = new_namespace(api, "py-pods")
    for name, tier in (("a", "front"), ("b", "back")):
        core.create_namespaced_pod(ns, client.V1Pod(
            metadata=client.V1ObjectMeta(name=name, labels={"tier": tier}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="main", image=IMAGE, command=["sleep", "3600"])],
                                  termination_grace_period_seconds=1)))
    pod = core.read_namespaced_pod("a", ns)
    assert pod.status.phase in ("Pending", "Running") and pod.status.qos_class == "BestEffort"
    assert [p.metadata.name for p in core.list_namespaced_pod(ns, label_selector="tier=front").items] == ["a"]
    assert [p.metadata.name for p in core.list_namespaced_pod(ns, label_selector="tier!=front").items] == ["b"]
    assert [p.metadata.name for p in core.list_namespaced_pod(ns, label_selector="tier in (front,back)").items] == [
        "a", "b"]
    assert [p.metadata.name for p in core.list_pod_for_all_namespaces(field_selector="metadata.name=b").items] == ["b"]

    patched = core.patch_namespaced_pod("a", ns, {"metadata": {"labels": {"tier": "back", "extra": "1"}}})
    assert patched.metadata.labels == {"tier": "back", "extra": "1"}
    assert len(core.list_namespaced_pod(ns, label_selector="tier=back").items) == 2
    assert core.read_namespace(ns).status.phase == "Active"
    assert any(n.metadata.name == "default" for n in core.list_namespace().items)
    core.list_node()  # every node and its status deserialize
    core.list_namespaced_event(ns)

    core.delete_namespaced_pod("a", ns, grace_period_seconds=0)
    core.delete_collection_namespaced_pod(ns, label_selector="tier=back", grace_period_seconds=0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and core.list_namespaced_pod(ns).items:
        time.sleep(0.3)
    assert core.list_namespaced_pod(ns).items == []


def test_watch_resumes_across_reconnects(api: client.ApiClient) -> None:
    """``Watch().stream`` without a timeout reconnects with the last resourceVersion it saw.

    The server ends each watch after 2 seconds (``timeoutSeconds`` sent by the wrapped list
    function, hidden from Watch so it keeps retrying), while a writer creates pods across several
    connections: every pod must arrive once, in revision order, with no gap and no repeat.
    """
    core = client.CoreV1Api(api)
    ns = new_namespace(api, "py-watch")
    calls: list[dict[str, Any]] = []

    @functools.wraps(core.list_namespaced_pod)
    def list_pods(*args: Any, **kwargs: Any) -> Any:
        calls.append(dict(kwargs))
        return core.list_namespaced_pod(*args, timeout_seconds=2, **kwargs)

    def pod(name: str) -> client.V1Pod:
        return client.V1Pod(metadata=client.V1ObjectMeta(name=name, labels={"watch": "yes"}),
                            spec=client.V1PodSpec(containers=[client.V1Container(name="c", image=IMAGE)],
                                                  node_selector={"none": "none"}))  # stays unscheduled

    names = [f"p{i}" for i in range(6)]
    core.create_namespaced_pod(ns, pod("initial"))

    def writer() -> None:
        for name in names:
            time.sleep(0.8)
            core.create_namespaced_pod(ns, pod(name))

    threading.Thread(target=writer, daemon=True).start()
    w = watch.Watch()
    added: list[str] = []
    revisions: list[int] = []
    deadline = time.monotonic() + 60
    for event in w.stream(list_pods, ns, label_selector="watch=yes"):
        assert isinstance(event["object"], client.V1Pod)
        revisions.append(int(event["object"].metadata.resource_version))
        if event["type"] == "ADDED":
            added.append(event["object"].metadata.name)
        if set(names) <= set(added) or time.monotonic() > deadline:
            w.stop()
    assert added == ["initial", *names], added
    assert revisions == sorted(set(revisions)), "events repeated or out of order"
    assert len(calls) >= 3 and all(c.get("resource_version") for c in calls[1:]), calls


NODE_STEPS_NOTE = "needs a kubelet running the pod"


def test_read_pod_log(api: client.ApiClient, compat_cluster: Cluster) -> None:
    core = client.CoreV1Api(api)
    ns = new_namespace(api, "py-logs")
    core.create_namespaced_pod(ns, client.V1Pod(
        metadata=client.V1ObjectMeta(name="talker"),
        spec=client.V1PodSpec(restart_policy="Never", containers=[client.V1Container(
            name="main", image=IMAGE, command=["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 3600"])])))

    def running() -> bool:
        status = core.read_namespaced_pod("talker", ns).status
        return status.phase == "Running" and bool(status.container_statuses) and status.container_statuses[0].ready

    compat_cluster.wait_for(f"pod talker running ({NODE_STEPS_NOTE})", running, timeout=90)
    compat_cluster.wait_for("five log lines", lambda: core.read_namespaced_pod_log("talker", ns).count("line") == 5)
    assert core.read_namespaced_pod_log("talker", ns) == "".join(f"line {i}\n" for i in range(1, 6))
    assert core.read_namespaced_pod_log("talker", ns, tail_lines=2, container="main") == "line 4\nline 5\n"
    stamped = core.read_namespaced_pod_log("talker", ns, timestamps=True, tail_lines=1)
    assert stamped.endswith(" line 5\n") and stamped[:4].isdigit()
    pods = core.list_namespaced_pod(ns).items  # a running pod's full status deserializes
    status = pods[0].status.container_statuses[0]
    assert status.restart_count == 0 and status.state.running is not None and status.image_id is not None
